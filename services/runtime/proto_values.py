"""The shared proto vocabulary in Python: ``mintong.common.v1`` dates, times of day and
channels, and ``google.protobuf.Timestamp``, to and from ``datetime`` and plain words.

One home for what every service's entrypoints, adapters and the gateway translate at
their edge. It imports generated code, so domains and service layers never use it."""

from __future__ import annotations

import datetime as dt
from typing import overload

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from mintong.common.v1 import common_pb2
from services.runtime.errors import InvalidArgument

#: The channel a citizen uses, as the HTTP API and the domains spell it.
CHANNEL_PROTO: dict[str, common_pb2.Channel] = {
    "app": common_pb2.CHANNEL_APP,
    "wechat": common_pb2.CHANNEL_WECHAT,
    "web": common_pb2.CHANNEL_WEB,
}
CHANNEL_NAMES: dict[int, str] = {value: name for name, value in CHANNEL_PROTO.items()}


def channel_name(value: int) -> str:
    """The word for a channel a caller sent; an unset or unknown one is their mistake."""
    if value not in CHANNEL_NAMES:
        raise InvalidArgument("invalid_channel", "Name the channel: app, wechat or web.", field="channel")
    return CHANNEL_NAMES[value]


def date_to_proto(value: dt.date | None) -> common_pb2.Date:
    """None is the unset date (all zero), which :func:`date_from_proto` reads back as None."""
    if value is None:
        return common_pb2.Date()
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_of(value: common_pb2.Date) -> dt.date:
    """A date the message always carries (a slot's, a booking's)."""
    return dt.date(value.year, value.month, value.day)


def date_from_proto(value: common_pb2.Date, field: str) -> dt.date | None:
    """An unset date is None; a set but impossible one is the caller's mistake."""
    if not (value.year or value.month or value.day):
        return None
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError as exc:
        raise InvalidArgument("invalid_date", f"{field}: {exc}", field=field) from None


def time_to_proto(value: dt.time) -> common_pb2.TimeOfDay:
    return common_pb2.TimeOfDay(hours=value.hour, minutes=value.minute)


def hhmm(value: common_pb2.TimeOfDay) -> str:
    """A time of day as people write it, "09:30"."""
    return f"{value.hours:02d}:{value.minutes:02d}"


@overload
def timestamp_to_proto(value: dt.datetime) -> Timestamp: ...
@overload
def timestamp_to_proto(value: None) -> None: ...
def timestamp_to_proto(value: dt.datetime | None) -> Timestamp | None:
    """None stays None, so a message built with it leaves the field unset."""
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def timestamp_of(value: Timestamp) -> dt.datetime:
    """A timestamp the message always carries, in UTC."""
    return value.ToDatetime(dt.UTC)


def timestamp_from_proto(message: Message, field: str) -> dt.datetime | None:
    """``message``'s timestamp ``field`` in UTC, or None where it is unset (proto3
    tells an unset message field from an empty one only by ``HasField``)."""
    return timestamp_of(getattr(message, field)) if message.HasField(field) else None
