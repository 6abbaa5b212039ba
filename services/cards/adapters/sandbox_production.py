"""The SANDBOX card production centre: makes nothing, records each batch it was
handed and reports every card of it produced ``delay`` after the card was first
submitted, with a made-up number, so that one machine shows the whole journey.

Idempotent as the real centre must be (docs/card-production.md): a batch submitted
again changes nothing, and an application is one card whichever batch carries it
(a card submitted again in another batch is reported there with the same number
and dates). What it keeps survives a restart in a small JSON-lines file under the
data dir (``sandbox/card-production.jsonl``) holding no personal data: application
ids, the day each card was submitted and its validity in years — enough to answer
``produced`` after a restart as before it. Without a file (tests) it keeps all in
memory, and a caller that restarted re-submits its batch by ``batch_id``.

Validity follows the rule for resident identity cards (居民身份证法 art. 5), by the
holder's age on the day of issue: under 16, 5 years; 16–25, 10 years; 26–45, 20
years; 46 and over, long-term, which the register records as :data:`LONG_TERM`.
Residence permits and licences are valid 10 years here (a sandbox choice)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.cards.service_layer.ports import ExternalUnavailable, ProducedCard, ProductionOrder
from services.runtime.clock import Clock, utc_now

log = logging.getLogger(__name__)

#: The expiry the register records for a long-term (长期) card.
LONG_TERM = dt.date(9999, 12, 31)
FILE = Path("sandbox") / "card-production.jsonl"


def validity_years(kind: str, birth_date: dt.date, issued_on: dt.date) -> int | None:
    """Years a card of ``kind`` made on ``issued_on`` is valid; None: long-term."""
    if not kind.startswith("id_card"):
        return 10
    age = (
        issued_on.year
        - birth_date.year
        - ((issued_on.month, issued_on.day) < (birth_date.month, birth_date.day))
    )
    if age < 16:
        return 5
    if age <= 25:
        return 10
    if age <= 45:
        return 20
    return None


def expiry(issued_on: dt.date, years: int | None) -> dt.date:
    if years is None:
        return LONG_TERM
    try:
        return issued_on.replace(year=issued_on.year + years)
    except ValueError:  # issued on 29 February: valid to 28 February
        return issued_on.replace(year=issued_on.year + years, day=28)


def card_number(application_id: str) -> str:
    """A made-up number, the same for an application every time (after a restart too):
    ``SB`` and 16 upper-case hex digits."""
    return "SB" + hashlib.sha256(application_id.encode()).hexdigest()[:16].upper()


@dataclass(frozen=True)
class _Card:
    application_id: str
    submitted_at: dt.datetime
    years: int | None


class SandboxProductionCentre:
    """``ports.ProductionCentre`` on one machine; see the module docstring."""

    name = "sandbox"

    def __init__(self, *, delay: dt.timedelta, data_dir: Path | None = None, clock: Clock = utc_now) -> None:
        self.delay = delay
        self.clock = clock
        self.path = data_dir / FILE if data_dir is not None else None
        self._cards: dict[str, _Card] = {}
        self._batches: dict[str, tuple[str, ...]] = {}
        #: What each batch carried, as handed over (this process only): what tests
        #: and a developer look at. Never written anywhere: it holds personal data.
        self.orders: dict[str, tuple[ProductionOrder, ...]] = {}
        #: Set to make ``submit`` and ``produced`` raise ExternalUnavailable (tests).
        self.unavailable = False
        self._lock = asyncio.Lock()
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                submitted_at = dt.datetime.fromisoformat(entry["submitted_at"])
                cards = [(c["application_id"], c["years"]) for c in entry["cards"]]
                batch_id = entry["batch_id"]
            except (ValueError, KeyError, TypeError):
                log.warning("sandbox production centre: an unreadable line in %s is skipped", self.path)
                continue
            self._remember(batch_id, submitted_at, cards)

    def _remember(
        self, batch_id: str, submitted_at: dt.datetime, cards: Sequence[tuple[str, int | None]]
    ) -> None:
        for application_id, years in cards:
            self._cards.setdefault(application_id, _Card(application_id, submitted_at, years))
        self._batches[batch_id] = tuple(application_id for application_id, _ in cards)

    async def submit(self, batch_id: str, orders: Sequence[ProductionOrder]) -> None:
        if self.unavailable:
            raise ExternalUnavailable("sandbox production centre: unavailable (told so)")
        async with self._lock:
            if batch_id in self._batches:
                return  # a retry: nothing is made twice
            now = self.clock()
            ready_on = (now + self.delay).date()
            cards = [(o.application_id, validity_years(o.kind, o.birth_date, ready_on)) for o in orders]
            if self.path is not None:
                entry = {
                    "batch_id": batch_id,
                    "submitted_at": now.isoformat(),
                    "cards": [{"application_id": a, "years": y} for a, y in cards],
                }
                await asyncio.to_thread(self._append, json.dumps(entry, separators=(",", ":")))
            self._remember(batch_id, now, cards)
            self.orders[batch_id] = tuple(orders)
        log.info("sandbox production centre: batch %s of %d card(s) taken", batch_id, len(orders))

    def _append(self, line: str) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    async def produced(self, batch_id: str) -> Sequence[ProducedCard]:
        if self.unavailable:
            raise ExternalUnavailable("sandbox production centre: unavailable (told so)")
        now = self.clock()
        made = []
        for application_id in self._batches.get(batch_id, ()):
            card = self._cards[application_id]
            ready_at = card.submitted_at + self.delay
            if ready_at <= now:
                issued_on = ready_at.date()
                made.append(
                    ProducedCard(
                        application_id=application_id,
                        card_number=card_number(application_id),
                        issued_on=issued_on,
                        expires_on=expiry(issued_on, card.years),
                    )
                )
        return made
