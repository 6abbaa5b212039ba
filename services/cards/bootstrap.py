"""The cards service's composition root: everything is built here, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.cards.v1 import cards_pb2, cards_pb2_grpc
from services.cards.adapters import orm
from services.cards.adapters.booking_client import GrpcOffices
from services.cards.adapters.identity_client import GrpcCardHolders
from services.cards.adapters.partners import build_partners
from services.cards.adapters.unit_of_work import SqlUnitOfWork
from services.cards.config import CardsSettings
from services.cards.entrypoints.grpc_servicer import (
    CardApplicationServicer,
    CardStaffServicer,
    CourierCallbackServicer,
)
from services.cards.entrypoints.workers import JourneyWorker
from services.cards.service_layer import kinds_file
from services.cards.service_layer.applications import Cards as CardsUseCases
from services.cards.service_layer.directory import CardHolders, Offices
from services.cards.service_layer.journey import Journey
from services.cards.service_layer.ports import Courier, ProductionCentre
from services.runtime import migrations
from services.runtime.clock import Clock, utc_now
from services.runtime.db import Database
from services.runtime.host import ServiceHost
from services.runtime.pii import ResealReport, reseal

NAME = "cards"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Cards:
    settings: CardsSettings
    db: Database
    uow: SqlUnitOfWork
    host: ServiceHost
    clock: Clock
    use_cases: CardsUseCases
    journey: Journey

    def migrate(self) -> None:
        """Blocking; from async code use ``asyncio.to_thread``."""
        migrations.upgrade(self.db, MIGRATIONS)

    async def reseal(self, batch: int = 500) -> list[ResealReport]:
        """Every sealed value under the newest PII key (after a rotation)."""
        return await reseal(self.db, self.uow.cipher, orm.SEALED, batch=batch)


def build(
    settings: CardsSettings,
    *,
    clock: Clock = utc_now,
    holders: CardHolders | None = None,
    offices: Offices | None = None,
    production: ProductionCentre | None = None,
    courier_: Courier | None = None,
) -> Cards:
    """Tests stand in for identity, booking and the partners by passing their own."""
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    uow = SqlUnitOfWork(db, settings.pii_cipher())
    use_cases = CardsUseCases(
        uow=uow,
        clock=clock,
        kinds=kinds_file.load(settings.cards_kinds_file),
        holders=holders or GrpcCardHolders(settings.grpc_target("identity")),
        offices=offices or GrpcOffices(settings.grpc_target("booking")),
        courier_name=settings.cards_courier_name,
        courier_name_en=settings.cards_courier_name_en,
    )
    partners = build_partners(settings, clock=clock)
    if production is not None:
        partners.production = production
    if courier_ is not None:
        # A stand-in courier: the sandbox's worker (its callbacks) must not run.
        replaced = partners.courier
        partners.courier = courier_
        partners.workers = [worker for worker in partners.workers if worker is not replaced]
    journey = Journey(
        use_cases,
        partners.production,
        partners.courier,
        batch_size=settings.cards_batch_size,
    )
    # The same key the sandbox courier signs with (in dev a file under the data dir).
    secret = settings.courier_callback_key()

    def register(server: grpc.aio.Server) -> None:
        cards_pb2_grpc.add_CardApplicationServiceServicer_to_server(
            CardApplicationServicer(use_cases), server
        )
        cards_pb2_grpc.add_CardStaffServiceServicer_to_server(CardStaffServicer(use_cases), server)
        cards_pb2_grpc.add_CourierCallbackServiceServicer_to_server(
            CourierCallbackServicer(use_cases, secret, clock), server
        )

    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[s.full_name for s in cards_pb2.DESCRIPTOR.services_by_name.values()],
        db=db,
        outbox=orm.outbox,
    )
    host.workers.append(JourneyWorker(journey, settings.cards_journey_seconds))
    host.workers.extend(partners.workers)
    uow.on_commit = host.wake_relay
    return Cards(settings, db, uow, host, clock, use_cases, journey)
