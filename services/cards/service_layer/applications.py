"""The citizen's and staff's use cases: eligibility, apply, read, cancel, review,
hand over; and the courier's callbacks."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from services.cards.domain import eligibility, lifecycle
from services.cards.domain.eligibility import Declaration, Reason
from services.cards.domain.events import StatusChanged
from services.cards.domain.kinds import CityKinds, Delivery, KindDefinition, Rule
from services.cards.domain.lifecycle import Application, DeliveryDetails, Status
from services.cards.service_layer.directory import CardHolders, HolderRecord, Offices, WindowOffice
from services.cards.service_layer.ports import CourierEvent, CourierEventKind
from services.cards.service_layer.unit_of_work import KeyClaim, Move, NewApplication, Transaction, UnitOfWork
from services.runtime import telemetry
from services.runtime.clock import Clock
from services.runtime.coalesce import Coalescer
from services.runtime.errors import InvalidArgument, Kind, NotFound, ProblemError
from services.runtime.text import check_text

log = logging.getLogger(__name__)

SYSTEM = "system"
OPEN = sorted(s.value for s in lifecycle.OPEN)


@dataclass
class Cards:
    """What the use cases need, built once by the composition root."""

    uow: UnitOfWork
    clock: Clock
    kinds: dict[str, CityKinds]
    holders: CardHolders
    offices: Offices
    #: How many alternative offices eligibility shows.
    alternatives: int = 3
    #: The courier's name as citizens are told it (zh-CN, en).
    courier_name: str = ""
    courier_name_en: str = ""
    #: Applications whose old card identity has confirmed reported lost, their flag
    #: not yet cleared: the journey's next pass clears them all in one write rather
    #: than a write per application on the submit path. A crash before that leaves
    #: the flags set, and the worker asks identity again, which answers the same
    #: (idempotent per application).
    lost_confirmed: set[str] = field(default_factory=set)
    #: Applications whose lost-card report is on its way to identity now: the
    #: worker leaves them to the call in flight.
    lost_reporting: set[str] = field(default_factory=set)
    #: Applications submitted at the same time, taken together (``apply``).
    _applier: Coalescer[_Asked, Application] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._applier = Coalescer(functools.partial(_apply_many, self), MAX_APPLIED)


def family_of(kind: KindDefinition) -> str:
    """Applications of one family exclude each other while open."""
    if kind.rule in (Rule.ID_CARD_REPLACEMENT, Rule.ID_CARD_RENEWAL):
        return "id_card"
    if kind.rule is Rule.RESIDENCE_PERMIT:
        return "residence_permit"
    return kind.code


def resolve(cards: Cards, city_code: str, kind_code: str) -> tuple[CityKinds, KindDefinition]:
    city = cards.kinds.get(city_code)
    kind = city.kinds.get(kind_code) if city else None
    if city is None or kind is None:
        raise ProblemError(
            "kind_not_offered",
            f"“{kind_code}” is not a kind of application your city takes online.",
            field="kind",
            kind=Kind.UNPROCESSABLE,
        )
    return city, kind


async def kinds_offered(cards: Cards, citizen_id: str) -> list[KindDefinition]:
    """The kinds the citizen's city takes online, in the kinds file's order."""
    holder = await cards.holders.get(citizen_id)
    city = cards.kinds.get(holder.facts.city_code)
    return list(city.kinds.values()) if city else []


def event_of(
    app: Application, kind: KindDefinition | None, step: lifecycle.Transition, **extra: object
) -> StatusChanged:
    fields: dict[str, Any] = {
        "application_id": app.id,
        "citizen_id": app.citizen_id,
        "city_code": app.city_code,
        "kind": app.kind,
        "kind_name": kind.name if kind else app.kind,
        "kind_name_en": kind.name_en if kind else app.kind,
        "delivery_method": app.delivery.method,
        "office_id": app.delivery.office_id,
        "tracking_number": app.tracking_number,
        "from_status": step.from_status.value if step.from_status else "",
        "status": step.to_status.value,
        "reason": step.reason,
        **extra,
    }
    return StatusChanged(**fields)


def kind_of(cards: Cards, app: Application) -> KindDefinition | None:
    city = cards.kinds.get(app.city_code)
    return city.kinds.get(app.kind) if city else None


async def move(
    cards: Cards,
    tx: Transaction,
    app: Application,
    new: Status,
    reason: str,
    actor: str,
    *,
    office_id: str | None = None,
    where: WindowOffice | None = None,
    **values: object,
) -> bool:
    """Moves ``app`` (refusing an illegal move with 409) and emits the step's event;
    False when another mover changed it first."""
    lifecycle.check_move(app.status, new)
    if office_id is not None:
        values["office_id"] = office_id
    now = cards.clock()
    if not await tx.applications.move(app.id, app.status, new, now, reason, actor, **values):
        return False
    _stepped(cards, tx, app, new, reason, actor, values, where, now)
    return True


def _stepped(
    cards: Cards,
    tx: Transaction,
    app: Application,
    new: Status,
    reason: str,
    actor: str,
    values: Mapping[str, object],
    where: WindowOffice | None = None,
    now: dt.datetime | None = None,
) -> Move:
    """``app`` moved in memory (refusing an illegal move with 409), with the step's
    event emitted: the row to write, by ``move`` alone or ``move_many`` for many."""
    now = now or cards.clock()
    old = app.status
    step = lifecycle.move(app, new, now, reason, actor)
    if "office_id" in values:
        app.delivery = dataclasses.replace(app.delivery, office_id=str(values["office_id"]))
    if "tracking_number" in values:
        app.tracking_number = str(values["tracking_number"])
    extra: dict[str, object] = {"batch_id": str(values["batch_id"])} if "batch_id" in values else {}
    if new is Status.SHIPPED:
        extra.update(courier=cards.courier_name, courier_en=cards.courier_name_en)
    if where is not None:
        extra.update(
            office_name=where.name,
            office_name_en=where.name_en,
            office_address=where.address,
            office_address_en=where.address_en,
        )
    tx.emit(event_of(app, kind_of(cards, app), step, **extra))
    return Move(app.id, old, new, now, reason, actor, dict(values))


async def move_all(
    cards: Cards,
    tx: Transaction,
    moves: Sequence[tuple[Application, Status, str, Mapping[str, object]]],
    actor: str,
) -> int:
    """``(application, new status, reason, other columns)`` moved as ``move`` would,
    each with its step and its event, in one UPDATE and one INSERT for them all. The
    applications must be held by this transaction (``many(…, lock=True)``) and their
    status read then, so that no other mover can come between: the journey's steps,
    which move a batch at a time."""
    now = cards.clock()
    rows = [
        _stepped(cards, tx, app, new, reason, actor, values, now=now) for app, new, reason, values in moves
    ]
    await tx.applications.move_many(rows)
    return len(rows)


def _status_changed() -> ProblemError:
    return ProblemError(
        "application_changed",
        "The application changed meanwhile; read it again.",
        field="application_id",
        kind=Kind.CONFLICT,
    )


# --- eligibility -------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityAnswer:
    city: CityKinds
    kind: KindDefinition
    reasons: list[Reason]
    alternatives: Sequence[WindowOffice]


def declared(declaration: Declaration, holder: HolderRecord) -> Declaration:
    """The citizen's declaration with their session's assurance level as identity told
    it with the facts, when it was asked for (the gateway's otherwise)."""
    if not holder.assurance:
        return declaration
    return Declaration(holder.assurance, declaration.appearance_unchanged)


async def check_eligibility(
    cards: Cards, citizen_id: str, kind_code: str, declaration: Declaration, session_id: str = ""
) -> EligibilityAnswer:
    holder = await cards.holders.get(citizen_id, session_id)
    city, kind = resolve(cards, holder.facts.city_code, kind_code)
    async with cards.uow.read() as tx:
        reasons = await _reasons(cards, tx, city, kind, holder, declared(declaration, holder))
    alternatives: Sequence[WindowOffice] = ()
    if reasons:
        try:
            alternatives = (await cards.offices.with_vacancy(city.city_code, city.window_business_code))[
                : cards.alternatives
            ]
        except ProblemError as error:  # booking down: the reasons still stand
            log.warning("no window offices for the eligibility answer: %s", error.code)
    return EligibilityAnswer(city, kind, reasons, alternatives)


async def _reasons(
    cards: Cards,
    tx: Transaction,
    city: CityKinds,
    kind: KindDefinition,
    holder: HolderRecord,
    declaration: Declaration,
) -> list[Reason]:
    citizen_id = holder.facts.citizen_id
    pending = await tx.applications.has_open(citizen_id, family_of(kind), OPEN)
    permit = kind.rule is Rule.RESIDENCE_PERMIT and await tx.applications.holds_permit(citizen_id)
    return _judged(cards, city, kind, holder, declaration, pending=pending, permit=permit)


def _judged(
    cards: Cards,
    city: CityKinds,
    kind: KindDefinition,
    holder: HolderRecord,
    declaration: Declaration,
    *,
    pending: bool,
    permit: bool,
) -> list[Reason]:
    return eligibility.check(
        city,
        kind,
        holder.facts,
        declaration,
        today=cards.clock().date(),
        pending_application=pending,
        holds_residence_permit=permit,
    )


# --- apply -------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyCommand:
    citizen_id: str
    idempotency_key: str
    kind: str
    declaration: Declaration
    delivery: DeliveryDetails
    #: A digest of the request: the same key with another request is refused.
    fingerprint: str
    #: The session applied in: its assurance level comes from identity with the
    #: register's facts (then the declaration's level is not read).
    session_id: str = ""


def normalise_phone(raw: str, field: str = "delivery.phone") -> str:
    """E.164 of a valid phone number (a Chinese one without its +86 too)."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidArgument("invalid_phone", "The phone number is not a valid number.", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def _delivery(
    cards: Cards, city: CityKinds, kind: KindDefinition, raw: DeliveryDetails
) -> DeliveryDetails:
    try:
        method = Delivery(raw.method)
    except ValueError:
        raise InvalidArgument(
            "invalid_delivery", "delivery.method must be mail or pickup.", field="delivery.method"
        ) from None
    if method not in kind.delivery_options:
        raise ProblemError(
            "delivery_not_offered",
            f"This kind is not delivered by {method.value}.",
            field="delivery.method",
            kind=Kind.UNPROCESSABLE,
        )
    if method is Delivery.MAIL:
        recipient = check_text(raw.recipient, "delivery.recipient", max_length=50).strip()
        address = check_text(raw.address, "delivery.address", max_length=200).strip()
        for name, value in (("delivery.recipient", recipient), ("delivery.address", address)):
            if not value:
                raise InvalidArgument("delivery_incomplete", f"{name} is required for mail.", field=name)
        check_text(raw.phone, "delivery.phone", max_length=32)
        phone = normalise_phone(raw.phone)
        return DeliveryDetails(method.value, recipient, phone, address)
    office_id = check_text(raw.office_id, "delivery.office_id", max_length=64).strip()
    if not office_id:
        raise InvalidArgument(
            "delivery_incomplete", "delivery.office_id is required for pickup.", field="delivery.office_id"
        )
    known = {o.office_id: o for o in await cards.offices.find([office_id])}
    if office_id not in known or known[office_id].city_code != city.city_code:
        raise NotFound("office", office_id, field="delivery.office_id")
    return DeliveryDetails(method.value, office_id=office_id)


class _KeyTaken(Exception):
    """A concurrent twin with the same key committed first (rolls our work back)."""


async def _replay(cards: Cards, cmd: ApplyCommand) -> Application | None:
    async with cards.uow.read() as tx:
        found = await tx.applications.find_idempotent(cmd.citizen_id, cmd.idempotency_key)
        if found is None:
            return None
        fingerprint, app_id = found
        if fingerprint != cmd.fingerprint:
            raise ProblemError(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request.",
                field="Idempotency-Key",
                kind=Kind.UNPROCESSABLE,
            )
        app = await tx.applications.get(app_id, cmd.citizen_id)
    if app is None:
        raise AssertionError("an idempotency key names a missing application")
    return app


async def apply(cards: Cards, cmd: ApplyCommand) -> tuple[Application, bool]:
    """The recorded application and whether it is an earlier answer (same key)."""
    key = check_text(cmd.idempotency_key, "Idempotency-Key", max_length=255)
    if not key:
        raise InvalidArgument("idempotency_key_required", "Send an Idempotency-Key.", field="Idempotency-Key")
    # No read for an earlier answer first: a retry is rare, and the write finds its
    # key taken (then the earlier answer is read). A retry whose checks would now
    # refuse it (identity down, the register changed) still gets the earlier answer.
    try:
        app = await cards._applier(_Asked(cmd, telemetry.current_carrier()))
    except (ProblemError, _KeyTaken):
        if (earlier := await _replay(cards, cmd)) is not None:
            return earlier, True
        raise
    return app, False


#: Applications taken together at most.
MAX_APPLIED = 200


@dataclass(frozen=True)
class _Asked:
    cmd: ApplyCommand
    #: The citizen's trace, which the application's events continue.
    carrier: Mapping[str, str]


async def _apply_many(cards: Cards, batch: list[_Asked]) -> list[Application | BaseException]:
    """The applications submitted while the batch before was in hand, taken through
    every stage together, each answered on its own as if alone: the holders' facts
    and sessions in one call to identity, each one's request checked, those passing
    recorded in one transaction (``_record_many``), and their old cards reported lost
    in one call. One pipeline for the batch rather than a queue per stage: the
    batches grow with the time a whole application takes, not one call's."""
    holders = await asyncio.gather(
        *(cards.holders.get(a.cmd.citizen_id, a.cmd.session_id) for a in batch), return_exceptions=True
    )
    checked = await asyncio.gather(
        *(_checked(cards, a, h) for a, h in zip(batch, holders, strict=True)), return_exceptions=True
    )
    submissions = [s for s in checked if isinstance(s, _Submission)]
    recorded: Sequence[Application | BaseException] = []
    if submissions:
        try:
            recorded = await _record_many(cards, submissions)
        except Exception as error:  # the transaction failed: every submission's answer
            recorded = [error] * len(submissions)
    answers = iter(recorded)
    outcomes = [next(answers) if isinstance(s, _Submission) else s for s in checked]
    reported = await asyncio.gather(
        *(
            report_lost(cards, app.id, app.citizen_id)
            for app, s in zip(outcomes, checked, strict=True)
            if isinstance(app, Application)
            and isinstance(s, _Submission)
            and s.kind.reports_card_lost
            and app.status is not Status.CHECKS_FAILED
        ),
        return_exceptions=True,
    )
    for failure in (r for r in reported if isinstance(r, BaseException)):
        # Recorded all the same; the journey reports it (its flag is still set).
        log.warning("reporting a lost card failed (%s); the journey retries", type(failure).__name__)
    return outcomes


async def _checked(cards: Cards, asked: _Asked, holder: HolderRecord | BaseException) -> _Submission:
    """The request checked against the holder's facts (raises its problem)."""
    if isinstance(holder, BaseException):
        raise holder
    cmd = asked.cmd
    city, kind = resolve(cards, holder.facts.city_code, check_text(cmd.kind, "kind", max_length=64))
    delivery = await _delivery(cards, city, kind, cmd.delivery)
    return _Submission(cmd, city, kind, holder, delivery, asked.carrier)


@dataclass(frozen=True)
class _Submission:
    """An application checked outside the transaction, to record."""

    cmd: ApplyCommand
    city: CityKinds
    kind: KindDefinition
    holder: HolderRecord
    delivery: DeliveryDetails
    #: The citizen's trace, which the application's events continue.
    carrier: Mapping[str, str]


async def _record_many(cards: Cards, batch: list[_Submission]) -> list[Application | BaseException]:
    """The applications submitted at the same time, recorded in one transaction as
    each would be alone, in order: their citizens locked, their keys claimed, their
    open applications read, then the applications, their steps and their events
    written, a statement for them all rather than six for each. A key taken (by an
    earlier request, or by a twin earlier in the batch) is answered ``_KeyTaken``
    and nothing of its application is kept; the others go on. The pending check is
    made inside the write, after the lock: two applications racing with different
    keys do not both find "no pending application" (in one batch, the later sees the
    earlier)."""
    now = cards.clock()
    apps = [_new(s, now) for s in batch]
    firsts: dict[tuple[str, str], int] = {}
    for n, s in enumerate(batch):
        firsts.setdefault((s.cmd.citizen_id, s.cmd.idempotency_key), n)
    outcomes: list[Application | BaseException] = []
    async with cards.uow.write() as tx:
        citizens = [s.cmd.citizen_id for s in batch]
        await tx.applications.lock_citizens(citizens)
        claims = [
            KeyClaim(s.cmd.citizen_id, s.cmd.idempotency_key, s.cmd.fingerprint, apps[n].id)
            for (citizen_id, key), n in firsts.items()
            for s in (batch[n],)
        ]
        claimed = await tx.applications.claim_idempotency_keys(claims, now)
        open_, permits = await tx.applications.standing(citizens, OPEN)
        added: list[NewApplication] = []
        for n, (s, app) in enumerate(zip(batch, apps, strict=True)):
            key = (s.cmd.citizen_id, s.cmd.idempotency_key)
            if firsts[key] != n or key not in claimed:
                outcomes.append(_KeyTaken())
                continue
            family = family_of(s.kind)
            reasons = _judged(
                cards,
                s.city,
                s.kind,
                s.holder,
                declared(s.cmd.declaration, s.holder),
                pending=(s.cmd.citizen_id, family) in open_,
                permit=s.kind.rule is Rule.RESIDENCE_PERMIT and s.cmd.citizen_id in permits,
            )
            _decide(app, s.kind, reasons, now)
            if app.status.value in OPEN:
                open_.add((s.cmd.citizen_id, family))
            added.append(NewApplication(app, family, s.kind.reports_card_lost and not reasons))
            for step in app.timeline:
                tx.emit(event_of(app, s.kind, step, **_failed(app, step)), s.carrier)
            outcomes.append(app)
        await tx.applications.add_many(added)
    return outcomes


def _new(s: _Submission, now: dt.datetime) -> Application:
    return Application(
        id=str(uuid.uuid4()),
        citizen_id=s.cmd.citizen_id,
        city_code=s.city.city_code,
        kind=s.kind.code,
        delivery=s.delivery,
        status=Status.SUBMITTED,
        submitted_at=now,
        needs_review=s.kind.needs_review,
    )


def _decide(app: Application, kind: KindDefinition, reasons: list[Reason], now: dt.datetime) -> None:
    """The application's first steps: submitted, then its checks' outcome."""
    app.timeline.append(lifecycle.Transition(None, Status.SUBMITTED, now, "submitted online", "citizen"))
    if reasons:
        app.reasons = [(r.code, r.message, r.message_en) for r in reasons]
        lifecycle.move(app, Status.CHECKS_FAILED, now, ", ".join(r.code for r in reasons), SYSTEM)
    else:
        lifecycle.move(app, Status.CHECKS_PASSED, now, "every automatic check passed", SYSTEM)
        if not kind.needs_review:
            lifecycle.move(app, Status.APPROVED, now, "approved automatically", SYSTEM)


def _failed(app: Application, step: lifecycle.Transition) -> dict[str, object]:
    """What the event of a "checks failed" step says of the reasons."""
    if step.to_status is not Status.CHECKS_FAILED:
        return {}
    return {
        "reason_codes": tuple(r[0] for r in app.reasons),
        "reason": "；".join(r[1] for r in app.reasons),
        "reason_en": "; ".join(r[2] for r in app.reasons),
    }


async def report_lost(cards: Cards, app_id: str, citizen_id: str) -> bool:
    """Asks identity to mark the old card reported lost (idempotent per application);
    the flag is cleared by the journey's next pass (``clear_lost_confirmed``); on
    failure the journey worker tries again."""
    cards.lost_reporting.add(app_id)
    try:
        await cards.holders.report_lost(citizen_id, app_id)
    except ProblemError as error:
        log.warning(
            "reporting the card of application %s lost failed (%s); retrying later", app_id, error.code
        )
        return False
    finally:
        cards.lost_reporting.discard(app_id)
    cards.lost_confirmed.add(app_id)
    return True


async def clear_lost_confirmed(cards: Cards) -> int:
    """Clears, in one write, the flags of the lost-card reports identity confirmed;
    on failure they are kept for the next try."""
    if not cards.lost_confirmed:
        return 0
    ids, cards.lost_confirmed = cards.lost_confirmed, set()
    try:
        async with cards.uow.write() as tx:
            await tx.applications.clear_report_lost(sorted(ids))
    except BaseException:
        cards.lost_confirmed |= ids
        raise
    return len(ids)


# --- reading and cancelling --------------------------------------------------------


async def get(cards: Cards, app_id: str, citizen_id: str) -> Application:
    async with cards.uow.read() as tx:
        app = await tx.applications.get(app_id, citizen_id)
    if app is None:
        raise NotFound("application", app_id, field="application_id")
    return app


async def list_mine(cards: Cards, citizen_id: str) -> list[Application]:
    async with cards.uow.read() as tx:
        return await tx.applications.for_citizen(citizen_id)


async def cancel(cards: Cards, app_id: str, citizen_id: str, reason: str) -> Application:
    reason = check_text(reason, "reason", max_length=200) or "cancelled by the citizen"
    async with cards.uow.write() as tx:
        app = await tx.applications.get(app_id, citizen_id)
        if app is None:
            raise NotFound("application", app_id, field="application_id")
        if not await move(cards, tx, app, Status.CANCELLED, reason, "citizen", report_lost_pending=False):
            raise _status_changed()
    return app


# --- staff -------------------------------------------------------------------------


async def list_for_office(cards: Cards, office_id: str, status: str | None) -> list[Application]:
    async with cards.uow.read() as tx:
        return await tx.applications.for_office(office_id, status)


async def list_for_city(cards: Cards, city_code: str, status: str | None) -> list[Application]:
    async with cards.uow.read() as tx:
        return await tx.applications.for_city(city_code, status)


async def staff_move(
    cards: Cards,
    app_id: str,
    new: Status,
    reason: str,
    actor: str,
    *,
    office_of_clerk: str | None = None,
) -> Application:
    """A reviewer approving or rejecting, a clerk handing a card over; audited.
    ``office_of_clerk``: a window clerk acts only on their office's applications
    (others' answer 404, as if there were none)."""
    reason = check_text(reason, "reason", max_length=200)
    async with cards.uow.write() as tx:
        app = await tx.applications.get(app_id)
        if app is None or (office_of_clerk is not None and app.delivery.office_id != office_of_clerk):
            raise NotFound("application", app_id, field="application_id")
        old = app.status
        if not await move(cards, tx, app, new, reason or new.value, actor):
            raise _status_changed()
        await tx.audit(f"card_application.{new.value}", app_id, {"from": old.value, "reason": reason})
    return app


# --- the courier -------------------------------------------------------------------


async def describe_office(cards: Cards, city_code: str, office_id: str) -> WindowOffice:
    """An office's name and address for a citizen's message; its id when booking
    cannot say (the message still goes)."""
    try:
        found = await cards.offices.describe(city_code, office_id)
    except ProblemError as error:
        log.warning("office %s not described for a message: %s", office_id, error.code)
        found = None
    return found or WindowOffice(office_id, city_code, office_id, office_id)


async def courier_event(cards: Cards, event: CourierEvent) -> Application:
    """Moves the application a verified callback reports on; a replayed event id is
    refused (409 courier_event_replayed)."""
    (outcome,) = await courier_events(cards, [event])
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


async def courier_events(cards: Cards, events: Sequence[CourierEvent]) -> list[Application | ProblemError]:
    """Each verified callback of a batch as ``courier_event`` would take it alone, all
    in one transaction: a refused one (a replay, an unknown tracking number, an
    illegal move) is refused before anything of it is kept, and answered with its
    problem. The applications are read once with their rows held until the commit
    (a replay of the same event in another batch waits, then finds it recorded), each
    event decided in order against what the ones before it did, and the events, moves
    and steps written together: no savepoint and five statements per event."""
    if not events:
        return []
    where: dict[str, WindowOffice | None] = {}
    for event in events:
        if event.kind == CourierEventKind.RETURNED:
            where[event.event_id] = await _returns_office(cards, event.tracking_number)
    outcomes: list[Application | ProblemError] = []
    async with cards.uow.write() as tx:
        apps = await tx.applications.by_tracking_many([e.tracking_number for e in events], lock=True)
        known = await tx.applications.courier_events_known([e.event_id for e in events])
        recorded: list[CourierEvent] = []
        moves: list[Move] = []
        for event in events:
            try:
                app = _courier_event(cards, tx, event, apps, known, moves, where.get(event.event_id))
            except ProblemError as refused:
                outcomes.append(refused)
                continue
            known.add(event.event_id)
            recorded.append(event)
            outcomes.append(app)
        await tx.applications.record_courier_events(recorded, cards.clock())
        await tx.applications.move_many(moves)
    return outcomes


async def _returns_office(cards: Cards, tracking_number: str) -> WindowOffice | None:
    """Where a returned card waits, described for the citizen's message (asked of
    booking before the transaction, not inside it)."""
    async with cards.uow.read() as tx:
        known = await tx.applications.by_tracking(tracking_number)
    city = cards.kinds.get(known.city_code) if known else None
    if known is None or city is None or not city.returns_office_id:
        return None
    return await describe_office(cards, city.city_code, city.returns_office_id)


def _courier_event(
    cards: Cards,
    tx: Transaction,
    event: CourierEvent,
    apps: Mapping[str, Application],
    known: set[str],
    moves: list[Move],
    where: WindowOffice | None,
) -> Application:
    """One event decided: refused (raised) before anything of it is kept; taken, its
    moves added to ``moves`` and their events emitted."""
    if event.event_id in known:
        raise ProblemError(
            "courier_event_replayed",
            "This courier event was received before.",
            field="event_id",
            kind=Kind.CONFLICT,
        )
    app = apps.get(event.tracking_number)
    if app is None:
        raise NotFound("tracking_number", event.tracking_number, field="tracking_number")
    reason = f"courier: {event.kind}" + (f" ({event.detail})" if event.detail else "")
    target = _COURIER_MOVES[event.kind]
    if event.kind == CourierEventKind.PICKED_UP and app.status is Status.SHIPPED:
        return app  # booked means shipped already: the pick-up changes nothing
    lifecycle.check_move(app.status, target)
    moves.append(_stepped(cards, tx, app, target, reason, "courier", {}))
    city = cards.kinds.get(app.city_code)
    if target is Status.RETURNED and city is not None and city.returns_office_id:
        office = {"office_id": city.returns_office_id}
        waits = "returned by the courier: waits at the office"
        moves.append(_stepped(cards, tx, app, Status.READY_FOR_PICKUP, waits, SYSTEM, office, where))
    return app


_COURIER_MOVES = {
    CourierEventKind.PICKED_UP: Status.SHIPPED,
    CourierEventKind.DELIVERED: Status.DELIVERED,
    CourierEventKind.DELIVERY_FAILED: Status.DELIVERY_FAILED,
    CourierEventKind.RETURNED: Status.RETURNED,
}
