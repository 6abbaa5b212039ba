"""The hall's pure rules (decision 49): the check-in window, prefixes, priority
groups, when a called ticket is a no-show, and the city data they come from."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from services.booking.domain import hall, rules
from services.booking.domain.bookings import Booking, BookingStatus, Refused, Snapshot
from services.booking.domain.model import Channel
from services.runtime.errors import Kind

UTC = dt.UTC
START = dt.datetime(2030, 1, 7, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
OFFICE = hall.HallOffice(
    "centre", "testcity", "Asia/Shanghai", True, "中心大厅", "Centre hall", rules.HallRules()
)


def booking(**changes: object) -> Booking:
    made = Booking(
        id="b1",
        citizen_id="c1",
        city_code="testcity",
        business_code="ID_CARD_RENEWAL",
        office_id="centre",
        slot_id=1,
        date=dt.date(2030, 1, 7),
        start=dt.time(9, 0),
        end=dt.time(10, 0),
        starts_at=START,
        status=BookingStatus.CONFIRMED,
        confirmation_code="ABCDEFGH",
        channel=Channel.WEB,
        snapshot=Snapshot("", "", (), "", "", "", "", ()),
        created_at=START - dt.timedelta(days=1),
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minutes", "code"),
    [(-31, "checkin_too_early"), (-30, None), (0, None), (15, None), (16, "checkin_too_late")],
)
def test_check_in_window_is_30_minutes_before_to_15_after(minutes: int, code: str | None) -> None:
    now = START + dt.timedelta(minutes=minutes)
    if code is None:
        hall.check_checkin(booking(), OFFICE, now)
        return
    with pytest.raises(Refused) as refused:
        hall.check_checkin(booking(), OFFICE, now)
    assert refused.value.code == code


def test_check_in_refuses_another_office_another_day_and_an_ended_booking() -> None:
    cases = [
        (booking(office_id="north"), "booking_at_another_office"),
        (booking(date=dt.date(2030, 1, 8), starts_at=START + dt.timedelta(days=1)), "not_booking_day"),
        (booking(status=BookingStatus.CANCELLED), "booking_not_active"),
    ]
    for made, code in cases:
        with pytest.raises(Refused) as refused:
            hall.check_checkin(made, OFFICE, START)
        assert refused.value.code == code


def test_walk_ins_only_where_the_office_takes_them() -> None:
    hall.check_walk_in(OFFICE, START)
    with pytest.raises(Refused) as refused:
        hall.check_walk_in(dataclasses.replace(OFFICE, walk_in_allowed=False), START)
    assert (refused.value.code, refused.value.field) == ("walk_in_not_allowed", "office_id")


def test_no_ticket_on_a_day_an_office_closure_keeps_the_office_shut() -> None:
    closed = dataclasses.replace(OFFICE, closed_dates=frozenset({dt.date(2030, 1, 7)}))
    for refuse in (
        lambda: hall.check_walk_in(closed, START),
        lambda: hall.check_checkin(booking(), closed, START),
    ):
        with pytest.raises(Refused) as refused:
            refuse()
        assert (refused.value.code, refused.value.field, refused.value.kind) == (
            "office_closed",
            "office_id",
            Kind.CONFLICT,
        )
    # The day after (UTC 16:00 is already Tuesday in Shanghai) takes walk-ins again.
    hall.check_walk_in(closed, dt.datetime(2030, 1, 7, 16, 0, tzinfo=UTC))


def test_priority_groups_rank_in_the_citys_order() -> None:
    city = rules.HallRules(priority_groups=("elderly", "disabled"))
    assert [hall.priority_rank(g, city) for g in ("elderly", "disabled", "")] == [0, 1, hall.NO_PRIORITY]
    with pytest.raises(Refused):
        hall.priority_rank("vip", city)


def test_a_called_ticket_becomes_a_no_show_after_its_calls_or_its_grace() -> None:
    city = rules.HallRules(max_calls=3, no_show_grace=dt.timedelta(minutes=10))
    ticket = hall.Ticket(
        "t1", "centre", "testcity", dt.date(2030, 1, 7), "A", 12, "ID_CARD_RENEWAL", None, None, "",
        hall.NO_PRIORITY, START, hall.TicketStatus.CALLED, START, counter=1, calls=1, called_at=START,
    )  # fmt: skip
    assert ticket.code == "A012"
    assert not hall.becomes_no_show(ticket, city, START + dt.timedelta(minutes=9))
    assert hall.becomes_no_show(ticket, city, START + dt.timedelta(minutes=10))
    assert hall.becomes_no_show(dataclasses.replace(ticket, calls=3), city, START)
    waiting = dataclasses.replace(ticket, status=hall.TicketStatus.WAITING)
    assert not hall.becomes_no_show(waiting, city, START + dt.timedelta(hours=1))


def test_hall_rules_are_city_data_with_defaults_for_cities_stored_before() -> None:
    assert (
        rules.BookingRules.from_json({**rules.BookingRules().to_json(), "hall": None}).hall
        == rules.HallRules()
    )
    custom = rules.HallRules(
        ticket_prefixes={"household": "B"}, priority_groups=("elderly",), coming_up_ahead=5
    )
    again = rules.BookingRules.from_json(rules.BookingRules(hall=custom).to_json()).hall
    assert again == custom
    assert (again.prefix_for("household"), again.prefix_for("id_card")) == ("B", "A")
