"""The notify service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml
from sqlalchemy.ext.asyncio import AsyncConnection

from mintong.notify.v1 import notify_pb2, notify_pb2_grpc
from services.notify.adapters import event_decoder, orm
from services.notify.adapters.http_sms import HttpSmsProvider
from services.notify.adapters.sandbox import SandboxProvider
from services.notify.adapters.store import SqlStore
from services.notify.config import NotifySettings
from services.notify.domain.model import Channel, QuietHours, RetryPolicy
from services.notify.domain.providers import Provider
from services.notify.domain.templates import TemplateBook
from services.notify.entrypoints.grpc_servicer import NotifyAdminServicer, NotifyServicer
from services.notify.service_layer import subscriptions
from services.notify.service_layer.notifier import Notifier, Staged
from services.notify.service_layer.worker import DeliveryWorker
from services.runtime import migrations
from services.runtime.clock import Clock, utc_now
from services.runtime.consumer import Event, EventConsumer
from services.runtime.db import Database, TransactionFactory
from services.runtime.events import load_streams
from services.runtime.host import ServiceHost
from services.runtime.pii import PiiCipher, ResealReport, reseal

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
#: How long a consumer waits for the events following one that JetStream stored within
#: LINGER_WITHIN of the event before it (EventConsumer.linger): a booking's
#: confirmations at 60–120/s come 8–16 ms apart and are taken four to six in a
#: transaction, not each in its own (a transaction's fixed cost is most of a lone
#: message's). Events 25 ms apart or more (40/s or fewer) are handled as they come;
#: the 40 ms are well within the 100 ms an event may take to reach the provider
#: (issue 12, target 5).
LINGER, LINGER_WITHIN = 0.04, 0.025


@dataclass
class Notify:
    settings: NotifySettings
    db: Database
    cipher: PiiCipher
    notifier: Notifier
    sandboxes: dict[Channel, SandboxProvider]
    worker: DeliveryWorker
    consumers: list[EventConsumer]
    host: ServiceHost

    def migrate(self) -> None:
        # The cipher seals the addresses rows written before 0002 kept in clear.
        migrations.upgrade(self.db, MIGRATIONS, attributes={"pii_cipher": self.cipher})

    async def reseal(self, batch: int = 500) -> list[ResealReport]:
        """Every sealed address re-sealed under the newest key (key rotation)."""
        return await reseal(self.db, self.cipher, orm.SEALED, batch=batch)


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def build(settings: NotifySettings, *, clock: Clock = utc_now) -> Notify:
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    cipher = settings.pii_cipher()
    uow = TransactionFactory(db, lambda conn: SqlStore(conn, cipher))
    templates = TemplateBook.from_document(_yaml(settings.notify_templates_file))

    # Sandbox providers for the channels set to "sandbox"; a channel set to "off"
    # has no provider at all, so no route uses it.
    sandboxes = {c: SandboxProvider(c) for c in Channel if c.value in settings.sandboxes()}
    providers: dict[Channel, Provider] = dict(sandboxes)
    if settings.notify_sms_provider == "http":
        assert settings.notify_sms_url and settings.notify_sms_key_id and settings.notify_sms_secret
        providers[Channel.SMS] = HttpSmsProvider(
            url=settings.notify_sms_url,
            key_id=settings.notify_sms_key_id,
            secret=settings.notify_sms_secret.get_secret_value().encode(),
        )

    quiet = (
        QuietHours(settings.notify_quiet_start, settings.notify_quiet_end)
        if settings.notify_quiet_start != settings.notify_quiet_end
        else None
    )
    notifier = Notifier(
        uow,
        templates,
        providers,
        clock=clock,
        time_zone=settings.notify_time_zone,
        retry=RetryPolicy(
            dt.timedelta(seconds=settings.notify_retry_first_delay),
            dt.timedelta(seconds=settings.notify_retry_max_delay),
            settings.notify_max_attempts,
        ),
        quiet=quiet,
    )
    worker = DeliveryWorker(notifier)
    notifier.on_queued = worker.wake

    table = subscriptions.load(_yaml(settings.notify_subscriptions_file), notifier)
    subscriptions.check_fields(
        table, lambda name: set(event_decoder.message_class(name).DESCRIPTOR.fields_by_name)
    )

    # What a consumer's transaction is to write, by its connection: its events'
    # messages, made together before it commits, and the deliveries written claimed,
    # handed to the worker once it has committed; a rolled-back one's are dropped with it.
    staged: weakref.WeakKeyDictionary[AsyncConnection, Staged] = weakref.WeakKeyDictionary()

    async def on_event(conn: AsyncConnection, event: Event) -> None:
        store = SqlStore(conn, cipher)
        pending = staged.setdefault(conn, Staged())
        if event.type == event_decoder.CONTACTS_TYPE:
            # A message staged before the citizen's new addresses goes where it would
            # have gone had its event been handled alone.
            await notifier.flush(store, pending)
            await notifier.learn_addresses(store, event_decoder.addresses(event, cipher))
            return
        values = event_decoder.decode(event)
        await subscriptions.handle(notifier, table, store, event.subject, event.id, values, pending)

    async def before_commit(conn: AsyncConnection) -> None:
        if pending := staged.get(conn):
            await notifier.flush(SqlStore(conn, cipher), pending)

    def committed(conn: AsyncConnection) -> None:
        if pending := staged.pop(conn, None):
            notifier.hand_over(pending.claimed)
        worker.wake()  # what it wrote queued (a reminder, a retry's due time) is visible now

    # One durable consumer per stream that the subscriptions, or identity's contacts
    # events, come from.
    by_stream: dict[str, list[str]] = {}
    for spec in load_streams(settings.nats_streams_file):
        wanted = [*table, event_decoder.CONTACTS_SUBJECT]
        if taken := sorted(subject for subject in wanted if spec.covers(subject)):
            by_stream[spec.name] = taken

    def register(server: grpc.aio.Server) -> None:
        notify_pb2_grpc.add_NotifyServiceServicer_to_server(NotifyServicer(notifier), server)
        notify_pb2_grpc.add_NotifyAdminServiceServicer_to_server(
            # Production shows and steers no sandbox, even one MINTONG_ALLOW_SANDBOX let run.
            NotifyAdminServicer(notifier, db, cipher, sandboxes if settings.env != "prod" else {}),
            server,
        )

    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[s.full_name for s in notify_pb2.DESCRIPTOR.services_by_name.values()],
        db=db,
    )
    consumers = [
        EventConsumer(
            db,
            orm.processed_events,
            host.bus,
            stream=stream,
            durable=f"{NAME}-{stream.lower()}",
            subjects=subjects,
            handler=on_event,
            # on_event's every effect is in the consumer's transaction, so a fetch is
            # handled in one (a crowd's confirmations: one commit per batch).
            batched=True,
            # Its events' messages are written together, once they are all handled.
            before_commit=before_commit,
            # The deliveries it queued are visible once committed, not before.
            after_commit=committed,
            linger=LINGER,
            linger_within=LINGER_WITHIN,
        )
        for stream, subjects in by_stream.items()
    ]
    host.workers += [worker, *consumers]
    return Notify(settings, db, cipher, notifier, sandboxes, worker, consumers, host)
