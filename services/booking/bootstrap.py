"""The booking service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.booking.v1 import (
    bookings_pb2,
    bookings_pb2_grpc,
    catalogue_pb2,
    catalogue_pb2_grpc,
    hall_pb2,
    hall_pb2_grpc,
    offices_pb2,
    offices_pb2_grpc,
    policies_pb2,
    policies_pb2_grpc,
    preapplications_pb2,
    preapplications_pb2_grpc,
)
from services.booking.adapters import orm
from services.booking.adapters.attachments import LocalObjectStore, S3ObjectStore, SealedObjectStore
from services.booking.adapters.bookings_repository import ready_for_bookings
from services.booking.adapters.identity_client import GrpcCitizenDirectory
from services.booking.adapters.metrics import WaitlistGauge
from services.booking.adapters.unit_of_work import SqlUnitOfWork
from services.booking.adapters.vacancy import current_entries
from services.booking.config import BookingSettings
from services.booking.entrypoints.bookings_servicer import BookingServicer, BookingStaffServicer, QrSigner
from services.booking.entrypoints.grpc_servicer import CatalogueAdminServicer, CatalogueServicer
from services.booking.entrypoints.hall_servicer import HallServicer, HallStaffServicer
from services.booking.entrypoints.offices_servicer import OfficeDirectoryServicer
from services.booking.entrypoints.policies_servicer import PolicyAdminServicer
from services.booking.entrypoints.preapplications_servicer import (
    PreApplicationReviewServicer,
    PreApplicationServicer,
)
from services.booking.service_layer import hall, policies
from services.booking.service_layer.directory import CitizenDirectory
from services.booking.service_layer.holds import HoldKeeper
from services.booking.service_layer.unit_of_work import ObjectStore
from services.runtime import migrations, vacancy_watch
from services.runtime.clock import Clock, utc_now
from services.runtime.db import Database, PoolWarmer
from services.runtime.dev_secrets import dev_secret
from services.runtime.host import ServiceHost
from services.runtime.vacancy import ENTRY_TYPE
from services.runtime.worker import Periodic

NAME = "booking"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
#: Booking's PostgreSQL connections, kept open once opened (decision 123) and
#: opened when it starts (decision 127).
POOL_SIZE = 20
#: Woken within RELAY_LINGER_WITHIN seconds of its last batch, the outbox relay waits
#: RELAY_LINGER seconds for the bookings right behind (decision 122): at 170
#: bookings/s a batch then takes 3-4 of them, not 1-2; a vacancy entry or a
#: confirmation is that much later (the staleness target is 1 s), a lone one not at all.
RELAY_LINGER, RELAY_LINGER_WITHIN = 0.02, 0.05


@dataclass
class Booking:
    settings: BookingSettings
    db: Database
    uow: SqlUnitOfWork
    host: ServiceHost
    clock: Clock
    #: Identity's register as booking asks it (tests may stand in for identity).
    citizens: CitizenDirectory
    #: Pre-applications' documents, sealed.
    documents: ObjectStore

    def migrate(self) -> None:
        """Blocking; from async code use ``asyncio.to_thread``."""
        migrations.upgrade(self.db, MIGRATIONS)


def object_store(settings: BookingSettings) -> ObjectStore:
    """Where documents are kept (unsealed: the caller seals)."""
    if settings.attachment_store == "s3":
        return S3ObjectStore.connect(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region)
    return LocalObjectStore(settings.attachments_path())


def build(
    settings: BookingSettings,
    *,
    clock: Clock = utc_now,
    citizens: CitizenDirectory | None = None,
    documents: ObjectStore | None = None,
) -> Booking:
    db = Database(
        settings.database_url_for(NAME),
        schema=settings.database_schema_for(NAME),
        pool_size=POOL_SIZE,
        max_overflow=0,
    )
    cipher = settings.pii_cipher()
    uow = SqlUnitOfWork(db, cipher=cipher)
    sealed = SealedObjectStore(documents or object_store(settings), cipher)
    qr_key = (
        settings.qr_secret.get_secret_value()
        if settings.qr_secret
        else dev_secret(settings.data_dir, "qr-secret")
    )
    qr = QrSigner(qr_key.encode())
    bookings_servicer = BookingServicer(uow, clock, qr)
    citizens = citizens or GrpcCitizenDirectory(settings.grpc_target("identity"))

    def register(server: grpc.aio.Server) -> None:
        catalogue_pb2_grpc.add_CatalogueServiceServicer_to_server(CatalogueServicer(uow, clock), server)
        catalogue_pb2_grpc.add_CatalogueAdminServiceServicer_to_server(
            CatalogueAdminServicer(uow, clock), server
        )
        bookings_pb2_grpc.add_BookingServiceServicer_to_server(bookings_servicer, server)
        bookings_pb2_grpc.add_BookingStaffServiceServicer_to_server(
            BookingStaffServicer(uow, clock, bookings_servicer), server
        )
        preapplications_pb2_grpc.add_PreApplicationServiceServicer_to_server(
            PreApplicationServicer(uow, clock, sealed, settings.attachment_max_bytes), server
        )
        preapplications_pb2_grpc.add_PreApplicationReviewServiceServicer_to_server(
            PreApplicationReviewServicer(uow, clock, sealed), server
        )
        offices_pb2_grpc.add_OfficeDirectoryServiceServicer_to_server(OfficeDirectoryServicer(uow), server)
        hall_pb2_grpc.add_HallServiceServicer_to_server(HallServicer(uow, clock), server)
        hall_pb2_grpc.add_HallStaffServiceServicer_to_server(HallStaffServicer(uow, clock, qr), server)
        policies_pb2_grpc.add_PolicyAdminServiceServicer_to_server(PolicyAdminServicer(uow, clock), server)

    services = [
        *catalogue_pb2.DESCRIPTOR.services_by_name.values(),
        *bookings_pb2.DESCRIPTOR.services_by_name.values(),
        *offices_pb2.DESCRIPTOR.services_by_name.values(),
        *preapplications_pb2.DESCRIPTOR.services_by_name.values(),
        *hall_pb2.DESCRIPTOR.services_by_name.values(),
        *policies_pb2.DESCRIPTOR.services_by_name.values(),
    ]
    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[s.full_name for s in services],
        db=db,
        outbox=orm.outbox,
    )
    if settings.db_warm_up:
        # First, so that the relay and the requests find the pool open (decision 127).
        host.workers.insert(0, PoolWarmer(db, POOL_SIZE, ready_for_bookings))
    host.workers.append(
        HoldKeeper(
            uow,
            clock,
            every=settings.hold_check_seconds,
            keep_keys=dt.timedelta(hours=settings.idempotency_keep_hours),
        )
    )
    # Called tickets whose citizen did not come within the grace period become
    # no-shows (decision 49); policies come into force and lapse, and closures'
    # cancellations left unfinished go on (decision 59).
    host.workers.append(
        Periodic("booking-hall", lambda: hall.sweep_no_shows(uow, clock), every=settings.hall_sweep_seconds)
    )
    host.workers.append(
        Periodic("booking-policies", lambda: policies.keep(uow, clock), every=settings.policy_check_seconds)
    )

    waitlist = WaitlistGauge(db)
    host.metric_probes.append(waitlist.sample)
    host.metric_sources.append(waitlist.readings)
    uow.on_commit = host.wake_relay
    # The gateways' vacancy bucket: the relay publishes its entries (runtime/vacancy.py),
    # each read as it is published (adapters/vacancy.py).
    host.bus.setup.append(vacancy_watch.ensure_bucket)
    if host.relay is not None:
        host.relay.current[ENTRY_TYPE] = current_entries
        # Bookings that come close together share a batch of the relay (decision 122).
        host.relay.linger, host.relay.linger_within = RELAY_LINGER, RELAY_LINGER_WITHIN
    return Booking(settings, db, uow, host, clock, citizens, sealed)
