"""The courier over HTTP (``ports.Courier``); the contract the courier implements,
and the status callbacks it sends back, are docs/courier.md.

``book`` POSTs the shipment to ``/v1/shipments`` with the application id as
Idempotency-Key: booking again (our retry after a timeout, or the caller's after a
crash) returns the same tracking number and ships nothing twice. Signed."""

from __future__ import annotations

import re

from services.cards.adapters.partner_http import SignedPartner, malformed
from services.cards.service_layer.ports import Shipment

#: What we take as a tracking number: the callbacks carry it in at most 64 characters.
_TRACKING = re.compile(r"[A-Za-z0-9-]{1,64}")


class HttpCourier(SignedPartner):
    NAME = "courier"

    async def book(self, shipment: Shipment) -> str:
        payload = {
            "reference": shipment.application_id,
            "recipient": shipment.recipient,
            "phone": shipment.phone,
            "address": shipment.address,
            "city_code": shipment.city_code,
        }
        status, answer = await self.http.call(
            "POST", "/v1/shipments", payload=payload, idempotency_key=shipment.application_id
        )
        number = answer.get("tracking_number") if isinstance(answer, dict) and status != 404 else None
        if not isinstance(number, str) or not _TRACKING.fullmatch(number):
            raise malformed(self.NAME, "no tracking_number" if status != 404 else "HTTP 404")
        return number
