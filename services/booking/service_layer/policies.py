"""Use cases of the bureau's policies with effective dates (decision 59).

An administrator makes a policy; if its effective_from has come it comes into force
in the same transaction, else booking's ``booking-policies`` loop (``keep``) brings it in when its time comes
(and lapses it at its effective_until). Coming into force writes the change into
the catalogue's own rows (the business's status and announcement, the city's rules,
the office's visit requirements and closed days, the slots' ``closed`` flag), so every
read path and every refusal that already reads them obeys it; lapsing restores what
it replaced, and re-applies any other policy still in force on the same subject.

An office closure also cancels the confirmed bookings of its days, in batches of
``CLOSURE_BATCH``, each batch one transaction (a conditional status change per
booking, the place released, a consumed entitlement given back, one
``BookingCancelledByClosure`` per booking in the outbox). A crash between batches
leaves the rest for the keeper: a booking already cancelled is never picked again,
so each citizen is told once."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

from services.booking.domain import events, model
from services.booking.domain.bookings import BookingStatus
from services.booking.domain.policies import (
    OFFICE_KINDS,
    Kind,
    Policy,
    State,
    business_before,
    check_announcement,
    check_closure_days,
    check_period,
    closure_first,
    closure_last,
    office_before,
    officed,
    restored_business,
    restored_office,
    restored_rules,
    ruled,
    rules_before,
    suspended_business,
)
from services.booking.service_layer import bookings, preapplications
from services.booking.service_layer.unit_of_work import Transaction, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound

#: Bookings a closure cancels per transaction: short transactions, a bounded outbox write.
CLOSURE_BATCH = 200
_DESTINATION = re.compile(r"^[A-Z]{2}$")
_REASON = re.compile(r"^[A-Z0-9_]{1,64}$")


@dataclass(frozen=True)
class NewPolicy:
    city_code: str
    kind: Kind
    subject: str
    details: dict[str, Any]
    effective_from: dt.datetime
    effective_until: dt.datetime | None = None


async def create(
    uow: UnitOfWork, clock: Clock, new: NewPolicy, *, created_by: str, batch: int = CLOSURE_BATCH
) -> Policy:
    """Make a policy; in force at once if its time has come. A closure in force
    cancels its days' bookings before this answers (the keeper finishes after a crash)."""
    now = clock()
    check_period(new.effective_from, new.effective_until)
    _check_details(new)
    policy = Policy(
        id=str(uuid.uuid4()),
        city_code=new.city_code,
        kind=new.kind,
        subject=new.subject,
        details=new.details,
        effective_from=new.effective_from,
        effective_until=new.effective_until,
        created_at=now,
        created_by=created_by,
    )
    async with uow.write() as tx:
        await _check_subject(tx, policy)
        await tx.policies.add(policy)
        tx.emit(_changed(policy))
        await tx.audit(
            "policy.created",
            policy.id,
            {
                "city": policy.city_code,
                "kind": policy.kind.value,
                "subject": policy.subject,
                "effective_from": policy.effective_from.isoformat(),
                "effective_until": policy.effective_until.isoformat() if policy.effective_until else None,
            },
        )
        if policy.due(now):
            await _bring_into_force(tx, policy, now)
    await cancel_closed_bookings(uow, clock, policy.id, batch=batch)
    return await get(uow, policy.id)


async def end(uow: UnitOfWork, clock: Clock, policy_id: str) -> Policy:
    """End a policy now: one not yet in force never will be; one in force lapses."""
    now = clock()
    async with uow.write() as tx:
        policy = await _policy(tx, policy_id)
        if policy.state is State.SCHEDULED:
            until = max(now, policy.effective_from + dt.timedelta(microseconds=1))
            if await tx.policies.move(policy.id, State.SCHEDULED, State.LAPSED, now, effective_until=until):
                tx.emit(_changed(replace(policy, state=State.LAPSED, effective_until=until)))
        elif policy.state is State.IN_FORCE:
            until = max(now, policy.effective_from + dt.timedelta(microseconds=1))
            await _lapse(tx, policy, now, effective_until=until)
        if policy.state is not State.LAPSED:  # ending a lapsed policy again changes nothing
            await tx.audit("policy.ended", policy.id, {"was": policy.state.value})
    return await get(uow, policy_id)


async def get(uow: UnitOfWork, policy_id: str) -> Policy:
    async with uow.read() as tx:
        return await _policy(tx, policy_id)


async def list_policies(uow: UnitOfWork, city_code: str, states: list[State]) -> list[Policy]:
    async with uow.read() as tx:
        if await tx.catalogue.get_city(city_code) is None:
            raise NotFound("city", city_code, field="city")
        return await tx.policies.list_for(city_code, states)


