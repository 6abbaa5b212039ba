"""The courier over HTTP (``ports.Courier``); the contract the courier implements,
and the status callbacks it sends back, are docs/courier.md.

``book`` POSTs the shipment to ``/v1/shipments`` with the application id as
Idempotency-Key: booking again (our retry after a timeout, or the caller's after a
crash) returns the same tracking number and ships nothing twice. Signed."""

from __future__ import annotations

import re

import httpx

from services.cards.adapters.partner_http import SignedClient, malformed
from services.cards.service_layer.ports import Shipment

NAME = "courier"
#: What we take as a tracking number: the callbacks carry it in at most 64 characters.
_TRACKING = re.compile(r"[A-Za-z0-9-]{1,64}")


class HttpCourier:
    def __init__(
        self,
        *,
        url: str,
        key_id: str,
        secret: bytes,
        timeout: float = 10.0,
        attempts: int = 3,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.http = SignedClient(
            NAME,
            base_url=url,
            key_id=key_id,
            secret=secret,
            timeout=timeout,
            attempts=attempts,
            client=client,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

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
            raise malformed(NAME, "no tracking_number" if status != 404 else "HTTP 404")
        return number
