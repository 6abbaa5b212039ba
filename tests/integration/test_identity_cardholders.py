"""Identity's CardHolderService over real gRPC, on SQLite and PostgreSQL: the cards
service alone reads a citizen's facts (in clear) and changes their card; a report
of a lost card and a new card are each made once per application, with one audit
entry in the transaction of the change; the register file's optional card and
residence columns are read, checked and sealed at rest."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from mintong.common.v1 import common_pb2
from mintong.identity.v1 import cardholders_pb2 as pb
from mintong.identity.v1 import cardholders_pb2_grpc as pb_grpc
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.runtime import audit
from services.runtime.context import CALLER_KEY
from tests.conftest import FakeClock
from tests.integration.test_booking_service import problem_of

ZHANG = "410105198503121235"
WANG = "410104200101013577"
HEADER = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status,card_number,residence_city,residence_address,"
    "residence_registered_on"
)
FILE = (
    f"{HEADER}\n"
    f"{ZHANG},张伟,13800138001,zhengzhou,河南省郑州市金水区经三路1号,2022-05-10,true,2022-05-20,2042-05-20,"
    "valid,ZZ2022052000001,,,\n"
    f"{WANG},王芳,13800138003,zhengzhou,河南省郑州市管城区紫荆山路3号,2023-08-08,true,2023-08-20,2033-08-20,"
    "valid,,haikou,海南省海口市龙华区滨海大道7号,2025-01-15\n"
).encode()
CARDS = ((CALLER_KEY, "service:cards"),)


def field_of(error: grpc.aio.AioRpcError) -> str:
    return problem_of(error).field_violations[0].field


def date(value: dt.date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


@pytest.fixture
async def identity(make_settings: Callable[..., Any], clock: FakeClock) -> AsyncIterator[Any]:
    from services.identity import bootstrap

    app = bootstrap.build(make_settings(IdentitySettings, import_workers=0), clock=clock)
    await asyncio.to_thread(app.migrate)
    done = await app.imports.run_file(FILE, "csv", actor="admin:test")
    assert (done.imported, done.rejected) == (2, 0), done.rejections
    await app.host.start(port=0)
    yield app
    await app.host.stop()


@pytest.fixture
async def stub(identity: Any) -> AsyncIterator[pb_grpc.CardHolderServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.host.port}") as channel:
        yield pb_grpc.CardHolderServiceStub(channel)


async def citizen_id(app: Any, number: str) -> str:
    async with app.uow.read() as store:
        resident = await store.resident_by_lookup(app.cipher.lookup(number))
    assert resident is not None
    return resident.citizen_id


async def card_audit(app: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    async with app.db.read() as conn:
        assert (await audit.verify(conn, orm.audit)).ok
        rows = (await conn.execute(select(orm.audit).order_by(orm.audit.c.seq))).all()
    return [
        (r.actor, r.action, r.subject, json.loads(r.detail)) for r in rows if r.action.startswith("card.")
    ]


async def test_the_cards_service_reads_the_holders_facts_in_clear(identity: Any, stub: Any) -> None:
    zhang, wang = await citizen_id(identity, ZHANG), await citizen_id(identity, WANG)
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert (holder.citizen_id, holder.id_number, holder.name, holder.phone) == (
        zhang,
        ZHANG,
        "张伟",
        "+8613800138001",
    )
    assert (holder.gender, holder.city_code, holder.household_address) == (
        "male",
        "zhengzhou",
        "河南省郑州市金水区经三路1号",
    )
    assert (holder.birth_date.year, holder.photo_captured_on.year, holder.fingerprint_on_file) == (
        1985,
        2022,
        True,
    )
    assert (holder.card_number, holder.card_status, holder.card_expires_on.year) == (
        "ZZ2022052000001",
        "valid",
        2042,
    )
    assert (holder.residence_city_code, holder.residence_address) == ("", "")
    assert not holder.HasField("residence_registered_on") or holder.residence_registered_on.year == 0

    other = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=wang), metadata=CARDS)).holder
    assert (other.card_number, other.residence_city_code, other.residence_address) == (
        "",
        "haikou",
        "海南省海口市龙华区滨海大道7号",
    )
    on = other.residence_registered_on
    assert (on.year, on.month, on.day) == (2025, 1, 15)

    # At rest the card number and the residence address are sealed.
    async with identity.db.read() as conn:
        stored = str((await conn.execute(select(orm.residents))).all())
    assert "ZZ2022052000001" not in stored and "滨海大道" not in stored and "haikou" in stored


@pytest.mark.parametrize(
    "caller",
    [
        None,
        "service:gateway",
        "service:booking",
        "citizen:c1",
        "admin:s1",
        "clerk:s2@o1",
        "cli:root",
        "anonymous",
    ],
)
async def test_no_one_but_the_cards_service_may_call(identity: Any, stub: Any, caller: str | None) -> None:
    zhang = await citizen_id(identity, ZHANG)
    metadata = () if caller is None else ((CALLER_KEY, caller),)
    calls = [
        stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=metadata),
        stub.GetCardHolders(pb.GetCardHoldersRequest(citizen_ids=[zhang]), metadata=metadata),
        stub.ReportCardLost(
            pb.ReportCardLostRequest(citizen_id=zhang, application_id="a1"), metadata=metadata
        ),
        stub.RecordNewCard(
            pb.RecordNewCardRequest(
                citizen_id=zhang,
                application_id="a1",
                card_number="N1",
                issued_on=date(dt.date(2030, 1, 7)),
                expires_on=date(dt.date(2040, 1, 7)),
            ),
            metadata=metadata,
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert (holder.card_status, holder.card_number) == ("valid", "ZZ2022052000001")
    assert await card_audit(identity) == []


async def test_many_holders_in_one_call_the_unknown_left_out(identity: Any, stub: Any) -> None:
    zhang, wang = await citizen_id(identity, ZHANG), await citizen_id(identity, WANG)
    answer = await stub.GetCardHolders(
        pb.GetCardHoldersRequest(citizen_ids=[wang, "nobody", zhang, wang]), metadata=CARDS
    )
    assert sorted((h.citizen_id, h.name) for h in answer.holders) == sorted([(zhang, "张伟"), (wang, "王芳")])
    one = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert next(h for h in answer.holders if h.citizen_id == zhang) == one
    empty = await stub.GetCardHolders(pb.GetCardHoldersRequest(), metadata=CARDS)
    assert list(empty.holders) == []


async def test_sessions_assurance_comes_with_the_facts_an_ended_one_left_out(
    identity: Any, stub: Any, clock: FakeClock
) -> None:
    zhang, wang = await citizen_id(identity, ZHANG), await citizen_id(identity, WANG)
    now = clock()
    later = now + dt.timedelta(days=30)

    def session(sid: str, citizen: str, revoked: dt.datetime | None = None) -> dict[str, Any]:
        return {
            "id": sid,
            "citizen_id": citizen,
            "channel": "web",
            "refresh_hash": sid * 8,
            "created_at": now,
            "expires_at": later,
            "revoked_at": revoked,
        }

    async with identity.db.write() as conn:
        await conn.execute(
            orm.sessions.insert(),
            [session("s-face", zhang), session("s-otp", wang), session("s-gone", wang, revoked=now)],
        )
        await conn.execute(
            orm.face_attempts.insert().values(
                id="f1", citizen_id=zhang, session_id="s-face", matched=True, provider_ref="p", at=now
            )
        )
    answer = await stub.GetCardHolders(
        pb.GetCardHoldersRequest(
            citizen_ids=[zhang, wang], session_ids=["s-face", "s-otp", "s-gone", "nope"]
        ),
        metadata=CARDS,
    )
    assert len(answer.holders) == 2
    assert sorted((s.session_id, s.citizen_id, s.assurance_level) for s in answer.sessions) == sorted(
        [("s-face", zhang, "face"), ("s-otp", wang, "otp")]
    )
    clock.now = now + dt.timedelta(hours=1)  # the face match has lapsed
    again = await stub.GetCardHolders(pb.GetCardHoldersRequest(session_ids=["s-face"]), metadata=CARDS)
    assert [(s.session_id, s.assurance_level) for s in again.sessions] == [("s-face", "otp")]


async def test_hostile_or_too_many_ids_for_many_holders_are_refused(stub: Any) -> None:
    # One platform for every case: each would otherwise pay a database's set-up.
    for citizen_ids in (["a\x00b"], ["c" * 1000], [f"c{n}" for n in range(501)]):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetCardHolders(pb.GetCardHoldersRequest(citizen_ids=citizen_ids), metadata=CARDS)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(refused.value) == "citizen_ids"


async def test_an_unknown_citizen_is_not_found(stub: Any) -> None:
    for call in (
        stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id="nobody"), metadata=CARDS),
        stub.ReportCardLost(
            pb.ReportCardLostRequest(citizen_id="nobody", application_id="a1"), metadata=CARDS
        ),
        stub.RecordNewCard(
            pb.RecordNewCardRequest(
                citizen_id="nobody",
                application_id="a1",
                card_number="N1",
                issued_on=date(dt.date(2030, 1, 7)),
                expires_on=date(dt.date(2040, 1, 7)),
            ),
            metadata=CARDS,
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        assert field_of(refused.value) == "citizen_id"


async def test_a_lost_card_is_reported_once_per_application(identity: Any, stub: Any) -> None:
    zhang = await citizen_id(identity, ZHANG)
    request = pb.ReportCardLostRequest(citizen_id=zhang, application_id="app-1")
    answers = [await stub.ReportCardLost(request, metadata=CARDS) for _ in range(3)]
    # Concurrent retries too: the resident's row is locked, the request row found.
    answers += await asyncio.gather(*(stub.ReportCardLost(request, metadata=CARDS) for _ in range(4)))
    assert {a.card_status for a in answers} == {"reported_lost"}
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert holder.card_status == "reported_lost"
    assert await card_audit(identity) == [
        (
            "service:cards",
            "card.reported_lost",
            f"citizen:{zhang}",
            {"application_id": "app-1", "from": "valid", "to": "reported_lost"},
        )
    ]
    # The same application id for another citizen is a fault, not a retry.
    wang = await citizen_id(identity, WANG)
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.ReportCardLost(
            pb.ReportCardLostRequest(citizen_id=wang, application_id="app-1"), metadata=CARDS
        )
    assert reused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (problem_of(reused.value).code, field_of(reused.value)) == (
        "application_id_reused",
        "application_id",
    )


async def test_a_new_card_is_written_once_per_application(identity: Any, stub: Any) -> None:
    zhang = await citizen_id(identity, ZHANG)
    await stub.ReportCardLost(
        pb.ReportCardLostRequest(citizen_id=zhang, application_id="app-2"), metadata=CARDS
    )
    request = pb.RecordNewCardRequest(
        citizen_id=zhang,
        application_id="app-2",
        card_number="ZZ2030010700042",
        issued_on=date(dt.date(2030, 1, 7)),
        expires_on=date(dt.date(2050, 1, 7)),
    )
    answers = [await stub.RecordNewCard(request, metadata=CARDS) for _ in range(2)]
    answers += await asyncio.gather(*(stub.RecordNewCard(request, metadata=CARDS) for _ in range(3)))
    assert {a.card_status for a in answers} == {"valid"}
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert (holder.card_number, holder.card_status) == ("ZZ2030010700042", "valid")
    assert (holder.card_issued_on.year, holder.card_expires_on.year) == (2030, 2050)
    assert [(a, d) for _, a, _, d in await card_audit(identity)] == [
        ("card.reported_lost", {"application_id": "app-2", "from": "valid", "to": "reported_lost"}),
        ("card.recorded", {"application_id": "app-2", "from": "reported_lost", "to": "valid"}),
    ]
    # Another card under the same application id is refused, and changes nothing.
    request.card_number = "ZZ2030010700043"
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.RecordNewCard(request, metadata=CARDS)
    assert problem_of(reused.value).code == "application_id_reused"
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert holder.card_number == "ZZ2030010700042"
    # A register file that does not know the new number keeps it.
    again = await identity.imports.run_file(FILE.replace(b"ZZ2022052000001", b""), "csv", actor="admin:test")
    assert again.rejected == 0
    holder = (await stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=zhang), metadata=CARDS)).holder
    assert holder.card_number == "ZZ2030010700042"


async def test_many_changes_in_one_call_each_answered_on_its_own(identity: Any, stub: Any) -> None:
    zhang, wang = await citizen_id(identity, ZHANG), await citizen_id(identity, WANG)
    reports = [(zhang, "app-1"), (wang, "app-2"), (zhang, "app-1"), ("nobody", "app-3"), (wang, "app-1")]
    lost = await stub.ReportCardsLost(
        pb.ReportCardsLostRequest(
            reports=[pb.ReportCardLostRequest(citizen_id=c, application_id=a) for c, a in reports]
        ),
        metadata=CARDS,
    )
    assert [(c.card_status, c.problem.code) for c in lost.changes] == [
        ("reported_lost", ""),
        ("reported_lost", ""),
        ("reported_lost", ""),  # the same application again: answered as the first
        ("", "citizen_not_found"),
        ("", "application_id_reused"),  # refused alone: the others stand
    ]
    card = pb.RecordNewCardRequest(
        citizen_id=zhang,
        application_id="app-1",
        card_number="ZZ2030010700042",
        issued_on=date(dt.date(2030, 1, 7)),
        expires_on=date(dt.date(2050, 1, 7)),
    )
    bad = pb.RecordNewCardRequest(citizen_id=wang, application_id="app-2", card_number="no spaces")
    bad.issued_on.CopyFrom(card.issued_on)
    bad.expires_on.CopyFrom(card.expires_on)
    made = await stub.RecordNewCards(pb.RecordNewCardsRequest(cards=[card, bad]), metadata=CARDS)
    assert [(c.card_status, c.problem.code) for c in made.changes] == [
        ("valid", ""),
        ("", "invalid_card_number"),
    ]
    assert made.changes[1].problem.field_violations[0].field == "card_number"
    # One audit entry per change made, the chain whole (card_audit verifies it).
    assert [(a, d["application_id"]) for _, a, _, d in await card_audit(identity)] == [
        ("card.reported_lost", "app-1"),
        ("card.reported_lost", "app-2"),
        ("card.recorded", "app-1"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"card_number": "no spaces"}, "card_number"),
        ({"card_number": ""}, "card_number"),
        ({"card_number": "N\x001"}, "card_number"),
        ({"application_id": ""}, "application_id"),
        ({"application_id": "a\x00"}, "application_id"),
        ({"issued_on": None}, "issued_on"),
        ({"expires_on": date(dt.date(2030, 1, 7))}, "expires_on"),
        ({"expires_on": common_pb2.Date(year=2040, month=2, day=30)}, "expires_on"),
    ],
)
async def test_a_bad_new_card_is_refused_naming_the_field(
    identity: Any, stub: Any, change: dict[str, Any], field: str
) -> None:
    zhang = await citizen_id(identity, ZHANG)
    values: dict[str, Any] = {
        "citizen_id": zhang,
        "application_id": "app-3",
        "card_number": "N1",
        "issued_on": date(dt.date(2030, 1, 7)),
        "expires_on": date(dt.date(2040, 1, 7)),
    }
    values.update(change)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.RecordNewCard(
            pb.RecordNewCardRequest(**{k: v for k, v in values.items() if v is not None}), metadata=CARDS
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(refused.value) == field
    assert await card_audit(identity) == []


@pytest.mark.parametrize("citizen_id", ["", "a\x00b", "c" * 65, "a\x1bb"])
async def test_a_hostile_citizen_id_is_refused_before_the_database(stub: Any, citizen_id: str) -> None:
    # On PostgreSQL a NUL would otherwise reach the driver (and answer 500).
    calls = [
        stub.GetCardHolder(pb.GetCardHolderRequest(citizen_id=citizen_id), metadata=CARDS),
        stub.ReportCardLost(
            pb.ReportCardLostRequest(citizen_id=citizen_id, application_id="a1"), metadata=CARDS
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(refused.value) == "citizen_id"
