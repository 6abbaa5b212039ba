"""Sending and delivering messages: routing with fallback, retries with back-off,
quiet hours, receipts, the inbox and preferences."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from zoneinfo import ZoneInfo

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
from services.notify.domain.providers import Outgoing, Permanent, Provider, Retryable
from services.notify.service_layer.ports import Store, UnitOfWork
from services.runtime import metrics, telemetry
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound

log = logging.getLogger(__name__)

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
        if not citizen_id:
            raise InvalidArgument("citizen_required", "Name the citizen to tell.", field="citizen_id")
        if not source_key:
            raise InvalidArgument(
                "idempotency_key_required", "Give an idempotency key.", field="idempotency_key"
            )
        if existing := await store.message_by_source(source_key):
            return existing
        chosen = self.templates.get(template)
        contacts = await store.get_contacts(citizen_id) or Contacts(citizen_id)
        if phone:
            contacts = replace(contacts, phone=phone)
        # A value given per language is written in the citizen's.
        values = {k: tpl.in_language(v, contacts.language) for k, v in variables.items()}
        # Rendering checks the variables even when there is no inbox copy to keep.
        first_channel = Channel.INBOX if chosen.inbox else (chosen.channels or (Channel.SMS,))[0]
        inbox = chosen.render(contacts.language, first_channel, values)
        routes = self._routes(contacts, city_code, chosen.channels)
        if chosen.channels and not routes:
            wanted = ", ".join(c.value for c in chosen.channels)
            raise InvalidArgument("no_address", f"The citizen has no {wanted} address.", field="phone")
        now = self.clock()
        message = Message(
            id=str(uuid.uuid4()),
            citizen_id=citizen_id,
            template=template,
            city_code=city_code,
            language=contacts.language,
            variables=values,
            urgent=chosen.urgent,
            source_key=source_key,
            title=inbox.title if chosen.inbox else "",
            body=inbox.body if chosen.inbox else "",
            created_at=now,
            cancel_key=cancel_key,
        )
        if not await store.add_message(message):  # a concurrent twin won
            return await store.message_by_source(source_key)  # type: ignore[return-value]
        # The inbox is ours: its copy is delivered when the message is made (or due).
        if chosen.inbox:
            status = Status.QUEUED if not_before and not_before > now else Status.DELIVERED
            await store.add_delivery(
                self._delivery(message, Channel.INBOX, citizen_id, status, not_before or now)
            )
        if routes:
            channel, address = routes[0]
            due = self._due(message, not_before or now)
            await store.add_delivery(self._delivery(message, channel, address, Status.QUEUED, due))
        return await store.get_message(message.id)  # type: ignore[return-value]

    def _due(self, message: Message, earliest: dt.datetime) -> dt.datetime:
        if message.urgent or self.quiet is None:
            return earliest
        local = earliest.astimezone(self.zone)
        return self.quiet.next_allowed(local).astimezone(dt.UTC)

    def _delivery(
        self, message: Message, channel: Channel, address: str, status: Status, due: dt.datetime
    ) -> Delivery:
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
            attempts=0,
            due_at=due,
            updated_at=self.clock(),
            trace_context=telemetry.current_carrier(),
        )

    async def cancel_in(self, store: Store, cancel_key: str, reason: str) -> int:
        """Withdraw what has not been sent yet under ``cancel_key`` (e.g. a reminder)."""
        return await store.cancel(cancel_key, reason, self.clock())

    # delivering
    async def deliver_due(self, limit: int = 50) -> int:
        """Hand every due delivery to its provider; returns how many were tried."""
        now = self.clock()
        async with self.uow.write() as store:
            await store.requeue_stuck(now - dt.timedelta(minutes=5), now)
            claimed = await store.claim_due(now, limit)
        await asyncio.gather(*(self._attempt(d) for d in claimed))
        return len(claimed)

    async def _attempt(self, delivery: Delivery) -> None:
        with self._tracer.start_as_current_span(
            f"deliver {delivery.channel.value}",
            context=telemetry.extract(delivery.trace_context),
            kind=trace.SpanKind.CLIENT,
            attributes={"mintong.delivery.id": delivery.id, "mintong.delivery.attempt": delivery.attempts},
        ):
            await self._attempt_in_span(delivery)

    async def _attempt_in_span(self, delivery: Delivery) -> None:
        if delivery.channel is Channel.INBOX:  # a scheduled message reaching its time
            async with self.uow.write() as store:
                await store.update_delivery(delivery.id, status=Status.DELIVERED, reason="", now=self.clock())
            self._count(delivery, Status.DELIVERED.value, "inbox")
            return
        provider = self.providers[delivery.channel]
        outgoing = Outgoing(
            delivery.id, delivery.channel, delivery.address, delivery.title, delivery.body, ""
        )
        try:
            async with asyncio.timeout(self.send_timeout):
                accepted = await provider.send(outgoing)
        except (Retryable, TimeoutError) as exc:
            reason = getattr(exc, "reason", "") or "the provider did not answer in time"
            await self._retry_or_give_up(delivery, reason)
            return
        except Permanent as exc:
            await self._fail(delivery, exc.reason)
            return
        async with self.uow.write() as store:
            await store.update_delivery(
                delivery.id,
                status=Status.DELIVERED if accepted.delivered else Status.SENDING,
                reason="",
                provider=provider.name,
                provider_ref=accepted.provider_ref,
                now=self.clock(),
            )
        state = Status.DELIVERED if accepted.delivered else Status.SENDING
        self._count(delivery, state.value, provider.name)

    def _count(self, delivery: Delivery, state: str, provider: str) -> None:
        DELIVERIES.labels(state, delivery.channel.value, provider).inc()
        if state in ("delivered", "sending"):
            waited = (self.clock() - delivery.due_at).total_seconds()
            DELIVERY_DELAY.labels(delivery.channel.value).observe(max(waited, 0.0))

    def _provider_name(self, delivery: Delivery) -> str:
        found = self.providers.get(delivery.channel)
        return found.name if found is not None else "none"

    async def _retry_or_give_up(self, delivery: Delivery, reason: str) -> None:
        if delivery.attempts >= self.retry.max_attempts:
            await self._fail(delivery, f"gave up after {delivery.attempts} tries: {reason}")
            return
        now = self.clock()
        async with self.uow.write() as store:
            await store.update_delivery(
                delivery.id,
                status=Status.QUEUED,
                reason=reason,
                due_at=now + self.retry.delay(delivery.attempts),
                now=now,
            )
        DELIVERIES.labels("retrying", delivery.channel.value, self._provider_name(delivery)).inc()

    async def _fail(self, delivery: Delivery, reason: str) -> None:
        async with self.uow.write() as store:
            await store.update_delivery(delivery.id, status=Status.FAILED, reason=reason, now=self.clock())
            await self._fall_back(store, delivery.message_id)
        DELIVERIES.labels("failed", delivery.channel.value, self._provider_name(delivery)).inc()
        self.on_queued()

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
