"""The platform as processes, the way `make up` runs it: every service and the
gateway started by deploy/local/up.py, one trace across processes in the
OTLP-JSON files, a lost ID card replaced and mailed (tests/e2e/lost_card.py),
Ctrl-C stopping everything; and a service run alone."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from services.runtime import traceview
from tests.conftest import drop_schemas, free_port, wait_for_port
from tests.e2e import lost_card
from tests.e2e.processes import ROOT, clean_env, make_up, platform_ports, start_platform, wait_for, wait_ready

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


def metric(text: str, name: str, **labels: str) -> float | None:
    """The sum of ``name``'s samples with these labels in a /metrics text (None: none)."""
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(found) if found else None


def test_make_up_runs_the_platform_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    ports = platform_ports()
    url = f"http://127.0.0.1:{ports['MINTONG_HTTP_PORT']}"
    scraped: dict[str, str] = {}

    def scrape(process_name: str) -> str:
        port = ports[f"MINTONG_{process_name.upper()}_METRICS_PORT"]
        scraped[process_name] = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return scraped[process_name]

    # No quiet hours: the booking confirmation goes out whenever the test runs; the
    # metrics' samplers look every second; the lost card's journey takes seconds.
    settings = {**NO_QUIET_HOURS, "MINTONG_METRICS_SAMPLE_SECONDS": "1", **lost_card.JOURNEY}
    process = start_platform(tmp_path, {**ports, **settings})
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
        # He has lost his ID card: he applies for a new one, mailed; it is made and
        # shipped while the rest of this test goes on.
        application = lost_card.apply(url, citizen)

        # The confirmation leaves the inbox: the SMS sandbox holds it for his number
        # (identity told notify the register's phone), found with or without +86.
        def texts(**wanted: str) -> list[str]:
            found = httpx.get(f"{url}/v1/sandbox/messages", params={"to": "13800138001"}, headers=admin)
            bodies = [m["body"] for m in found.json()["messages"]]
            return [b for b in bodies if all(w in b for w in wanted.values())]

        code = booked.json()["confirmation_code"]
        assert wait_for(lambda: texts(code=code)), "the confirmation never reached the SMS sandbox"

        # Every process serves its metrics (decision 53): the booking counted by route
        # template, RPC method, outcome and channel; the delivery; the samplers' values.
        book = {"route": "/v1/bookings", "method": "POST", "channel": "web"}
        assert metric(scrape("gateway"), "mintong_http_requests_total", **book, status="201") == 1
        assert metric(scraped["gateway"], "mintong_http_request_duration_seconds_count", route="/v1/bookings")
        assert metric(scraped["gateway"], "mintong_nats_connected", service="gateway") == 1
        assert metric(scrape("booking"), "mintong_bookings_total", outcome="made", channel="web") == 1
        rpc = "/mintong.booking.v1.BookingService/Book"
        assert metric(scraped["booking"], "mintong_grpc_server_handled_total", method=rpc, code="OK") == 1
        assert metric(scraped["booking"], "mintong_grpc_server_handling_seconds_count", method=rpc) == 1
        # No connection kept: a sample may catch one lent for a moment to the relay or
        # a sweep, so the sampler is read until it shows none checked out.
        pool = {"service": "booking", "state": "checked_out"}
        assert wait_for(lambda: metric(scrape("booking"), "mintong_db_pool_connections", **pool) == 0)
        assert metric(scraped["booking"], "mintong_booking_waitlist_holds") == 0
        assert wait_for(
            lambda: metric(scrape("booking"), "mintong_outbox_unpublished_rows", service="booking") == 0
        )
        assert (
            metric(scraped["booking"], "mintong_outbox_oldest_unpublished_age_seconds", service="booking")
            == 0
        )
        sms = {"channel": "sms", "provider": "sandbox_sms"}
        assert metric(scrape("notify"), "mintong_notify_deliveries_total", state="delivered", **sms)
        assert metric(scraped["notify"], "mintong_notify_delivery_delay_seconds_count", channel="sms")
        assert metric(
            scraped["notify"], "mintong_events_handled_total", consumer="notify-booking", outcome="handled"
        )
        assert wait_for(
            lambda: (
                metric(scrape("notify"), "mintong_consumer_pending_messages", consumer="notify-booking") == 0
            )
        )
        assert (
            metric(scraped["notify"], "mintong_consumer_redelivered_messages", consumer="notify-booking") == 0
        )
        for name in ("identity", "cards"):
            assert metric(scrape(name), "mintong_nats_connected", service=name) == 1
            assert metric(scraped[name], "mintong_grpc_server_handled_total") is not None, name
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
        lost_card.assert_delivered(url, citizen, application, texts)
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
    # The demo resident who signed in is nowhere in clear, nor the address his card
    # was mailed to: not in any process's output (uvicorn's access log of the ?to=
    # search included), not in any file under the data dir (databases, the sandboxes'
    # files, the NATS store, the trace files).
    lost_card.assert_one_request_per_action(tmp_path, application)
    for clear in lost_card.IN_CLEAR:
        assert clear not in log
        for name, text in scraped.items():  # labels are templates and codes, never who
            assert clear not in text, name
            assert booked.json()["id"] not in text and code not in text, name
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


