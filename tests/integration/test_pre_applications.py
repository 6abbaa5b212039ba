"""Pre-applications through the booking service's real gRPC server, on SQLite and
PostgreSQL: the form, documents, the reviewers' queue and decisions, and the
entitlement an approval issues, which a booking consumes and a cancellation gives
back. The test clock stands at Monday 2030-01-07 08:00 in the test city."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_status import rpc_status
from sqlalchemy import func, select, update

from mintong.booking.v1 import bookings_pb2, bookings_pb2_grpc, catalogue_pb2, catalogue_pb2_grpc
from mintong.booking.v1 import preapplications_pb2 as pb
from mintong.booking.v1 import preapplications_pb2_grpc as pb_grpc
from mintong.common.v1 import common_pb2
from services.booking.adapters import orm
from services.booking.service_layer import handlers
from services.booking.service_layer import preapplications as use_cases
from services.booking.service_layer.preapplications import Reviewer
from services.runtime import context

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x10" * 64
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 8
HOUSEHOLD = "HOUSEHOLD_REGISTRATION"
ANSWERS = {
    "matter": "move_in",
    "new_address": "金水路1号3单元502",
    "people": "2",
    "moving_date": "2030-02-01",
}

#: A second city, with an office whose reviewers review its pre-applications only.
OTHER_CITY = b"""
cities:
  - code: othercity
    name: Other City
    businesses:
      - code: HOUSEHOLD_REGISTRATION
        category: household
        name: Household moves
        service_guide: Apply online first.
        phone: "0898-1"
        duration_minutes: 20
        handling: window
        requires_pre_application: true
    offices:
      - id: other-hall
        name: Other hall
        kind: police_station
        address: 1 Other Road
        location: {lat: 20.0, lng: 110.3}
        phone: "0898-100"
        opening_hours: {mon-fri: ["09:00-10:00"]}
        slot_groups:
          - {code: hh, businesses: [HOUSEHOLD_REGISTRATION], capacity: 5, slot_minutes: 60}
