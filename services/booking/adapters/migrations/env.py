"""Alembic environment of the booking database (see services.runtime.migrations)."""

from services.booking.adapters.orm import metadata
from services.runtime.migrations import run_env

run_env(metadata)
