"""Booking's catalogue, asked over gRPC: offices taking the ID card window business
with their earliest vacancy (the way offline), and whether a pickup office exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from mintong.booking.v1 import catalogue_pb2, catalogue_pb2_grpc, offices_pb2, offices_pb2_grpc
from services.cards.service_layer.directory import WindowOffice
from services.runtime import context
from services.runtime.grpc_client import LazyStub


class GrpcOffices:
    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.catalogue = LazyStub("booking", target, catalogue_pb2_grpc.CatalogueServiceStub)
        self.directory = LazyStub("booking", target, offices_pb2_grpc.OfficeDirectoryServiceStub)
        self.timeout = timeout

    def _options(self) -> dict[str, object]:
        return {
            "metadata": ((context.CALLER_KEY, str(context.Caller.service("cards"))),),
            "timeout": self.timeout,
        }

    async def with_vacancy(self, city_code: str, business_code: str) -> Sequence[WindowOffice]:
        try:
            answer = await self.catalogue.get().ListOffices(
                catalogue_pb2.ListOfficesRequest(city_code=city_code, business_code=business_code),
                **self._options(),
            )
        except grpc.aio.AioRpcError as error:
            raise self.catalogue.unavailable(error) from error
        offices = []
        for entry in answer.entries:
            slot = entry.earliest_available_slot if entry.HasField("earliest_available_slot") else None
            offices.append(
                WindowOffice(
                    office_id=entry.office.id,
                    city_code=entry.office.city_code,
                    name=entry.office.name,
                    name_en=entry.office.name_en,
                    address=entry.office.address,
                    address_en=entry.office.address_en,
                    earliest_date=dt.date(slot.date.year, slot.date.month, slot.date.day) if slot else None,
                    earliest_start=dt.time(slot.start.hours, slot.start.minutes) if slot else None,
                )
            )
        # Those with a vacancy first, the earliest first; then the others.
        return sorted(
            offices,
            key=lambda o: (
                o.earliest_date is None,
                o.earliest_date or dt.date.max,
                o.earliest_start or dt.time.max,
            ),
        )

    async def describe(self, city_code: str, office_id: str) -> WindowOffice | None:
        try:
            answer = await self.catalogue.get().ListOffices(
                catalogue_pb2.ListOfficesRequest(city_code=city_code), **self._options()
            )
        except grpc.aio.AioRpcError as error:
            raise self.catalogue.unavailable(error) from error
        for entry in answer.entries:
            o = entry.office
            if o.id == office_id:
                return WindowOffice(o.id, o.city_code, o.name, o.name_en, o.address, o.address_en)
        return None

    async def find(self, office_ids: Sequence[str]) -> Sequence[WindowOffice]:
        try:
            answer = await self.directory.get().FindOffices(
                offices_pb2.FindOfficesRequest(office_ids=list(office_ids)), **self._options()
            )
        except grpc.aio.AioRpcError as error:
            raise self.directory.unavailable(error) from error
        return [WindowOffice(o.id, o.city_code, o.name) for o in answer.offices]
