"""Booking service settings (MINTONG_* environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from services.runtime.config import REPO_ROOT, ServiceSettings


class BookingSettings(ServiceSettings):
    #: The catalogue `seed` loads into an empty database.
    demo_catalogue: Path = REPO_ROOT / "deploy" / "demo" / "catalogue.yaml"
    #: How many days of slots `seed` publishes, from today.
    demo_slot_days: int = 7
    #: Key of the MAC in booking QR payloads (kiosks verify it); a dev file in dev.
    qr_secret: SecretStr | None = None
    #: How often waitlist holds that ran out are passed on, in seconds.
    hold_check_seconds: float = Field(default=5.0, gt=0)
    #: How often called tickets past their grace period become no-shows, in seconds.
    hall_sweep_seconds: float = Field(default=30.0, gt=0)
    #: Idempotency keys are answered for at least this long.
    idempotency_keep_hours: int = Field(default=24, ge=24)

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> BookingSettings:
        if self.env != "dev" and self.qr_secret is None:
            raise ValueError("MINTONG_QR_SECRET must be set when MINTONG_ENV is not dev")
        return self
