"""Booking service settings (MINTONG_* environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.runtime.config import REPO_ROOT
from services.runtime.pii import PiiSettings

#: gRPC refuses messages over 4 MiB by default: a document and its envelope fit under it.
MAX_ATTACHMENT_BYTES = 3_800_000


class BookingSettings(PiiSettings):
    """Pre-applications' answers and documents are personal data: sealed with the
    keys of :class:`PiiSettings` (MINTONG_PII_KEYS, MINTONG_PII_LOOKUP_KEY)."""

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
    #: How often policies whose effective_from or effective_until has come are
    #: brought into force or lapsed, in seconds (decision 59).
    policy_check_seconds: float = Field(default=15.0, gt=0)
    #: Open the database pool's connections, ready for bookings, before serving
    #: (PostgreSQL; decision 127). Off: each opens at its first use, under load.
    db_warm_up: bool = True
    #: Idempotency keys are answered for at least this long.
    idempotency_keep_hours: int = Field(default=24, ge=24)
    #: Bytes one pre-application document (photo or PDF) may have.
    attachment_max_bytes: int = Field(default=3_145_728, gt=0, le=MAX_ATTACHMENT_BYTES)
    #: Where documents' (sealed) bytes are kept: files under ``attachment_dir`` on
    #: one machine, or an S3-compatible bucket in production.
    attachment_store: Literal["local", "s3"] = "local"
    #: The local store's folder; default ``<data_dir>/attachments``.
    attachment_dir: Path | None = None
    #: The S3 store: bucket, endpoint (empty: AWS itself) and region; credentials
    #: come from the usual AWS chain (AWS_ACCESS_KEY_ID…, an instance role).
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> BookingSettings:
        if self.env != "dev" and self.qr_secret is None:
            raise ValueError("MINTONG_QR_SECRET must be set when MINTONG_ENV is not dev")
        if self.attachment_store == "s3" and not self.s3_bucket:
            raise ValueError("MINTONG_S3_BUCKET must be set when MINTONG_ATTACHMENT_STORE is s3")
        return self

    def attachments_path(self) -> Path:
        return self.attachment_dir or self.data_dir / "attachments"
