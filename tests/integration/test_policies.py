"""Policies with effective dates (decision 59) through the booking service's real
gRPC server and its use cases, on SQLite and PostgreSQL: an office closure cancels
its days' bookings and tells each citizen once (also when it crashes between
batches and the keeper reruns it), holds no waitlist place and refuses bookings;
a policy of the future changes nothing until its time, and one past its
effective_until lapses; only administrators make them.

The test clock stands at Monday 2030-01-07 08:00 in the test city (00:00 UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from mintong.booking.v1 import bookings_pb2 as bpb
from mintong.booking.v1 import catalogue_pb2, catalogue_pb2_grpc, events_pb2
from mintong.booking.v1 import policies_pb2 as pb
from mintong.booking.v1 import policies_pb2_grpc as pb_grpc
from mintong.common.v1 import common_pb2
from services.booking.adapters import orm
from services.booking.domain.policies import Kind
from services.booking.service_layer import handlers, policies
from services.runtime import context
from services.runtime.proto_values import date_to_proto, timestamp_to_proto
from tests.integration.test_bookings import MONDAY, book, citizen, outbox_events, problem, slots, stub
from tests.integration.test_pre_applications import approved_pre_application

__all__ = ["slots", "stub"]  # fixtures borrowed from the bookings' tests

ADMIN = ((context.CALLER_KEY, "admin:st-1"),)
TUESDAY = MONDAY + dt.timedelta(days=1)
CLOSED = "mintong.booking.v1.BookingCancelledByClosure"


@pytest.fixture
async def admin(booking: Any) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        yield pb_grpc.PolicyAdminServiceStub(channel), catalogue_pb2_grpc.CatalogueServiceStub(channel)


def closure(first: dt.date, last: dt.date, **fields: Any) -> pb.CreatePolicyRequest:
    return pb.CreatePolicyRequest(
        city_code="testcity",
        office_closure=pb.OfficeClosurePolicy(
            office_id="centre",
            from_date=date_to_proto(first),
            to_date=date_to_proto(last),
            reason="水管爆裂",
            reason_en="A burst pipe.",
        ),
        **fields,
    )


def said(error: grpc.aio.AioRpcError) -> tuple[int, str, str]:
    """The problem's HTTP status, code and the field it names."""
    found = problem(error)
    return found.status, found.code, found.field_violations[0].field if found.field_violations else ""


async def closure_notices(booking: Any) -> list[events_pb2.BookingCancelledByClosure]:
    async with booking.db.read() as conn:
        payloads = (
            await conn.execute(select(orm.outbox.c.payload).where(orm.outbox.c.event_type == CLOSED))
        ).scalars()
        return [events_pb2.BookingCancelledByClosure.FromString(p) for p in payloads]


