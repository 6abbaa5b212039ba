"""Schemathesis throws what the OpenAPI document allows, and much it does not, at
the running platform: no answer is a 5xx, and every error is problem+json."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.e2e.processes import ROOT, platform_ports, start_platform, wait_ready

pytestmark = pytest.mark.slow
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")


@dataclass
class Running:
    url: str
    headers: dict[str, str]
    password: str

    def fresh_headers(self) -> dict[str, str]:
        """Another administrator session, for a case that would end the shared one."""
        answer = httpx.post(
            f"{self.url}/v1/staff/token",
            json={"username": "admin", "password": self.password},
            headers=self.headers,
        )
        token = answer.json().get("access_token", "none") if answer.status_code == 200 else "none"
        return {**self.headers, "Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    ports = platform_ports()
    process = start_platform(data_dir, ports)
    try:
        url = f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}"
        wait_ready(url, process)
        # Every case goes as the administrator `make up` made, signed in once here.
        password = (data_dir / "admin-password").read_text().strip()
        running = Running(url, {"X-Mintong-Channel": "web"}, password)
        running.headers = running.fresh_headers()
        yield running
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_gateway_fail(case: schemathesis.Case, running: Running) -> None:
    # Signing out would end the administrator session every other case uses.
    headers = running.fresh_headers() if case.path == "/v1/staff/logout" else running.headers
    response = case.call(base_url=running.url, headers=headers)
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"], response.text
        assert response.json()["code"]
