"""The steps that carry an approved application to the citizen, each safe to run
again after a crash at any point:

- report lost cards identity has not yet confirmed (idempotent per application);
- claim a batch: approved → in production with a batch id, in one transaction
  (a conditional UPDATE per application, so a cancel racing it wins or loses whole);
- submit claimed batches to the production centre (the batch id is its idempotency
  key: a retry after a crash makes nothing twice), then mark them submitted;
- collect produced cards: write each to the register (idempotent per application),
  then produced; a batch whose cards are all produced is done;
- book shipments for produced mail cards (the application id is the courier's
  idempotency key): the tracking number is kept and the card is shipped;
- produced pickup cards go to the office's counter: ready for pickup.

Within a step the applications are independent, so their calls to identity and the
partners run side by side (at most ``CONCURRENCY`` at once) rather than one after
another: a batch of 100 would otherwise wait for 100 round trips in a row. Every
application is tried; the first failure is raised after, and the others' work stands.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from services.cards.domain.lifecycle import Application, Status
from services.cards.service_layer.applications import (
    SYSTEM,
    Cards,
    clear_lost_confirmed,
    describe_office,
    move,
    move_all,
    report_lost,
)
from services.cards.service_layer.directory import HolderRecord
from services.cards.service_layer.ports import (
    Courier,
    ExternalUnavailable,
    ProducedCard,
    ProductionCentre,
    ProductionOrder,
    Shipment,
)
from services.runtime.errors import NotFound, ProblemError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
#: Calls to identity or a partner one step has in flight at most.
CONCURRENCY = 16


async def settle(items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R | BaseException]:
    """``work`` on every item, at most CONCURRENCY at once; each one's result or
    failure, in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> R:
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items), return_exceptions=True)


