"""The register's side of the cards service: a citizen's facts in clear (the cards
service decides on them and seals what it keeps), a card reported lost, a new card
written. Each change of a card is one transaction with its audit entry and its
request row, so the change is never lost nor made twice: a retried call (the same
application id and action) finds the row and answers as the first did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.identity.domain.channels import Assurance
from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer.ports import AuditNote, CardRequest, CardSet, Sealer, UnitOfWork
from services.runtime.batch import MAX_IDS, bounded_ids
from services.runtime.errors import Conflict, InvalidArgument, NotFound, ProblemError
from services.runtime.text import check_text

REPORT_LOST = "report_lost"
NEW_CARD = "new_card"

#: A card's number as the production centre prints it (the register import checks
#: the same form).
CARD_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")


#: One change's answer: the card's status after it, or the problem that refused it
#: (nothing of it written).
Outcome = CardStatus | ProblemError

#: A session's assurance level now, and when it lapses, from the time of its last
#: face match (None: never; service_layer/face.py ``FaceVerification.level``).
LevelAt = Callable[[dt.datetime | None], tuple[Assurance, dt.datetime | None]]


def _otp_only(matched: dt.datetime | None) -> tuple[Assurance, dt.datetime | None]:
    return Assurance.OTP, None


@dataclass(frozen=True)
class SessionLevel:
    """A live session's owner and assurance level now."""

    session_id: str
    citizen_id: str
    level: Assurance


@dataclass(frozen=True)
class NewCard:
    """A produced card as the cards service reports it."""

    citizen_id: str
    application_id: str
    card_number: str
    issued_on: dt.date | None
    expires_on: dt.date | None


@dataclass(frozen=True)
class _Change:
    """A change of a citizen's card, its input checked."""

    citizen_id: str
    application_id: str
    action: str  # REPORT_LOST or NEW_CARD
    digest: str  # of the request: the same application id with other values is refused
    card_number: str | None = None
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None


def _attempt(check: Callable[..., _Change], *args: object) -> _Change | ProblemError:
    try:
        return check(*args)
    except ProblemError as refused:
        return refused


def _bounded(items: Sequence[object], field: str) -> None:
    if len(items) > MAX_IDS:
        raise InvalidArgument("too_many_ids", f"At most {MAX_IDS} changes in one call.", field=field)


def _one(outcomes: list[Outcome]) -> CardStatus:
    (outcome,) = outcomes
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


def _id(value: str, field: str) -> str:
    value = check_text(value.strip(), field, max_length=64)
    if not value:
        raise InvalidArgument("id_required", f"Give the {field.replace('_', ' ')}.", field=field)
    return value


