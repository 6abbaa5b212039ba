"""The platform as processes, the way `make up` runs it: every service and the
gateway started by deploy/local/up.py, one trace across processes in the
OTLP-JSON files, Ctrl-C stopping everything; and a service run alone."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime import traceview
from tests.conftest import free_port, wait_for_port
from tests.e2e.processes import ROOT, clean_env, make_up, platform_ports, start_platform, wait_ready

pytestmark = pytest.mark.slow


def spans_by_service(traces: Path) -> dict[str, list[dict[str, Any]]]:
    result = {}
    for file in traces.glob("*.jsonl"):
        spans = []
        for line in file.read_text().splitlines():
            for resource in json.loads(line)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    spans.extend(scope["spans"])
        result[file.stem] = spans
    return result


NO_QUIET_HOURS = {"MINTONG_NOTIFY_QUIET_START": "00:00", "MINTONG_NOTIFY_QUIET_END": "00:00"}


def wait_for(check: Callable[[], object], within: float = 30.0) -> object:
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)
    return found


async def consumer_settled(nats_url: str, *, suspensions: int) -> bool:
    """Booking has published ``suspensions`` BusinessSuspended events, and notify's
    consumer has handled and acknowledged everything for it up to the last one."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        subject = "mintong.booking.business.suspended"
        published = await js.stream_info("BOOKING", subjects_filter=subject)
        if (published.state.subjects or {}).get(subject, 0) < suspensions:
            return False
        consumer = await js.consumer_info("BOOKING", "notify-booking")
        return consumer.num_pending == 0 and consumer.num_ack_pending == 0
    finally:
        await connection.close()


