"""Running the platform as processes from tests, the way `make up` does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

from tests.conftest import free_port

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]


def clean_env(data_dir: Path, **values: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
    env.update(MINTONG_DATA_DIR=str(data_dir), MINTONG_SHUTDOWN_GRACE="1")
    # No metrics server unless a test gives it a port (platform_ports does): the
    # default ports are one machine's, and tests run side by side.
    env.update({f"MINTONG_{p}_METRICS_PORT": "0" for p in METRICS_PROCESSES})
    env.update({k: str(v) for k, v in values.items()})
    return env


METRICS_PROCESSES = ("GATEWAY", "IDENTITY", "BOOKING", "CARDS", "NOTIFY")


def platform_ports() -> dict[str, int]:
    names = ["HTTP_PORT", "EMBEDDED_NATS_PORT"] + [
        f"{s}_GRPC_PORT" for s in ("IDENTITY", "BOOKING", "CARDS", "NOTIFY")
    ]
    names += [f"{p}_METRICS_PORT" for p in METRICS_PROCESSES]
    return {f"MINTONG_{name}": free_port() for name in names}


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise AssertionError(f"the platform exited while starting:\n{output[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the platform did not become ready")


def start_platform(data_dir: Path, ports: Mapping[str, object], **settings: str) -> subprocess.Popen[bytes]:
    """deploy/local/up.py in a process group of its own (so a test can Ctrl-C it), with
    ``ports`` (and any other MINTONG_* values) in its environment; ``settings`` are more
    MINTONG_* variables (a PostgreSQL database, say)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "deploy/local/up.py")],
        env=clean_env(data_dir, **ports, **settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def make_up(data_dir: Path, ports: Mapping[str, object]) -> subprocess.Popen[bytes]:
    """`make up` (running deploy/local/up.py) in a process group of its own, to send
    signals to make's process the way a supervisor or `kill` does."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "up", f"PY={sys.executable}"],
        env=clean_env(data_dir, **ports),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(check: Callable[[], T | None], within: float = 30.0) -> T | None:
    """``check()``'s first true answer, asked every 0.2 s; None after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)
    return found