"""


def citizen(cid: str) -> tuple[tuple[str, str], ...]:
    return ((context.CALLER_KEY, f"citizen:{cid}"),)


def reviewer(office: str = "centre", staff_id: str = "st-1") -> tuple[tuple[str, str], ...]:
    return ((context.CALLER_KEY, f"reviewer:{staff_id}@{office}" if office else f"reviewer:{staff_id}"),)


ADMIN = ((context.CALLER_KEY, "admin:ad-1"),)


def problem_of(error: grpc.aio.AioRpcError) -> common_pb2.Problem:
    status = rpc_status.from_call(error)
    assert status is not None
    found = common_pb2.Problem()
    assert status.details[0].Unpack(found)
    return found


async def refused(call: Any) -> tuple[int, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    found = problem_of(raised.value)
    return found.status, found.code, found.field_violations[0].field if found.field_violations else ""


async def approved_pre_application(booking: Any, citizen_id: str, city: str, business: str) -> str:
    """A pre-application of ``citizen_id`` taken through the workflow to approval
    (through the use cases, as the gRPC servicers call them); its id."""
    pre = await use_cases.create(
        booking.uow, booking.clock, citizen_id, f"citizen:{citizen_id}", city, business
    )
    form = await use_cases.get_form(booking.uow, city, business)
    answers = {f.key: ANSWERS[f.key] for f in form[1].fields if f.key in ANSWERS}
    if answers:
        await use_cases.fill(booking.uow, booking.clock, citizen_id, pre.id, answers)
    for _ in range(form[1].min_attachments):
        await use_cases.attach(
            booking.uow, booking.documents, booking.clock, citizen_id, pre.id, PNG, "", 10_000
        )
    await use_cases.submit(booking.uow, booking.clock, citizen_id, f"citizen:{citizen_id}", pre.id)
    await use_cases.decide(
        booking.uow, booking.clock, Reviewer("admin:t", everywhere=True), pre.id, "approve", ""
    )
    return pre.id


@pytest.fixture
async def stubs(booking: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    await handlers.load_catalogue(booking.uow, OTHER_CITY, "yaml")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        yield (
            pb_grpc.PreApplicationServiceStub(channel),
            pb_grpc.PreApplicationReviewServiceStub(channel),
            bookings_pb2_grpc.BookingServiceStub(channel),
        )


async def draft(stub: Any, cid: str = "c1", city: str = "testcity") -> pb.PreApplication:
    answer = await stub.CreatePreApplication(
        pb.CreatePreApplicationRequest(city_code=city, business_code=HOUSEHOLD), metadata=citizen(cid)
    )
    return answer.pre_application


async def fill(stub: Any, pre_id: str, answers: dict[str, str], cid: str = "c1") -> pb.PreApplication:
    answer = await stub.UpdateAnswers(
        pb.UpdateAnswersRequest(pre_application_id=pre_id, answers=answers), metadata=citizen(cid)
    )
    return answer.pre_application


async def attach(stub: Any, pre_id: str, content: bytes, cid: str = "c1", label: str = "户口簿首页") -> Any:
    answer = await stub.AddAttachment(
        pb.AddAttachmentRequest(pre_application_id=pre_id, content=content, label=label),
        metadata=citizen(cid),
    )
    return answer.attachment


async def submit(stub: Any, pre_id: str, cid: str = "c1") -> pb.PreApplication:
    answer = await stub.SubmitPreApplication(
        pb.SubmitPreApplicationRequest(pre_application_id=pre_id), metadata=citizen(cid)
    )
    return answer.pre_application


async def decide(
    review: Any, pre_id: str, decision: Any, note: str = "", who: Any = None
) -> pb.PreApplication:
    answer = await review.Decide(
        pb.DecideRequest(pre_application_id=pre_id, decision=decision, note=note), metadata=who or reviewer()
    )
    return answer.pre_application


async def first_slot(booking: Any) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        slots = await catalogue_pb2_grpc.CatalogueServiceStub(channel).ListSlots(
            catalogue_pb2.ListSlotsRequest(office_id="centre", business_code=HOUSEHOLD)
        )
    # Tuesday's: far enough ahead to be cancelled.
    return int(next(s.id for s in slots.slots if s.date.day == 8))


async def book(bookings: Any, slot_id: int, pre_id: str, cid: str = "c1") -> Any:
    return await bookings.Book(
        bookings_pb2.BookRequest(
            slot_id=slot_id,
            business_code=HOUSEHOLD,
            pre_application_id=pre_id,
            idempotency_key=str(uuid.uuid4()),
            channel=common_pb2.CHANNEL_APP,
        ),
        metadata=citizen(cid),
    )


async def outbox(booking: Any, event_type: str) -> int:
    async with booking.db.read() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count()).select_from(orm.outbox).where(orm.outbox.c.event_type == event_type)
                )
            ).scalar_one()
        )


async def test_the_form_is_catalogue_data(stubs: Any) -> None:
    citizens, _, _ = stubs
    form = (await citizens.GetForm(pb.GetFormRequest(city_code="testcity", business_code=HOUSEHOLD))).form
    assert [(f.key, f.type, f.required) for f in form.fields] == [
        ("matter", pb.FIELD_TYPE_CHOICE, True),
        ("moving_date", pb.FIELD_TYPE_DATE, False),
        ("people", pb.FIELD_TYPE_NUMBER, False),
        ("new_address", pb.FIELD_TYPE_LONG_TEXT, True),
    ]
    assert [c.code for c in form.fields[0].choices] == ["move_in", "move_out"]
    assert (form.fields[3].help, form.fields[3].help_en) == ("与房产证一致", "As on the property certificate")
    assert form.min_attachments == 1
    assert await refused(
        citizens.GetForm(pb.GetFormRequest(city_code="testcity", business_code="ID_CARD_RENEWAL"))
    ) == (422, "pre_application_not_needed", "business")
    assert await refused(
        citizens.CreatePreApplication(
            pb.CreatePreApplicationRequest(city_code="testcity", business_code="NOPE"), metadata=citizen("c1")
        )
    ) == (404, "business_not_found", "business")


async def test_answers_are_checked_against_the_form(stubs: Any, booking: Any) -> None:
    citizens, _, _ = stubs
    pre = await draft(citizens)
    assert pre.status == pb.PRE_APPLICATION_STATUS_DRAFT
    for answers, code, field in [
        ({"matter": "move_sideways"}, "invalid_answer", "answers.matter"),
        ({"moving_date": "01/02/2030"}, "invalid_answer", "answers.moving_date"),
        ({"people": "two"}, "invalid_answer", "answers.people"),
        ({"people": "NaN"}, "invalid_answer", "answers.people"),
        ({"new_address": "x" * 301}, "invalid_answer", "answers.new_address"),
        ({"new_address": "a\x00b"}, "invalid_answer", "answers.new_address"),
        ({"new_address": "a\ud800b"}, "invalid_answer", "answers.new_address"),
        ({"matter": "move_in\u202e"}, "invalid_answer", "answers.matter"),
        ({"id_number": "110101199001011234"}, "unknown_answer", "answers.id_number"),
    ]:
        try:
            found = await refused(fill(citizens, pre.id, answers))
        except UnicodeEncodeError:  # grpc cannot even send a lone surrogate: checked below, in the use case
            continue
        assert found == (400, code, field), answers
    with pytest.raises(Exception) as surrogate:
        await use_cases.fill(booking.uow, booking.clock, "c1", pre.id, {"new_address": "a\ud800b"})
    assert getattr(surrogate.value, "field", None) == "answers.new_address"
    filled = await fill(
        citizens, pre.id, {"matter": " move_in ", "people": "2.50", "moving_date": "2030-02-01"}
    )
    assert dict(filled.answers) == {"matter": "move_in", "people": "2.5", "moving_date": "2030-02-01"}
    cleared = await fill(citizens, pre.id, {"people": ""})
    assert "people" not in cleared.answers
    # Submitting asks for what is required, then for the documents.
    assert await refused(submit(citizens, pre.id)) == (422, "answer_required", "answers.new_address")
    await fill(citizens, pre.id, {"new_address": "金水路1号\n3单元502"})
    assert await refused(submit(citizens, pre.id)) == (422, "attachments_required", "attachments")


async def test_answers_and_documents_are_sealed_at_rest(stubs: Any, booking: Any, tmp_path: Any) -> None:
    citizens, _, _ = stubs
    pre = await draft(citizens)
    await fill(citizens, pre.id, {"new_address": "金水路1号3单元502"})
    marker = b"%PDF-1.4 secret-document-marker"
    await attach(citizens, pre.id, marker)
    async with booking.db.read() as conn:
        stored = (await conn.execute(select(orm.pre_applications.c.answers_sealed))).scalar_one()
    assert "金水路" not in stored and "new_address" not in stored
    files = [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
    assert len(files) == 1 and b"secret-document-marker" not in files[0].read_bytes()


async def test_documents_are_told_by_their_content_and_kept_within_limits(
    stubs: Any, booking: Any, clock: Any
) -> None:
    citizens, _, _ = stubs
    pre = await draft(citizens)
    for content in (PNG, JPEG, PDF):
        clock.now += dt.timedelta(seconds=1)  # listed in the order they came
        assert (await attach(citizens, pre.id, content)).size == len(content)
    listed = (
        await citizens.GetPreApplication(
            pb.GetPreApplicationRequest(pre_application_id=pre.id), metadata=citizen("c1")
        )
    ).pre_application
    assert [a.media_type for a in listed.attachments] == ["image/png", "image/jpeg", "application/pdf"]
    got = await citizens.GetAttachment(
        pb.GetAttachmentRequest(pre_application_id=pre.id, attachment_id=listed.attachments[2].id),
        metadata=citizen("c1"),
    )
    assert got.content == PDF
    assert await refused(attach(citizens, pre.id, b"GIF89a" + b"\x00" * 10)) == (
        422,
        "attachment_type_not_allowed",
        "content",
    )
    assert await refused(attach(citizens, pre.id, b"MZ\x90\x00 pretending.pdf")) == (
        422,
        "attachment_type_not_allowed",
        "content",
    )
    assert await refused(attach(citizens, pre.id, b"")) == (400, "attachment_empty", "content")
    limit = booking.settings.attachment_max_bytes
    assert await refused(attach(citizens, pre.id, b"%PDF-" + b"0" * limit)) == (
        422,
        "attachment_too_large",
        "content",
    )
    assert await refused(attach(citizens, pre.id, PNG, label="a\x07b")) == (400, "invalid_text", "label")
    async with booking.db.read() as conn:
        assert (
            await conn.execute(select(func.count()).select_from(orm.pre_application_attachments))
        ).scalar() == 3


async def test_another_citizens_pre_application_and_documents_do_not_exist(stubs: Any) -> None:
    citizens, review, _ = stubs
    pre = await draft(citizens)
    doc = await attach(citizens, pre.id, PNG)
    other = citizen("c2")
    assert await refused(
        citizens.GetPreApplication(pb.GetPreApplicationRequest(pre_application_id=pre.id), metadata=other)
    ) == (404, "pre_application_not_found", "pre_application_id")
    assert await refused(
        citizens.GetAttachment(
            pb.GetAttachmentRequest(pre_application_id=pre.id, attachment_id=doc.id), metadata=other
        )
    ) == (404, "pre_application_not_found", "pre_application_id")
    assert (await refused(fill(citizens, pre.id, {"matter": "move_in"}, cid="c2")))[0] == 404
    assert (await refused(attach(citizens, pre.id, PNG, cid="c2")))[0] == 404
    assert (await refused(submit(citizens, pre.id, cid="c2")))[0] == 404
    assert (
        await citizens.ListPreApplications(pb.ListPreApplicationsRequest(), metadata=other)
    ).pre_applications == []
    # A draft is the citizen's own business: not even reviewers see it.
    assert (
        await refused(review.GetForReview(pb.GetForReviewRequest(pre_application_id=pre.id), metadata=ADMIN))
    )[0] == 404
    # Staff are no citizens, and citizens no reviewers.
    assert (
        await refused(citizens.ListPreApplications(pb.ListPreApplicationsRequest(), metadata=reviewer()))
    )[0] == 403
    assert (await refused(review.ListQueue(pb.ListQueueRequest(), metadata=citizen("c1"))))[0] == 403


async def test_the_whole_workflow_to_a_booking_and_back(stubs: Any, booking: Any, clock: Any) -> None:
    citizens, review, bookings = stubs
    first = await draft(citizens)
    await fill(citizens, first.id, {"matter": "move_in", "new_address": "金水路1号"})
    await attach(citizens, first.id, JPEG)
    clock.now += dt.timedelta(minutes=1)
    second = await draft(citizens, cid="c2")
    await fill(citizens, second.id, {"matter": "move_out", "new_address": "北三环5号"}, cid="c2")
    await attach(citizens, second.id, PDF, cid="c2")
    # Submitted in the other order: the queue is oldest submission first.
    await submit(citizens, second.id, cid="c2")
    clock.now += dt.timedelta(minutes=1)
    submitted = await submit(citizens, first.id)
    assert submitted.status == pb.PRE_APPLICATION_STATUS_SUBMITTED
    assert await refused(fill(citizens, first.id, {"matter": "move_out"})) == (
        409,
        "pre_application_state",
        "pre_application_id",
    )
    assert (await submit(citizens, first.id)).status == pb.PRE_APPLICATION_STATUS_SUBMITTED  # a retry
    other_city = await draft(citizens, cid="c3", city="othercity")
    await submit(citizens, other_city.id, cid="c3")

    queue = (await review.ListQueue(pb.ListQueueRequest(), metadata=reviewer())).pre_applications
    assert [p.id for p in queue] == [second.id, first.id]
    assert queue[0].citizen_id == "c2"
    queue = await review.ListQueue(pb.ListQueueRequest(business_code="ID_CARD_RENEWAL"), metadata=reviewer())
    assert list(queue.pre_applications) == []
    everywhere = (await review.ListQueue(pb.ListQueueRequest(), metadata=ADMIN)).pre_applications
    assert {p.id for p in everywhere} == {first.id, second.id, other_city.id}
    # A reviewer of another city sees none of these; one bound to no office, nothing at all.
    theirs = (await review.ListQueue(pb.ListQueueRequest(), metadata=reviewer("other-hall"))).pre_applications
    assert [p.id for p in theirs] == [other_city.id]
    assert await refused(
        review.GetForReview(
            pb.GetForReviewRequest(pre_application_id=first.id), metadata=reviewer("other-hall")
        )
    ) == (404, "pre_application_not_found", "pre_application_id")
    assert (await refused(review.ListQueue(pb.ListQueueRequest(), metadata=reviewer(""))))[:2] == (
        403,
        "reviewer_without_city",
    )
    seen = (
        await review.GetForReview(pb.GetForReviewRequest(pre_application_id=first.id), metadata=reviewer())
    ).pre_application
    doc = await review.GetAttachmentForReview(
        pb.GetAttachmentForReviewRequest(pre_application_id=first.id, attachment_id=seen.attachments[0].id),
        metadata=reviewer(),
    )
    assert doc.content == JPEG
    assert await refused(
        review.GetAttachmentForReview(
            pb.GetAttachmentForReviewRequest(
                pre_application_id=first.id, attachment_id=seen.attachments[0].id
            ),
            metadata=reviewer("other-hall"),
        )
    ) == (404, "pre_application_not_found", "pre_application_id")

    # More material, with a note; the citizen adds it and resubmits.
    assert await refused(decide(review, first.id, pb.DECISION_REQUEST_MATERIAL)) == (
        400,
        "note_required",
        "note",
    )
    asked = await decide(review, first.id, pb.DECISION_REQUEST_MATERIAL, "请补充房产证照片")
    assert (asked.status, asked.note) == (pb.PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED, "请补充房产证照片")
    await attach(citizens, first.id, PNG, label="房产证")
    await submit(citizens, first.id)
    assert await refused(decide(review, first.id, pb.DECISION_REJECT)) == (400, "reason_required", "reason")
    rejected = await decide(review, second.id, pb.DECISION_REJECT, "地址与房产证不符")
    assert rejected.status == pb.PRE_APPLICATION_STATUS_REJECTED
    assert await refused(decide(review, second.id, pb.DECISION_APPROVE)) == (
        409,
        "pre_application_state",
        "pre_application_id",
    )
    assert await refused(decide(review, first.id, pb.DECISION_APPROVE, who=reviewer("other-hall"))) == (
        404,
        "pre_application_not_found",
        "pre_application_id",
    )
    approved = await decide(review, first.id, pb.DECISION_APPROVE)
    assert approved.status == pb.PRE_APPLICATION_STATUS_APPROVED
    # Every change timestamped, explained and by whom (the citizen is not told which reviewer).
    assert [(h.old_status, h.new_status) for h in approved.history] == [
        (pb.PRE_APPLICATION_STATUS_UNSPECIFIED, pb.PRE_APPLICATION_STATUS_DRAFT),
        (pb.PRE_APPLICATION_STATUS_DRAFT, pb.PRE_APPLICATION_STATUS_SUBMITTED),
        (pb.PRE_APPLICATION_STATUS_SUBMITTED, pb.PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED),
        (pb.PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED, pb.PRE_APPLICATION_STATUS_SUBMITTED),
        (pb.PRE_APPLICATION_STATUS_SUBMITTED, pb.PRE_APPLICATION_STATUS_APPROVED),
    ]
    assert approved.history[2].actor == "reviewer:st-1@centre"
    mine = (
        await citizens.GetPreApplication(
            pb.GetPreApplicationRequest(pre_application_id=first.id), metadata=citizen("c1")
        )
    ).pre_application
    assert {h.actor for h in mine.history} == {""} and mine.history[2].note == "请补充房产证照片"
    expires = mine.entitlement.expires_at.ToDatetime(dt.UTC)
    assert expires == clock.now + dt.timedelta(days=30)
    for event, count in [
        ("PreApplicationSubmitted", 4),
        ("PreApplicationMaterialRequested", 1),
        ("PreApplicationRejected", 1),
        ("PreApplicationApproved", 1),
    ]:
        assert await outbox(booking, f"mintong.booking.v1.{event}") == count, event
    async with booking.db.read() as conn:
        actions = [
            r.action for r in (await conn.execute(select(orm.audit.c.action).order_by(orm.audit.c.seq)))
        ]
    for action in ("pre_application.request_material", "pre_application.reject", "pre_application.approve"):
        assert action in actions
    assert "pre_application.viewed" in actions and "pre_application.attachment_viewed" in actions

    # The entitlement: single use, the citizen's own, given back by a cancellation.
    slot = await first_slot(booking)
    assert await refused(book(bookings, slot, first.id, cid="c2")) == (
        422,
        "pre_application_not_approved",
        "pre_application_id",
    )
    assert await refused(book(bookings, slot, second.id, cid="c2")) == (
        422,
        "pre_application_not_approved",
        "pre_application_id",
    )
    booked = (await book(bookings, slot, first.id)).booking
    mine = (
        await citizens.GetPreApplication(
            pb.GetPreApplicationRequest(pre_application_id=first.id), metadata=citizen("c1")
        )
    ).pre_application
    assert mine.entitlement.booking_id == booked.id
    await bookings.Cancel(bookings_pb2.CancelRequest(booking_id=booked.id), metadata=citizen("c1"))
    again = (await book(bookings, slot, first.id)).booking
    async with booking.uow.read() as tx:
        entitlement = await tx.pre_applications.entitlement(first.id)
    assert entitlement is not None and entitlement.booking_id == again.id


async def test_an_entitlement_is_used_once_and_expires(stubs: Any, booking: Any, clock: Any) -> None:
    _, _, bookings = stubs
    slot = await first_slot(booking)
    pre_id = await approved_pre_application(booking, "c1", "testcity", HOUSEHOLD)
    # Used by one booking, it books no second one, whichever business is booked.
    async with booking.uow.write() as tx:
        assert await tx.pre_applications.consume_entitlement(pre_id, "c1", str(uuid.uuid4()), clock.now)
    assert await refused(book(bookings, slot, pre_id)) == (409, "entitlement_used", "pre_application_id")
    expiring = await approved_pre_application(booking, "c1", "testcity", HOUSEHOLD)
    async with booking.db.write() as conn:  # as if 30 days had passed (slots that far ahead are none)
        e = orm.booking_entitlements
        await conn.execute(update(e).where(e.c.pre_application_id == expiring).values(expires_at=clock.now))
    assert await refused(book(bookings, slot, expiring)) == (409, "entitlement_expired", "pre_application_id")


async def test_two_bookings_racing_for_one_entitlement_use_it_once(stubs: Any, booking: Any) -> None:
    _, _, bookings = stubs
    pre_id = await approved_pre_application(booking, "c1", "testcity", HOUSEHOLD)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        slots = await catalogue_pb2_grpc.CatalogueServiceStub(channel).ListSlots(
            catalogue_pb2.ListSlotsRequest(office_id="centre", business_code=HOUSEHOLD)
        )
    ids = [s.id for s in slots.slots[:4]]
    results = await asyncio.gather(*(book(bookings, i, pre_id) for i in ids), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    async with booking.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(orm.bookings))).scalar() == 1


async def test_two_transactions_consuming_one_entitlement_at_once_consume_it_once(
    stubs: Any, booking: Any, clock: Any
) -> None:
    """The guard below the one-active-booking rule: the conditional update itself."""
    pre_id = await approved_pre_application(booking, "c1", "testcity", HOUSEHOLD)

    async def consume(booking_id: str) -> bool:
        async with booking.uow.write() as tx:
            used = await tx.pre_applications.consume_entitlement(pre_id, "c1", booking_id, clock.now)
            await asyncio.sleep(0)  # let the other one reach its update while this one holds it
            return bool(used)

    results = await asyncio.gather(*(consume(str(uuid.uuid4())) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
