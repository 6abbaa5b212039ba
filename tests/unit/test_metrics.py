"""Metric names and labels (services/runtime/metrics.py): every mintong metric has
bounded labels that name no one and nothing by id, and the gateway counts a request
by its route template and a channel from a closed set, whatever a caller sends."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import prometheus_client
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families

# Imported for their metric families: the processes declare theirs at import.
import services.booking.entrypoints.bookings_servicer
import services.notify.service_layer.notifier
from gateway.middleware import RequestTelemetry
from services.runtime import metrics

assert services.booking.entrypoints.bookings_servicer.BOOKINGS
assert services.notify.service_layer.notifier.DELIVERIES

#: Every label a mintong metric may have: each takes values from a small set the
#: code decides (a route template, an RPC method, a status or problem code, a channel,
#: a provider, consumer or stream name), never from a citizen or a request's ids.
ALLOWED_LABELS = {
    "route",
    "method",
    "status",
    "code",
    "channel",
    "outcome",
    "state",
    "provider",
    "consumer",
    "stream",
    "service",
    "le",
}


def families() -> list[prometheus_client.Metric]:
    return [f for f in prometheus_client.REGISTRY.collect() if f.name.startswith("mintong_")]


def test_every_mintong_metric_has_only_bounded_labels_without_ids() -> None:
    declared = {
        c._name: c._labelnames
        for c in (
            metrics.GRPC_HANDLED,
            metrics.GRPC_SECONDS,
            metrics.HTTP_REQUESTS,
            metrics.HTTP_SECONDS,
            metrics.EVENTS_HANDLED,
            metrics.EVENT_DELAY,
            services.booking.entrypoints.bookings_servicer.BOOKINGS,
            services.notify.service_layer.notifier.DELIVERIES,
            services.notify.service_layer.notifier.DELIVERY_DELAY,
        )
    }
    for name, labels in declared.items():
        assert name.startswith("mintong_"), name
        assert set(labels) <= ALLOWED_LABELS, (name, labels)
        assert not any(
            re.search(r"(^|_)(id|ids|citizen|phone|name|address|token)$", label) for label in labels
        )
    for family in families():
        for sample in family.samples:
            assert set(sample.labels) <= ALLOWED_LABELS, (family.name, sample.labels)


def test_readings_are_gauges_read_at_scrape_time_and_go_with_their_source() -> None:
    rows: list[metrics.Readings.Row] = [
        ("mintong_test_reading", "A reading of this test.", {"service": "test", "state": "size"}, 3.0)
    ]
    handle = metrics.READINGS.add(lambda: rows)
    # A source that fails (its object stopping) is left out, not the scrape.
    failing = metrics.READINGS.add(lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        text = prometheus_client.generate_latest().decode()
        assert 'mintong_test_reading{service="test",state="size"} 3.0' in text
        rows[0] = (*rows[0][:3], 5.0)
        assert (
            'mintong_test_reading{service="test",state="size"} 5.0'
            in prometheus_client.generate_latest().decode()
        )
    finally:
        metrics.READINGS.remove(handle)
        metrics.READINGS.remove(failing)
    assert "mintong_test_reading" not in prometheus_client.generate_latest().decode()


def test_nats_and_pool_readings() -> None:
    class Bus:
        connected = False

    class Pool:
        def checkedout(self) -> int:
            return 2

        def size(self) -> int:
            return 10

    class Engine:
        pool = Pool()

    [row] = metrics.nats_rows("booking", Bus())
    assert row[2:] == ({"service": "booking"}, 0.0)
    pool = {row[2]["state"]: row[3] for row in metrics.db_pool_rows("booking", Engine())}
    assert pool == {"checked_out": 2.0, "size": 10.0}
    pool = {row[2]["state"]: row[3] for row in metrics.db_pool_rows("booking", Engine(), limit=20)}
    assert pool == {"checked_out": 2.0, "size": 10.0, "limit": 20.0}


def _sample(name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(prometheus_client.generate_latest().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_the_gateway_counts_route_templates_and_a_closed_set_of_channels() -> None:
    app = FastAPI()
    # A router inside a prefixed router, as the gateway's routes are: the template
    # is the whole path, prefixes included.
    inner, v1 = APIRouter(), APIRouter(prefix="/v1")

    @inner.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    v1.include_router(inner)
    app.include_router(v1)
    app.add_middleware(RequestTelemetry)

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/v1/things/410105198503121235", headers={"X-Mintong-Channel": "wechat"})
            # A made-up channel, method and path: no new label value for any of them.
            await client.get("/v1/things/7", headers={"X-Mintong-Channel": "13800138001"})
            await client.request("BREW", "/v1/things/7")
            await client.get("/v1/no/such/410105198503121235")

    before = _sample("mintong_http_requests_total", route="/v1/things/{thing_id}", channel="none") or 0.0
    asyncio.run(ask())
    route = "/v1/things/{thing_id}"
    assert _sample("mintong_http_requests_total", route=route, method="GET", status="200", channel="wechat")
    assert _sample("mintong_http_requests_total", route=route, channel="none", method="GET") == before + 1
    assert _sample("mintong_http_requests_total", route=route, method="other")
    assert _sample("mintong_http_requests_total", route="other", status="404")
    assert _sample("mintong_http_request_duration_seconds_count", route=route, method="GET")
    text = prometheus_client.generate_latest().decode()
    assert "410105198503121235" not in text and "13800138001" not in text and "BREW" not in text


async def test_the_gateway_serves_metrics_on_its_http_port_only_when_told_to(tmp_path: Path) -> None:
    from gateway.app import create_app
    from gateway.config import GatewaySettings

    async def get_metrics(app: FastAPI) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get("/metrics")

    apart = create_app(GatewaySettings(data_dir=tmp_path))
    assert (await get_metrics(apart)).status_code == 404  # by default: a port of its own
    together = create_app(GatewaySettings(data_dir=tmp_path, http_port=18080, gateway_metrics_port=18080))
    answer = await get_metrics(together)
    assert answer.status_code == 200 and "mintong_http_requests_total" in answer.text
    assert "/metrics" not in together.openapi()["paths"]
