"""Booking's sampled metrics: citizens waiting on a waitlist and places held for
them (services/runtime/metrics.py samples them every few seconds)."""

from __future__ import annotations

from sqlalchemy import func, select

from services.booking.adapters import orm
from services.booking.domain.bookings import WaitStatus
from services.runtime.db import Database
from services.runtime.metrics import Readings


class WaitlistGauge:
    """Open waitlist entries by state: ``waiting`` and ``offered`` (a place held
    until the citizen confirms or the hold runs out). One grouped count over the
    open entries, not per request."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.counts: dict[str, int] | None = None

    async def sample(self) -> None:
        w = orm.waitlist_entries
        states = [WaitStatus.WAITING.value, WaitStatus.OFFERED.value]
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(w.c.status, func.count()).where(w.c.status.in_(states)).group_by(w.c.status)
                )
            ).all()
        found = {status: int(count) for status, count in rows}
        self.counts = {state: found.get(state, 0) for state in states}

    def readings(self) -> list[Readings.Row]:
        if self.counts is None:
            return []
        counts = self.counts
        none: dict[str, str] = {}
        return [
            (
                "mintong_booking_waitlist_holds",
                "Places held for a citizen from the waitlist until they confirm or the hold runs out.",
                none,
                float(counts.get(WaitStatus.OFFERED.value, 0)),
            ),
            (
                "mintong_booking_waitlist_waiting",
                "Waitlist entries still waiting for a place.",
                none,
                float(counts.get(WaitStatus.WAITING.value, 0)),
            ),
        ]
