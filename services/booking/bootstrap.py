"""The booking service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.booking.v1 import catalogue_pb2, catalogue_pb2_grpc
from services.booking.adapters import orm
from services.booking.adapters.unit_of_work import SqlUnitOfWork
from services.booking.config import BookingSettings
from services.booking.entrypoints.grpc_servicer import CatalogueAdminServicer, CatalogueServicer
from services.booking.service_layer.handlers import Clock
from services.runtime import migrations
from services.runtime.db import Database
from services.runtime.host import ServiceHost

NAME = "booking"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Booking:
    settings: BookingSettings
    db: Database
    uow: SqlUnitOfWork
    host: ServiceHost
    clock: Clock

    def migrate(self) -> None:
        """Blocking; from async code use ``asyncio.to_thread``."""
        migrations.upgrade(self.db, MIGRATIONS)


def build(settings: BookingSettings, *, clock: Clock = utc_now) -> Booking:
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    uow = SqlUnitOfWork(db)

    def register(server: grpc.aio.Server) -> None:
        catalogue_pb2_grpc.add_CatalogueServiceServicer_to_server(CatalogueServicer(uow, clock), server)
        catalogue_pb2_grpc.add_CatalogueAdminServiceServicer_to_server(CatalogueAdminServicer(uow), server)

    services = catalogue_pb2.DESCRIPTOR.services_by_name
    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[s.full_name for s in services.values()],
        db=db,
        outbox=orm.outbox,
    )
    uow.on_commit = host.wake_relay
    return Booking(settings, db, uow, host, clock)
