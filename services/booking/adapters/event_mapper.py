"""Domain events → their proto payloads (the only place the two meet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.message import Message

from mintong.booking.v1 import events_pb2
from services.booking.domain import events
from services.booking.domain.bookings import Booking, Snapshot
from services.runtime.proto_values import date_to_proto, time_to_proto, timestamp_to_proto


def _what(s: Snapshot) -> dict[str, Any]:
    """The business and office a message names, in Chinese with the English twins."""
    return {
        "business_name": s.business_name,
        "business_name_en": s.business_name_en,
        "office_name": s.office_name,
        "office_name_en": s.office_name_en,
    }


def _whose_when(b: Booking) -> dict[str, Any]:
    """The fields every message about one booking carries: whose it is, what, where, when."""
    return {
        "booking_id": b.id,
        "citizen_id": b.citizen_id,
        "city_code": b.city_code,
        **_what(b.snapshot),
        "date": date_to_proto(b.date),
        "start": time_to_proto(b.start),
    }


def _where_to_come(s: Snapshot) -> dict[str, Any]:
    """The address and what to bring, for a booking to come to."""
    return {
        "office_address": s.office_address,
        "office_address_en": s.office_address_en,
        "materials": s.materials,
        "materials_en": s.materials_en,
    }


def to_proto(event: events.Event, occurred_at: dt.datetime) -> Message:
    ts = timestamp_to_proto(occurred_at)
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
                from_date=date_to_proto(event.first),
                to_date=date_to_proto(event.last),
                created_count=event.created,
                updated_count=event.updated,
            )
        case events.BusinessSuspended():
            return events_pb2.BusinessSuspended(
                occurred_at=ts,
                city_code=event.city_code,
                business_code=event.business_code,
                announcement=event.announcement,
                announcement_en=event.announcement_en,
            )
        case events.BookingAffectedBySuspension(booking=b):
            return events_pb2.BookingAffectedBySuspension(
                occurred_at=ts,
                business_code=b.business_code,
                announcement=event.announcement,
                announcement_en=event.announcement_en,
                **_whose_when(b),
            )
        case events.BusinessResumed():
            return events_pb2.BusinessResumed(
                occurred_at=ts, city_code=event.city_code, business_code=event.business_code
            )
        case events.BookingConfirmed(booking=b):
            return events_pb2.BookingConfirmed(
                occurred_at=ts,
                **_whose_when(b),
                **_where_to_come(b.snapshot),
                office_phone=b.snapshot.office_phone,
                confirmation_code=b.confirmation_code,
                visit_requirements=b.snapshot.visit_requirements,
                visit_requirements_en=b.snapshot.visit_requirements_en,
            )
        case events.BookingCancelled(booking=b):
            return events_pb2.BookingCancelled(occurred_at=ts, **_whose_when(b))
        case events.BookingCancelledByClosure(booking=b):
            return events_pb2.BookingCancelledByClosure(
                occurred_at=ts,
                **_whose_when(b),
                policy_id=event.policy_id,
                closed_from=date_to_proto(event.first_day),
                closed_to=date_to_proto(event.last_day),
                reason=event.reason,
                reason_en=event.reason_en,
            )
        case events.PolicyChanged():
            return events_pb2.PolicyChanged(
                occurred_at=ts,
                policy_id=event.policy_id,
                city_code=event.city_code,
                kind=event.kind,
                subject=event.subject,
                state=event.state,
                effective_from=timestamp_to_proto(event.effective_from),
                effective_until=timestamp_to_proto(event.effective_until) if event.effective_until else None,
            )
        case events.BookingRescheduled(booking=b):
            return events_pb2.BookingRescheduled(
                occurred_at=ts,
                **_whose_when(b),
                **_where_to_come(b.snapshot),
                old_date=date_to_proto(event.old_date),
                old_start=time_to_proto(event.old_start),
                confirmation_code=b.confirmation_code,
            )
        case events.WaitlistOfferMade(entry=e):
            assert e.hold_expires_at is not None
            return events_pb2.WaitlistOfferMade(
                occurred_at=ts,
                entry_id=e.id,
                citizen_id=e.citizen_id,
                city_code=e.city_code,
                **_what(event.snapshot),
                date=date_to_proto(event.date),
                start=time_to_proto(event.start),
                hold_expires_at=timestamp_to_proto(e.hold_expires_at),
                hold_minutes=event.hold_minutes,
            )
        case events.WaitlistOfferExpired(entry=e):
            return events_pb2.WaitlistOfferExpired(
                occurred_at=ts,
                entry_id=e.id,
                citizen_id=e.citizen_id,
                city_code=e.city_code,
                **_what(event.snapshot),
                date=date_to_proto(event.date),
                start=time_to_proto(event.start),
            )
        case events.PreApplicationApproved():
            return events_pb2.PreApplicationApproved(
                occurred_at=ts,
                pre_application_id=event.pre_application_id,
                citizen_id=event.citizen_id,
                city_code=event.city_code,
                business_name=event.business_name,
                business_name_en=event.business_name_en,
                expires_at=timestamp_to_proto(event.expires_at) if event.expires_at else None,
                note=event.note,
            )
        case events.PreApplicationSubmitted():
            return events_pb2.PreApplicationSubmitted(
                occurred_at=ts,
                pre_application_id=event.pre_application_id,
                citizen_id=event.citizen_id,
                city_code=event.city_code,
                business_code=event.business_code,
            )
        case events.PreApplicationRejected():
            return events_pb2.PreApplicationRejected(
                occurred_at=ts,
                pre_application_id=event.pre_application_id,
                citizen_id=event.citizen_id,
                city_code=event.city_code,
                business_name=event.business_name,
                business_name_en=event.business_name_en,
                reason=event.reason,
            )
        case events.PreApplicationMaterialRequested():
            return events_pb2.PreApplicationMaterialRequested(
                occurred_at=ts,
                pre_application_id=event.pre_application_id,
                citizen_id=event.citizen_id,
                city_code=event.city_code,
                business_name=event.business_name,
                business_name_en=event.business_name_en,
                note=event.note,
            )
        case events.TicketIssued(ticket=t):
            assert t.citizen_id is not None  # only a booking's ticket has someone to tell
            return events_pb2.TicketIssued(
                occurred_at=ts,
                ticket_id=t.id,
                citizen_id=t.citizen_id,
                city_code=t.city_code,
                ticket_code=t.code,
                **_what(event.snapshot),
                ahead=event.ahead,
                wait_minutes=event.wait_minutes,
            )
        case events.TicketComingUp(ticket=t):
            assert t.citizen_id is not None
            return events_pb2.TicketComingUp(
                occurred_at=ts,
                ticket_id=t.id,
                citizen_id=t.citizen_id,
                city_code=t.city_code,
                ticket_code=t.code,
                office_name=event.snapshot.office_name,
                office_name_en=event.snapshot.office_name_en,
                ahead=event.ahead,
            )
        case events.QueueChanged(ticket=t):
            message = queue_changed(t.office_id, t.counter or 0, event.change, occurred_at)
            message.city_code, message.ticket_code = t.city_code, t.code
            return message
    raise TypeError(f"no proto for {event!r}")


def queue_changed(
    office_id: str, counter: int, change: str, occurred_at: dt.datetime
) -> events_pb2.QueueChanged:
    """A ``QueueChanged`` without the ticket's city and code: what a hall statement
    that writes its own outbox row completes with them, from the row it changed
    (hall_repository's ``_ANNOUNCED``, decision 129)."""
    return events_pb2.QueueChanged(
        occurred_at=timestamp_to_proto(occurred_at), office_id=office_id, counter=counter, change=change
    )
