"""Liveness and readiness, for load balancers and Kubernetes probes."""

from __future__ import annotations

import prometheus_client
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The gateway process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="Every service is SERVING and NATS is connected")
async def readyz(request: Request) -> JSONResponse:
    checks = await request.app.state.clients.health()
    checks["nats"] = "connected" if request.app.state.bus.connected else "disconnected"
    ready = checks["nats"] == "connected" and all(v == "SERVING" for k, v in checks.items() if k != "nats")
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics() -> Response:
    """The gateway's metrics, as a route of its HTTP port: only when
    MINTONG_GATEWAY_METRICS_PORT is that port (gateway/app.py); by default they are
    served on a port of their own, away from the public one (decision 53)."""
    return Response(prometheus_client.generate_latest(), media_type=prometheus_client.CONTENT_TYPE_LATEST)
