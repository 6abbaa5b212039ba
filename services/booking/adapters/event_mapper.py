"""Domain events → their proto payloads (the only place the two meet)."""

from __future__ import annotations

import datetime as dt

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from mintong.booking.v1 import events_pb2
from mintong.common.v1 import common_pb2
from services.booking.domain import events


def _date(value: dt.date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def to_proto(event: events.Event, occurred_at: dt.datetime) -> Message:
    ts = Timestamp()
    ts.FromDatetime(occurred_at)
    match event:
        case events.CatalogueLoaded():
            return events_pb2.CatalogueLoaded(
                occurred_at=ts,
                city_codes=event.city_codes,
                office_count=event.office_count,
                business_count=event.business_count,
            )
        case events.SlotsPublished():
            return events_pb2.SlotsPublished(
                occurred_at=ts,
                office_id=event.office_id,
                from_date=_date(event.first),
                to_date=_date(event.last),
                created_count=event.created,
                updated_count=event.updated,
            )
        case events.BusinessSuspended():
            return events_pb2.BusinessSuspended(
                occurred_at=ts,
                city_code=event.city_code,
                business_code=event.business_code,
                announcement=event.announcement,
            )
        case events.BusinessResumed():
            return events_pb2.BusinessResumed(
                occurred_at=ts, city_code=event.city_code, business_code=event.business_code
            )
    raise TypeError(f"no proto for {event!r}")