class CardHolders:
    def __init__(self, uow: UnitOfWork, sealer: Sealer, level_at: LevelAt = _otp_only) -> None:
        self.uow = uow
        self.sealer = sealer
        self.level_at = level_at

    async def holder(self, citizen_id: str) -> Resident:
        citizen_id = _id(citizen_id, "citizen_id")
        async with self.uow.read() as store:
            resident = await store.resident(citizen_id)
        if resident is None:
            raise NotFound("citizen", citizen_id, field="citizen_id")
        return resident

    async def holders(
        self, citizen_ids: list[str], session_ids: Sequence[str] = ()
    ) -> tuple[list[Resident], list[SessionLevel]]:
        """Many residents at once (a production batch's orders, the applications
        submitted together) and the live ones of ``session_ids`` (not signed out or
        revoked: what Authenticate checks of a session) with their assurance level
        now, for an application's checks, asked with the holders' facts rather than by
        the gateway in a call of its own before. One read, a query for the residents
        and one for the sessions with their last face match, however many are asked;
        those the register does not hold are left out."""
        ids = bounded_ids(citizen_ids, "citizen_ids")
        sessions = bounded_ids(list(session_ids), "session_ids")
        if not ids and not sessions:
            return [], []
        async with self.uow.read() as store:
            residents = await store.residents(ids) if ids else []
            found = await store.sessions_with_face_match(sessions) if sessions else []
        live = [
            SessionLevel(s.id, s.citizen_id, self.level_at(matched)[0])
            for s, matched in found
            if s.revoked_at is None
        ]
        return residents, live

    async def report_lost(self, *, citizen_id: str, application_id: str, actor: str) -> CardStatus:
        """The card reported lost at once. Refused (409 ``card_not_current``) when
        the register holds no card the citizen could still use."""
        return _one(await self.report_lost_many([(citizen_id, application_id)], actor=actor))

    async def report_lost_many(self, reports: Sequence[tuple[str, str]], *, actor: str) -> list[Outcome]:
        """Many ``(citizen_id, application_id)`` reported lost in one transaction (the
        reports of applications submitted at the same time), each answered on its own
        as ``report_lost`` would, in order."""
        _bounded(reports, "reports")
        return await self._apply([_attempt(self._lost, c, a) for c, a in reports], actor)

    def _lost(self, citizen_id: str, application_id: str) -> _Change:
        citizen_id = _id(citizen_id, "citizen_id")
        application_id = _id(application_id, "application_id")
        digest = self.sealer.lookup(f"card-request:{REPORT_LOST}:{citizen_id}")
        return _Change(citizen_id, application_id, REPORT_LOST, digest)

    async def record_new_card(
        self,
        *,
        citizen_id: str,
        application_id: str,
        card_number: str,
        issued_on: dt.date | None,
        expires_on: dt.date | None,
        actor: str,
    ) -> CardStatus:
        """The new card written to the register (valid); the one it replaces, whatever
        its status, is no longer the citizen's card."""
        card = NewCard(citizen_id, application_id, card_number, issued_on, expires_on)
        return _one(await self.record_new_cards([card], actor=actor))

    async def record_new_cards(self, cards: Sequence[NewCard], *, actor: str) -> list[Outcome]:
        """Many new cards in one transaction (a production batch's), each answered on
        its own as ``record_new_card`` would, in order."""
        _bounded(cards, "cards")
        return await self._apply([_attempt(self._new_card, card) for card in cards], actor)

    def _new_card(self, card: NewCard) -> _Change:
        citizen_id = _id(card.citizen_id, "citizen_id")
        application_id = _id(card.application_id, "application_id")
        card_number = card.card_number.strip()
        if not CARD_NUMBER.fullmatch(card_number):
            raise InvalidArgument(
                "invalid_card_number", "1 to 32 letters, digits or hyphens.", field="card_number"
            )
        issued_on, expires_on = card.issued_on, card.expires_on
        if issued_on is None:
            raise InvalidArgument(
                "issued_on_required", "Give the date the card was issued.", field="issued_on"
            )
        if expires_on is None or expires_on <= issued_on:
            raise InvalidArgument(
                "invalid_expiry", "The card expires after the day it was issued.", field="expires_on"
            )
        request = json.dumps(
            [NEW_CARD, citizen_id, card_number, issued_on.isoformat(), expires_on.isoformat()]
        )
        digest = self.sealer.lookup(f"card-request:{request}")
        return _Change(citizen_id, application_id, NEW_CARD, digest, card_number, issued_on, expires_on)

    async def _apply(self, changes: list[_Change | ProblemError], actor: str) -> list[Outcome]:
        """The checked changes in one transaction, in the order asked, their residents
        locked first in citizen order (two batches sharing residents take turns, never
        deadlock). A refusal is raised before its change writes anything, so it is
        answered alone and the others go on."""
        outcomes: list[Outcome] = [c if isinstance(c, ProblemError) else CardStatus.VALID for c in changes]
        todo = [(n, c) for n, c in enumerate(changes) if isinstance(c, _Change)]
        if not todo:
            return outcomes
        async with self.uow.write() as store:
            # Locked first, the request rows read after: a concurrent retry waits for
            # this transaction and then finds its row, rather than both changing the card.
            batch = _Batch(
                await store.residents_for_update([c.citizen_id for _, c in todo]),
                {
                    (r.application_id, r.action): r
                    for r in await store.card_requests([c.application_id for _, c in todo])
                },
            )
            for n, change in todo:
                try:
                    outcomes[n] = batch.change(change, actor)
                except ProblemError as refused:
                    outcomes[n] = refused
            # Every change's writes together: a statement or two for the batch, not
            # five per change.
            await store.set_cards(batch.cards)
            await store.add_card_requests(batch.requests)
            await store.audit_many(batch.audit)
        return outcomes


@dataclass
class _Batch:
    """One transaction's changes, made in order against what it read (the residents
    locked, the requests already made) and kept up to date as they are made, so that
    two changes of one citizen, or one application asked twice, see each other."""

    residents: dict[str, Resident]
    done: dict[tuple[str, str], CardRequest]
    cards: list[CardSet] = field(default_factory=list)
    requests: list[CardRequest] = field(default_factory=list)
    audit: list[AuditNote] = field(default_factory=list)

    def change(self, change: _Change, actor: str) -> CardStatus:
        """The change's outcome; a refusal is raised before anything of it is kept."""
        resident = self.residents.get(change.citizen_id)
        if resident is None:
            raise NotFound("citizen", change.citizen_id, field="citizen_id")
        done = self.done.get((change.application_id, change.action))
        if done is not None:
            if done.request_digest != change.digest:
                raise Conflict(
                    "application_id_reused",
                    "This application id was used before with other values.",
                    field="application_id",
                )
            return CardStatus(done.card_status)
        if change.action == REPORT_LOST:
            if resident.card_status is CardStatus.INVALIDATED or (
                not resident.card_number and resident.card_issued_on is None
            ):
                raise Conflict(
                    "card_not_current",
                    "The register holds no current card of this citizen to report lost.",
                    field="citizen_id",
                )
            status, action = CardStatus.REPORTED_LOST, "card.reported_lost"
            card = CardSet(change.citizen_id, status)
            after = dataclasses.replace(resident, card_status=status)
        else:
            status, action = CardStatus.VALID, "card.recorded"
            card = CardSet(change.citizen_id, status, change.card_number, change.issued_on, change.expires_on)
            after = dataclasses.replace(
                resident,
                card_status=status,
                card_number=change.card_number or "",
                card_issued_on=change.issued_on,
                card_expires_on=change.expires_on,
            )
        request = CardRequest(
            change.application_id, change.action, change.citizen_id, status.value, change.digest
        )
        self.cards.append(card)
        self.requests.append(request)
        # No card number in the audit log: it is personal data, sealed in the register.
        self.audit.append(
            AuditNote(
                actor,
                action,
                f"citizen:{change.citizen_id}",
                {
                    "application_id": change.application_id,
                    "from": resident.card_status.value,
                    "to": status.value,
                },
            )
        )
        self.residents[change.citizen_id] = after
        self.done[(change.application_id, change.action)] = request
        return status