async def keep(uow: UnitOfWork, clock: Clock, *, batch: int = CLOSURE_BATCH, limit: int = 100) -> int:
    """The keeper's round: policies whose time has come come into force, those past
    their effective_until lapse, and closures' cancellations left unfinished (a
    crash, a large closure) go on. Each policy in its own transaction."""
    now = clock()
    async with uow.read() as tx:
        due = await tx.policies.due(now, limit)
        expired = await tx.policies.expired(now, limit)
    moved = 0
    for policy_id in due:
        async with uow.write() as tx:
            policy = await tx.policies.get(policy_id)
            if policy is None or policy.state is not State.SCHEDULED:
                continue
            if policy.over(now):  # its whole period passed unseen (the keeper was down)
                if await tx.policies.move(policy.id, State.SCHEDULED, State.LAPSED, now):
                    tx.emit(_changed(replace(policy, state=State.LAPSED)))
            else:
                await _bring_into_force(tx, policy, now)
            moved += 1
    for policy_id in expired:
        async with uow.write() as tx:
            policy = await tx.policies.get(policy_id)
            if policy is not None and policy.state is State.IN_FORCE:
                await _lapse(tx, policy, now)
                moved += 1
    async with uow.read() as tx:
        closures = await tx.policies.unfinished_closures()
    for policy_id in closures:
        await cancel_closed_bookings(uow, clock, policy_id, batch=batch)
    return moved


async def cancel_closed_bookings(
    uow: UnitOfWork, clock: Clock, policy_id: str, *, batch: int = CLOSURE_BATCH
) -> int:
    """Cancel the confirmed bookings of an office closure's days, a batch per
    transaction, until none is left; resumable (a cancelled booking is not picked again)."""
    cancelled = 0
    while True:
        now = clock()
        async with uow.write() as tx:
            policy = await tx.policies.get(policy_id)
            if (
                policy is None
                or policy.kind is not Kind.OFFICE_CLOSURE
                or policy.state is not State.IN_FORCE
                or policy.closure_done
            ):
                return cancelled
            found = await tx.bookings.confirmed_on_days(policy.subject, list(policy.closed_days), batch)
            done = 0
            for booking in found:
                if not await tx.bookings.change_status(
                    booking.id, BookingStatus.CONFIRMED, BookingStatus.CANCELLED, now
                ):
                    continue  # cancelled or checked in meanwhile: not this closure's to tell
                await tx.bookings.release_place(booking.slot_id)
                await preapplications.give_back(tx, booking.id)
                tx.emit(
                    events.BookingCancelledByClosure(
                        replace(booking, status=BookingStatus.CANCELLED, changed_at=now),
                        policy.id,
                        closure_first(policy),
                        closure_last(policy),
                        str(policy.details.get("reason", "")),
                        str(policy.details.get("reason_en", "")),
                    )
                )
                done += 1
            finished = len(found) < batch
            await tx.policies.closure_progress(policy.id, done, done=finished)
        cancelled += done
        if finished:
            return cancelled


async def reapply(tx: Transaction) -> None:
    """After a catalogue load rewrote the rows policies change: the policies in force
    are written over them again, and what they replaced is now the file's values.
    Nobody is told anything again (the business was suspended all along)."""
    in_force = await tx.policies.in_force()
    seen: set[tuple[str, Kind, str]] = set()
    for policy in in_force:
        key = (policy.city_code, policy.kind, policy.subject)
        if key not in seen:  # the first of a subject records the file's values for all of them
            seen.add(key)
            base = await _before(tx, policy)
            for same in (p for p in in_force if (p.city_code, p.kind, p.subject) == key):
                await tx.policies.set_previous(same.id, base)
        await _write(tx, policy, tell=False)


async def _bring_into_force(tx: Transaction, policy: Policy, now: dt.datetime) -> None:
    others = await tx.policies.in_force(policy.city_code, policy.kind, policy.subject)
    # What the catalogue was before any policy on this subject: restored when the last lapses.
    previous = others[0].previous if others and others[0].previous is not None else await _before(tx, policy)
    if not await tx.policies.move(policy.id, State.SCHEDULED, State.IN_FORCE, now, previous=dict(previous)):
        return  # another keeper brought it in first
    await _write(tx, policy, tell=True)
    if policy.kind is Kind.OFFICE_CLOSURE:
        days = list(policy.closed_days)
        await tx.catalogue.close_slots(policy.subject, days, True)
        # No place is held on a closed day: each hold ends (its citizen is told it ended).
        await bookings.end_holds(tx, await tx.bookings.holds_on_days(policy.subject, days), now)
    tx.emit(_changed(replace(policy, state=State.IN_FORCE)))
    await tx.audit("policy.in_force", policy.id, {"kind": policy.kind.value, "subject": policy.subject})