async def test_a_closure_cancels_each_booking_of_its_days_once_even_after_a_crash(
    booking: Any, stub: Any, slots: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five bookings on the closed Monday (one used a pre-application's entitlement),
    # one on Tuesday, which stays.
    made = {}
    for n, hour in enumerate(["09:00", "09:00", "10:00", "10:00", "11:00"]):
        made[f"c{n}"] = (await book(stub, f"c{n}", slots[("centre", MONDAY, hour)].id)).booking
    pre = await approved_pre_application(booking, "entitled", "testcity", "HOUSEHOLD_REGISTRATION")
    made["entitled"] = (
        await book(
            stub,
            "entitled",
            slots[("centre", MONDAY, "11:00")].id,
            business="HOUSEHOLD_REGISTRATION",
            pre_application_id=pre,
            channel=common_pb2.CHANNEL_APP,
        )
    ).booking
    kept = (await book(stub, "tuesday", slots[("centre", TUESDAY, "09:00")].id)).booking
    # A waitlist hold on the closed day: 11:00 is full, one waits, a place frees.
    await stub.JoinWaitlist(
        bpb.JoinWaitlistRequest(
            business_code="ID_CARD_RENEWAL",
            slot_id=slots[("centre", MONDAY, "11:00")].id,
            channel=common_pb2.CHANNEL_WEB,
        ),
        metadata=citizen("waiting"),
    )
    await stub.Cancel(bpb.CancelRequest(booking_id=made.pop("c4").id), metadata=citizen("c4"))
    assert await outbox_events(booking, "mintong.booking.v1.WaitlistOfferMade") == 1

    # The closure's second batch crashes: the first batch stays done, the rest waits.
    calls = 0
    real_give_back = policies.preapplications.give_back

    async def crashing(tx: Any, booking_id: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the process died")
        return await real_give_back(tx, booking_id)

    monkeypatch.setattr(policies.preapplications, "give_back", crashing)
    new = policies.NewPolicy(
        "testcity",
        Kind.OFFICE_CLOSURE,
        "centre",
        {
            "from": MONDAY.isoformat(),
            "to": MONDAY.isoformat(),
            "reason": "水管爆裂",
            "reason_en": "A burst pipe.",
        },
        booking.clock(),
    )
    with pytest.raises(RuntimeError):
        await policies.create(booking.uow, booking.clock, new, created_by="admin:st-1", batch=2)
    assert len(await closure_notices(booking)) == 2
    monkeypatch.setattr(policies.preapplications, "give_back", real_give_back)

    # The keeper goes on where it stopped, and again changes nothing.
    await policies.keep(booking.uow, booking.clock, batch=2)
    await policies.keep(booking.uow, booking.clock, batch=2)
    notices = await closure_notices(booking)
    assert sorted(n.citizen_id for n in notices) == sorted(made)  # each once
    told = next(n for n in notices if n.citizen_id == "entitled")
    assert (told.booking_id, told.reason_en, told.closed_from.day, told.office_name) == (
        made["entitled"].id,
        "A burst pipe.",
        7,
        made["entitled"].snapshot.office_name,
    )
    async with booking.db.read() as conn:
        statuses = dict((await conn.execute(select(orm.bookings.c.id, orm.bookings.c.status))).all())
        counts = (
            await conn.execute(
                select(orm.slots.c.date, orm.slots.c.booked, orm.slots.c.held, orm.slots.c.closed).where(
                    orm.slots.c.office_id == "centre", orm.slots.c.date.in_([MONDAY, TUESDAY])
                )
            )
        ).all()
        entitlement = (
            await conn.execute(
                select(orm.booking_entitlements.c.booking_id).where(
                    orm.booking_entitlements.c.pre_application_id == pre
                )
            )
        ).scalar_one()
        waiting = (
            await conn.execute(select(orm.waitlist_entries.c.status, orm.waitlist_entries.c.held_slot_id))
        ).one()
    assert all(statuses[b.id] == "cancelled" for b in made.values()) and statuses[kept.id] == "confirmed"
    assert {(c.booked, c.held, c.closed) for c in counts if c.date == MONDAY} == {(0, 0, True)}
    assert {c.closed for c in counts if c.date == TUESDAY} == {False}
    assert entitlement is None  # given back, as a cancellation does
    assert waiting.status == "expired"  # no place is held on a closed day
    assert await outbox_events(booking, "mintong.booking.v1.WaitlistOfferMade") == 1

    # No booking on the closed day: refused with the reason, and no slot is listed.
    policy_stub, catalogue = admin
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await book(stub, "late", slots[("centre", MONDAY, "10:00")].id)
    assert said(refused.value) == (409, "office_closed", "slot_id")
    listed = await catalogue.ListSlots(
        catalogue_pb2.ListSlotsRequest(
            office_id="centre",
            business_code="ID_CARD_RENEWAL",
            from_date=date_to_proto(MONDAY),
            to_date=date_to_proto(TUESDAY),
        )
    )
    assert {s.date.day for s in listed.slots} == {8}
    found = (
        await policy_stub.ListPolicies(pb.ListPoliciesRequest(city_code="testcity"), metadata=ADMIN)
    ).policies
    assert [(p.state, p.cancelled_count, p.office_closure.reason_en) for p in found] == [
        (pb.POLICY_STATE_IN_FORCE, 5, "A burst pipe.")
    ]


async def test_a_policy_of_the_future_changes_nothing_until_its_time_and_lapses_after(
    booking: Any, stub: Any, slots: Any, admin: Any, clock: Any
) -> None:
    policy_stub, catalogue = admin
    starts = clock() + dt.timedelta(hours=2)
    ends = starts + dt.timedelta(days=1)
    made = await policy_stub.CreatePolicy(
        pb.CreatePolicyRequest(
            city_code="testcity",
            effective_from=timestamp_to_proto(starts),
            effective_until=timestamp_to_proto(ends),
            business_suspension=pb.BusinessSuspensionPolicy(
                business_code="ID_CARD_RENEWAL", announcement="系统升级", announcement_en="A system upgrade."
            ),
        ),
        metadata=ADMIN,
    )
    assert made.policy.state == pb.POLICY_STATE_SCHEDULED
    later = await policy_stub.CreatePolicy(
        closure(TUESDAY, TUESDAY, effective_from=timestamp_to_proto(starts)), metadata=ADMIN
    )
    reason = await policy_stub.CreatePolicy(
        pb.CreatePolicyRequest(
            city_code="testcity",
            entry_exit_reason=pb.EntryExitReasonPolicy(
                code="EARTHQUAKE_RELIEF",
                allowed=True,
                name="赈灾",
                name_en="Earthquake relief",
                evidence=["救援组织的证明"],
                evidence_en=["A letter from the relief organisation"],
            ),
        ),
        metadata=ADMIN,
    )
    await policy_stub.CreatePolicy(
        pb.CreatePolicyRequest(
            city_code="testcity", destination_suspension=pb.DestinationSuspensionPolicy(destination="NZ")
        ),
        metadata=ADMIN,
    )
    await policy_stub.CreatePolicy(
        pb.CreatePolicyRequest(
            city_code="testcity",
            visit_requirements=pb.VisitRequirementsPolicy(
                office_id="north", requirements=["请出示健康码"], requirements_en=["Show your health code"]
            ),
        ),
        metadata=ADMIN,
    )

    # Before its time: the business is bookable, Tuesday too, and nobody is told.
    monday = (await book(stub, "early", slots[("centre", MONDAY, "11:00")].id)).booking
    tuesday = (await book(stub, "tue", slots[("centre", TUESDAY, "10:00")].id)).booking
    await policies.keep(booking.uow, booking.clock)
    businesses = (
        await catalogue.ListBusinesses(catalogue_pb2.ListBusinessesRequest(city_code="testcity"))
    ).businesses
    assert (
        next(b for b in businesses if b.code == "ID_CARD_RENEWAL").status
        == catalogue_pb2.BUSINESS_STATUS_ACTIVE
    )
    assert await outbox_events(booking, CLOSED) == 0
    # Policies in force at once: the reason with its evidence, the destination, the office's requirements.
    city = next(c for c in (await catalogue.ListCities(catalogue_pb2.ListCitiesRequest())).cities)
    relief = next(r for r in city.booking_policy.entry_exit_reasons if r.code == "EARTHQUAKE_RELIEF")
    assert (relief.name_en, list(relief.evidence_en)) == (
        "Earthquake relief",
        ["A letter from the relief organisation"],
    )
    assert "NZ" in city.booking_policy.suspended_destinations
    offices = (await catalogue.ListOffices(catalogue_pb2.ListOfficesRequest(city_code="testcity"))).entries
    assert list(next(o for o in offices if o.office.id == "north").office.visit_requirements_en) == [
        "Show your health code"
    ]

    # Its time comes: the business is suspended with its announcement, Tuesday closed.
    clock.now = starts
    await policies.keep(booking.uow, booking.clock)
    businesses = (
        await catalogue.ListBusinesses(catalogue_pb2.ListBusinessesRequest(city_code="testcity"))
    ).businesses
    card = next(b for b in businesses if b.code == "ID_CARD_RENEWAL")
    assert (card.status, card.announcement_en) == (
        catalogue_pb2.BUSINESS_STATUS_SUSPENDED,
        "A system upgrade.",
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await book(stub, "refused", slots[("centre", MONDAY, "11:00")].id)
    assert problem(refused.value).code == "business_suspended"
    assert "A system upgrade." in problem(refused.value).detail
    assert [n.booking_id for n in await closure_notices(booking)] == [tuesday.id]
    # The suspension came first (made first): both bookings were active then.
    assert await outbox_events(booking, "mintong.booking.v1.BookingAffectedBySuspension") == 2
    # A catalogue load keeps what policies in force say.
    await handlers.load_catalogue(booking.uow, booking_catalogue(), "yaml")
    businesses = (
        await catalogue.ListBusinesses(catalogue_pb2.ListBusinessesRequest(city_code="testcity"))
    ).businesses
    assert next(b for b in businesses if b.code == "ID_CARD_RENEWAL").announcement_en == "A system upgrade."

    # Past its effective_until it lapses: bookable again; the closure stays (no end).
    clock.now = ends
    await policies.keep(booking.uow, booking.clock)
    businesses = (
        await catalogue.ListBusinesses(catalogue_pb2.ListBusinessesRequest(city_code="testcity"))
    ).businesses
    card = next(b for b in businesses if b.code == "ID_CARD_RENEWAL")
    assert (card.status, card.announcement) == (catalogue_pb2.BUSINESS_STATUS_ACTIVE, "")
    assert await outbox_events(booking, "mintong.booking.v1.BusinessResumed") == 1
    assert monday.id  # the early booking was never cancelled by the suspension
    states = {
        p.id: p.state
        for p in (
            await policy_stub.ListPolicies(pb.ListPoliciesRequest(city_code="testcity"), metadata=ADMIN)
        ).policies
    }
    assert (states[made.policy.id], states[later.policy.id]) == (
        pb.POLICY_STATE_LAPSED,
        pb.POLICY_STATE_IN_FORCE,
    )

    # Ending the reason policy: it is no longer allowed (it was not before).
    await policy_stub.EndPolicy(pb.EndPolicyRequest(policy_id=reason.policy.id), metadata=ADMIN)
    city = next(c for c in (await catalogue.ListCities(catalogue_pb2.ListCitiesRequest())).cities)
    assert "EARTHQUAKE_RELIEF" not in {r.code for r in city.booking_policy.entry_exit_reasons}


def booking_catalogue() -> bytes:
    from tests.conftest import FIXTURES

    return (FIXTURES / "catalogue.yaml").read_bytes()


async def test_only_administrators_make_policies_and_bad_ones_are_refused_naming_the_field(
    booking: Any, admin: Any, clock: Any
) -> None:
    policy_stub, _ = admin
    for who in ("clerk:st-2@centre", "reviewer:st-3@centre", "citizen:c1", ""):
        metadata = ((context.CALLER_KEY, who),) if who else ()
        for call in (
            policy_stub.CreatePolicy(closure(MONDAY, MONDAY), metadata=metadata),
            policy_stub.ListPolicies(pb.ListPoliciesRequest(city_code="testcity"), metadata=metadata),
            policy_stub.EndPolicy(pb.EndPolicyRequest(policy_id="x"), metadata=metadata),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, who

    now = clock()
    for request, code, field in (
        (closure(TUESDAY, MONDAY), "invalid_date_range", "to"),
        (closure(MONDAY, MONDAY + dt.timedelta(days=400)), "date_range_too_long", "to"),
        (
            closure(
                MONDAY,
                MONDAY,
                effective_from=timestamp_to_proto(now),
                effective_until=timestamp_to_proto(now - dt.timedelta(hours=1)),
            ),
            "invalid_effective_period",
            "effective_until",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity",
                business_suspension=pb.BusinessSuspensionPolicy(
                    business_code="ID_CARD_RENEWAL", announcement="a\x00b"
                ),
            ),
            "invalid_text",
            "announcement",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity",
                business_suspension=pb.BusinessSuspensionPolicy(
                    business_code="ID_CARD_RENEWAL", announcement=" "
                ),
            ),
            "announcement_required",
            "announcement",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity",
                visit_requirements=pb.VisitRequirementsPolicy(office_id="centre", requirements=["x" * 5000]),
            ),
            "invalid_text",
            "requirements[0]",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity", destination_suspension=pb.DestinationSuspensionPolicy(destination="au")
            ),
            "invalid_destination",
            "destination",
        ),
        (pb.CreatePolicyRequest(city_code="testcity"), "policy_kind_required", "kind"),
        (
            pb.CreatePolicyRequest(
                city_code="othercity",
                office_closure=pb.OfficeClosurePolicy(
                    office_id="centre", from_date=date_to_proto(MONDAY), to_date=date_to_proto(MONDAY)
                ),
            ),
            "city_not_found",
            "city",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity",
                office_closure=pb.OfficeClosurePolicy(
                    office_id="nowhere", from_date=date_to_proto(MONDAY), to_date=date_to_proto(MONDAY)
                ),
            ),
            "office_not_found",
            "office_id",
        ),
        (
            pb.CreatePolicyRequest(
                city_code="testcity",
                office_closure=pb.OfficeClosurePolicy(office_id="centre", to_date=date_to_proto(MONDAY)),
            ),
            "date_required",
            "from",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await policy_stub.CreatePolicy(request, metadata=ADMIN)
        assert said(refused.value)[1:] == (code, field), request
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await policy_stub.EndPolicy(pb.EndPolicyRequest(policy_id="nope"), metadata=ADMIN)
    assert problem(missing.value).code == "policy_not_found"
    async with booking.db.read() as conn:
        assert (await conn.execute(select(orm.policies))).all() == []
