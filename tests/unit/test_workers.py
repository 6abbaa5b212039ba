"""Worker processes of the gateway and booking (decision 75): their settings, and the
gRPC port they share while a copy started by mistake still cannot."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.runtime.config import ServiceSettings
from services.runtime.grpc_server import PortInUse, start_server

ROOT = Path(__file__).resolve().parents[2]


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


#: A stand-in for a service's entry point: the supervisor when MINTONG_WORKER_INDEX is
#: unset, else a worker doing what argv[1] says (the supervisor runs `python -c` again).
SERVICE = """
import os, pathlib, signal, sys, time
index = os.environ.get("MINTONG_WORKER_INDEX")
if index is None:
    from services.runtime.lifecycle import supervise  # the workers skip the imports
    sys.exit(supervise("svc", 2))
marks = pathlib.Path(sys.argv[2])
(marks / f"{index}-{os.getpid()}").touch()
if sys.argv[1] == "fail" and index == "1":
    sys.exit(3)
if sys.argv[1] == "die once" and index == "1" and len(list(marks.glob("1-*"))) == 1:
    os.kill(os.getpid(), signal.SIGKILL)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.1)
"""


def run_supervisor(tmp_path: Path, what: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SERVICE, what, str(tmp_path)], cwd=ROOT, stderr=subprocess.PIPE
    )


def started(tmp_path: Path, index: int) -> list[str]:
    return [p.name for p in tmp_path.glob(f"{index}-*")]


@pytest.mark.slow
def test_a_worker_killed_is_started_again_and_a_stop_reaches_every_worker(tmp_path: Path) -> None:
    supervisor = run_supervisor(tmp_path, "die once")
    try:
        deadline = time.monotonic() + 60
        while len(started(tmp_path, 1)) < 2 or not started(tmp_path, 0):
            assert time.monotonic() < deadline and supervisor.poll() is None, started(tmp_path, 1)
            time.sleep(0.1)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        _, log = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, log.decode()
    assert b"svc worker 1 ended (rc=-9): starting it again" in log
    for name in started(tmp_path, 0) + started(tmp_path, 1):  # each stopped and reaped
        assert not Path(f"/proc/{name.split('-')[1]}").exists(), name


@pytest.mark.slow
def test_a_worker_that_exits_with_an_error_stops_them_all(tmp_path: Path) -> None:
    supervisor = run_supervisor(tmp_path, "fail")
    _, log = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 3, log.decode()
    assert b"svc worker 1 exited with 3: stopping the others" in log
    assert len(started(tmp_path, 1)) == 1  # not started again