def raise_first(results: Iterable[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def each(items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    """``work`` on every item, at most CONCURRENCY at once, results in order; every
    item is tried, then the first failure (if any) is raised."""
    results = await settle(items, work)
    raise_first(results)
    return results  # type: ignore[return-value]


@dataclass
class Journey:
    cards: Cards
    production: ProductionCentre
    courier: Courier
    batch_size: int = 100

    async def step(self) -> int:
        """One pass over every step; how many things moved."""
        moved = 0
        for work in (
            self.report_lost_cards,
            self.claim_batch,
            self.submit_batches,
            self.collect_produced,
            self.book_shipments,
            self.hand_over_pickups,
        ):
            try:
                moved += await work()
            except (ExternalUnavailable, ProblemError) as error:
                # A partner or identity could not answer: the same step runs again
                # on the next pass, with the same idempotency keys.
                log.warning("card journey: %s waits: %s", work.__name__, type(error).__name__)
        return moved

    async def report_lost_cards(self) -> int:
        # The reports confirmed since the last pass first, so that they are not
        # found pending and asked again.
        await clear_lost_confirmed(self.cards)
        async with self.cards.uow.read() as tx:
            pending = await tx.applications.lost_reports_pending(self.batch_size)
        pending = [p for p in pending if p[0] not in self.cards.lost_reporting]
        reported = sum(await each(pending, lambda p: report_lost(self.cards, *p)))
        await clear_lost_confirmed(self.cards)
        return reported

    async def claim_batch(self) -> int:
        async with self.cards.uow.read() as tx:
            ids = await tx.applications.approved_ready(self.batch_size)
        if not ids:
            return 0
        batch_id = f"B-{uuid.uuid4()}"
        reason = f"in production batch {batch_id}"
        async with self.cards.uow.write() as tx:
            await tx.applications.add_batch(batch_id, self.cards.clock())
            # Held until the commit: a citizen cancelling meanwhile waits, then finds
            # it in production (or it was cancelled first, and is left out here).
            apps = await tx.applications.many(ids, timelines=False, lock=True)
            claimed = await move_all(
                self.cards,
                tx,
                [
                    (app, Status.IN_PRODUCTION, reason, {"batch_id": batch_id})
                    for app in apps.values()
                    if app.status is Status.APPROVED
                ],
                SYSTEM,
            )
            if not claimed:  # all cancelled meanwhile: an empty batch is done
                await tx.applications.set_batch_state(batch_id, "claimed", "done", self.cards.clock())
        return claimed

    async def submit_batches(self) -> int:
        async with self.cards.uow.read() as tx:
            batches = await tx.applications.batches("claimed")
        for batch_id in batches:
            async with self.cards.uow.read() as tx:
                apps = await tx.applications.in_batch(batch_id, timelines=False)
            # The register's facts of the whole batch in one call to identity.
            holders = await self.cards.holders.get_many([app.citizen_id for app in apps])
            orders = [self._order(app, holders.get(app.citizen_id)) for app in apps]
            await self.production.submit(batch_id, orders)
            async with self.cards.uow.write() as tx:
                await tx.applications.set_batch_state(batch_id, "claimed", "submitted", self.cards.clock())
        return len(batches)

    def _order(self, app: Application, holder: HolderRecord | None) -> ProductionOrder:
        if holder is None:
            raise NotFound("citizen", app.citizen_id)
        if holder.birth_date is None:
            raise ProblemError("birth_date_missing", "The register has no birth date.")
        return ProductionOrder(
            application_id=app.id,
            kind=app.kind,
            city_code=app.city_code,
            id_number=holder.id_number,
            name=holder.name,
            gender=holder.gender,
            birth_date=holder.birth_date,
            household_address=holder.household_address,
        )

    async def collect_produced(self) -> int:
        async with self.cards.uow.read() as tx:
            batches = await tx.applications.batches("submitted")
        moved = 0
        for batch_id in batches:
            produced = {card.application_id: card for card in await self.production.produced(batch_id)}
            async with self.cards.uow.read() as tx:
                # Nothing made yet: the batch (a hundred applications and their
                # timelines) is not read on every pass while the centre works.
                apps = await tx.applications.in_batch(batch_id, timelines=False) if produced else []
                if not produced and await tx.applications.in_production(batch_id):
                    continue
            waiting = sum(1 for app in apps if app.status is Status.IN_PRODUCTION and app.id not in produced)
            ready = [
                (app, produced[app.id])
                for app in apps
                if app.status is Status.IN_PRODUCTION and app.id in produced
            ]
            moved += await self._produced(ready)
            if not waiting:
                async with self.cards.uow.write() as tx:
                    await tx.applications.set_batch_state(batch_id, "submitted", "done", self.cards.clock())
        return moved

    async def _produced(self, ready: list[tuple[Application, ProducedCard]]) -> int:
        """The register first, card by card: a crash after it repeats an idempotent
        call, never skips writing the new card. Then every card the register took is
        marked produced in one write (not a transaction per card); the first failure
        is raised after, the others' work stands."""
        results = await settle(ready, self._register_card)
        recorded = [
            found
            for found, result in zip(ready, results, strict=True)
            if not isinstance(result, BaseException)
        ]
        moved = 0
        if recorded:
            async with self.cards.uow.write() as tx:
                fresh = await tx.applications.many(
                    [app.id for app, _ in recorded], timelines=False, lock=True
                )
                moves = []
                for app, card in recorded:
                    now = fresh.get(app.id)
                    if now is None or now.status is not Status.IN_PRODUCTION:
                        continue
                    values = tx.applications.card_values(card.card_number, card.issued_on, card.expires_on)
                    moves.append((now, Status.PRODUCED, "produced by the centre", values))
                moved = await move_all(self.cards, tx, moves, SYSTEM)
        raise_first(results)
        return moved

    async def _register_card(self, found: tuple[Application, ProducedCard]) -> None:
        app, card = found
        await self.cards.holders.record_new_card(
            app.citizen_id, app.id, card.card_number, card.issued_on, card.expires_on
        )

    async def book_shipments(self) -> int:
        """Shipments booked side by side (the application id is the courier's
        idempotency key), then every booked card marked shipped in one write."""
        async with self.cards.uow.read() as tx:
            ids = await tx.applications.to_ship(self.batch_size)
            apps = list((await tx.applications.many(ids, timelines=False)).values()) if ids else []
        results = await settle(apps, self._book)
        booked = [
            (app, tracking) for app, tracking in zip(apps, results, strict=True) if isinstance(tracking, str)
        ]
        moved = 0
        if booked:
            async with self.cards.uow.write() as tx:
                fresh = await tx.applications.many([app.id for app, _ in booked], timelines=False, lock=True)
                moves = []
                for app, tracking in booked:
                    now = fresh.get(app.id)
                    if now is None or now.status is not Status.PRODUCED:
                        continue
                    reason = f"shipment booked, tracking number {tracking}"
                    moves.append((now, Status.SHIPPED, reason, {"tracking_number": tracking}))
                moved = await move_all(self.cards, tx, moves, SYSTEM)
        raise_first(results)
        return moved

    async def _book(self, app: Application) -> str:
        return await self.courier.book(
            Shipment(
                application_id=app.id,
                recipient=app.delivery.recipient,
                phone=app.delivery.phone,
                address=app.delivery.address,
                city_code=app.city_code,
            )
        )

    async def hand_over_pickups(self) -> int:
        async with self.cards.uow.read() as tx:
            ids = await tx.applications.to_hand_over(self.batch_size)
        moved = 0
        for app_id in ids:
            async with self.cards.uow.read() as tx:
                seen = await tx.applications.get(app_id)
            if seen is None:
                continue
            where = await describe_office(self.cards, seen.city_code, seen.delivery.office_id)
            async with self.cards.uow.write() as tx:
                app = await tx.applications.get(app_id)
                if app is None or app.status is not Status.PRODUCED:
                    continue
                reason = "at the office's counter"
                if await move(self.cards, tx, app, Status.READY_FOR_PICKUP, reason, SYSTEM, where=where):
                    moved += 1
        return moved