def workers_of(module: str, http_port: int) -> dict[int, int]:
    """The pids of ``python -m <module>``'s workers by index, in the platform whose
    gateway is on ``http_port`` (in every process's environment): found in /proc."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = dict(
                item.split(b"=", 1) for item in (proc / "environ").read_bytes().split(b"\0") if b"=" in item
            )
        except OSError:  # not a process, not ours, or gone
            continue
        if (
            command[1:3] == [b"-m", module.encode()]
            and environ.get(b"MINTONG_HTTP_PORT") == str(http_port).encode()
            and b"MINTONG_WORKER_INDEX" in environ
        ):
            found[int(environ[b"MINTONG_WORKER_INDEX"])] = int(proc.name)
    return found


@pytest.mark.postgres
def test_sigterm_to_make_stops_the_platform_cleanly_with_two_workers_each(
    tmp_path: Path, postgres_url: str
) -> None:
    # Two workers of the gateway and of booking (decision 75; several booking
    # processes need PostgreSQL), on their shared ports.
    ports = platform_ports()
    for name in ("GATEWAY", "BOOKING"):  # worker 1's metrics port, 10 above, must be free too
        ports[f"MINTONG_{name}_METRICS_PORT"] = free_port(and_above=10)
    http_port = ports["MINTONG_HTTP_PORT"]
    url = f"http://127.0.0.1:{http_port}"
    database = {
        "MINTONG_DATABASE_URL": postgres_url,
        "MINTONG_DB_SCHEMA_PREFIX": f"workers{uuid.uuid4().hex[:8]}_",
    }
    workers = {"MINTONG_GATEWAY_WORKERS": 2, "MINTONG_BOOKING_WORKERS": 2}
    process = make_up(tmp_path, {**ports, **database, **workers})
    try:
        wait_ready(url, process)
        gateways, bookings = workers_of("gateway", http_port), workers_of("services.booking", http_port)
        assert set(gateways) == set(bookings) == {0, 1}, (gateways, bookings)
        # Each worker serves its own metrics, 10 ports above the process's. The
        # platform is ready when one worker of each answers: the other may still be
        # starting, so each is waited for.
        for name in ("GATEWAY", "BOOKING"):
            for port in (ports[f"MINTONG_{name}_METRICS_PORT"], ports[f"MINTONG_{name}_METRICS_PORT"] + 10):
                up = functools.partial(nats_connected, port, name.lower())
                assert wait_for(up, within=60), (name, port)

        # One worker of each killed: the ports answer all along (the cities come from
        # booking on every call). A call in flight on the killed booking worker's
        # connection may be a 503 the client retries; none is refused or dropped.
        for pid in (gateways[1], bookings[1]):
            os.kill(pid, signal.SIGKILL)
            # Dead (a zombie until its supervisor looks): its sockets closed. What
            # waited in its own accept queue at that moment is lost with it.
            assert wait_for(functools.partial(dead_or_gone, pid), within=10)
        web = {"X-Mintong-Channel": "web"}
        answers = [httpx.get(f"{url}/v1/cities", headers=web, timeout=10).status_code for _ in range(30)]
        assert set(answers) <= {200, 503} and answers[-10:] == [200] * 10, answers
        # …and the supervisors start them again.
        assert wait_for(lambda: workers_of("gateway", http_port).get(1, gateways[1]) != gateways[1])
        assert wait_for(lambda: workers_of("services.booking", http_port).get(1, bookings[1]) != bookings[1])
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        if sys.exc_info()[0] is not None:
            # A failure above (once, in a whole suite: a connection reset after the
            # kills) shows what the supervisors and workers logged around it.
            print(output.decode(errors="replace")[-8000:])
        asyncio.run(drop_schemas(postgres_url, database["MINTONG_DB_SCHEMA_PREFIX"]))
    log = output.decode()
    # make passed the SIGTERM on to up.py, which exited 0 (make reports no error);
    # GNU make then ends itself with the signal it received, as it always does.
    assert process.returncode in (0, -signal.SIGTERM), log[-3000:]
    assert_stopped_cleanly(log)
    assert "SIGTERM received" in log
    assert re.search(r"gateway worker 1 ended \(rc=-9\): starting it again", log), log[-3000:]
    assert not workers_of("gateway", http_port) and not workers_of("services.booking", http_port)
    # Every file the data dir holds is listed in docs/operations.md.
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    listed = runbook.split("### The data directory", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    for path in tmp_path.iterdir():
        assert re.search(rf"[/ ]{re.escape(path.name)}[/,\s]", listed), path.name


def nats_connected(port: int, service: str) -> bool:
    """Whether the worker whose metrics are on ``port`` is up and connected to NATS."""
    try:
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.TransportError:
        return False
    return metric(scraped, "mintong_nats_connected", service=service) == 1


def dead_or_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


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