def test_make_up_runs_the_platform_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    ports = platform_ports()
    url = f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}"
    # No quiet hours: the booking confirmation goes out whenever the test runs.
    process = start_platform(tmp_path, {**ports, **NO_QUIET_HOURS})
    try:
        wait_ready(url, process)
        web = {"X-Mintong-Channel": "web"}
        cities = httpx.get(f"{url}/v1/cities", headers=web).json()["cities"]
        assert {c["code"] for c in cities} == {"zhengzhou", "haikou"}
        haikou = httpx.get(f"{url}/v1/cities/haikou/offices", headers=web).json()["offices"]
        assert haikou and not any(o["office"]["walk_in_allowed"] for o in haikou)

        # `make up` made the first administrator, its random password kept private.
        password_file = tmp_path / "admin-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        signed_in_staff = httpx.post(
            f"{url}/v1/staff/token",
            json={"username": "admin", "password": password_file.read_text().strip()},
            headers=web,
        )
        assert signed_in_staff.status_code == 200, signed_in_staff.text
        admin = {**web, "Authorization": f"Bearer {signed_in_staff.json()['access_token']}"}
        suspended = httpx.post(
            f"{url}/v1/admin/cities/zhengzhou/businesses/RESIDENCE_PERMIT/suspend",
            json={"announcement": "Paused for maintenance."},
            headers={**admin, "traceparent": "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"},
        )
        assert suspended.status_code == 200, suspended.text
        assert suspended.headers["x-trace-id"] == "0123456789abcdef0123456789abcdef"
        # A demo resident signs in: the code goes identity -> notify -> the SMS sandbox.
        asked = httpx.post(
            f"{url}/v1/auth/otp", json={"id_number": "410105198503121235", "name": "张伟"}, headers=web
        )
        assert asked.status_code == 202, asked.text
        code = None
        for _ in range(100):
            sent = httpx.get(f"{url}/v1/sandbox/messages", params={"to": "+8613800138001"}, headers=admin)
            if found := sent.json()["messages"]:
                code = re.search(r"\d{6}", found[-1]["body"]).group(0)  # type: ignore[union-attr]
                break
            time.sleep(0.1)
        assert code, "the one-time code never reached the sandbox"
        signed_in = httpx.post(
            f"{url}/v1/auth/token",
            json={"id_number": "410105198503121235", "name": "张伟", "code": code},
            headers=web,
        )
        assert signed_in.status_code == 200, signed_in.text
        # …and books the earliest place for an ID card at the nearest station.
        citizen = {**web, "Authorization": f"Bearer {signed_in.json()['access_token']}"}
        offices = httpx.get(
            f"{url}/v1/cities/zhengzhou/offices",
            params={"business": "ID_CARD_RENEWAL", "lat": 34.75, "lng": 113.66},
            headers=web,
        ).json()["offices"]
        slot = next(o["earliest_available_slot"] for o in offices if o["earliest_available_slot"])
        booked = httpx.post(
            f"{url}/v1/bookings",
            json={"slot_id": slot["id"], "business": "ID_CARD_RENEWAL"},
            headers={**citizen, "Idempotency-Key": "make-up-test"},
        )
        assert booked.status_code == 201, booked.text
        assert booked.json()["snapshot"]["visit_requirements"]
        # An error answer: its ids lead to its trace too (checked after the stop).
        refused = httpx.post(f"{url}/v1/bookings", json={"slot_id": slot["id"]}, headers=web)
        assert refused.status_code == 401, refused.text

        # The confirmation leaves the inbox: the SMS sandbox holds it for his number
        # (identity told notify the register's phone), found with or without +86.
        def texts(**wanted: str) -> list[str]:
            found = httpx.get(f"{url}/v1/sandbox/messages", params={"to": "13800138001"}, headers=admin)
            bodies = [m["body"] for m in found.json()["messages"]]
            return [b for b in bodies if all(w in b for w in wanted.values())]

        code = booked.json()["confirmation_code"]
        assert wait_for(lambda: texts(code=code)), "the confirmation never reached the SMS sandbox"
        # The business he booked is suspended: he is told once, on SMS, and in the inbox.
        for announcement in ("设备检修，暂停办理。", "检修延长。"):  # the second tells no one again
            again = httpx.post(
                f"{url}/v1/admin/cities/zhengzhou/businesses/ID_CARD_RENEWAL/suspend",
                json={"announcement": announcement},
                headers=admin,
            )
            assert again.status_code == 200, again.text
        assert wait_for(lambda: texts(what="暂停")), "the suspension never reached the SMS sandbox"
        # Once notify's consumer has settled everything booking published after the
        # second suspension, a second notice would be there: there is none.
        nats_url = f"nats://127.0.0.1:{ports['MINTONG_EMBEDDED_NATS_PORT']}"
        assert wait_for(lambda: asyncio.run(consumer_settled(nats_url, suspensions=3)))
        assert len(texts(what="暂停")) == 1
        inbox = httpx.get(f"{url}/v1/me/messages", headers=citizen).json()["messages"]
        assert [m["template"] for m in inbox].count("business_suspended") == 1, inbox
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = process.communicate(timeout=60)
    log = output.decode()
    # A stop asked for is a success: under make, no "Error 130" (GNU make itself then
    # ends with the SIGINT the terminal sent it too, as it always does).
    assert process.returncode == 0, log[-3000:]
    assert_stopped_cleanly(log)
    assert "gateway at http://127.0.0.1" in log
    assert f"password in {tmp_path / 'admin-password'}" in log
    assert password_file.read_text().strip() not in log
    # The demo resident who signed in is nowhere in clear: not in any process's output
    # (uvicorn's access log of the ?to= search included), not in any file under the
    # data dir (databases, the NATS store, the trace files).
    for clear in ("410105198503121235", "13800138001"):
        assert clear not in log
        for path in (p for p in tmp_path.rglob("*") if p.is_file()):
            assert clear.encode() not in path.read_bytes(), path

    for port in ports.values():  # everything stopped and let go of its port
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))

    # One trace across the processes, from the traceparent the channel sent.
    spans = spans_by_service(tmp_path / "traces")
    trace_id = "0123456789abcdef0123456789abcdef"
    in_trace = {
        service: [s["name"] for s in found if s["traceId"] == trace_id] for service, found in spans.items()
    }
    assert any(name.startswith("POST /v1/admin") for name in in_trace["gateway"]), in_trace
    assert any(name.endswith("SuspendBusiness") for name in in_trace["booking"]), in_trace
    assert "mintong.booking.business.suspended publish" in in_trace["booking"], in_trace
    sql = [
        span
        for span in spans["booking"]
        if span["traceId"] == trace_id and any(a["key"] == "db.system" for a in span.get("attributes", []))
    ]
    assert sql, "the booking process traced no SQL statement of the request"

    assert_traceview_shows_the_booking(tmp_path, booked.headers["x-request-id"])
    assert_traceview_shows_the_error(tmp_path, refused.headers["x-trace-id"])


