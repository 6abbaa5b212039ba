"""Domain events → their proto payloads (the only place the two meet)."""

from __future__ import annotations

import datetime as dt

from google.protobuf.message import Message

from mintong.cards.v1 import events_pb2
from services.cards.domain.events import StatusChanged
from services.cards.domain.lifecycle import Status
from services.runtime.proto_values import timestamp_to_proto

#: The event each status is announced by.
_MESSAGES: dict[Status, type[Message]] = {
    Status.SUBMITTED: events_pb2.ApplicationSubmitted,
    Status.CHECKS_FAILED: events_pb2.ApplicationChecksFailed,
    Status.CHECKS_PASSED: events_pb2.ApplicationChecksPassed,
    Status.APPROVED: events_pb2.ApplicationApproved,
    Status.REJECTED: events_pb2.ApplicationRejected,
    Status.IN_PRODUCTION: events_pb2.ApplicationInProduction,
    Status.PRODUCED: events_pb2.CardProduced,
    Status.SHIPPED: events_pb2.ApplicationShipped,
    Status.DELIVERED: events_pb2.ApplicationDelivered,
    Status.DELIVERY_FAILED: events_pb2.ApplicationDeliveryFailed,
    Status.RETURNED: events_pb2.ApplicationReturned,
    Status.READY_FOR_PICKUP: events_pb2.ApplicationReadyForPickup,
    Status.COLLECTED: events_pb2.ApplicationCollected,
    Status.CANCELLED: events_pb2.ApplicationCancelled,
}


def to_proto(event: StatusChanged, occurred_at: dt.datetime) -> Message:
    facts = {
        "application_id": event.application_id,
        "citizen_id": event.citizen_id,
        "city_code": event.city_code,
        "kind": event.kind,
        "kind_name": event.kind_name,
        "kind_name_en": event.kind_name_en,
        "delivery_method": event.delivery_method,
        "office_id": event.office_id,
        "tracking_number": event.tracking_number,
        "from_status": event.from_status,
        "status": event.status,
        "reason": event.reason,
        "reason_en": event.reason_en,
        "courier": event.courier,
        "courier_en": event.courier_en,
        "office_name": event.office_name,
        "office_name_en": event.office_name_en,
        "office_address": event.office_address,
        "office_address_en": event.office_address_en,
    }
    message = _MESSAGES[Status(event.status)](occurred_at=timestamp_to_proto(occurred_at), **facts)
    if isinstance(message, events_pb2.ApplicationChecksFailed):
        message.reason_codes.extend(event.reason_codes)
    if isinstance(message, events_pb2.ApplicationInProduction):
        message.batch_id = event.batch_id
    return message
