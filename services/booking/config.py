"""Booking service settings (MINTONG_* environment variables)."""

from __future__ import annotations

from pathlib import Path

from services.runtime.config import REPO_ROOT, ServiceSettings


class BookingSettings(ServiceSettings):
    #: The catalogue `seed` loads into an empty database.
    demo_catalogue: Path = REPO_ROOT / "deploy" / "demo" / "catalogue.yaml"
    #: How many days of slots `seed` publishes, from today.
    demo_slot_days: int = 7
