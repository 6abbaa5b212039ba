"""`make observe` against the platform as `make up` runs it (issue 14, item 3):
Prometheus, started by deploy/prometheus/observe.py with the platform's own MINTONG_*
environment, scrapes every process, loads the SLO rules and answers a query through
its HTTP API. tests/unit/test_prometheus_rules.py checks the configuration it writes;
this checks that it reaches what runs.

Prometheus is Debian's `prometheus` package (`make prometheus`): missing, the test
fails under CI=true and is skipped elsewhere."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import free_port, missing
from tests.e2e.processes import ROOT, clean_env, platform_ports, start_platform, wait_ready

pytestmark = pytest.mark.slow

JOBS = {f"mintong-{p}" for p in ("gateway", "identity", "booking", "cards", "notify")}
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))


def stop(process: subprocess.Popen[bytes]) -> str:
    """Ctrl-C to the process group, as a terminal would; what it printed."""
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output.decode(errors="replace")


def until(what: str, check: Any, timeout: float = 90) -> Any:
    """``check()``'s first truthy answer, asked every half second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def test_make_observe_scrapes_every_process_of_the_platform_with_the_rules_loaded(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        missing("prometheus (Debian's package: `make prometheus`)")
    data = tmp_path / "data"
    ports = platform_ports()
    platform = start_platform(data, ports)
    try:
        wait_ready(f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}", platform)
        prometheus_port = free_port()
        observe = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "prometheus" / "observe.py")],
            env=clean_env(data, **ports, MINTONG_PROMETHEUS_PORT=prometheus_port),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        api = f"http://127.0.0.1:{prometheus_port}/api/v1"
        try:

            def targets_up() -> list[dict[str, Any]] | None:
                try:
                    active = httpx.get(f"{api}/targets", timeout=2).json()["data"]["activeTargets"]
                except (httpx.TransportError, ValueError):
                    return None
                up = [t for t in active if t["health"] == "up"]
                return up if {t["labels"]["job"] for t in up} == JOBS else None

            up = until("every process scraped", targets_up)
            assert len(up) == len(JOBS)

            # A metric of every process, queried as docs/operations.md says to.
            answer = httpx.get(f"{api}/query", params={"query": "mintong_nats_connected"}, timeout=5).json()
            connected = {s["metric"]["job"]: s["value"][1] for s in answer["data"]["result"]}
            assert connected == dict.fromkeys(JOBS, "1")

            # The SLO rules and alerts are loaded, all of them.
            groups = httpx.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
            loaded = sum(len(g["rules"]) for g in groups)
            declared = sum(
                len(g["rules"]) for path in RULE_FILES for g in yaml.safe_load(path.read_text())["groups"]
            )
            assert loaded == declared > 0
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n--- make observe said:\n{stop(observe)[-3000:]}") from None
        finally:
            if observe.poll() is None:
                stop(observe)
    finally:
        stop(platform)
