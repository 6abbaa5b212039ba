"""The SANDBOX courier: books nothing with anyone, records each shipment and, as a
worker of the cards host, reports it picked up and then delivered a ``step`` apart
by POSTing SIGNED status callbacks to the gateway as a real courier may (docs/courier.md,
``courier_signature``): the callbacks due in a round go in batches (the callback
URL's ``/batch``), each signed on its own, so that one machine shows the whole
journey and the gateway's checks (signature, clock, replay) are the real ones.

Idempotent as the real courier must be: booking an application again returns the
same tracking number (derived from the application id, so also after a restart).
Each callback's event id is ``<tracking number>:<kind>``: a callback sent again
after a crash, or whose answer was lost, is a replay the cards service refuses
(by event id) and the sandbox counts as delivered. What it keeps survives a restart
in a JSON-lines file under the data dir (``sandbox/courier.jsonl``) with no personal
data: application ids, tracking numbers, booking times and the callbacks already
answered; the recipient, phone and address stay in this process's memory
(:attr:`SandboxCourier.shipments`), for tests and a developer to look at.

A batch is retried (tenacity, exponential back-off) while the gateway cannot be
reached or answers 5xx, then left for the next round; a callback the gateway
refuses otherwise (4xx but 409) is logged and given up: sending it again cannot help."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.cards.adapters.courier_signature import sign
from services.cards.service_layer.ports import CourierEventKind, ExternalUnavailable, Shipment
from services.runtime.clock import Clock, utc_now
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

FILE = Path("sandbox") / "courier.jsonl"
#: What happens to a shipment unless a test steers it otherwise.
USUAL = (CourierEventKind.PICKED_UP, CourierEventKind.DELIVERED)


def tracking_number(application_id: str) -> str:
    """``SBX`` and 12 digits, the same for an application every time."""
    digits = int(hashlib.sha256(application_id.encode()).hexdigest(), 16) % 10**12
    return f"SBX{digits:012d}"


class _TryAgain(Exception):
    """The gateway could not take the callback now (unreachable, 5xx)."""


@dataclass
class _Parcel:
    application_id: str
    tracking_number: str
    booked_at: dt.datetime | None  # None: steered, not booked yet
    events: tuple[str, ...] = USUAL
    #: Kinds the gateway has answered (accepted, refused as a replay, or refused for good).
    answered: set[str] = field(default_factory=set)

    def next_due(self, step: dt.timedelta) -> tuple[str, dt.datetime] | None:
        if self.booked_at is None:
            return None
        for i, kind in enumerate(self.events):
            if kind not in self.answered:
                return kind, self.booked_at + step * (i + 1)
        return None


class SandboxCourier(BackgroundLoop):
    """``ports.Courier`` and a worker of the cards host (``start``/``stop``)."""

    name = "sandbox-courier"

    def __init__(
        self,
        *,
        callback_url: str,
        secret: bytes,
        step: dt.timedelta,
        data_dir: Path | None = None,
        clock: Clock = utc_now,
        poll: float = 0.5,
        attempts: int = 4,
        client: httpx.AsyncClient | None = None,
        concurrency: int = 16,
        batch: int = 100,
    ) -> None:
        super().__init__()
        if httpx.URL(callback_url).scheme not in ("http", "https"):
            raise ValueError("the courier callback URL must be http:// or https://")
        self.callback_url = callback_url
        #: Where the batches go: the callback URL's ``/batch``.
        self.batch_url = callback_url.rstrip("/") + "/batch"
        self.batch = batch
        self._secret = secret
        self.step = step
        self.clock = clock
        self.poll = poll
        self.attempts = attempts
        self.path = data_dir / FILE if data_dir is not None else None
        self._own_client = client is None
        self._client = client
        self._limit = asyncio.Semaphore(concurrency)
        self._parcels: dict[str, _Parcel] = {}  # by tracking number
        #: Those with callbacks still to send: what each round looks through.
        self._open: dict[str, _Parcel] = {}
        self._in_flight: set[str] = set()
        #: The bookings as handed over, by application id, until their last callback
        #: is answered (this process's memory only: they hold personal data).
        self.shipments: dict[str, Shipment] = {}
        #: Set to make ``book`` raise ExternalUnavailable (tests).
        self.unavailable = False
        #: The latest callbacks the gateway accepted or refused: (event id, HTTP status).
        self.sent: deque[tuple[str, int]] = deque(maxlen=10_000)
        self._load()

    # --- the port ----------------------------------------------------------------

    async def book(self, shipment: Shipment) -> str:
        if self.unavailable:
            raise ExternalUnavailable("sandbox courier: unavailable (told so)")
        number = tracking_number(shipment.application_id)
        parcel = self._parcels.setdefault(number, _Parcel(shipment.application_id, number, None))
        if parcel.booked_at is None:
            parcel.booked_at = self.clock()
            await self._write({"booked": shipment.application_id, "at": parcel.booked_at.isoformat()})
            log.info("sandbox courier: shipment %s booked", number)
            self._open[number] = parcel
            self.shipments[shipment.application_id] = shipment
        self.wake()
        return number

    def steer(self, application_id: str, events: Sequence[str]) -> None:
        """What the courier will report for this shipment, in order (e.g. picked_up,
        delivery_failed, returned); for tests and walks, before or after booking.
        Kept in memory only: after a restart the shipment goes the usual way."""
        number = tracking_number(application_id)
        self._parcels.setdefault(number, _Parcel(application_id, number, None)).events = tuple(events)

    # --- the worker ----------------------------------------------------------------

    async def stop(self) -> None:
        await super().stop()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while self.running:
            try:
                await self.send_due()
            except Exception:  # a bug must not end the journey of every other parcel
                log.exception("sandbox courier: a round of callbacks failed")
            await self.nap(self.poll)

    async def send_due(self) -> int:
        """Send every callback that is due now; how many the gateway answered."""
        now = self.clock()
        due: list[tuple[_Parcel, str]] = []
        for parcel in list(self._open.values()):
            upcoming = parcel.next_due(self.step)
            if upcoming is None:  # all said
                self._open.pop(parcel.tracking_number, None)
                self.shipments.pop(parcel.application_id, None)
                continue
            if upcoming is not None and upcoming[1] <= now and parcel.tracking_number not in self._in_flight:
                # Marked here, before any task runs: one callback of a parcel at a
                # time, whichever round (its retries may outlast one) sends it.
                self._in_flight.add(parcel.tracking_number)
                due.append((parcel, upcoming[0]))
        # A batch per request (docs/courier.md, "Batches"): a journey of 100
        # applications a second is 200 callbacks a second, each otherwise a request
        # through the gateway and a transaction of the cards service.
        batches = [due[n : n + self.batch] for n in range(0, len(due), self.batch)]
        answered = [e for sent in await asyncio.gather(*(self._send(b) for b in batches)) for e in sent]
        # One append a round, not one per callback.
        await self._write(*({"answered": event_id} for event_id in answered))
        return len(answered)

    async def _send(self, batch: list[tuple[_Parcel, str]]) -> list[str]:
        """The event ids the gateway answered; the others are left for the next round."""
        try:
            return await self._send_batch(batch)
        finally:
            for parcel, _ in batch:
                self._in_flight.discard(parcel.tracking_number)

    async def _send_batch(self, batch: list[tuple[_Parcel, str]]) -> list[str]:
        async with self._limit:
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.attempts),
                    wait=wait_exponential(multiplier=0.2, max=5),
                    retry=retry_if_exception_type(_TryAgain),
                    reraise=True,
                ):
                    with attempt:
                        statuses = await self._post(batch)
            except _TryAgain as exc:
                log.warning("sandbox courier: %d callbacks not taken (%s); next round", len(batch), exc)
                return []
        answered = []
        for (parcel, kind), status in zip(batch, statuses, strict=True):
            event_id = f"{parcel.tracking_number}:{kind}"
            self.sent.append((event_id, status))
            if 200 <= status < 300 or status == 409:
                log.debug("sandbox courier: %s %s (HTTP %d)", parcel.tracking_number, kind, status)
            else:
                log.warning("sandbox courier: callback %s refused (HTTP %d); given up", event_id, status)
            parcel.answered.add(kind)
            answered.append(event_id)
        return answered

    async def _post(self, batch: list[tuple[_Parcel, str]]) -> list[int]:
        """Each callback's HTTP status as the gateway answered it."""
        now = self.clock()
        timestamp = int(now.timestamp())  # signed anew on every attempt
        callbacks = []
        for parcel, kind in batch:
            body = json.dumps(
                {
                    "event_id": f"{parcel.tracking_number}:{kind}",
                    "tracking_number": parcel.tracking_number,
                    "kind": kind,
                    "occurred_at": now.isoformat(timespec="seconds"),
                },
                separators=(",", ":"),
            )
            signature = sign(self._secret, timestamp, body.encode())
            callbacks.append({"timestamp": str(timestamp), "signature": signature, "body": body})
        if self._client is None:
            # A batch is up to ``batch`` transactions' work at the gateway: a loaded
            # machine takes longer than for one callback, and a timeout would send
            # the whole batch again (all replays by then: work for nothing).
            self._client = httpx.AsyncClient(timeout=30.0)
        try:
            response = await self._client.post(self.batch_url, json={"callbacks": callbacks})
        except httpx.TransportError as exc:  # timeouts included
            raise _TryAgain(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code in (408, 425, 429):
            raise _TryAgain(f"HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:  # the batch refused whole
            return [response.status_code] * len(batch)
        try:
            statuses = [int(result["http_status"]) for result in response.json()["results"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise _TryAgain("an answer that is no batch's") from exc
        if len(statuses) != len(batch):
            raise _TryAgain("an answer for another batch")
        return statuses

    # --- what survives a restart ---------------------------------------------------

    async def _write(self, *entries: dict[str, str]) -> None:
        if self.path is not None and entries:
            lines = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries)
            await asyncio.to_thread(self._append, lines)

    def _append(self, lines: str) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(lines)

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                if "booked" in entry:
                    number = tracking_number(entry["booked"])
                    at = dt.datetime.fromisoformat(entry["at"])
                    self._open[number] = self._parcels.setdefault(
                        number, _Parcel(entry["booked"], number, at)
                    )
                elif "answered" in entry:
                    number, _, kind = entry["answered"].partition(":")
                    if number in self._parcels:
                        self._parcels[number].answered.add(kind)
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("sandbox courier: an unreadable line in %s is skipped", self.path)
