"""The cards service over gRPC on a real database (SQLite and PostgreSQL), with
identity's CardHolderService as a real gRPC server holding a fake register, and the
production centre and courier in memory: apply, idempotency, the lost card reported
at once, the journey to the door, a crash between steps, signed callbacks, hostile
input."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from grpc_status import rpc_status
from sqlalchemy import func, select

from mintong.cards.v1 import cards_pb2 as pb
from mintong.cards.v1 import cards_pb2_grpc as pb_grpc
from mintong.common.v1 import common_pb2
from services.cards.adapters import courier_signature, orm
from services.runtime import context
from tests.cards_fakes import (
    FakeCardHolders,
    FakeCourier,
    FakeOffices,
    FakeProduction,
    holder,
    start_card_holders,
)
from tests.conftest import FakeClock

SECRET = "courier-test-secret"
NOW = dt.datetime(2030, 1, 7, 2, 0, tzinfo=dt.UTC)


def citizen(cid: str) -> tuple[tuple[str, str], ...]:
    return ((context.CALLER_KEY, f"citizen:{cid}"),)


GATEWAY = ((context.CALLER_KEY, "service:gateway"),)
REVIEWER = ((context.CALLER_KEY, "reviewer:s-rev"),)
CLERK_LONGHUA = ((context.CALLER_KEY, "clerk:s-clerk@hk-longhua-centre"),)
CLERK_MEILAN = ((context.CALLER_KEY, "clerk:s-clerk2@hk-meilan-centre"),)


def problem_of(error: grpc.aio.AioRpcError) -> common_pb2.Problem:
    status = rpc_status.from_call(error)
    assert status is not None
    problem = common_pb2.Problem()
    assert status.details[0].Unpack(problem)
    return problem


class World:
    def __init__(self, app: Any, channel: grpc.aio.Channel, register: FakeCardHolders) -> None:
        self.app = app
        self.register = register
        self.production: FakeProduction = app.journey.production
        self.courier: FakeCourier = app.journey.courier
        self.citizens = pb_grpc.CardApplicationServiceStub(channel)
        self.staff = pb_grpc.CardStaffServiceStub(channel)
        self.callbacks = pb_grpc.CourierCallbackServiceStub(channel)

    async def apply(self, cid: str = "alice", key: str = "k1", **fields: Any) -> pb.ApplyResponse:
        request = pb.ApplyRequest(
            idempotency_key=key,
            kind=fields.pop("kind", "id_card_lost"),
            assurance_level=fields.pop("assurance_level", "face"),
            session_id=fields.pop("session_id", ""),
            appearance_unchanged=fields.pop("appearance_unchanged", True),
            delivery=fields.pop(
                "delivery",
                pb.Delivery(
                    method="mail",
                    recipient="王小明",
                    phone="13800138000",
                    address="海南省海口市美兰区海甸岛5号",
                ),
            ),
        )
        assert not fields
        return await self.citizens.Apply(request, metadata=citizen(cid))

    async def callback(self, event_id: str, tracking: str, kind: str, *, signed_at: int | None = None) -> Any:
        body = json.dumps(
            {"event_id": event_id, "tracking_number": tracking, "kind": kind, "occurred_at": NOW.isoformat()}
        ).encode()
        at = int(NOW.timestamp()) if signed_at is None else signed_at
        return await self.callbacks.RecordCourierCallback(
            pb.RecordCourierCallbackRequest(
                timestamp=str(at), signature=courier_signature.sign(SECRET.encode(), at, body), body=body
            ),
            metadata=GATEWAY,
        )

    async def count(self, table: Any) -> int:
        async with self.app.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture
async def world(make_settings: Callable[..., Any]) -> AsyncIterator[World]:
    from services.cards import bootstrap
    from services.cards.config import CardsSettings

    register = FakeCardHolders()
    register.holders["alice"] = holder("alice")
    register.holders["bob"] = holder("bob", photo_captured_on=None, fingerprint_on_file=False)
    register.holders["carol"] = holder("carol")
    server, port = await start_card_holders(register)
    settings = make_settings(
        CardsSettings,
        identity_grpc_target=f"127.0.0.1:{port}",
        courier_callback_secret=SECRET,
        cards_journey_seconds=3600,  # the tests run the journey's steps themselves
    )
    app = bootstrap.build(
        settings,
        clock=FakeClock(NOW),
        offices=FakeOffices(),
        production=FakeProduction(),
        courier_=FakeCourier(),
    )
    await asyncio.to_thread(app.migrate)
    await app.host.start(port=0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.host.port}") as channel:
        yield World(app, channel, register)
    await app.host.stop()
    await server.stop(None)


def statuses(app: pb.Application) -> list[str]:
    return [t.to_status for t in app.timeline]


async def test_lost_card_applied_checked_approved_and_reported_lost_at_once(world: World) -> None:
    answer = await world.apply()
    app = answer.application
    assert (app.kind, app.status, answer.replayed) == ("id_card_lost", "approved", False)
    assert statuses(app) == ["submitted", "checks_passed", "approved"]
    assert all(t.reason for t in app.timeline) and app.timeline[0].actor == "citizen"
    assert world.register.reported_lost == {app.id: 1}
    assert world.register.holders["alice"].card_status == "reported_lost"
    # Masked in the answer, sealed at rest.
    d = app.delivery
    assert (d.recipient_masked, d.phone_masked, d.address_masked) == (
        "王**",
        "138****8000",
        "海南省海口市****",
    )
    async with world.app.db.read() as conn:
        row = (await conn.execute(select(orm.applications))).one()
    stored = " ".join(str(v) for v in row)
    for clear in ("王小明", "13800138000", "海甸岛"):
        assert clear not in stored
    # Identity confirmed the report during the apply; the flag is cleared by the
    # journey's next pass (one write for all confirmed), which asks identity no more.
    await world.app.journey.report_lost_cards()
    async with world.app.db.read() as conn:
        row = (await conn.execute(select(orm.applications))).one()
    assert row.report_lost_pending is False
    assert world.register.reported_lost == {app.id: 1}


async def test_the_sessions_assurance_comes_from_identity_with_the_facts(world: World) -> None:
    world.register.sessions = {
        "s-alice": ("alice", "face"),
        "s-bob": ("bob", "otp"),
        "s-carol": ("carol", "otp"),
    }
    calls = world.register.many_calls
    # The level identity tells wins over the one in the request, in the same call as the facts.
    app = (await world.apply(session_id="s-alice", assurance_level="otp")).application
    assert app.status == "approved" and world.register.many_calls == calls + 1
    failed = (await world.apply("carol", session_id="s-carol", assurance_level="face")).application
    assert failed.status == "checks_failed" and "face_verification_needed" in [r.code for r in failed.reasons]
    # Another citizen's session, or one signed out (identity leaves it out): 401.
    for session in ("s-bob", "s-gone"):
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await world.apply("carol", key=f"k-{session}", session_id=session)
        assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert problem_of(ended.value).code == "session_ended"
    eligible = await world.citizens.GetEligibility(
        pb.GetEligibilityRequest(kind="id_card_lost", session_id="s-carol", appearance_unchanged=True),
        metadata=citizen("carol"),
    )
    assert not eligible.eligible


async def test_same_key_answers_the_same_application_another_request_is_refused(world: World) -> None:
    first = await world.apply()
    again = await world.apply()
    assert again.replayed and again.application.id == first.application.id
    # The earlier answer even when the checks could not run now (identity down).
    world.register.down = True
    offline = await world.apply()
    assert offline.replayed and offline.application.id == first.application.id
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.apply(delivery=pb.Delivery(method="pickup", office_id="hk-meilan-centre"))
    assert problem_of(refused.value).code == "idempotency_key_reused"
    world.register.down = False
    assert await world.count(orm.applications) == 1
    assert world.register.reported_lost == {first.application.id: 1}
    # Keys are per citizen: carol's "k1" is hers.
    theirs = await world.apply("carol")
    assert theirs.application.id != first.application.id and not theirs.replayed


async def test_ineligible_citizen_gets_every_reason_and_the_windows(world: World) -> None:
    answer = await world.citizens.GetEligibility(
        pb.GetEligibilityRequest(kind="id_card_damaged", assurance_level="otp", appearance_unchanged=False),
        metadata=citizen("bob"),
    )
    assert not answer.eligible
    assert [r.code for r in answer.reasons] == [
        "face_verification_needed",
        "capture_too_old",
        "no_fingerprint",
        "appearance_declaration_missing",
    ]
    assert all(r.message and r.message_en for r in answer.reasons)
    assert answer.window_business_code == "ID_CARD_RENEWAL"
    assert [o.office_id for o in answer.alternatives] == ["hk-meilan-centre", "hk-longhua-centre"]
    assert answer.alternatives[0].earliest_date.day == 8
    assert (answer.kind.required_assurance, answer.kind.fee_cents) == ("face", 2000)

    ok = await world.citizens.GetEligibility(
        pb.GetEligibilityRequest(kind="id_card_lost", assurance_level="face", appearance_unchanged=True),
        metadata=citizen("alice"),
    )
    assert ok.eligible and not ok.reasons and not ok.alternatives

    # What a page offers to check: the citizen's city's kinds, in the file's order.
    kinds = await world.citizens.ListKinds(pb.ListKindsRequest(), metadata=citizen("bob"))
    assert kinds.kinds[0].code == "id_card_lost" and len(kinds.kinds) >= 3
    assert {k.required_assurance for k in kinds.kinds} <= {"otp", "face"}

    failed = (await world.apply("bob", assurance_level="otp")).application
    assert failed.status == "checks_failed" and "no_fingerprint" in [r.code for r in failed.reasons]
    assert not world.register.reported_lost  # nothing to replace: the card stays as it was


async def test_a_pending_application_blocks_another(world: World) -> None:
    await world.apply(key="a")
    second = (await world.apply(key="b", kind="id_card_renewal")).application
    assert second.status == "checks_failed"
    assert second.reasons[0].code == "pending_application"


async def test_journey_to_the_door_with_a_failed_delivery_retried(world: World) -> None:
    app_id = (await world.apply()).application.id
    await world.app.journey.step()
    # One pass: claimed, submitted, produced (written to the register), shipped.
    got = (
        await world.citizens.GetApplication(
            pb.GetApplicationRequest(application_id=app_id), metadata=citizen("alice")
        )
    ).application
    assert got.status == "shipped"
    assert statuses(got) == ["submitted", "checks_passed", "approved", "in_production", "produced", "shipped"]
    assert world.register.record_calls == {app_id: 1}
    assert got.card_number_masked.startswith("NE") and "0000000" not in got.card_number_masked
    tracking = got.delivery.tracking_number
    assert tracking and world.courier.bookings == {app_id: 1}
    shipment = world.courier.shipments[tracking]
    assert (shipment.phone, shipment.recipient) == ("+8613800138000", "王小明")

    assert (await world.callback("e1", tracking, "picked_up")).status == "shipped"
    assert (await world.callback("e2", tracking, "delivery_failed")).status == "delivery_failed"
    assert (await world.callback("e3", tracking, "picked_up")).status == "shipped"
    assert (await world.callback("e4", tracking, "delivered")).status == "delivered"
    assert await world.app.journey.step() == 0  # nothing left to do

    # Events at every step, none with personal data.
    async with world.app.db.read() as conn:
        rows = (
            await conn.execute(select(orm.outbox.c.subject, orm.outbox.c.payload).order_by(orm.outbox.c.seq))
        ).all()
    subjects = [r.subject.rsplit(".", 1)[1] for r in rows]
    assert subjects == [
        "submitted",
        "checks_passed",
        "approved",
        "in_production",
        "produced",
        "shipped",
        "delivery_failed",
        "shipped",
        "delivered",
    ]
    for row in rows:
        for clear in ("王小明".encode(), b"13800138000", "海甸岛".encode(), b"NEW0"):
            assert clear not in row.payload


async def test_a_crash_between_steps_resumes_without_skipping_or_repeating(world: World) -> None:
    app_id = (await world.apply()).application.id
    world.production.fail_submits = 1  # the centre times out on the first hand-over
    world.production.ready = False
    world.courier.fail_bookings = 1
    await world.app.journey.step()
    app = await _app(world, app_id)
    assert app.status == "in_production"
    [batch] = list(world.production.submits)
    await world.app.journey.step()  # the same batch again, same id: made once
    assert world.production.submits == {batch: 2} and len(world.production.orders) == 1
    world.production.ready = True
    await world.app.journey.step()  # produced; the courier refuses the booking once
    assert (await _app(world, app_id)).status == "produced"
    await world.app.journey.step()
    app = await _app(world, app_id)
    assert app.status == "shipped" and world.courier.bookings == {app_id: 2}
    assert world.register.record_calls == {app_id: 1}
    assert statuses(app) == ["submitted", "checks_passed", "approved", "in_production", "produced", "shipped"]


async def _app(world: World, app_id: str, cid: str = "alice") -> pb.Application:
    answer = await world.citizens.GetApplication(
        pb.GetApplicationRequest(application_id=app_id), metadata=citizen(cid)
    )
    return answer.application


async def test_lost_report_retried_when_identity_was_down(world: World) -> None:
    app_id = (await world.apply()).application.id
    world.register.down = True
    world.register.reported_lost.clear()
    # Simulate the report having failed: identity down at apply time (so nothing
    # confirmed is waiting to be cleared either).
    world.app.use_cases.lost_confirmed.clear()
    async with world.app.uow.write() as tx:
        await tx.applications.update(app_id, report_lost_pending=True)
    await world.app.journey.step()
    assert (await _app(world, app_id)).status == "approved"  # not produced before the old card is stopped
    world.register.down = False
    await world.app.journey.step()
    assert world.register.reported_lost == {app_id: 1}
    assert (await _app(world, app_id)).status == "shipped"


async def test_a_crash_before_the_confirmed_report_is_cleared_asks_identity_again(world: World) -> None:
    app_id = (await world.apply()).application.id
    # The process ends after identity confirmed, before the journey cleared the flag:
    # its memory of the confirmation is gone, the flag is still set.
    world.app.use_cases.lost_confirmed.clear()
    await world.app.journey.step()
    assert world.register.reported_lost == {app_id: 2}  # asked again; identity answers the same
    assert (await _app(world, app_id)).status == "shipped"


async def test_forged_stale_and_replayed_callbacks_are_refused(world: World) -> None:
    app_id = (await world.apply()).application.id
    await world.app.journey.step()
    tracking = (await _app(world, app_id)).delivery.tracking_number
    body = json.dumps(
        {"event_id": "x", "tracking_number": tracking, "kind": "delivered", "occurred_at": NOW.isoformat()}
    ).encode()
    at = int(NOW.timestamp())
    with pytest.raises(grpc.aio.AioRpcError) as forged:
        await world.callbacks.RecordCourierCallback(
            pb.RecordCourierCallbackRequest(
                timestamp=str(at), signature=courier_signature.sign(b"wrong", at, body), body=body
            ),
            metadata=GATEWAY,
        )
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert problem_of(forged.value).field_violations[0].field == "X-Courier-Signature"
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await world.callback("e-old", tracking, "delivered", signed_at=at - 3600)
    assert problem_of(stale.value).field_violations[0].field == "X-Courier-Timestamp"
    await world.callback("e1", tracking, "delivery_failed")
    with pytest.raises(grpc.aio.AioRpcError) as replayed:
        await world.callback("e1", tracking, "delivery_failed")
    assert problem_of(replayed.value).code == "courier_event_replayed"
    assert replayed.value.code() == grpc.StatusCode.ALREADY_EXISTS or problem_of(replayed.value).status == 409
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await world.callback("e9", "NO-SUCH", "delivered")
    assert problem_of(unknown.value).status == 404
    with pytest.raises(grpc.aio.AioRpcError) as by_citizen:
        await world.callbacks.RecordCourierCallback(
            pb.RecordCourierCallbackRequest(), metadata=citizen("alice")
        )
    assert by_citizen.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_returned_card_waits_at_the_office_and_is_collected(world: World) -> None:
    app_id = (await world.apply()).application.id
    await world.app.journey.step()
    tracking = (await _app(world, app_id)).delivery.tracking_number
    await world.callback("e1", tracking, "delivery_failed")
    answer = await world.callback("e2", tracking, "returned")
    assert answer.status == "ready_for_pickup"
    listed = await world.staff.ListOfficeApplications(
        pb.ListOfficeApplicationsRequest(), metadata=CLERK_LONGHUA
    )
    assert [a.id for a in listed.applications] == [app_id]
    with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await world.staff.MarkCollected(pb.MarkCollectedRequest(application_id=app_id), metadata=CLERK_MEILAN)
    assert elsewhere.value.code() == grpc.StatusCode.NOT_FOUND
    done = await world.staff.MarkCollected(
        pb.MarkCollectedRequest(application_id=app_id), metadata=CLERK_LONGHUA
    )
    assert done.application.status == "collected"
    assert statuses(done.application)[-3:] == ["returned", "ready_for_pickup", "collected"]


async def test_pickup_path_and_review_by_a_human(world: World) -> None:
    office = pb.Delivery(method="pickup", office_id="hk-meilan-centre")
    app = (
        await world.apply(kind="residence_permit_first", delivery=office, assurance_level="otp")
    ).application
    assert app.status == "checks_failed"  # alice has no residence away from home
    world.register.holders["carol"] = holder(
        "carol",
        residence_city_code="zhengzhou",
        residence_registered_on=common_pb2.Date(year=2029, month=1, day=1),
    )
    app = (
        await world.apply("carol", kind="residence_permit_first", delivery=office, assurance_level="otp")
    ).application
    assert (app.status, app.needs_review) == ("checks_passed", True)
    await world.app.journey.step()
    assert (await _app(world, app.id, "carol")).status == "checks_passed"  # waits for a reviewer
    with pytest.raises(grpc.aio.AioRpcError) as clerk:
        await world.staff.ApproveApplication(
            pb.ApproveApplicationRequest(application_id=app.id), metadata=CLERK_MEILAN
        )
    assert clerk.value.code() == grpc.StatusCode.PERMISSION_DENIED
    approved = await world.staff.ApproveApplication(
        pb.ApproveApplicationRequest(application_id=app.id, note="residence proof seen"), metadata=REVIEWER
    )
    assert approved.application.timeline[-1].actor == "reviewer:s-rev"
    await world.app.journey.step()
    assert (await _app(world, app.id, "carol")).status == "ready_for_pickup"
    assert world.courier.bookings == {}
    listed = await world.staff.ListOfficeApplications(
        pb.ListOfficeApplicationsRequest(city_code="haikou", status="ready_for_pickup"), metadata=REVIEWER
    )
    assert [a.id for a in listed.applications] == [app.id]
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await world.staff.ListOfficeApplications(
            pb.ListOfficeApplicationsRequest(office_id="hk-longhua-centre"), metadata=CLERK_MEILAN
        )
    assert not_theirs.value.code() == grpc.StatusCode.PERMISSION_DENIED
    async with world.app.db.read() as conn:
        actions = (await conn.execute(select(orm.audit.c.action))).scalars().all()
    assert actions == ["card_application.approved"]


async def test_cancel_before_production_only_and_only_ones_own(world: World) -> None:
    app_id = (await world.apply()).application.id
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await world.citizens.Cancel(pb.CancelRequest(application_id=app_id), metadata=citizen("carol"))
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as other_get:
        await world.citizens.GetApplication(
            pb.GetApplicationRequest(application_id=app_id), metadata=citizen("carol")
        )
    assert other_get.value.code() == grpc.StatusCode.NOT_FOUND
    assert (
        await world.citizens.ListApplications(pb.ListApplicationsRequest(), metadata=citizen("carol"))
    ).applications == []
    cancelled = await world.citizens.Cancel(
        pb.CancelRequest(application_id=app_id, reason="found it"), metadata=citizen("alice")
    )
    assert cancelled.application.status == "cancelled"
    assert cancelled.application.timeline[-1].reason == "found it"
    await world.app.journey.step()
    assert world.production.submits == {}

    late = (await world.apply(key="k2")).application.id
    await world.app.journey.step()
    with pytest.raises(grpc.aio.AioRpcError) as too_late:
        await world.citizens.Cancel(pb.CancelRequest(application_id=late), metadata=citizen("alice"))
    problem = problem_of(too_late.value)
    assert (problem.code, problem.status) == ("illegal_transition", 409)


@pytest.mark.parametrize(
    ("delivery", "field", "code"),
    [
        (
            pb.Delivery(method="mail", recipient="王\x00明", phone="13800138000", address="x路1号"),
            "delivery.recipient",
            "invalid_text",
        ),
        (
            pb.Delivery(method="mail", recipient="王明", phone="13800138000", address="x\x85"),
            "delivery.address",
            "invalid_text",
        ),
        (
            pb.Delivery(method="mail", recipient="王明", phone="13800138000", address="路" * 201),
            "delivery.address",
            "invalid_text",
        ),
        (
            pb.Delivery(method="mail", recipient="王明", phone="12345", address="x路1号"),
            "delivery.phone",
            "invalid_phone",
        ),
        (
            pb.Delivery(method="mail", recipient="", phone="13800138000", address="x路1号"),
            "delivery.recipient",
            "delivery_incomplete",
        ),
        (pb.Delivery(method="drone"), "delivery.method", "invalid_delivery"),
        (pb.Delivery(method="pickup", office_id="zz-elsewhere"), "delivery.office_id", "office_not_found"),
        (pb.Delivery(method="pickup", office_id="\x07"), "delivery.office_id", "invalid_text"),
    ],
)
async def test_hostile_delivery_refused_naming_the_field_nothing_written(
    world: World, delivery: pb.Delivery, field: str, code: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.apply(delivery=delivery)
    problem = problem_of(refused.value)
    assert (problem.code, problem.field_violations[0].field) == (code, field)
    assert 400 <= problem.status < 500
    assert await world.count(orm.applications) == 0
    assert await world.count(orm.idempotency_keys) == 0


async def test_hostile_kind_and_key(world: World) -> None:
    for kind, code in (("passport", "kind_not_offered"), ("id_card\x00lost", "invalid_text")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await world.apply(kind=kind)
        assert (problem_of(refused.value).code, problem_of(refused.value).field_violations[0].field) == (
            code,
            "kind",
        )
    with pytest.raises(grpc.aio.AioRpcError) as no_key:
        await world.apply(key="")
    assert problem_of(no_key.value).field_violations[0].field == "Idempotency-Key"
    with pytest.raises(grpc.aio.AioRpcError) as bad_key:
        await world.apply(key="k\x1b")
    assert problem_of(bad_key.value).code == "invalid_text"
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await world.citizens.ListApplications(pb.ListApplicationsRequest())
    assert anonymous.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_crash_after_the_register_was_told_repeats_only_what_is_idempotent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cards.adapters.repository import SqlApplicationRepository
    from services.cards.domain.lifecycle import Status

    app_id = (await world.apply()).application.id
    real = SqlApplicationRepository.move_many
    crashes = [RuntimeError("the process died here")]

    async def crash_once(self: Any, moves: Any) -> None:
        # Where the produced card is written: the register was told before.
        if crashes and moves and moves[0].new is Status.PRODUCED:
            raise crashes.pop()
        await real(self, moves)

    monkeypatch.setattr(SqlApplicationRepository, "move_many", crash_once)
    with pytest.raises(RuntimeError):
        await world.app.journey.step()  # the register has the card; ours rolled back
    assert world.register.record_calls == {app_id: 1}
    assert (await _app(world, app_id)).status == "in_production"
    await world.app.journey.step()
    app = await _app(world, app_id)
    assert world.register.record_calls == {app_id: 2}  # idempotent at identity: one card
    assert len(set(world.register.new_cards.values())) == 1
    assert statuses(app) == ["submitted", "checks_passed", "approved", "in_production", "produced", "shipped"]
    assert len(world.production.submits) == 1 and world.courier.bookings == {app_id: 1}


async def test_twins_racing_with_one_key_make_one_application(world: World) -> None:
    answers = await asyncio.gather(*(world.apply(key="twin") for _ in range(4)))
    assert len({a.application.id for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False, True, True, True]
    assert await world.count(orm.applications) == 1
    # Different keys racing: one goes ahead, the others find it pending.
    racing = await asyncio.gather(*(world.apply("carol", key=f"r{i}") for i in range(3)))
    assert sorted(a.application.status for a in racing) == ["approved", "checks_failed", "checks_failed"]


async def test_reseal_walks_the_sealed_delivery(world: World) -> None:
    await world.apply()
    [report] = await world.app.reseal()
    assert (report.table, report.rows, report.values, report.resealed) == ("applications", 1, 3, 0)
    assert not report.unopenable