def assert_traceview_shows_the_booking(data_dir: Path, request_id: str) -> None:
    """What an SRE given the booking's X-Request-Id reads (issue 14, item 4): one tree
    from the gateway's request through booking's gRPC server span, its SQL (the outbox
    row among it) and the publish on NATS, down to notify's consumer and delivery."""
    files = traceview.trace_files(data_dir)
    trace_id = traceview.find_trace_id(files, request_id)
    assert trace_id is not None
    roots = traceview.build_tree(traceview.load_trace(files, trace_id))
    assert len(roots) == 1, [r.name for r in roots]
    [root] = roots
    assert (root.service, root.name, root.kind) == ("gateway", "POST /v1/bookings", "SERVER")
    assert root.attributes["mintong.request_id"] == request_id

    def path_to(predicate: Callable[[traceview.Span], bool]) -> list[traceview.Span]:
        def search(span: traceview.Span, trail: list[traceview.Span]) -> list[traceview.Span]:
            if predicate(span):
                return [*trail, span]
            for child in span.children:
                if found := search(child, [*trail, span]):
                    return found
            return []

        found = search(root, [])
        assert found, traceview.render_text(roots)
        return found

    consumer = path_to(
        lambda s: (
            s.service == "notify"
            and s.kind == "CONSUMER"
            and s.name == "mintong.booking.booking.confirmed process"
        )
    )
    assert [(s.service, s.kind) for s in consumer] == [
        ("gateway", "SERVER"),
        ("gateway", "CLIENT"),
        ("booking", "SERVER"),
        ("booking", "PRODUCER"),
        ("notify", "CONSUMER"),
    ], traceview.render_text(roots)
    assert consumer[2].name == "/mintong.booking.v1.BookingService/Book"
    assert consumer[3].name == "mintong.booking.booking.confirmed publish"
    outbox = path_to(lambda s: "INSERT INTO outbox" in str(s.attributes.get("db.statement", "")))
    assert outbox[-2] is consumer[2], "the outbox row is written in the gRPC call's transaction"
    path_to(lambda s: s.service == "notify" and s.name.startswith("deliver "))
    # A consumer may have met a busy database and been redelivered (a second span, with
    # the exception); the request itself succeeded and the event was handled once.
    assert not any(s.failed for s in consumer[:3]), traceview.render_text(roots)
    handled = [
        s
        for _, s in traceview.walk(roots)
        if s.kind == "CONSUMER" and s.service == "notify" and s.attributes.get("mintong.duplicate") is False
    ]
    assert len(handled) == 1, traceview.render_text(roots)

    # The command an SRE runs prints that tree, with every service and timing in it;
    # --html writes the same as a page.
    page = data_dir / "trace.html"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert traceview.main([request_id, "--data-dir", str(data_dir), "--html", str(page)]) == 0
    printed = output.getvalue()
    assert printed.startswith(f"trace {trace_id}: ") and "booking, gateway, notify" in printed, printed
    assert re.search(
        r"\+\s*\d+\.\d ms\s+\d+\.\d ms  notify\s+ mintong.booking.booking.confirmed process", printed
    )
    assert "mintong.booking.booking.confirmed process" in page.read_text(encoding="utf-8")


def assert_traceview_shows_the_error(data_dir: Path, trace_id: str) -> None:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert traceview.main([trace_id, "--data-dir", str(data_dir)]) == 0
    assert "POST /v1/bookings [server]" in output.getvalue() and "http.status_code=401" in output.getvalue()
    with contextlib.redirect_stdout(output := io.StringIO()):
        assert traceview.main(["--recent", "50", "--errors", "--data-dir", str(data_dir)]) == 0
    assert trace_id in output.getvalue()


def assert_stopped_cleanly(log: str) -> None:
    """Every service and the gateway stopped before NATS (so none was left
    reconnecting to it), and nothing reported an error on the way out."""
    lines = log.splitlines()
    [nats] = [i for i, line in enumerate(lines) if line.startswith("nats stopped (rc=")]
    for name in ("identity", "booking", "cards", "notify", "gateway"):
        stopped = [i for i, line in enumerate(lines) if re.search(rf"\| {name} stopped \(rc=", line)]
        assert stopped and stopped[0] < nats, (name, log[-3000:])
    noise = [line for line in lines if re.search(r"from NATS|NATS nats://|\*\*\* \[|Error \d+", line)]
    assert not noise, noise


def test_sigterm_to_make_stops_the_platform_cleanly(tmp_path: Path) -> None:
    # What a supervisor or `kill <pid of make>` does: make passes SIGTERM on to up.py.
    ports = platform_ports()
    process = make_up(tmp_path, ports)
    try:
        wait_ready(f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    log = output.decode()
    # make passed the SIGTERM on to up.py, which exited 0 (make reports no error);
    # GNU make then ends itself with the signal it received, as it always does.
    assert process.returncode in (0, -signal.SIGTERM), log[-3000:]
    assert_stopped_cleanly(log)
    assert "SIGTERM received" in log
    # Every file the data dir holds is listed in docs/operations.md.
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    listed = runbook.split("### The data directory", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    for path in tmp_path.iterdir():
        assert re.search(rf"[/ ]{re.escape(path.name)}[/,\s]", listed), path.name


def test_make_up_names_the_port_in_use(tmp_path: Path) -> None:
    ports = platform_ports()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["MINTONG_BOOKING_GRPC_PORT"]))
        busy.listen()
        result = subprocess.run(
            [sys.executable, str(ROOT / "deploy/local/up.py")],
            env=clean_env(tmp_path, **ports),
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {ports['MINTONG_BOOKING_GRPC_PORT']} (MINTONG_BOOKING_GRPC_PORT)" in result.stderr.decode()


def test_a_service_runs_alone_and_stops_on_sigterm(tmp_path: Path, nats_server: object) -> None:
    port = free_port()
    env = clean_env(tmp_path, MINTONG_NOTIFY_GRPC_PORT=port, MINTONG_NATS_URL=nats_server.url)  # type: ignore[attr-defined]
    process = subprocess.Popen([sys.executable, "-m", "services.notify"], env=env, cwd=ROOT)
    try:
        wait_for_port(port, timeout=30)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

        # A second copy finds the port taken and says so in one line.
        second = subprocess.run(
            [sys.executable, "-m", "services.notify"], env=env, cwd=ROOT, capture_output=True, timeout=30
        )
        assert second.returncode == 1
        assert f"notify: cannot listen on 127.0.0.1:{port}" in second.stderr.decode()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
