"""The register's side of the cards service: a citizen's facts in clear (the cards
service decides on them and seals what it keeps), a card reported lost, a new card
written. Each change of a card is one transaction with its audit entry and its
request row, so the change is never lost nor made twice: a retried call (the same
application id and action) finds the row and answers as the first did."""

from __future__ import annotations

import datetime as dt
import json
import re

from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer.ports import CardRequest, Sealer, Store, UnitOfWork
from services.runtime.batch import bounded_ids
from services.runtime.errors import Conflict, InvalidArgument, NotFound
from services.runtime.text import check_text

REPORT_LOST = "report_lost"
NEW_CARD = "new_card"

#: A card's number as the production centre prints it (the register import checks
#: the same form).
CARD_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")


def _id(value: str, field: str) -> str:
    value = check_text(value.strip(), field, max_length=64)
    if not value:
        raise InvalidArgument("id_required", f"Give the {field.replace('_', ' ')}.", field=field)
    return value


class CardHolders:
    def __init__(self, uow: UnitOfWork, sealer: Sealer) -> None:
        self.uow = uow
        self.sealer = sealer

    async def holder(self, citizen_id: str) -> Resident:
        citizen_id = _id(citizen_id, "citizen_id")
        async with self.uow.read() as store:
            resident = await store.resident(citizen_id)
        if resident is None:
            raise NotFound("citizen", citizen_id, field="citizen_id")
        return resident

    async def holders(self, citizen_ids: list[str]) -> list[Resident]:
        """Many at once, in one read (a production batch's orders); those the register
        does not hold are left out."""
        ids = bounded_ids(citizen_ids, "citizen_ids")
        if not ids:
            return []
        async with self.uow.read() as store:
            return await store.residents(ids)

    async def report_lost(self, *, citizen_id: str, application_id: str, actor: str) -> CardStatus:
        """The card reported lost at once. Refused (409 ``card_not_current``) when
        the register holds no card the citizen could still use."""
        citizen_id = _id(citizen_id, "citizen_id")
        application_id = _id(application_id, "application_id")
        digest = self.sealer.lookup(f"card-request:{REPORT_LOST}:{citizen_id}")
        async with self.uow.write() as store:
            resident = await self._resident(store, citizen_id)
            done = await self._done(store, application_id, REPORT_LOST, digest)
            if done is not None:
                return done
            if resident.card_status is CardStatus.INVALIDATED or (
                not resident.card_number and resident.card_issued_on is None
            ):
                raise Conflict(
                    "card_not_current",
                    "The register holds no current card of this citizen to report lost.",
                    field="citizen_id",
                )
            status = CardStatus.REPORTED_LOST
            await store.set_card(citizen_id, status)
            await self._record(
                store, actor, "card.reported_lost", resident, application_id, REPORT_LOST, digest
            )
        return status

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
        citizen_id = _id(citizen_id, "citizen_id")
        application_id = _id(application_id, "application_id")
        card_number = card_number.strip()
        if not CARD_NUMBER.fullmatch(card_number):
            raise InvalidArgument(
                "invalid_card_number", "1 to 32 letters, digits or hyphens.", field="card_number"
            )
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
        async with self.uow.write() as store:
            resident = await self._resident(store, citizen_id)
            done = await self._done(store, application_id, NEW_CARD, digest)
            if done is not None:
                return done
            status = CardStatus.VALID
            await store.set_card(
                citizen_id, status, number=card_number, issued_on=issued_on, expires_on=expires_on
            )
            await self._record(store, actor, "card.recorded", resident, application_id, NEW_CARD, digest)
        return status

    async def _resident(self, store: Store, citizen_id: str) -> Resident:
        # Locked first, the request row read after: a concurrent retry waits for this
        # transaction and then finds its row, rather than both changing the card.
        resident = await store.resident_for_update(citizen_id)
        if resident is None:
            raise NotFound("citizen", citizen_id, field="citizen_id")
        return resident

    async def _done(self, store: Store, application_id: str, action: str, digest: str) -> CardStatus | None:
        """The answer of the call already made for this application, if any."""
        done = await store.card_request(application_id, action)
        if done is None:
            return None
        if done.request_digest != digest:
            raise Conflict(
                "application_id_reused",
                "This application id was used before with other values.",
                field="application_id",
            )
        return CardStatus(done.card_status)

    async def _record(
        self,
        store: Store,
        actor: str,
        action: str,
        before: Resident,
        application_id: str,
        request_action: str,
        digest: str,
    ) -> None:
        after = CardStatus.REPORTED_LOST if request_action == REPORT_LOST else CardStatus.VALID
        await store.add_card_request(
            CardRequest(application_id, request_action, before.citizen_id, after.value, digest)
        )
        # No card number in the audit log: it is personal data, sealed in the register.
        await store.audit(
            actor=actor,
            action=action,
            subject=f"citizen:{before.citizen_id}",
            detail={"application_id": application_id, "from": before.card_status.value, "to": after.value},
        )
