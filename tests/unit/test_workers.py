"""Worker processes of the gateway and booking (decision 300): their settings, and the
gRPC port they share while a copy started by mistake still cannot."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.runtime.config import ServiceSettings
from services.runtime.grpc_server import PortInUse, start_server


def test_each_worker_has_a_metrics_port_of_its_own_ten_apart() -> None:
    settings = ServiceSettings(gateway_workers=3, booking_workers=2, database_url="postgresql://db/mintong")
    assert settings.metrics_ports("gateway") == [9460, 9470, 9480]
    assert settings.metrics_ports("booking") == [9462, 9472]
    assert settings.metrics_ports("identity") == [9461]  # no workers of its own
    assert ServiceSettings(gateway_workers=2, gateway_metrics_port=0).metrics_ports("gateway") == []


def test_several_booking_workers_need_postgresql() -> None:
    with pytest.raises(ValidationError, match="MINTONG_BOOKING_WORKERS above 1 needs PostgreSQL"):
        ServiceSettings(booking_workers=2)
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        ServiceSettings(booking_workers=2, database_url="sqlite:///var/booking.db")
    assert ServiceSettings(gateway_workers=2).gateway_workers == 2  # the gateway's are fine on SQLite


async def test_workers_share_the_grpc_port_and_nobody_else_does() -> None:
    first, port, _ = await start_server(lambda server: None, [], reuse_port=True)
    try:
        second, shared, _ = await start_server(lambda server: None, [], port=port, reuse_port=True)
        assert shared == port
        await second.stop(None)
        with pytest.raises(PortInUse):
            await start_server(lambda server: None, [], port=port)
    finally:
        await first.stop(None)
