"""The card production centre over HTTP (``ports.ProductionCentre``); the contract
the centre implements is docs/card-production.md.

``submit`` POSTs the batch to ``/v1/batches`` with the batch id as Idempotency-Key:
a retry (ours after a timeout, or the caller's later) makes nothing twice.
``produced`` GETs ``/v1/batches/{batch_id}/cards``. Both are signed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from services.cards.adapters.partner_http import SignedPartner, malformed
from services.cards.service_layer.ports import ProducedCard, ProductionOrder

#: A card's number as the centre prints it (identity's register takes this form).
_CARD_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")


class HttpProductionCentre(SignedPartner):
    NAME = "card_production"

    async def submit(self, batch_id: str, orders: Sequence[ProductionOrder]) -> None:
        payload = {
            "batch_id": batch_id,
            "orders": [
                {
                    "application_id": o.application_id,
                    "kind": o.kind,
                    "city_code": o.city_code,
                    "id_number": o.id_number,
                    "name": o.name,
                    "gender": o.gender,
                    "birth_date": o.birth_date.isoformat(),
                    "household_address": o.household_address,
                }
                for o in orders
            ],
        }
        status, answer = await self.http.call(
            "POST", "/v1/batches", payload=payload, idempotency_key=batch_id
        )
        if status == 404 or not isinstance(answer, dict) or answer.get("batch_id") != batch_id:
            # 404 on a create: a wrong URL behind a router, or an answer we cannot read.
            raise malformed(self.NAME, "no batch_id" if status != 404 else "HTTP 404")

    async def produced(self, batch_id: str) -> Sequence[ProducedCard]:
        status, answer = await self.http.call("GET", f"/v1/batches/{quote(batch_id, safe='')}/cards")
        if status == 404:
            return []  # the centre does not know the batch: nothing made (submit it again)
        cards = answer.get("cards") if isinstance(answer, dict) else None
        if not isinstance(cards, list):
            raise malformed(self.NAME, "no cards list")
        return [_card(item) for item in cards]


def _card(item: Any) -> ProducedCard:
    if not isinstance(item, dict):
        raise malformed(HttpProductionCentre.NAME, "a card is not an object")
    application_id, number = item.get("application_id"), item.get("card_number")
    if not isinstance(application_id, str) or not application_id:
        raise malformed(HttpProductionCentre.NAME, "application_id")
    if not isinstance(number, str) or not _CARD_NUMBER.fullmatch(number):
        raise malformed(HttpProductionCentre.NAME, "card_number")
    try:
        issued_on = dt.date.fromisoformat(str(item["issued_on"]))
        expires_on = dt.date.fromisoformat(str(item["expires_on"]))
    except (KeyError, ValueError):
        raise malformed(HttpProductionCentre.NAME, "issued_on/expires_on") from None
    if expires_on <= issued_on:
        raise malformed(HttpProductionCentre.NAME, "expires_on before issued_on")
    return ProducedCard(application_id, number, issued_on, expires_on)
