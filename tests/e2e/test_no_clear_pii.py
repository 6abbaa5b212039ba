"""No clear ID number or phone number anywhere the platform writes.

The whole platform runs (real nats-server, every service, the uvicorn gateway); a
resident is imported, signs in with a code read back from the notify sandbox, reads
themselves and their inbox, and gets notifications on every path notify has (a
direct send, a booking event through NATS, a failed channel falling back to SMS).
Then everything the platform wrote is searched for the resident's ID number and
phone, in the spellings people type them, and their name (sealed as well): every
file under the data dir (SQLite databases with their WAL, the nats-server's
JetStream store, the traces), a text dump of every PostgreSQL table of the test's
schemas, every message of every stream, every span (written out as the OTLP-JSON
lines the services write), every log record at DEBUG (aiosqlite logs each
statement's parameters there) and the process's stdout/stderr. Only the answers
meant to carry them may: the administrator's view of what the sandbox sent, and the
citizen's own name in their /v1/me.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import nats
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.cards.adapters import courier_signature
from services.runtime import context
from services.runtime.telemetry import OtlpJsonLinesExporter
from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USER, Platform
from tests.e2e.test_identity import import_file
from tests.integration.test_notify import booking_confirmed, eventually, publish

# The check character is X, so that a lower-cased number is a different spelling.
ID_NUMBER = "46010619920415108X"
NAME = "林静"
PHONE = "13987654321"
E164 = f"+86{PHONE}"
SERVICE = ((context.CALLER_KEY, "service:identity"),)

CARD_NUMBER = "HK2022011000007"
RESIDENCE = "海南省三亚市吉阳区迎宾路8号"
# In the test catalogue's city, the photo within five years of the test clock: the
# resident may replace a lost card online (a_card_to_the_door).
CSV = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status,card_number,residence_city,residence_address,"
    "residence_registered_on\n"
    f"{ID_NUMBER},{NAME},{PHONE},testcity,海南省海口市美兰区,2027-06-01,true,2022-01-10,2042-01-10,valid,"
    f"{CARD_NUMBER},sanya,{RESIDENCE},2024-03-01\n"
)

#: What must not be found, in the spellings people and programs write them.
NEEDLES = {
    "ID number": ID_NUMBER,
    "ID number, lower case": ID_NUMBER.lower(),
    "ID number without its check character": ID_NUMBER[:17],
    "ID number in groups": f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}",
    "ID number in groups, lower case": f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}".lower(),
    "phone": PHONE,  # also inside +86…, 86… and %2B86…
    "phone in groups": f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}",
    "phone with dashes": f"{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}",
    # The register's card and residence (sealed like the rest; cards reads them in clear).
    "card number": CARD_NUMBER,
    "residence address": RESIDENCE,
}
#: Stored sealed as well (decisions.md, 25), though the citizen is shown it.
NAME_TOO = {**NEEDLES, "name": NAME}


def leaks(where: str, content: bytes | str, needles: dict[str, str] = NAME_TOO) -> list[str]:
    data = content.encode() if isinstance(content, str) else content
    return [f"{what} in {where}" for what, needle in needles.items() if needle.encode() in data]


async def sign_in(platform: Platform) -> dict[str, Any]:
    admin = platform.headers(admin=True)
    imported = await import_file(platform, CSV.encode())
    assert imported["imported"] == 1, imported
    who = {"id_number": ID_NUMBER.lower(), "name": NAME}  # as a citizen may type it
    asked = await platform.http.post("/v1/auth/otp", json=who, headers=platform.headers("app"))
    assert asked.status_code == 202, asked.text

    async def code() -> list[dict[str, Any]]:
        # Looked up by the phone, as an administrator reading codes in dev does.
        answer = await platform.http.get("/v1/sandbox/messages", params={"to": E164}, headers=admin)
        return answer.json()["messages"]

    [sms] = await eventually(code)
    assert sms["to"] == E164  # the administrators' sandbox view is the one place it shows
    digits = re.search(r"(?<!\d)\d{6}(?!\d)", sms["body"]).group(0)  # type: ignore[union-attr]
    answer = await platform.http.post(
        "/v1/auth/token", json={**who, "code": digits}, headers=platform.headers("app")
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def pre_application_with_personal_data(platform: Platform, signed_in: dict[str, str]) -> None:
    """A pre-application whose answer and document hold the ID number, phone and name
    (a citizen may type them anywhere), taken to approval: its rows, its sealed
    document in the object store, its events and notifications are all scanned."""
    made = await platform.http.post(
        "/v1/pre-applications",
        json={"city": "testcity", "business": "HOUSEHOLD_REGISTRATION"},
        headers=signed_in,
    )
    assert made.status_code == 201, made.text
    pre_id = made.json()["id"]
    typed = f"{NAME} {ID_NUMBER} {PHONE}"
    filled = await platform.http.patch(
        f"/v1/pre-applications/{pre_id}",
        json={"answers": {"matter": "move_in", "new_address": f"金水路1号 {typed}"}},
        headers=signed_in,
    )
    assert filled.status_code == 200, filled.text
    document = f"%PDF-1.7 {typed}".encode()
    attached = await platform.http.post(
        f"/v1/pre-applications/{pre_id}/attachments",
        content=document,
        params={"label": "户口簿"},
        headers=signed_in,
    )
    assert attached.status_code == 201, attached.text
    submitted = await platform.http.post(f"/v1/pre-applications/{pre_id}/submit", headers=signed_in)
    assert submitted.status_code == 200, submitted.text
    for decision, body in (("request-material", {"note": "请补充材料"}), ("approve", {})):
        if decision == "approve":
            again = await platform.http.post(f"/v1/pre-applications/{pre_id}/submit", headers=signed_in)
            assert again.status_code == 200, again.text
        decided = await platform.http.post(
            f"/v1/staff/pre-applications/{pre_id}/{decision}", json=body, headers=platform.headers(admin=True)
        )
        assert decided.status_code == 200, decided.text


async def notify_on_every_path(platform: Platform, nats_url: str, citizen_id: str) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{platform.notify.host.port}") as channel:
        notify, admin = pb_grpc.NotifyServiceStub(channel), pb_grpc.NotifyAdminServiceStub(channel)
        preferences = pb.Preferences(
            citizen_id=citizen_id,
            preferred_channel=pb.DELIVERY_CHANNEL_WECHAT,
            phone=E164,
            wechat_openids={"haikou": "o-linjing"},
            app_device_token="device-linjing",
        )
        await notify.SetPreferences(pb.SetPreferencesRequest(preferences=preferences), metadata=SERVICE)
        # WeChat and the APP refuse for good: the message falls back to SMS, the phone
        # read back from the stored contacts.
        for refusing in (pb.DELIVERY_CHANNEL_WECHAT, pb.DELIVERY_CHANNEL_APP_PUSH):
            await admin.SetSandboxBehaviour(
                pb.SetSandboxBehaviourRequest(channel=refusing, mode=pb.SANDBOX_MODE_FAIL_PERMANENTLY),
                metadata=SERVICE,
            )
        sent = await notify.SendMessage(
            pb.SendMessageRequest(
                citizen_id=citizen_id,
                template="card_delivered",
                variables={"application_id": "A-7"},
                city_code="haikou",
                idempotency_key="leak-card",
            ),
            metadata=SERVICE,
        )
        await publish(nats_url, booking_confirmed("b-leak", citizen_id), "evt-leak")

        async def settled() -> bool:
            answer = await notify.GetMessage(
                pb.GetMessageRequest(message_id=sent.message.id), metadata=SERVICE
            )
            channels = {(d.channel, d.status) for d in answer.message.deliveries}
            return (pb.DELIVERY_CHANNEL_SMS, pb.DELIVERY_STATUS_DELIVERED) in channels

        async def to_the_phone() -> list[pb.SandboxMessage] | None:
            found = await admin.ListSandboxMessages(pb.ListSandboxMessagesRequest(to=E164), metadata=SERVICE)
            # The one-time code, the card message and the booking confirmation.
            return list(found.messages) if len(found.messages) >= 3 else None

        await eventually(settled)
        assert all(m.to == E164 for m in await eventually(to_the_phone))


async def a_card_to_the_door(platform: Platform, signed_in: dict[str, str], citizen_id: str) -> None:
    """A lost card replaced and mailed to the citizen's own name, phone and address:
    the cards database, its outbox and stream, and the courier's callbacks too."""
    face = await platform.http.post(
        "/v1/me/face-verification", json={"liveness_token": "t"}, headers=signed_in
    )
    assert face.status_code == 200, face.text
    delivery = {"method": "mail", "recipient": NAME, "phone": PHONE, "address": "海南省海口市美兰区海甸岛7号"}
    applied = await platform.http.post(
        "/v1/card-applications",
        json={"kind": "id_card_lost", "appearance_unchanged": True, "delivery": delivery},
        headers={**signed_in, "Idempotency-Key": "leak-card-application"},
    )
    assert applied.status_code == 201, applied.text
    assert not leaks("a card application", applied.text)
    await platform.cards.journey.step()
    shipped = await platform.http.get(f"/v1/card-applications/{applied.json()['id']}", headers=signed_in)
    assert shipped.json()["status"] == "shipped", shipped.text
    event = {
        "event_id": "leak-1",
        "tracking_number": shipped.json()["delivery"]["tracking_number"],
        "kind": "delivered",
        "occurred_at": "2030-01-07T09:00:00+08:00",
    }
    body = json.dumps(event).encode()
    at = int(platform.cards.clock().timestamp())
    delivered = await platform.http.post(
        "/v1/callbacks/courier",
        content=body,
        headers={
            "X-Courier-Timestamp": str(at),
            "X-Courier-Signature": courier_signature.sign(b"test-courier-secret", at, body),
        },
    )
    assert delivered.json()["status"] == "delivered", delivered.text


