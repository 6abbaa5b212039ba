"""Schemathesis against the running platform on PostgreSQL, with every check it has
(status codes, media types, response schemas, negative and positive data, required
headers, methods, auth…): the OpenAPI document says what the API does.

Every operation is called as whoever it is for: citizen routes with a demo
resident's token, staff routes with the administrator's; the `ignored_auth` check
sends them without. One platform (`make up`) serves the whole module."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.conftest import drop_schemas
from tests.e2e.processes import ROOT, platform_ports, start_platform, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: Valid-by-schema data may still be refused by a rule: 422 (well-formed, but a
#: rule refuses it) anywhere; 400 only where a service checks what JSON Schema
#: cannot say: an ID number's check digit and birth date, what base64url decodes
#: to, a CSV file's columns, a catalogue's references between its parts, whether an
#: opaque page token is one the service issued, and the dependencies between query
#: parameters that OpenAPI's schemas cannot state: `lat` comes with `lng` (two
#: parameters, as the gateway reads them), a slot list's `date` without `from`/`to`.
RULES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"positive_data_acceptance": {"expected-statuses": RULES}},
        "operations": [
            {
                "include-path": path,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*RULES, "400"]}},
            }
            for path in (
                "/v1/auth/otp",
                "/v1/auth/token",
                "/v1/auth/device",
                "/v1/me/bindings/app",
                "/v1/admin/residents/import",
                "/v1/admin/catalogue",
                "/v1/me/messages",
                "/v1/cities/{city}/offices",
                "/v1/offices/{office_id}/slots",
                "/v1/staff/citizens/find",
                # A phone number's validity, the delivery's fields for its method, an
                # office or a city named, a reason that is more than blanks.
                "/v1/card-applications",
                "/v1/staff/card-applications",
                "/v1/staff/card-applications/{application_id}/reject",
                # A policy's period and a closure's days run forwards, an announcement is
                # more than blanks, English twins match the Chinese one for one (decision 59).
                "/v1/admin/cities/{city}/policies",
            )
        ],
    }
)
#: The hall's queue stream never ends for a real office (a display board's): it is
#: tested by the browser tests (tests/browser/test_staff_web.py), not fuzzed.
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json", config=CONFIG).exclude(
    path="/v1/offices/{office_id}/queue/stream"
)

#: Sign-outs end the session every other case uses: those get a session of their own.
SIGN_OUTS = {"/v1/auth/logout", "/v1/staff/logout"}
ZHANG = ({"id_number": "410105198503121235", "name": "张伟"}, "+8613800138001")
LI = ({"id_number": "410102199207162468", "name": "李娜"}, "+8613800138002")


@dataclass
class Running:
    url: str
    password: str
    admin: str = ""
    citizen: str = ""
    #: The session citizen sign-out cases end (a new one per case would wait out
    #: the code's resend limit): the first ends it, the others find it ended (401).
    citizen_to_end: str = ""

    def staff_token(self) -> str:
        answer = httpx.post(
            f"{self.url}/v1/staff/token",
            json={"username": "admin", "password": self.password},
            headers={"X-Mintong-Channel": "web"},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def citizen_token(self, who: tuple[dict[str, str], str]) -> str:
        """A demo resident signed in on the web (their one-time code read from the sandbox)."""
        person, phone = who
        admin = {"X-Mintong-Channel": "web", "Authorization": f"Bearer {self.admin}"}
        before = len(self._codes(admin, phone))
        asked = httpx.post(f"{self.url}/v1/auth/otp", json=person, headers={"X-Mintong-Channel": "web"})
        assert asked.status_code == 202, asked.text
        deadline = time.monotonic() + 30
        while len(codes := self._codes(admin, phone)) == before:
            assert time.monotonic() < deadline, "the one-time code never reached the sandbox"
            time.sleep(0.2)
        answer = httpx.post(
            f"{self.url}/v1/auth/token",
            json={**person, "code": codes[-1]},
            headers={"X-Mintong-Channel": "web"},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def _codes(self, admin: dict[str, str], phone: str) -> list[str]:
        sent = httpx.get(f"{self.url}/v1/sandbox/messages", params={"to": phone}, headers=admin)
        return [m.group(0) for x in sent.json()["messages"] if (m := re.search(r"\d{6}", x["body"]))]

    def headers(self, case: schemathesis.Case) -> dict[str, str]:
        """Who the operation is for, signed in (a fresh session for a sign-out)."""
        security = {name for need in case.operation.definition.raw.get("security", []) for name in need}
        if "StaffBearer" in security:
            token = self.staff_token() if case.path in SIGN_OUTS else self.admin
        elif "HTTPBearer" in security:
            token = self.citizen_to_end if case.path in SIGN_OUTS else self.citizen
        else:
            return {}
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Running]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    ports = platform_ports()
    database = {
        "MINTONG_DATABASE_URL": postgres_url,
        "MINTONG_DB_SCHEMA_PREFIX": f"fuzz{uuid.uuid4().hex[:8]}_",
    }
    process = start_platform(data_dir, ports, **database)
    try:
        url = f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}"
        wait_ready(url, process)
        running = Running(url, (data_dir / "admin-password").read_text().strip())
        running.admin = running.staff_token()
        running.citizen = running.citizen_token(ZHANG)
        running.citizen_to_end = running.citizen_token(LI)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)
        # Its four services' schemas, which nothing else drops (one set a run).
        asyncio.run(drop_schemas(postgres_url, database["MINTONG_DB_SCHEMA_PREFIX"]))


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("MINTONG_FUZZ_EXAMPLES", "15")),
    deadline=None,
    # The platform is shared by the module on purpose (one start-up, minutes saved);
    # patterns such as the ID number's make Hypothesis discard many drafts, which is
    # expected, not a fault of the test.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_the_api_does_what_its_document_says(case: schemathesis.Case, running: Running) -> None:
    case.call_and_validate(base_url=running.url, headers=running.headers(case))


def test_sequences_of_calls_keep_to_the_document(running: Running) -> None:
    """Stateful: Schemathesis follows the links it infers between operations (a
    booking's id to its cancel, a waitlist entry's to its leave…) and checks each
    answer with every check."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": running.url, "headers": running.headers(case)}

    Workflow.run(
        settings=settings(
            max_examples=int(os.environ.get("MINTONG_FUZZ_STATEFUL_EXAMPLES", "10")),
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
        )
    )
