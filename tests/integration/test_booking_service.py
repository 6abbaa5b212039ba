"""The booking service as other services meet it: a real gRPC aio server on port 0
over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from mintong.booking.v1 import catalogue_pb2 as pb
from mintong.booking.v1 import catalogue_pb2_grpc as pb_grpc
from mintong.common.v1 import common_pb2
from services.booking.adapters import orm
from services.runtime import context


@pytest.fixture
async def channel(booking: Any) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        yield channel


def problem_of(error: grpc.aio.AioRpcError) -> common_pb2.Problem:
    status = rpc_status.from_call(error)
    assert status is not None
    problem = common_pb2.Problem()
    assert status.details[0].Unpack(problem)
    return problem


async def test_health_and_reflection(channel: Any) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "mintong.booking.v1.CatalogueService", "mintong.booking.v1.CatalogueAdminService"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.done_writing()
    names = {s.name for r in [await call.read()] for s in r.list_services_response.service}
    assert {"mintong.booking.v1.CatalogueService", "grpc.health.v1.Health"} <= names


async def test_errors_carry_problem_details(channel: Any) -> None:
    catalogue = pb_grpc.CatalogueServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await catalogue.ListBusinesses(pb.ListBusinessesRequest(city_code="atlantis"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    problem = problem_of(raised.value)
    assert (problem.code, problem.status, problem.field_violations[0].field) == (
        "city_not_found",
        404,
        "city",
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await catalogue.ListSlots(
            pb.ListSlotsRequest(
                office_id="centre",
                business_code="ID_CARD_RENEWAL",
                from_date=common_pb2.Date(year=2030, month=2, day=30),
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem_of(raised.value).field_violations[0].field == "from"


async def test_the_service_itself_checks_that_the_caller_is_an_administrator(
    channel: Any, booking: Any
) -> None:
    admin = pb_grpc.CatalogueAdminServiceStub(channel)
    request = pb.SuspendBusinessRequest(
        city_code="testcity", business_code="ID_CARD_RENEWAL", announcement="x"
    )
    for metadata in ((), ((context.CALLER_KEY, "citizen:123"),)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await admin.SuspendBusiness(request, metadata=metadata)
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    answer = await admin.SuspendBusiness(request, metadata=((context.CALLER_KEY, "admin:token"),))
    assert answer.business.status == pb.BUSINESS_STATUS_SUSPENDED


async def test_a_failed_change_writes_neither_state_nor_event(booking: Any) -> None:
    from services.booking.service_layer import handlers
    from services.runtime.errors import InvalidArgument

    async def count_outbox() -> int:
        async with booking.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(orm.outbox))).scalar_one())

    before = await count_outbox()
    with pytest.raises(InvalidArgument):
        await handlers.suspend_business(booking.uow, "testcity", "ID_CARD_RENEWAL", " ")
    assert await count_outbox() == before

    await handlers.suspend_business(booking.uow, "testcity", "ID_CARD_RENEWAL", "Closed for stock-taking.")
    assert await count_outbox() == before + 1


async def test_the_database_refuses_an_overbooked_slot(booking: Any) -> None:
    with pytest.raises(IntegrityError):
        async with booking.db.write() as conn:
            await conn.execute(update(orm.slots).values(booked=orm.slots.c.capacity + 1))
    async with booking.db.read() as conn:
        over = select(func.count()).where(orm.slots.c.booked > orm.slots.c.capacity)
        assert (await conn.execute(over)).scalar_one() == 0


async def test_graceful_stop_tells_health_checkers_first(booking: Any) -> None:
    booking.settings.shutdown_drain = 1.0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        catalogue = pb_grpc.CatalogueServiceStub(channel)
        stopping = asyncio.create_task(booking.host.stop())
        # Draining: health says NOT_SERVING (as soon as the stop begins), calls are still answered.
        request = health_pb2.HealthCheckRequest(service="")
        while (await health.Check(request)).status != health_pb2.HealthCheckResponse.NOT_SERVING:
            assert not stopping.done(), "stopped without ever saying NOT_SERVING"
            await asyncio.sleep(0.01)
        assert (await catalogue.ListCities(pb.ListCitiesRequest())).cities
        await stopping
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await catalogue.ListCities(pb.ListCitiesRequest(), timeout=2)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