async def background_settled(platform: Platform, nats_url: str) -> bool:
    """Booking's outbox all published, and every event acknowledged by every consumer."""
    from sqlalchemy import func, select

    from services.booking.adapters import orm as booking_orm
    from services.cards.adapters import orm as cards_orm

    for db, outbox in ((platform.booking.db, booking_orm.outbox), (platform.cards.db, cards_orm.outbox)):
        async with db.read() as conn:
            query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            if (await conn.execute(query)).scalar_one():
                return False
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            for consumer in await js.consumers_info(stream.config.name or ""):
                if consumer.num_pending or consumer.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()


def files_under(root: Path) -> list[tuple[str, bytes]]:
    return [(str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


async def stream_messages(nats_url: str) -> list[tuple[str, bytes]]:
    """Every message still in every stream, headers and payload."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        found = []
        for info in await js.streams_info():
            # An empty stream says first 0, last 0: there is no message 0 to ask for.
            for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(info.config.name or "", seq)
                except nats.js.errors.NotFoundError:
                    continue
                headers = "".join(f"{k}: {v}\n" for k, v in (msg.headers or {}).items())
                found.append((f"stream {info.config.name} #{seq}", headers.encode() + (msg.data or b"")))
        return found
    finally:
        await nc.close()


async def postgres_rows(backend: dict[str, Any]) -> list[tuple[str, str]]:
    """Every row of every table of the test's schemas, as PostgreSQL spells it as text."""
    conn = await asyncpg.connect(backend["database_url"].replace("+asyncpg", ""))
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE $1 AND table_type = 'BASE TABLE'",
            backend["db_schema_prefix"] + "%",
        )
        rows = []
        for schema, table in tables:
            for (text,) in await conn.fetch(f'SELECT t::text FROM "{schema}"."{table}" t'):
                rows.append((f"{schema}.{table}", text))
        return rows
    finally:
        await conn.close()


async def test_no_clear_id_number_or_phone_is_left_anywhere(
    platform: Platform,
    nats_server: Any,
    backend: dict[str, Any],
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    clock: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Monday 08:45 in the test city: a 09:00 booking can check in at the hall. Staff
    # tokens are short-lived: the administrator signs in again at this time.
    clock.now = dt.datetime(2030, 1, 7, 0, 45, tzinfo=dt.UTC)
    platform.admin_token = await platform.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
    tokens = await sign_in(platform)
    signed_in = {**platform.headers("app"), "Authorization": f"Bearer {tokens['access_token']}"}
    me = await platform.http.get("/v1/me", headers=signed_in)
    assert me.status_code == 200, me.text
    assert me.json()["phone"] == f"{PHONE[:3]}****{PHONE[-4:]}"
    assert not leaks("the citizen's /v1/me", me.text, NEEDLES)

    # A real booking and its cancellation: booking rows, outbox, stream and messages too.
    slots = await platform.http.get(
        "/v1/offices/centre/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-09", "to": "2030-01-09"},
        headers=signed_in,
    )
    booked = await platform.http.post(
        "/v1/bookings",
        json={"slot_id": slots.json()["slots"][0]["id"], "business": "ID_CARD_RENEWAL"},
        headers={**signed_in, "Idempotency-Key": "leak-test"},
    )
    assert booked.status_code == 201, booked.text
    assert not leaks("a booking", booked.text, NEEDLES)
    cancelled = await platform.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=signed_in)
    assert cancelled.status_code == 200, cancelled.text
    # The hall: today's 09:00 booking checked in at a kiosk, its ticket called and
    # served (hall tables, the ticket events and the messages they become).
    today = await platform.http.get(
        "/v1/offices/centre/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-07", "to": "2030-01-07"},
        headers=signed_in,
    )
    nine = next(s["id"] for s in today.json()["slots"] if s["start"] == "09:00")
    booked = await platform.http.post(
        "/v1/bookings",
        json={"slot_id": nine, "business": "ID_CARD_RENEWAL"},
        headers={**signed_in, "Idempotency-Key": "leak-test-hall"},
    )
    assert booked.status_code == 201, booked.text
    checked = await platform.http.post(
        "/v1/offices/centre/checkins", json={"booking_id": booked.json()["id"]}, headers=signed_in
    )
    assert checked.status_code == 200, checked.text
    ticket = await platform.http.get(f"/v1/tickets/{checked.json()['ticket']['id']}", headers=signed_in)
    assert not leaks("a ticket", ticket.text, NEEDLES)
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    called = await platform.http.post("/v1/staff/offices/centre/counters/1/call", headers=clerk)
    assert called.status_code == 200, called.text
    assert not leaks("a called ticket", called.text)
    queue = await platform.http.get("/v1/offices/centre/queue", headers=platform.headers())
    assert not leaks("the hall's display", queue.text)

    # An office closure (decision 60): Tuesday's booking cancelled by a policy, the
    # policies table, the closure's event and the message it becomes.
    tuesday = await platform.http.get(
        "/v1/offices/centre/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-08", "to": "2030-01-08"},
        headers=signed_in,
    )
    booked = await platform.http.post(
        "/v1/bookings",
        json={"slot_id": tuesday.json()["slots"][0]["id"], "business": "ID_CARD_RENEWAL"},
        headers={**signed_in, "Idempotency-Key": "leak-test-closure"},
    )
    assert booked.status_code == 201, booked.text
    closure = await platform.http.post(
        "/v1/admin/cities/testcity/policies",
        json={"kind": "office_closure", "office_id": "centre", "from": "2030-01-08", "to": "2030-01-08"},
        headers=platform.headers(admin=True),
    )
    assert (closure.status_code, closure.json()["cancelled_bookings"]) == (201, 1), closure.text
    assert not leaks("a policy", closure.text, NEEDLES)

    await pre_application_with_personal_data(platform, signed_in)
    await a_card_to_the_door(platform, signed_in, tokens["citizen_id"])
    await notify_on_every_path(platform, nats_server.url, tokens["citizen_id"])

    async def inbox_filled() -> Any:
        answer = await platform.http.get("/v1/me/messages", headers=signed_in)
        templates = {m["template"] for m in answer.json()["messages"]}
        wanted = {"card_delivered", "booking_confirmed", "ticket_issued", "booking_cancelled_by_closure"}
        return answer if templates >= wanted else None

    inbox = await eventually(inbox_filled)
    assert not leaks("the citizen's inbox", inbox.text, NEEDLES)
    # A sign-out: the revocation bucket's entry (its own stream) is scanned too.
    assert (await platform.http.post("/v1/auth/logout", headers=signed_in)).status_code == 204
    await platform.revocation_seen(tokens["access_token"])
    # Scan only once the background work is done: all it wrote is there to be searched.
    await eventually(lambda: background_settled(platform, nats_server.url))

    found: list[str] = []
    scanned: dict[str, int] = {}

    # Spans, written out the way every service process writes its trace file.
    finished = spans.get_finished_spans()
    exporter = OtlpJsonLinesExporter(tmp_path / "traces" / "e2e.jsonl")
    exporter.export(finished)
    exporter.shutdown()
    scanned["spans"] = len(finished)

    for where, data in await stream_messages(nats_server.url):
        found += leaks(where, data)
        scanned["stream messages"] = scanned.get("stream messages", 0) + 1

    if "database_url" in backend:
        for where, text in await postgres_rows(backend):
            found += leaks(where, text)
            scanned["database rows"] = scanned.get("database rows", 0) + 1

    # Every file: SQLite databases and their -wal, the JetStream store, the traces.
    for name, data in await asyncio.to_thread(files_under, tmp_path):
        found += leaks(name, data)
        scanned["files"] = scanned.get("files", 0) + 1
        if name.endswith(".db"):
            scanned["sqlite databases"] = scanned.get("sqlite databases", 0) + 1

    for record in caplog.records:
        if record.name == "httpx" and platform.url in record.getMessage():
            continue  # this test's own HTTP client, saying which URLs it asked for
        text = record.getMessage() + (record.exc_text or "")
        found += leaks(f"a log record of {record.name}", text)
    scanned["log records"] = len(caplog.records)
    out, err = capfd.readouterr()
    found += leaks("stdout", out) + leaks("stderr", err)

    assert not found, "\n".join(f"{n} × {what}" for what, n in Counter(found).items())
    # The search looked where the data is: spans, events, databases and logs exist.
    assert scanned["spans"] > 20 and scanned["stream messages"] >= 1 and scanned["log records"] > 0
    assert scanned.get("sqlite databases", 0) >= 3 or scanned.get("database rows", 0) > 10, scanned