async def _lapse(
    tx: Transaction, policy: Policy, now: dt.datetime, *, effective_until: dt.datetime | None = None
) -> None:
    if not await tx.policies.move(
        policy.id, State.IN_FORCE, State.LAPSED, now, effective_until=effective_until
    ):
        return
    previous = policy.previous or {}
    others = [
        p
        for p in await tx.policies.in_force(policy.city_code, policy.kind, policy.subject)
        if p.id != policy.id
    ]
    if policy.kind is Kind.BUSINESS_SUSPENSION:
        business = await _business(tx, policy.city_code, policy.subject)
        restored = restored_business(business, previous) if previous else business
        await tx.catalogue.save_business(restored)
        if not others and restored.status is model.BusinessStatus.ACTIVE:
            tx.emit(events.BusinessResumed(policy.city_code, policy.subject))
    elif policy.kind in OFFICE_KINDS:
        office = await _office(tx, policy.subject)
        await tx.catalogue.save_office_policy_fields(
            restored_office(office, policy, previous) if previous else office
        )
    else:
        city = await _city(tx, policy.city_code)
        if previous:
            await tx.catalogue.save_city(replace(city, rules=restored_rules(city.rules, policy, previous)))
    for other in others:
        await _write(tx, other, tell=False)
    if policy.kind is Kind.OFFICE_CLOSURE:
        office = await _office(tx, policy.subject)
        reopened = [d for d in policy.closed_days if d not in office.closed_dates]
        await tx.catalogue.close_slots(policy.subject, reopened, False)
    tx.emit(
        _changed(
            replace(policy, state=State.LAPSED, effective_until=effective_until or policy.effective_until)
        )
    )
    await tx.audit("policy.lapsed", policy.id, {"kind": policy.kind.value, "subject": policy.subject})


async def _write(tx: Transaction, policy: Policy, *, tell: bool) -> None:
    """Write a policy in force into the catalogue's rows; ``tell``: a suspension
    that newly suspends a business tells each citizen with an active booking."""
    if policy.kind is Kind.BUSINESS_SUSPENSION:
        business = suspended_business(await _business(tx, policy.city_code, policy.subject), policy)
        newly = tell and await tx.catalogue.claim_suspension(policy.city_code, policy.subject)
        await tx.catalogue.save_business(business)
        if tell:
            tx.emit(
                events.BusinessSuspended(
                    business.city_code, business.code, business.announcement, business.announcement_en
                )
            )
        if newly:  # decision 37: each citizen holding an active booking, once
            for booking in await tx.bookings.active_bookings_for(policy.city_code, policy.subject):
                tx.emit(
                    events.BookingAffectedBySuspension(
                        booking, business.announcement, business.announcement_en
                    )
                )
    elif policy.kind in OFFICE_KINDS:
        office = await _office(tx, policy.subject)
        await tx.catalogue.save_office_policy_fields(officed(office, policy))
    else:
        city = await _city(tx, policy.city_code)
        await tx.catalogue.save_city(replace(city, rules=ruled(city.rules, policy)))


async def _before(tx: Transaction, policy: Policy) -> dict[str, Any]:
    if policy.kind is Kind.BUSINESS_SUSPENSION:
        return business_before(await _business(tx, policy.city_code, policy.subject))
    if policy.kind in OFFICE_KINDS:
        return office_before(await _office(tx, policy.subject), policy)
    return rules_before((await _city(tx, policy.city_code)).rules, policy)


def _check_details(new: NewPolicy) -> None:
    """What no schema can say: a closure's days run forwards, codes are codes."""
    d = new.details
    if new.kind is Kind.BUSINESS_SUSPENSION:
        check_announcement(str(d.get("announcement", "")))
    elif new.kind is Kind.DESTINATION_SUSPENSION and not _DESTINATION.match(new.subject):
        raise InvalidArgument(
            "invalid_destination",
            "Name the destination by its ISO 3166 alpha-2 code, e.g. AU.",
            field="destination",
        )
    elif new.kind is Kind.ENTRY_EXIT_REASON and not _REASON.match(new.subject):
        raise InvalidArgument(
            "invalid_reason_code",
            "A reason code is 1 to 64 capital letters, digits or underscores, e.g. FUNERAL.",
            field="code",
        )
    elif new.kind is Kind.OFFICE_CLOSURE:
        check_closure_days(dt.date.fromisoformat(str(d["from"])), dt.date.fromisoformat(str(d["to"])))


async def _check_subject(tx: Transaction, policy: Policy) -> None:
    await _city(tx, policy.city_code)
    if policy.kind is Kind.BUSINESS_SUSPENSION:
        await _business(tx, policy.city_code, policy.subject)
    elif policy.kind in OFFICE_KINDS:
        office = await tx.catalogue.get_office(policy.subject)
        if office is None or office.city_code != policy.city_code:
            raise NotFound("office", policy.subject, field="office_id")


def _changed(policy: Policy) -> events.PolicyChanged:
    return events.PolicyChanged(
        policy.id,
        policy.city_code,
        policy.kind.value,
        policy.subject,
        policy.state.value,
        policy.effective_from,
        policy.effective_until,
    )


async def _policy(tx: Transaction, policy_id: str) -> Policy:
    policy = await tx.policies.get(policy_id)
    if policy is None:
        raise NotFound("policy", policy_id, field="policy_id")
    return policy


async def _city(tx: Transaction, code: str) -> model.City:
    city = await tx.catalogue.get_city(code)
    if city is None:
        raise NotFound("city", code, field="city")
    return city


async def _business(tx: Transaction, city_code: str, code: str) -> model.Business:
    business = await tx.catalogue.get_business(city_code, code)
    if business is None:
        raise NotFound("business", code, field="business")
    return business


async def _office(tx: Transaction, office_id: str) -> model.Office:
    office = await tx.catalogue.get_office(office_id)
    if office is None:
        raise NotFound("office", office_id, field="office_id")
    return office
