"""Alembic environment of the cards database (see services.runtime.migrations)."""

from services.cards.adapters.orm import metadata
from services.runtime.migrations import run_env

run_env(metadata)
