"""The records the notify service keeps: messages and their deliveries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.notify.domain.model import Channel, Status


@dataclass(frozen=True)
class Delivery:
    id: str
    message_id: str
    channel: Channel
    address: str
    title: str
    body: str
    status: Status
    reason: str
    attempts: int
    due_at: dt.datetime
    updated_at: dt.datetime
    provider: str | None = None
    provider_ref: str | None = None
    #: W3C trace context of whatever caused the message, so the delivery (and its
    #: receipt) continue that trace though they happen later, in the worker.
    trace_context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    id: str
    citizen_id: str
    template: str
    city_code: str
    language: str
    variables: dict[str, str]
    urgent: bool
    source_key: str
    title: str
    body: str
    created_at: dt.datetime
    cancel_key: str | None = None
    read_at: dt.datetime | None = None
    deliveries: tuple[Delivery, ...] = field(default_factory=tuple)
