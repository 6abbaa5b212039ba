"""One trace follows an administrator's request from the gateway through the
booking gRPC call, its SQL, the outbox publish on NATS and a consumer's handling."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.booking.adapters import orm
from services.runtime.consumer import EventConsumer
from tests.e2e.conftest import Platform


async def test_one_trace_links_gateway_grpc_sql_publish_and_consumer(
    platform: Platform, spans: InMemorySpanExporter
) -> None:
    handled = asyncio.Event()

    async def handler(conn: Any, event: Any) -> None:
        handled.set()

    consumer = EventConsumer(
        platform.booking.db,
        orm.processed_events,
        platform.booking.host.bus,
        stream="BOOKING",
        durable="trace-test",
        subjects=["mintong.booking.business.suspended"],
        handler=handler,
    )
    await consumer.start()
    response = await platform.http.post(
        "/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/suspend",
        json={"announcement": "Paused for the holiday."},
        headers=platform.headers(admin=True),
    )
    assert response.status_code == 200, response.text
    await asyncio.wait_for(handled.wait(), 15)
    await consumer.stop()

    finished = spans.get_finished_spans()
    gateway = next(
        s for s in finished if s.kind is SpanKind.SERVER and s.name.startswith("POST /v1/admin/cities")
    )
    trace_id = gateway.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]

    def one(predicate: Any) -> Any:
        matches = [s for s in in_trace if predicate(s)]
        assert matches, f"missing span; the trace has {[s.name for s in in_trace]}"
        return matches[0]

    grpc_server = one(
        lambda s: s.kind is SpanKind.SERVER and s.name.endswith("CatalogueAdminService/SuspendBusiness")
    )
    one(lambda s: s.kind is SpanKind.CLIENT and s.name.endswith("CatalogueAdminService/SuspendBusiness"))
    sql = one(
        lambda s: "db.system" in (s.attributes or {}) and "outbox" in str(s.attributes.get("db.statement"))
    )
    publish = one(
        lambda s: s.kind is SpanKind.PRODUCER and s.name == "mintong.booking.business.suspended publish"
    )
    consume = one(
        lambda s: s.kind is SpanKind.CONSUMER and s.name == "mintong.booking.business.suspended process"
    )

    assert sql.parent is not None
    assert consume.parent is not None and consume.parent.span_id == publish.context.span_id
    assert grpc_server.context.trace_id == publish.context.trace_id == trace_id
