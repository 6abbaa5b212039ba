"""SANDBOX courier (a minimal stand-in; the one posting signed status callbacks on a
schedule lands with the partner adapters): books a shipment and answers a tracking
number derived from the application id, so booking again answers the same one.
Refused in production unless MINTONG_ALLOW_SANDBOX names courier."""

from __future__ import annotations

import hashlib

from services.cards.service_layer.ports import Shipment


class SandboxCourier:
    def __init__(self) -> None:
        #: What it would have shipped, by tracking number (masked nowhere: memory only).
        self.booked: dict[str, Shipment] = {}

    async def book(self, shipment: Shipment) -> str:
        tracking = "SBX" + hashlib.sha256(shipment.application_id.encode()).hexdigest()[:12].upper()
        self.booked[tracking] = shipment
        return tracking
