"""Unit tests of the booking catalogue: the domain model, the catalogue file and
the handlers on in-memory fakes. No database, no broker, no server.

The handler tests load tests/fixtures/catalogue.yaml: one city, ``testcity``, with
offices ``centre`` (mon-fri 09-12, group household of ID_CARD_RENEWAL and
HOUSEHOLD_REGISTRATION, 60-min slots of 2), ``north`` (mon-sat 09-10, closed
2030-01-08, group id of ID_CARD_RENEWAL, 30-min slots of 1) and ``far`` (mon-fri
09-11, group vehicle of the suspended VEHICLE_SERVICES, 60-min slots of 3).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.booking.domain import events, model, rules
from services.booking.entrypoints.grpc_servicer import business_to_proto
from services.booking.service_layer import catalogue_file, handlers
from services.runtime.errors import InvalidArgument, NotFound
from tests.conftest import MONDAY_0800, FakeClock
from tests.unit.fakes import FakeUnitOfWork

DEMO_CATALOGUE = Path(__file__).parents[2] / "deploy" / "demo" / "catalogue.yaml"
MONDAY, TUESDAY, WEDNESDAY, SUNDAY = (dt.date(2030, 1, d) for d in (7, 8, 9, 13))
#: Monday 09:30 in Asia/Shanghai.
MONDAY_0930 = MONDAY_0800 + dt.timedelta(hours=1, minutes=30)
#: Slots the fixture catalogue gives for MONDAY..SUNDAY: 3x5 at centre, 2x6-2 at north, 2x5 at far.
WEEK_SLOTS = {"centre": 15, "far": 10, "north": 10}


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# ---------------------------------------------------------------- test data


def make_group(
    *, code: str = "g", business_codes: tuple[str, ...] = ("B",), capacity: int = 2, slot_minutes: int = 60
) -> model.SlotGroup:
    return model.SlotGroup(code, business_codes, capacity, slot_minutes)


def make_office(
    *,
    id: str = "office",
    hours: tuple[tuple[int, str, str], ...] = ((1, "09:00", "12:00"),),
    slot_groups: tuple[model.SlotGroup, ...] | None = None,
    closed_dates: frozenset[dt.date] = frozenset(),
) -> model.Office:
    return model.Office(
        id=id,
        city_code="testcity",
        name="An office",
        kind="police_station",
        address="1 Road",
        location=model.GeoPoint(34.75, 113.66),
        phone="0371-0",
        opening_hours=tuple(model.OpeningPeriod(w, t(a), t(b)) for w, a, b in hours),
        walk_in_allowed=True,
        visit_requirements=(),
        slot_groups=slot_groups if slot_groups is not None else (make_group(),),
        closed_dates=closed_dates,
    )


def make_business(
    *, code: str = "B", status: model.BusinessStatus = model.BusinessStatus.ACTIVE, announcement: str = ""
) -> model.Business:
    return model.Business(
        city_code="testcity",
        code=code,
        category="id_card",
        name="A business",
        service_guide="How to.",
        materials=(),
        phone="0371-1",
        duration_minutes=15,
        handling=model.Handling.WINDOW,
        requires_pre_application=False,
        channels=frozenset(model.Channel),
        status=status,
        announcement=announcement,
    )


def make_slot(*, capacity: int = 3, booked: int = 0) -> model.Slot:
    return model.Slot(None, "office", "g", MONDAY, t("09:00"), t("10:00"), capacity, booked)


def catalogue_doc() -> dict[str, Any]:
    """A small valid catalogue document with two offices, to spoil in tests."""
    office = {
        "id": "first",
        "name": "First",
        "kind": "police_station",
        "address": "1 Road",
        "location": {"lat": 34.7, "lng": 113.6},
        "phone": "0371-1",
        "opening_hours": {"mon-fri": ["09:00-12:00"]},
        "slot_groups": [{"code": "g", "businesses": ["B"], "capacity": 2, "slot_minutes": 30}],
    }
    business = {
        "code": "B",
        "category": "id_card",
        "name": "B",
        "service_guide": "How to.",
        "phone": "0371-2",
        "duration_minutes": 15,
        "handling": "window",
    }
    return {
        "cities": [
            {
                "code": "testcity",
                "name": "Test City",
                "businesses": [business],
                "offices": [office, {**copy.deepcopy(office), "id": "second"}],
            }
        ]
    }


def as_yaml(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc).encode()


def refusal(doc: dict[str, Any]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        catalogue_file.parse(as_yaml(doc), "yaml")
    assert caught.value.code == "invalid_catalogue"
    return caught.value


# ---------------------------------------------------------------- domain


def test_plan_slots_cuts_each_period_into_slot_length_pieces() -> None:
    office = make_office(hours=((1, "09:00", "11:00"), (1, "13:30", "15:00")))

    slots = office.plan_slots(MONDAY, MONDAY)

    assert [(s.start, s.end) for s in slots] == [
        (t("09:00"), t("10:00")),
        (t("10:00"), t("11:00")),
        (t("13:30"), t("14:30")),
    ]
    assert {(s.id, s.office_id, s.date, s.booked) for s in slots} == {(None, "office", MONDAY, 0)}


def test_plan_slots_does_not_offer_a_piece_running_past_closing() -> None:
    office = make_office(hours=((1, "09:00", "10:45"),), slot_groups=(make_group(slot_minutes=30),))

    slots = office.plan_slots(MONDAY, MONDAY)

    assert [s.start for s in slots] == [t("09:00"), t("09:30"), t("10:00")]
    assert slots[-1].end == t("10:30")


def test_plan_slots_maps_iso_weekdays_and_skips_closed_dates() -> None:
    saturday = dt.date(2030, 1, 12)
    office = make_office(
        hours=((1, "09:00", "10:00"), (6, "09:00", "10:00"), (7, "09:00", "10:00")),
        closed_dates=frozenset({saturday}),
    )

    slots = office.plan_slots(MONDAY, SUNDAY)

    assert [s.date for s in slots] == [MONDAY, SUNDAY]


def test_plan_slots_gives_each_group_its_own_slots_and_capacity() -> None:
    office = make_office(
        hours=((1, "09:00", "10:00"),),
        slot_groups=(
            make_group(code="a", business_codes=("A",), capacity=2, slot_minutes=60),
            make_group(code="b", business_codes=("B", "C"), capacity=5, slot_minutes=30),
        ),
    )

    slots = office.plan_slots(MONDAY, MONDAY)

    assert sorted((s.group, s.start, s.capacity) for s in slots) == [
        ("a", t("09:00"), 2),
        ("b", t("09:00"), 5),
        ("b", t("09:30"), 5),
    ]
    assert office.business_codes == ("A", "B", "C")
    assert office.group_for("C") == office.slot_groups[1]
    assert office.group_for("D") is None


def test_distance_of_one_degree_of_latitude() -> None:
    assert model.GeoPoint(0, 0).distance_km(model.GeoPoint(1, 0)) == pytest.approx(111.2, abs=0.05)


def test_distance_is_symmetric_and_zero_to_itself() -> None:
    zhengzhou, haikou = model.GeoPoint(34.7725, 113.6732), model.GeoPoint(20.021, 110.33)

    assert zhengzhou.distance_km(haikou) == pytest.approx(haikou.distance_km(zhengzhou))
    assert zhengzhou.distance_km(zhengzhou) == 0


@pytest.mark.parametrize("announcement", ["", "   \n"])
def test_a_suspension_needs_an_announcement(announcement: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        make_business().suspend(announcement)

    assert (caught.value.code, caught.value.field) == ("announcement_required", "announcement")


def test_suspend_announces_and_emits_business_suspended() -> None:
    suspended, event = make_business().suspend("  Closed for maintenance.  ")

    assert suspended.status is model.BusinessStatus.SUSPENDED
    assert suspended.announcement == "Closed for maintenance."
    assert event == events.BusinessSuspended("testcity", "B", "Closed for maintenance.")


def test_resume_clears_the_announcement_and_emits_business_resumed() -> None:
    resumed, event = make_business(status=model.BusinessStatus.SUSPENDED, announcement="Closed.").resume()

    assert (resumed.status, resumed.announcement) == (model.BusinessStatus.ACTIVE, "")
    assert event == events.BusinessResumed("testcity", "B")


def test_resuming_an_active_business_changes_nothing_and_tells_no_one() -> None:
    business = make_business()

    assert business.resume() == (business, None)


def test_date_range_from_after_to_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as caught:
        model.check_date_range(TUESDAY, MONDAY)

    assert (caught.value.code, caught.value.field) == ("invalid_date_range", "from")


def test_date_range_of_32_days_is_too_long_but_31_is_fine() -> None:
    model.check_date_range(MONDAY, MONDAY + dt.timedelta(days=30))
    with pytest.raises(InvalidArgument) as caught:
        model.check_date_range(MONDAY, MONDAY + dt.timedelta(days=31))

    assert (caught.value.code, caught.value.field) == ("date_range_too_long", "to")


@pytest.mark.parametrize(("capacity", "booked", "remaining"), [(3, 0, 3), (3, 2, 1), (3, 3, 0), (2, 3, 0)])
def test_slot_remaining(capacity: int, booked: int, remaining: int) -> None:
    assert make_slot(capacity=capacity, booked=booked).remaining == remaining


# ---------------------------------------------------------------- catalogue file


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": ["09:00-12"]},
        {"mon": ["12:00-09:00"]},
        {"mon": ["25:00-26:00"]},
        {"fri-mon": ["09:00-12:00"]},
        {"someday": ["09:00-12:00"]},
    ],
)
def test_a_bad_opening_period_is_reported_with_its_path(hours: dict[str, list[str]]) -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][1]["opening_hours"] = hours

    error = refusal(doc)

    assert error.field is not None
    assert error.field.startswith("cities[0].offices[1].opening_hours")


def test_a_bad_opening_period_path_names_the_weekday_key() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][1]["opening_hours"] = {"mon": ["09:00-12"]}

    assert refusal(doc).field == "cities[0].offices[1].opening_hours.mon[0]"


def test_a_wrong_type_is_reported_with_its_path() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][1]["slot_groups"][0]["capacity"] = 0

    assert refusal(doc).field == "cities[0].offices[1].slot_groups[0].capacity"


@pytest.mark.parametrize(("content", "fmt"), [(b"cities: [unclosed", "yaml"), (b'{"cities": ', "json")])
def test_malformed_content_is_refused(content: bytes, fmt: Any) -> None:
    with pytest.raises(InvalidArgument) as caught:
        catalogue_file.parse(content, fmt)

    assert (caught.value.code, caught.value.field) == ("malformed_catalogue", "content")


def test_a_slot_group_naming_an_unknown_business_is_refused() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][1]["slot_groups"][0]["businesses"] = ["B", "NOPE"]

    error = refusal(doc)

    assert error.field == "cities[0]"
    assert "second lists unknown business NOPE" in error.detail


def test_a_business_in_two_groups_of_one_office_is_refused() -> None:
    doc = catalogue_doc()
    groups = doc["cities"][0]["offices"][0]["slot_groups"]
    groups.append({**groups[0], "code": "other"})

    assert "in two groups" in refusal(doc).detail


def test_a_suspended_business_without_announcement_is_refused() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["businesses"][0].update(status="suspended", announcement=" ")

    assert refusal(doc).field == "cities[0].businesses[0]"


def test_unknown_fields_are_refused() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][0]["opening_hour"] = {}

    assert refusal(doc).field == "cities[0].offices[0].opening_hour"


def test_json_reads_like_yaml() -> None:
    doc = catalogue_doc()

    assert catalogue_file.parse(json.dumps(doc).encode(), "json") == catalogue_file.parse(
        as_yaml(doc), "yaml"
    )


def test_to_domain_expands_weekday_ranges() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][0]["opening_hours"] = {"mon-wed": ["09:00-12:00", "13:00-17:00"], "sat": []}
    city_doc = catalogue_file.parse(as_yaml(doc), "yaml").cities[0]

    city, businesses, offices = catalogue_file.to_domain(city_doc)

    assert city == model.City("testcity", "Test City", "Asia/Shanghai")
    assert [b.code for b in businesses] == ["B"]
    assert sorted((p.weekday, p.opens) for p in offices[0].opening_hours) == [
        (day, t(opens)) for day in (1, 2, 3) for opens in ("09:00", "13:00")
    ]


def test_overlapping_opening_periods_are_refused_or_planned_once() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["offices"][0]["opening_hours"] = {"mon-fri": ["09:00-12:00"], "mon": ["11:00-13:00"]}
    try:
        city_doc = catalogue_file.parse(as_yaml(doc), "yaml").cities[0]
    except InvalidArgument as error:
        assert error.field and error.field.startswith("cities[0].offices[0].opening_hours")
        return
    office = catalogue_file.to_domain(city_doc)[2][0]

    keys = [(s.group, s.date, s.start) for s in office.plan_slots(MONDAY, MONDAY)]

    assert len(keys) == len(set(keys))


def test_an_unknown_time_zone_is_refused() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["time_zone"] = "Mars/Olympus"

    assert refusal(doc).field == "cities[0].time_zone"


# ---------------------------------------------------------------- the demo catalogue


@pytest.fixture(scope="module")
def demo() -> dict[str, tuple[model.City, list[model.Business], list[model.Office]]]:
    doc = catalogue_file.parse(DEMO_CATALOGUE.read_bytes(), "yaml")
    return {city.code: catalogue_file.to_domain(city) for city in doc.cities}


def demo_business(demo: dict[str, Any], city: str, code: str) -> model.Business:
    return next(b for b in demo[city][1] if b.code == code)


def test_demo_catalogue_has_zhengzhou_and_haikou(demo: dict[str, Any]) -> None:
    assert sorted(demo) == ["haikou", "zhengzhou"]


def test_demo_haikou_offices_are_appointment_only(demo: dict[str, Any]) -> None:
    offices = demo["haikou"][2]

    assert offices
    assert all(o.walk_in_allowed is False for o in offices)


def test_demo_vehicle_services_in_zhengzhou_are_suspended_with_an_announcement(demo: dict[str, Any]) -> None:
    business = demo_business(demo, "zhengzhou", "VEHICLE_SERVICES")

    assert business.status is model.BusinessStatus.SUSPENDED
    assert business.announcement.strip()


def test_demo_entry_exit_guide_mentions_australia(demo: dict[str, Any]) -> None:
    business = demo_business(demo, "zhengzhou", "ENTRY_EXIT_PERMIT")
    assert "澳大利亚" in business.service_guide and "Australia" in business.service_guide_en


def _chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def test_demo_texts_are_chinese_first_with_english_beside_them(demo: dict[str, Any]) -> None:
    """Item 9 of issue 9: no English name inside a Chinese message."""
    for city, businesses, offices in demo.values():
        texts = [(city.name, city.name_en)]
        for b in businesses:
            texts += [
                (b.name, b.name_en),
                (b.service_guide, b.service_guide_en),
                (b.announcement, b.announcement_en),
            ]
            assert len(b.materials_en) == len(b.materials), b.code
            texts += list(zip(b.materials, b.materials_en, strict=True))
        for o in offices:
            texts += [(o.name, o.name_en), (o.address, o.address_en)]
            assert len(o.visit_requirements_en) == len(o.visit_requirements), o.id
            texts += list(zip(o.visit_requirements, o.visit_requirements_en, strict=True))
        for zh, en in texts:
            if zh or en:
                assert _chinese(zh) and en and not _chinese(en), (city.code, zh, en)


def test_a_catalogue_text_is_both_languages_or_the_chinese_alone() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["name"] = {"zh-CN": "测试市", "en": "Test City"}
    doc["cities"][0]["businesses"][0]["materials"] = [{"zh-CN": "身份证", "en": "ID card"}, "户口簿"]
    city, businesses, _ = catalogue_file.to_domain(catalogue_file.parse(as_yaml(doc), "yaml").cities[0])
    assert (city.name, city.name_en) == ("测试市", "Test City")
    # A list's English twin is entry by entry: "" where only the Chinese was written.
    assert (businesses[0].materials, businesses[0].materials_en) == (("身份证", "户口簿"), ("ID card", ""))


@pytest.mark.parametrize(
    ("name", "code", "field"),
    [
        ({"en": "No Chinese"}, "invalid_catalogue", "cities[0].name.zh-CN"),
        ({"zh-CN": "测试", "fr": "Ville"}, "invalid_catalogue", "cities[0].name.fr"),
        # Unstorable text is refused by the one text rule before the schema reads it.
        ({"zh-CN": "测\x00试"}, "invalid_text", "cities[0].name.zh-CN"),
        ("测\x07试", "invalid_text", "cities[0].name"),
        ({"zh-CN": "测试", "en": "Te\u0000st"}, "invalid_text", "cities[0].name.en"),
    ],
)
def test_a_catalogue_text_is_refused_naming_its_place(name: object, code: str, field: str) -> None:
    doc = catalogue_doc()
    doc["cities"][0]["name"] = name
    with pytest.raises(InvalidArgument) as refused:
        catalogue_file.parse(json.dumps(doc).encode(), "json")
    assert (refused.value.code, refused.value.field) == (code, field)


def test_demo_lost_id_card_in_haikou_is_handled_online(demo: dict[str, Any]) -> None:
    assert demo_business(demo, "haikou", "ID_CARD_LOST_ONLINE").handling is model.Handling.ONLINE


def test_demo_every_office_plans_slots_for_a_week(demo: dict[str, Any]) -> None:
    offices = [o for _, _, city_offices in demo.values() for o in city_offices]

    assert {o.id for o in offices if not o.plan_slots(MONDAY, SUNDAY)} == set()
    assert len(offices) == 8


# ---------------------------------------------------------------- handlers


@pytest.fixture
async def uow(test_catalogue: bytes) -> FakeUnitOfWork:
    """The fixture catalogue loaded; its load event cleared."""
    uow = FakeUnitOfWork()
    await handlers.load_catalogue(uow, test_catalogue, "yaml")
    uow.committed_events.clear()
    return uow


@pytest.fixture
async def published(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    """The fixture catalogue with the week MONDAY..SUNDAY published; events cleared."""
    await handlers.publish_slots(uow, first=MONDAY, last=SUNDAY, city_code="testcity")
    uow.committed_events.clear()
    return uow


def set_booked(
    uow: FakeUnitOfWork, office_id: str, group: str, day: dt.date, start: str, booked: int, held: int = 0
) -> None:
    key = (office_id, group, day, t(start))
    uow.catalogue.slots[key] = replace(uow.catalogue.slots[key], booked=booked, held=held)


def with_capacity(content: bytes, office_index: int, capacity: int) -> bytes:
    doc = yaml.safe_load(content)
    doc["cities"][0]["offices"][office_index]["slot_groups"][0]["capacity"] = capacity
    return as_yaml(doc)


def slots_of(uow: FakeUnitOfWork, office_id: str) -> list[model.Slot]:
    return [s for s in uow.catalogue.slots.values() if s.office_id == office_id]


async def test_load_catalogue_saves_everything_and_emits_one_event(test_catalogue: bytes) -> None:
    uow = FakeUnitOfWork()

    result = await handlers.load_catalogue(uow, test_catalogue, "yaml")

    assert result == handlers.LoadResult(("testcity",), 3, 3)
    assert uow.committed_events == [events.CatalogueLoaded(("testcity",), 3, 3)]
    assert [c.code for c in await handlers.list_cities(uow)] == ["testcity"]
    assert sorted(uow.catalogue.offices) == ["centre", "far", "north"]


async def test_load_catalogue_again_changes_nothing(uow: FakeUnitOfWork, test_catalogue: bytes) -> None:
    before = vars(uow.catalogue).copy()

    await handlers.load_catalogue(uow, test_catalogue, "yaml")

    assert vars(uow.catalogue) == before
    assert uow.committed_events == [events.CatalogueLoaded(("testcity",), 3, 3)]


async def test_an_invalid_catalogue_loads_nothing() -> None:
    uow = FakeUnitOfWork()

    with pytest.raises(InvalidArgument):
        await handlers.load_catalogue(uow, b"cities: []", "yaml")

    assert (uow.catalogue.cities, uow.committed_events) == ({}, [])


async def test_the_fake_unit_of_work_keeps_nothing_of_a_failed_write(uow: FakeUnitOfWork) -> None:
    with pytest.raises(RuntimeError):
        async with uow.write() as tx:
            await tx.catalogue.save_city(model.City("other", "Other", "Asia/Shanghai"))
            tx.emit(events.CatalogueLoaded(("other",), 0, 0))
            raise RuntimeError("boom")

    assert (await uow.catalogue.get_city("other"), uow.committed_events) == (None, [])


async def test_publish_slots_for_a_city_opens_slots_of_every_office(uow: FakeUnitOfWork) -> None:
    created, updated = await handlers.publish_slots(uow, first=MONDAY, last=SUNDAY, city_code="testcity")

    assert (created, updated) == (sum(WEEK_SLOTS.values()), 0)
    assert uow.committed_events == [
        events.SlotsPublished(office, MONDAY, SUNDAY, count, 0) for office, count in WEEK_SLOTS.items()
    ]
    assert {s.capacity for s in slots_of(uow, "centre")} == {2}
    assert TUESDAY not in {s.date for s in slots_of(uow, "north")}


async def test_publishing_again_creates_nothing(published: FakeUnitOfWork) -> None:
    assert await handlers.publish_slots(published, first=MONDAY, last=SUNDAY, city_code="testcity") == (0, 0)
    assert published.committed_events == [
        events.SlotsPublished(office, MONDAY, SUNDAY, 0, 0) for office in WEEK_SLOTS
    ]


async def test_publish_slots_for_one_office(uow: FakeUnitOfWork) -> None:
    assert await handlers.publish_slots(uow, first=MONDAY, last=SUNDAY, office_id="north") == (10, 0)
    assert uow.committed_events == [events.SlotsPublished("north", MONDAY, SUNDAY, 10, 0)]


@pytest.mark.parametrize(("office_id", "city_code"), [("north", "testcity"), (None, None), ("", "")])
async def test_publish_slots_needs_an_office_or_a_city(
    uow: FakeUnitOfWork, office_id: str | None, city_code: str | None
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await handlers.publish_slots(uow, first=MONDAY, last=SUNDAY, office_id=office_id, city_code=city_code)

    assert (caught.value.code, caught.value.field) == ("office_or_city_required", "office_id")


@pytest.mark.parametrize(
    ("where", "field"), [({"office_id": "nowhere"}, "office_id"), ({"city_code": "atlantis"}, "city")]
)
async def test_publish_slots_for_unknown_office_or_city(
    uow: FakeUnitOfWork, where: dict[str, Any], field: str
) -> None:
    with pytest.raises(NotFound) as caught:
        await handlers.publish_slots(uow, first=MONDAY, last=SUNDAY, **where)

    assert caught.value.field == field
    assert (uow.catalogue.slots, uow.committed_events) == ({}, [])


async def test_publish_slots_refuses_more_than_31_days(uow: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await handlers.publish_slots(
            uow, first=MONDAY, last=MONDAY + dt.timedelta(days=31), city_code="testcity"
        )

    assert caught.value.code == "date_range_too_long"


async def test_a_capacity_increase_reaches_published_slots(
    published: FakeUnitOfWork, test_catalogue: bytes
) -> None:
    await handlers.load_catalogue(published, with_capacity(test_catalogue, 0, 5), "yaml")

    assert await handlers.publish_slots(published, first=MONDAY, last=SUNDAY, office_id="centre") == (0, 15)
    assert {s.capacity for s in slots_of(published, "centre")} == {5}


async def test_a_capacity_decrease_never_goes_below_what_is_booked_or_held(
    published: FakeUnitOfWork, test_catalogue: bytes
) -> None:
    set_booked(published, "centre", "household", MONDAY, "09:00", 2)
    set_booked(published, "centre", "household", MONDAY, "10:00", 1, held=1)
    await handlers.load_catalogue(published, with_capacity(test_catalogue, 0, 1), "yaml")

    assert await handlers.publish_slots(published, first=MONDAY, last=SUNDAY, office_id="centre") == (0, 15)
    capacities = {(s.date, s.start): s.capacity for s in slots_of(published, "centre")}
    assert capacities.pop((MONDAY, t("09:00"))) == 2
    assert capacities.pop((MONDAY, t("10:00"))) == 2
    assert set(capacities.values()) == {1}


async def test_suspend_business(uow: FakeUnitOfWork) -> None:
    business = await handlers.suspend_business(uow, "testcity", "ID_CARD_RENEWAL", "Printer broken.")

    assert business.status is model.BusinessStatus.SUSPENDED
    assert uow.catalogue.businesses[("testcity", "ID_CARD_RENEWAL")] == business
    assert uow.committed_events == [
        events.BusinessSuspended("testcity", "ID_CARD_RENEWAL", "Printer broken.")
    ]


async def test_a_refused_suspension_changes_nothing(uow: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidArgument):
        await handlers.suspend_business(uow, "testcity", "ID_CARD_RENEWAL", " ")

    assert uow.catalogue.businesses[("testcity", "ID_CARD_RENEWAL")].status is model.BusinessStatus.ACTIVE
    assert uow.committed_events == []


async def test_resume_business_once(uow: FakeUnitOfWork) -> None:
    business = await handlers.resume_business(uow, "testcity", "VEHICLE_SERVICES")
    again = await handlers.resume_business(uow, "testcity", "VEHICLE_SERVICES")

    assert (business.status, business.announcement) == (model.BusinessStatus.ACTIVE, "")
    assert again == business == uow.catalogue.businesses[("testcity", "VEHICLE_SERVICES")]
    assert uow.committed_events == [events.BusinessResumed("testcity", "VEHICLE_SERVICES")]


@pytest.mark.parametrize(("city", "code"), [("testcity", "NOPE"), ("atlantis", "ID_CARD_RENEWAL")])
async def test_suspend_or_resume_an_unknown_business(uow: FakeUnitOfWork, city: str, code: str) -> None:
    with pytest.raises(NotFound) as suspending:
        await handlers.suspend_business(uow, city, code, "Closed.")
    with pytest.raises(NotFound) as resuming:
        await handlers.resume_business(uow, city, code)

    for caught in (suspending, resuming):
        assert (caught.value.code, caught.value.field) == ("business_not_found", "business")
    assert uow.committed_events == []


async def test_list_businesses_by_category(uow: FakeUnitOfWork) -> None:
    _, businesses = await handlers.list_businesses(uow, "testcity")

    assert [b.code for b in businesses] == ["HOUSEHOLD_REGISTRATION", "ID_CARD_RENEWAL", "VEHICLE_SERVICES"]


async def test_list_businesses_of_unknown_city(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound) as caught:
        await handlers.list_businesses(uow, "atlantis")

    assert (caught.value.code, caught.value.field) == ("city_not_found", "city")


async def test_list_offices_by_id_without_origin(published: FakeUnitOfWork, clock: FakeClock) -> None:
    entries = await handlers.list_offices(published, clock, "testcity")

    assert [e.office.id for e in entries] == ["centre", "far", "north"]
    assert {(e.distance_km, e.earliest_available) for e in entries} == {(None, None)}


async def test_list_offices_nearest_first(published: FakeUnitOfWork, clock: FakeClock) -> None:
    origin = model.GeoPoint(34.79, 113.66)  # 0.01° south of north, 0.04° north of centre

    entries = await handlers.list_offices(published, clock, "testcity", origin=origin)

    assert [e.office.id for e in entries] == ["north", "centre", "far"]
    assert [e.distance_km for e in entries] == pytest.approx([1.11, 4.45, 23.35], abs=0.01)


async def test_list_offices_for_a_business_gives_the_earliest_slot_with_vacancy(
    published: FakeUnitOfWork, clock: FakeClock
) -> None:
    clock.now = MONDAY_0930
    set_booked(published, "north", "id", MONDAY, "09:30", 1)  # full; 09:00 has started; Tuesday closed

    entries = await handlers.list_offices(published, clock, "testcity", "ID_CARD_RENEWAL")

    starts = {
        e.office.id: e.earliest_available and (e.earliest_available.date, e.earliest_available.start)
        for e in entries
    }
    assert starts == {"centre": (MONDAY, t("10:00")), "north": (WEDNESDAY, t("09:00"))}


async def test_list_offices_for_a_business_without_slots(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    entries = await handlers.list_offices(uow, clock, "testcity", "VEHICLE_SERVICES")

    assert [(e.office.id, e.earliest_available) for e in entries] == [("far", None)]


async def test_a_suspended_business_offers_no_place_though_its_slots_are_published(
    published: FakeUnitOfWork, clock: FakeClock
) -> None:
    entries = await handlers.list_offices(published, clock, "testcity", "VEHICLE_SERVICES")
    slots = await handlers.list_slots(published, clock, "far", "VEHICLE_SERVICES")

    assert ([(e.office.id, e.earliest_available) for e in entries], slots) == ([("far", None)], [])
    await handlers.resume_business(published, "testcity", "VEHICLE_SERVICES")
    assert await handlers.list_slots(published, clock, "far", "VEHICLE_SERVICES")


async def test_list_slots_can_leave_full_ones_out(published: FakeUnitOfWork, clock: FakeClock) -> None:
    set_booked(published, "north", "id", MONDAY, "09:00", 1)

    everything = await handlers.list_slots(published, clock, "north", "ID_CARD_RENEWAL", MONDAY, MONDAY)
    free = await handlers.list_slots(
        published, clock, "north", "ID_CARD_RENEWAL", MONDAY, MONDAY, free_only=True
    )

    assert [(s.start, s.remaining) for s in everything] == [(t("09:00"), 0), (t("09:30"), 1)]
    assert [(s.start, s.remaining) for s in free] == [(t("09:30"), 1)]


@pytest.mark.parametrize(
    ("city", "business", "field"), [("atlantis", None, "city"), ("testcity", "NOPE", "business")]
)
async def test_list_offices_of_unknown_city_or_business(
    uow: FakeUnitOfWork, clock: FakeClock, city: str, business: str | None, field: str
) -> None:
    with pytest.raises(NotFound) as caught:
        await handlers.list_offices(uow, clock, city, business)

    assert caught.value.field == field


async def test_list_slots_defaults_to_seven_days_from_today(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    await handlers.publish_slots(uow, first=MONDAY, last=MONDAY + dt.timedelta(days=13), office_id="centre")

    slots = await handlers.list_slots(uow, clock, "centre", "ID_CARD_RENEWAL")

    assert len(slots) == 15
    assert (slots[0].date, slots[0].start, slots[-1].date) == (MONDAY, t("09:00"), dt.date(2030, 1, 11))


async def test_list_slots_skips_slots_already_started(published: FakeUnitOfWork, clock: FakeClock) -> None:
    clock.now = MONDAY_0930

    slots = await handlers.list_slots(published, clock, "north", "ID_CARD_RENEWAL", MONDAY, WEDNESDAY)

    assert [(s.date, s.start) for s in slots] == [
        (MONDAY, t("09:30")),
        (WEDNESDAY, t("09:00")),
        (WEDNESDAY, t("09:30")),
    ]


async def test_list_slots_of_a_business_not_handled_at_the_office(
    published: FakeUnitOfWork, clock: FakeClock
) -> None:
    with pytest.raises(NotFound) as caught:
        await handlers.list_slots(published, clock, "centre", "VEHICLE_SERVICES")

    assert (caught.value.code, caught.value.field) == ("business_at_office_not_found", "business")


@pytest.mark.parametrize(
    ("office", "business", "field"),
    [("nowhere", "ID_CARD_RENEWAL", "office_id"), ("centre", "NOPE", "business")],
)
async def test_list_slots_of_unknown_office_or_business(
    published: FakeUnitOfWork, clock: FakeClock, office: str, business: str, field: str
) -> None:
    with pytest.raises(NotFound) as caught:
        await handlers.list_slots(published, clock, office, business)

    assert caught.value.field == field


async def test_list_slots_refuses_a_32_day_range(published: FakeUnitOfWork, clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await handlers.list_slots(
            published, clock, "centre", "ID_CARD_RENEWAL", MONDAY, MONDAY + dt.timedelta(days=31)
        )

    assert (caught.value.code, caught.value.field) == ("date_range_too_long", "to")


def test_an_office_id_used_twice_is_refused_even_across_cities() -> None:
    doc = catalogue_doc()
    second_city = {**doc["cities"][0], "code": "othercity"}
    doc["cities"].append(second_city)

    assert "office" in refusal(doc).detail and "more than once" in refusal(doc).detail


def test_a_business_code_used_twice_in_a_city_is_refused() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["businesses"].append(doc["cities"][0]["businesses"][0])

    assert refusal(doc).field == "cities[0]"


def test_an_entry_exit_business_lists_its_citys_reasons_and_suspended_destinations(
    demo: dict[str, Any],
) -> None:
    city, businesses, _ = demo["zhengzhou"]
    shown = {b.code: business_to_proto(b, city.rules) for b in businesses}

    reasons = shown["ENTRY_EXIT_PERMIT"].entry_exit_reasons
    assert [r.code for r in reasons] == list(city.rules.entry_exit_reasons)
    assert (reasons[0].name, reasons[0].name_en) == ("出国奔丧", "Attending a funeral abroad")
    assert list(shown["ENTRY_EXIT_PERMIT"].suspended_destinations) == ["AU"]
    assert (
        not shown["ID_CARD_RENEWAL"].entry_exit_reasons
        and not shown["ID_CARD_RENEWAL"].suspended_destinations
    )


def test_a_city_may_name_its_entry_exit_reasons() -> None:
    doc = catalogue_doc()
    doc["cities"][0]["booking_rules"] = {
        "entry_exit_reasons": [
            "FUNERAL",
            {"code": "PILGRIMAGE", "name": {"zh-CN": "朝觐", "en": "Pilgrimage"}},
        ]
    }
    city, _, _ = catalogue_file.to_domain(catalogue_file.parse(as_yaml(doc), "yaml").cities[0])

    assert city.rules.entry_exit_reasons == ("FUNERAL", "PILGRIMAGE")
    assert [city.rules.reason_name(code) for code in ("FUNERAL", "PILGRIMAGE", "UNNAMED")] == [
        ("出国奔丧", "Attending a funeral abroad"),
        ("朝觐", "Pilgrimage"),
        ("UNNAMED", ""),
    ]
    assert rules.BookingRules.from_json(city.rules.to_json()) == city.rules  # stored and read back whole
