"""Sending and delivering messages: routing with fallback, retries with back-off,
quiet hours, receipts, the inbox and preferences."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from services.notify.domain import templates as tpl
from services.notify.domain.messages import Delivery, Message
from services.notify.domain.model import (
    Addresses,
    Channel,
    Contacts,
    QuietHours,
    RetryPolicy,
    Status,
    route,
)
from services.notify.domain.providers import (
    Accepted,
    BatchProvider,
    Outgoing,
    Permanent,
    Provider,
    ProviderError,
)
from services.notify.service_layer.ports import Sent, Store, UnitOfWork
from services.runtime import metrics, telemetry
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound

log = logging.getLogger(__name__)

#: What a provider answered for one delivery, or the error it raised.
Outcome = Accepted | BaseException
#: The outcome of an inbox copy reaching its time: nothing to send, delivered.
INBOX_DELIVERED = Accepted(provider_ref="", delivered=True)
#: A delivery SENDING this long without a provider's reference was cut off by a
#: stopped worker; looked for at most every REQUEUE_EVERY.
STUCK_AFTER = dt.timedelta(minutes=5)
REQUEUE_EVERY = dt.timedelta(seconds=30)
#: Deliveries claimed, sent and recorded together in one round.
ROUND = 200
#: Deliveries written already claimed and handed to the worker in memory (see
#: Notifier.send_in) wait at most this many at once: with a round's send timeout
#: each, the last of them goes long before the stuck-delivery sweep (STUCK_AFTER)
#: could take it for one cut off by a stopped worker and send it again.
HAND_OVER_LIMIT = 5 * ROUND
#: While handed deliveries keep the worker busy, it still looks in the database
#: this often for what fell due there (retries, reminders, fallbacks).
LOOK_EVERY = dt.timedelta(seconds=1)


#: Deliveries entering a state, by channel and provider (provider names are this
#: deployment's: sandbox_sms, http_sms, …; the inbox is its own provider):
#: ``sending`` handed to a provider that confirms later by receipt, ``delivered``,
#: ``retrying`` (a try failed, another is due), ``failed`` (given up; a fallback
#: channel may take over).
DELIVERIES = Counter(
    "mintong_notify_deliveries",
    "Deliveries entering a state (sending, delivered, retrying, failed), by channel and provider.",
    ["state", "channel", "provider"],
)
#: From the moment a delivery was due (the event handled, or quiet hours or a
#: reminder's time over, or a retry's back-off) to its provider accepting it.
DELIVERY_DELAY = Histogram(
    "mintong_notify_delivery_delay_seconds",
    "From a delivery falling due to its provider accepting it, by channel.",
    ["channel"],
    buckets=metrics.DELAY_BUCKETS,
)


@dataclass(frozen=True)
class Send:
    """One message to make (see Notifier.send_all_in)."""

    citizen_id: str
    template: str
    variables: Mapping[str, tpl.Value]
    city_code: str
    #: What caused it (an event id, an idempotency key): the same one never makes a second message.
    source_key: str
    phone: str | None = None
    #: Not delivered before (a reminder's time); None: at once, quiet hours aside.
    not_before: dt.datetime | None = None
    #: Cancelling this key withdraws what has not gone yet.
    cancel_key: str | None = None
    #: The trace its deliveries continue: the one current where the request is made
    #: (a consumer's event's), which is not always where the batch is written.
    trace_context: dict[str, str] = field(default_factory=telemetry.current_carrier)
    #: The same trace in memory: a delivery handed to the worker in this process
    #: continues it without parsing ``trace_context`` back (a sixth of a crowd's CPU).
    parent: otel_context.Context = field(default_factory=otel_context.get_current)


#: A delivery claimed, with the trace its sending continues (see Send.parent).
Claimed = tuple[Delivery, otel_context.Context]


@dataclass
class Staged:
    """The messages a consumer's transaction is to make, gathered event by event and
    made together (:meth:`Notifier.flush`) before anything else touches what they
    write (a cancellation) and before the commit: a fetch of events costs three
    statements, not three an event. ``claimed``: the deliveries written claimed, for
    :meth:`Notifier.hand_over` once the transaction has committed."""

    sends: list[Send] = field(default_factory=list)
    claimed: list[Claimed] = field(default_factory=list)


def _check(request: Send) -> None:
    if not request.citizen_id:
        raise InvalidArgument("citizen_required", "Name the citizen to tell.", field="citizen_id")
    if not request.source_key:
        raise InvalidArgument("idempotency_key_required", "Give an idempotency key.", field="idempotency_key")


def _outgoing(d: Delivery) -> Outgoing:
    return Outgoing(d.id, d.channel, d.address, d.title, d.body, "")


class Notifier:
    def __init__(
        self,
        uow: UnitOfWork,
        templates: tpl.TemplateBook,
        providers: Mapping[Channel, Provider],
        *,
        clock: Clock,
        time_zone: str = "Asia/Shanghai",
        retry: RetryPolicy = RetryPolicy(),
        quiet: QuietHours | None = QuietHours(),
        send_timeout: float = 10.0,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.uow = uow
        self.templates = templates
        self.providers = dict(providers)
        self.clock = clock
        self.zone = ZoneInfo(time_zone)
        self.retry = retry
        self.quiet = quiet
        self.send_timeout = send_timeout
        self.on_queued = on_queued  # wakes the delivery worker
        self._tracer = telemetry.tracer(__name__)
        self._next_requeue = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._next_look = dt.datetime.min.replace(tzinfo=dt.UTC)
        #: Deliveries claimed when their message was written (committed), not sent yet.
        self._handed: list[Claimed] = []

    # sending
    async def send(
        self,
        *,
        citizen_id: str,
        template: str,
        variables: Mapping[str, str],
        city_code: str,
        source_key: str,
        phone: str | None = None,
    ) -> Message:
        async with self.uow.write() as store:
            message = await self.send_in(
                store,
                citizen_id=citizen_id,
                template=template,
                variables=variables,
                city_code=city_code,
                source_key=source_key,
                phone=phone,
            )
        self.on_queued()
        return message

    async def send_in(
        self,
        store: Store,
        *,
        citizen_id: str,
        template: str,
        variables: Mapping[str, tpl.Value],
        city_code: str,
        source_key: str,
        phone: str | None = None,
        not_before: dt.datetime | None = None,
        cancel_key: str | None = None,
    ) -> Message:
        """Record a message and its first deliveries inside the caller's transaction.
        The same source_key gives back the message it made the first time."""
        request = Send(citizen_id, template, variables, city_code, source_key, phone, not_before, cancel_key)
        _check(request)
        # A repeated request gets its first answer, checked before anything else.
        if existing := await store.message_by_source(source_key):
            return existing
        [message] = await self.send_all_in(store, [request])
        return message

    async def flush(self, store: Store, staged: Staged) -> None:
        """Make the messages ``staged`` holds (see :class:`Staged`)."""
        sends, staged.sends = staged.sends, []
        if sends:
            await self.send_all_in(store, sends, claimed=staged.claimed)

    async def send_all_in(
        self, store: Store, requests: Sequence[Send], *, claimed: list[Claimed] | None = None
    ) -> list[Message]:
        """The messages of ``requests`` (in their order) and their first deliveries,
        recorded inside the caller's transaction in three statements whatever their
        number: the citizens' contacts, the messages, the deliveries (a consumer's
        fetch of events pays them once, not once an event). A request whose
        source_key made a message before gets that message back. Nothing is looked
        for first: a consumer's events are new nearly always (its record of processed
        events says so), and the messages' unique source_key finds the rest.

        With ``claimed``, a delivery due at once is written already claimed (SENDING,
        its attempt counted, as the worker's claim would leave it) and added to
        ``claimed``, for the caller to :meth:`hand_over` once its transaction has
        committed: the worker sends it without a claim of its own, a write
        transaction (and on SQLite a synced commit) less a message, and one less
        on the way from the event to the provider."""
        for request in requests:
            _check(request)
        contacts = await store.contacts_of({r.citizen_id for r in requests}) if requests else {}
        now = self.clock()
        made: list[tuple[Send, Message, list[Delivery]]] = []
        handing: list[Claimed] = []  # claimed, once their message is written
        for request in requests:
            chosen = self.templates.get(request.template)
            known = contacts.get(request.citizen_id) or Contacts(request.citizen_id)
            if request.phone:
                known = replace(known, phone=request.phone)
            # A value given per language is written in the citizen's.
            values = {k: tpl.in_language(v, known.language) for k, v in request.variables.items()}
            # Rendering checks the variables even when there is no inbox copy to keep.
            first_channel = Channel.INBOX if chosen.inbox else (chosen.channels or (Channel.SMS,))[0]
            inbox = chosen.render(known.language, first_channel, values)
            routes = self._routes(known, request.city_code, chosen.channels)
            if chosen.channels and not routes:
                wanted = ", ".join(c.value for c in chosen.channels)
                raise InvalidArgument("no_address", f"The citizen has no {wanted} address.", field="phone")
            message = Message(
                id=str(uuid.uuid4()),
                citizen_id=request.citizen_id,
                template=request.template,
                city_code=request.city_code,
                language=known.language,
                variables=values,
                urgent=chosen.urgent,
                source_key=request.source_key,
                title=inbox.title if chosen.inbox else "",
                body=inbox.body if chosen.inbox else "",
                created_at=now,
                cancel_key=request.cancel_key,
            )
            # The inbox is ours: its copy is delivered when the message is made (or due).
            deliveries = []
            context = request.trace_context
            if chosen.inbox:
                earliest = request.not_before or now
                status = Status.QUEUED if earliest > now else Status.DELIVERED
                deliveries.append(
                    self._delivery(
                        message, Channel.INBOX, request.citizen_id, status, earliest, context, inbox
                    )
                )
            if routes:
                channel, address = routes[0]
                due = self._due(message, request.not_before or now)
                # Not one a cancellation may still withdraw (a reminder whose time is
                # past): cancelling takes only what is QUEUED.
                if (
                    claimed is not None
                    and due <= now
                    and request.cancel_key is None
                    and len(claimed) + len(handing) + len(self._handed) < HAND_OVER_LIMIT
                ):
                    delivery = self._delivery(message, channel, address, Status.SENDING, due, context)
                    handing.append((delivery, request.parent))
                    deliveries.append(delivery)
                else:
                    deliveries.append(self._delivery(message, channel, address, Status.QUEUED, due, context))
            made.append((request, message, deliveries))
        # One made before (or by a concurrent twin) is not written, nor are its
        # deliveries (on PostgreSQL the messages and their deliveries are one statement).
        written = await store.add_messages(
            [message for _, message, _ in made], [d for _, _, deliveries in made for d in deliveries]
        )
        if claimed is not None:
            claimed += [(d, parent) for d, parent in handing if d.message_id in written]
        # What was just written, as a read would give it back (not read again: a
        # crowd's confirmations would pay two more queries and a seal opened each).
        result = []
        for request, message, deliveries in made:
            if message.id in written:
                result.append(replace(message, deliveries=tuple(deliveries)))
            else:
                result.append(await store.message_by_source(request.source_key))  # type: ignore[arg-type]
        return result

    def _due(self, message: Message, earliest: dt.datetime) -> dt.datetime:
        if message.urgent or self.quiet is None:
            return earliest
        local = earliest.astimezone(self.zone)
        return self.quiet.next_allowed(local).astimezone(dt.UTC)

    def _delivery(
        self,
        message: Message,
        channel: Channel,
        address: str,
        status: Status,
        due: dt.datetime,
        trace_context: dict[str, str] | None = None,
        text: tpl.Text | None = None,
    ) -> Delivery:
        """``text`` when the caller has rendered it already; ``trace_context`` the
        trace the delivery continues (default: the current one)."""
        if text is None:
            text = self.templates.get(message.template).render(message.language, channel, message.variables)
        return Delivery(
            id=str(uuid.uuid4()),
            message_id=message.id,
            channel=channel,
            address=address,
            title=text.title,
            body=text.body,
            status=status,
            reason="",
            attempts=1 if status is Status.SENDING else 0,  # claimed: its attempt counted
            due_at=due,
            updated_at=self.clock(),
            trace_context=telemetry.current_carrier() if trace_context is None else trace_context,
        )

    async def cancel_in(self, store: Store, cancel_key: str, reason: str) -> int:
        """Withdraw what has not been sent yet under ``cancel_key`` (e.g. a reminder)."""
        return await store.cancel(cancel_key, reason, self.clock())

    # delivering
    def hand_over(self, claimed: list[Claimed]) -> None:
        """Deliveries ``send_in`` wrote claimed, their transaction now committed: the
        worker's next round sends them."""
        if claimed:
            self._handed += claimed
            self.on_queued()

    async def release_handed(self) -> int:
        """Queue again the handed deliveries no round has taken (the worker is
        stopping): the next worker sends them at once, not after STUCK_AFTER."""
        handed, self._handed = self._handed, []
        if not handed:
            return 0
        now = self.clock()
        async with self.uow.write() as store:
            return await store.release([d.id for d, _ in handed], now)

    async def deliver_due(self, limit: int = ROUND) -> int:
        """Hand every due delivery to its provider; returns how many were tried.

        A round claims up to ``limit`` deliveries in one transaction, hands them to
        their providers side by side (a provider that takes a batch gets them in one
        call), then records every outcome in one transaction: a crowd's messages
        cost a few commits a round, not three each. Once-only stays as it was: a
        claimed delivery is SENDING with its attempt counted before anything is sent,
        and one left SENDING by a crash is tried again only after five minutes.

        Deliveries handed over (see :meth:`hand_over`) go first, without a claim;
        the database is looked at when none are handed, else at most every
        LOOK_EVERY (due retries and reminders are not held up by a steady stream)."""
        now = self.clock()
        take = min(len(self._handed), limit)
        claimed: list[Claimed] = []
        if not take or now >= self._next_look:
            self._next_look = now + LOOK_EVERY
            sweep = now >= self._next_requeue  # housekeeping, not needed every round
            # A read first: an idle worker looks every poll interval, and a claim that
            # finds nothing would cost a write transaction (on SQLite a synced commit).
            if sweep or (limit > take and await self._any_due(now)):
                async with self.uow.write() as store:
                    if sweep:
                        self._next_requeue = now + REQUEUE_EVERY
                        await store.requeue_stuck(now - STUCK_AFTER, now)
                    if limit > take:
                        # Read back from the database: their traces are in their carriers.
                        claimed = [
                            (d, telemetry.extract(d.trace_context))
                            for d in await store.claim_due(now, limit - take)
                        ]
        # Taken only now: a failed look above leaves them for the next round.
        claimed = self._handed[:take] + claimed
        del self._handed[:take]
        if not claimed:
            return 0
        spans = {d.id: self._span(d, parent) for d, parent in claimed}
        try:
            outcomes = await self._send_all([d for d, _ in claimed])
            for delivery, outcome in outcomes:
                if isinstance(outcome, BaseException):
                    spans[delivery.id].record_exception(outcome)
            await self._record(outcomes)
        finally:
            for span in spans.values():
                span.end()
        return len(claimed)

    async def _any_due(self, now: dt.datetime) -> bool:
        async with self.uow.read() as store:
            return await store.any_due(now)

    def _span(self, delivery: Delivery, parent: otel_context.Context) -> trace.Span:
        return self._tracer.start_span(
            f"deliver {delivery.channel.value}",
            context=parent,
            kind=trace.SpanKind.CLIENT,
            attributes={"mintong.delivery.id": delivery.id, "mintong.delivery.attempt": delivery.attempts},
        )

    async def _send_all(self, claimed: list[Delivery]) -> list[tuple[Delivery, Outcome]]:
        """Every claimed delivery with what its provider answered (or raised)."""
        outcomes: dict[str, Outcome] = {}
        by_channel: dict[Channel, list[Delivery]] = {}
        for d in claimed:
            if d.channel is Channel.INBOX:  # a scheduled message reaching its time
                outcomes[d.id] = INBOX_DELIVERED
            else:
                by_channel.setdefault(d.channel, []).append(d)

        async def one(provider: Provider, d: Delivery) -> None:
            try:
                async with asyncio.timeout(self.send_timeout):
                    outcomes[d.id] = await provider.send(_outgoing(d))
            except (ProviderError, TimeoutError) as exc:
                outcomes[d.id] = exc
            except Exception as exc:  # a fault of ours: see _record
                log.exception("delivery %s: the provider failed unexpectedly", d.id)
                outcomes[d.id] = exc

        async def batch(provider: BatchProvider, deliveries: list[Delivery]) -> None:
            answers: list[Outcome]
            try:
                async with asyncio.timeout(self.send_timeout):
                    answers = [*await provider.send_many([_outgoing(d) for d in deliveries])]
            except (ProviderError, TimeoutError) as exc:
                answers = [exc] * len(deliveries)
            except Exception as exc:  # a fault of ours: see _record
                log.exception("%s: the provider failed unexpectedly", provider.name)
                answers = [exc] * len(deliveries)
            outcomes.update({d.id: a for d, a in zip(deliveries, answers, strict=True)})

        work = []
        for channel, deliveries in by_channel.items():
            provider = self.providers[channel]
            if isinstance(provider, BatchProvider):
                work.append(batch(provider, deliveries))
            else:
                work += [one(provider, d) for d in deliveries]
        await asyncio.gather(*work)
        return [(d, outcomes[d.id]) for d in claimed]

    async def _record(self, outcomes: list[tuple[Delivery, Outcome]]) -> None:
        """Every outcome of a round in one transaction: the accepted ones in one
        statement, a retry or a failure (rare) each as before. A round whose
        outcomes are all accepted (nearly every round) writes that one statement
        alone, outside any transaction where it is one statement (PostgreSQL): the
        BEGIN and COMMIT round trips were two thirds of a round's."""
        now = self.clock()
        sent = []
        kept: list[tuple[str, Delivery]] = []  # the sandboxes' records (Accepted.keep_record)
        counts: list[tuple[Delivery, str, str]] = []  # told to the metrics once committed
        fell_back = False
        accepted_only = not any(isinstance(o, ProviderError | TimeoutError) for _, o in outcomes)
        async with self.uow.write_one() if accepted_only else self.uow.write() as store:
            for delivery, outcome in outcomes:
                if isinstance(outcome, Accepted):
                    provider = None if outcome is INBOX_DELIVERED else self.providers[delivery.channel]
                    state = Status.DELIVERED if outcome.delivered else Status.SENDING
                    if outcome.keep_record and provider is not None:
                        kept.append((provider.name, delivery))
                    sent.append(
                        Sent(
                            delivery.id,
                            state,
                            provider.name if provider else None,
                            outcome.provider_ref or None,
                        )
                    )
                    counts.append((delivery, state.value, provider.name if provider else "inbox"))
                elif isinstance(outcome, Permanent):
                    await self._fail_in(store, delivery, outcome.reason, now)
                    counts.append((delivery, "failed", self._provider_name(delivery)))
                    fell_back = True
                elif not isinstance(outcome, ProviderError | TimeoutError):
                    # Whether it went out is unknown: left SENDING, the stuck-delivery
                    # sweep tries it again after STUCK_AFTER (as a crash would be).
                    continue
                else:
                    reason = getattr(outcome, "reason", "") or "the provider did not answer in time"
                    if delivery.attempts >= self.retry.max_attempts:
                        await self._fail_in(
                            store, delivery, f"gave up after {delivery.attempts} tries: {reason}", now
                        )
                        counts.append((delivery, "failed", self._provider_name(delivery)))
                        fell_back = True
                    else:
                        counts.append((delivery, "retrying", self._provider_name(delivery)))
                        await store.update_delivery(
                            delivery.id,
                            status=Status.QUEUED,
                            reason=reason,
                            due_at=now + self.retry.delay(delivery.attempts),
                            now=now,
                        )
            # The records kept when the provider took them, by the wall clock, as the
            # sandbox itself would say (on PostgreSQL one statement with the outcomes).
            await store.record_sent(sent, now, kept, dt.datetime.now(dt.UTC))
        for counted, entered, provider_name in counts:
            self._count(counted, entered, provider_name)
        if fell_back:
            self.on_queued()

    def _count(self, delivery: Delivery, state: str, provider: str) -> None:
        DELIVERIES.labels(state, delivery.channel.value, provider).inc()
        if state in ("delivered", "sending"):
            waited = (self.clock() - delivery.due_at).total_seconds()
            DELIVERY_DELAY.labels(delivery.channel.value).observe(max(waited, 0.0))

    def _provider_name(self, delivery: Delivery) -> str:
        found = self.providers.get(delivery.channel)
        return found.name if found is not None else "none"

    async def _fail_in(self, store: Store, delivery: Delivery, reason: str, now: dt.datetime) -> None:
        await store.update_delivery(delivery.id, status=Status.FAILED, reason=reason, now=now)
        await self._fall_back(store, delivery.message_id)

    def _routes(
        self, contacts: Contacts, city_code: str, allowed: tuple[Channel, ...] | None
    ) -> list[tuple[Channel, str]]:
        """The routes over channels this deployment has a provider for (one set
        "off" has none, e.g. APP push in production until its adapter exists)."""
        return [(c, address) for c, address in route(contacts, city_code, allowed) if c in self.providers]

    async def _fall_back(self, store: Store, message_id: str) -> None:
        """Queue the next channel the citizen can be reached on, if any is left."""
        message = await store.get_message(message_id)
        if message is None:
            return
        contacts = await store.get_contacts(message.citizen_id) or Contacts(message.citizen_id)
        tried = await store.channels_tried(message_id)
        chosen = self.templates.get(message.template)
        for channel, address in self._routes(contacts, message.city_code, chosen.channels):
            if channel not in tried:
                due = self._due(message, self.clock())
                await store.add_delivery(self._delivery(message, channel, address, Status.QUEUED, due))
                return

    async def record_receipt(
        self, provider: str, provider_ref: str, delivered: bool, reason: str
    ) -> Delivery:
        async with self.uow.write() as store:
            delivery = await store.by_provider_ref(provider, provider_ref)
            if delivery is None:
                raise NotFound("delivery", f"{provider}/{provider_ref}", field="provider_ref")
            if delivery.status in (Status.DELIVERED, Status.FAILED):
                return delivery  # receipts repeat; the first one decided
            status = Status.DELIVERED if delivered else Status.FAILED
            with self._tracer.start_as_current_span(
                f"receipt {provider}",
                context=telemetry.extract(delivery.trace_context),
                attributes={"mintong.delivery.id": delivery.id, "mintong.delivery.status": status.value},
            ):
                await store.update_delivery(delivery.id, status=status, reason=reason, now=self.clock())
                if not delivered:
                    await self._fall_back(store, delivery.message_id)
            updated = await store.by_provider_ref(provider, provider_ref)
        # The stored provider's name, not the path's: only a known one is a label.
        DELIVERIES.labels(status.value, delivery.channel.value, delivery.provider or "none").inc()
        self.on_queued()
        return updated  # type: ignore[return-value]

    # reading
    async def get_message(self, message_id: str, *, citizen_id: str | None) -> Message:
        """``citizen_id`` None means staff; a citizen only ever sees their own."""
        async with self.uow.read() as store:
            message = await store.get_message(message_id)
        if message is None or (citizen_id is not None and message.citizen_id != citizen_id):
            raise NotFound("message", message_id, field="message_id")
        return message

    async def inbox(self, citizen_id: str, page_size: int, page_token: str) -> tuple[list[Message], str, int]:
        size = page_size if 0 < page_size <= 100 else 20
        before = _decode_token(page_token) if page_token else None
        async with self.uow.read() as store:
            found = await store.inbox(citizen_id, size + 1, before)
            unread = await store.unread_count(citizen_id)
        page, more = found[:size], len(found) > size
        token = _encode_token(page[-1].created_at, page[-1].id) if more else ""
        return page, token, unread

    async def mark_read(self, citizen_id: str, message_id: str) -> Message:
        await self.get_message(message_id, citizen_id=citizen_id)
        async with self.uow.write() as store:
            await store.mark_read(message_id, self.clock())
        return await self.get_message(message_id, citizen_id=citizen_id)

    # preferences
    async def get_contacts(self, citizen_id: str) -> Contacts:
        async with self.uow.read() as store:
            return await store.get_contacts(citizen_id) or Contacts(citizen_id)

    async def learn_addresses(self, store: Store, addresses: Addresses) -> bool:
        """Identity told where a citizen can be reached (the consumer's transaction):
        the newest told wins; the citizen's language and preferred channel stay."""
        learned = await store.save_addresses(addresses)
        if not learned:
            log.info(
                "contacts of %s as of %s were older than those kept", addresses.citizen_id, addresses.as_of
            )
        return learned

    async def set_contacts(self, contacts: Contacts) -> Contacts:
        _check_language(contacts.language)
        if contacts.preferred is Channel.INBOX:
            raise InvalidArgument(
                "inbox_not_a_preference", "The inbox always gets a copy.", field="preferred"
            )
        async with self.uow.write() as store:
            await store.save_contacts(contacts)
        return contacts

    async def set_language(self, citizen_id: str, language: str) -> Contacts:
        """The language of the citizen's next messages; what identity told notify stays."""
        if not citizen_id:
            raise InvalidArgument("citizen_required", "Name the citizen to tell.", field="citizen_id")
        _check_language(language)
        async with self.uow.write() as store:
            await store.save_language(citizen_id, language)
            return await store.get_contacts(citizen_id) or Contacts(citizen_id, language=language)


def _check_language(language: str) -> None:
    if language not in tpl.LANGUAGES:
        raise InvalidArgument(
            "unsupported_language", f"Choose one of {', '.join(tpl.LANGUAGES)}.", field="language"
        )


def _encode_token(at: dt.datetime, message_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{message_id}".encode()).decode()


def _decode_token(token: str) -> tuple[dt.datetime, str]:
    try:
        at, message_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(at), message_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(
            "invalid_page_token", "This page token is not ours.", field="page_token"
        ) from None
