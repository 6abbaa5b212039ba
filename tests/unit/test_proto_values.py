"""The shared proto vocabulary: dates, times of day, timestamps and channels."""

from __future__ import annotations

import datetime as dt

import pytest

from mintong.common.v1 import common_pb2
from services.runtime.errors import ProblemError
from services.runtime.proto_values import (
    CHANNEL_NAMES,
    CHANNEL_PROTO,
    channel_name,
    date_from_proto,
    date_of,
    date_to_proto,
    hhmm,
    time_to_proto,
    timestamp_to_proto,
)


def test_a_date_goes_and_comes_back() -> None:
    day = dt.date(2030, 1, 7)
    assert date_to_proto(day) == common_pb2.Date(year=2030, month=1, day=7)
    assert date_of(date_to_proto(day)) == date_from_proto(date_to_proto(day), "date") == day


def test_no_date_is_the_unset_date() -> None:
    assert date_to_proto(None) == common_pb2.Date()
    assert date_from_proto(common_pb2.Date(), "date") is None


def test_an_impossible_date_is_the_callers_mistake_on_its_field() -> None:
    with pytest.raises(ProblemError) as refused:
        date_from_proto(common_pb2.Date(year=2030, month=2, day=30), "from")
    assert (refused.value.code, refused.value.field, refused.value.kind.http_status) == (
        "invalid_date",
        "from",
        400,
    )


def test_a_time_of_day_is_written_as_people_do() -> None:
    assert time_to_proto(dt.time(9, 5)) == common_pb2.TimeOfDay(hours=9, minutes=5)
    assert hhmm(time_to_proto(dt.time(9, 5))) == "09:05"


def test_a_timestamp_keeps_the_instant_and_none_leaves_the_field_unset() -> None:
    at = dt.datetime(2030, 1, 7, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    stamp = timestamp_to_proto(at)
    assert stamp.ToDatetime(dt.UTC) == at
    assert timestamp_to_proto(None) is None


def test_channels_have_one_map_both_ways() -> None:
    assert list(CHANNEL_PROTO) == ["app", "wechat", "web"]
    assert {channel_name(v) for v in CHANNEL_PROTO.values()} == set(CHANNEL_PROTO)
    assert all(CHANNEL_PROTO[CHANNEL_NAMES[v]] == v for v in CHANNEL_NAMES)
    for unknown in (common_pb2.CHANNEL_UNSPECIFIED, 99):
        with pytest.raises(ProblemError) as refused:
            channel_name(unknown)
        assert (refused.value.code, refused.value.field) == ("invalid_channel", "channel")
