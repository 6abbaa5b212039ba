"""Events from other services as flat, printable values for templates.

Dates become YYYY-MM-DD, times HH:MM, repeated strings a list; the payload class is
found by the event's type name among the generated event modules. Identity's
contacts events become :class:`Addresses`, opened with the keys identity sealed
them with (MINTONG_PII_KEYS)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from google.protobuf import symbol_database
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# Imported for their side effect: they register the booking and cards events.
import mintong.booking.v1.events_pb2
import mintong.cards.v1.events_pb2  # noqa: F401
from mintong.identity.v1 import events_pb2 as identity_events
from services.notify.domain.model import Addresses
from services.runtime.consumer import Event
from services.runtime.events import subject_of
from services.runtime.pii import PiiCipher

#: The subject and type of identity's event with a citizen's whole contacts.
CONTACTS_SUBJECT = subject_of(identity_events.CitizenContactsChanged)
CONTACTS_TYPE = identity_events.CitizenContactsChanged.DESCRIPTOR.full_name


def message_class(type_name: str) -> type[Message]:
    found: type[Message] = symbol_database.Default().GetSymbol(type_name)
    return found


def decode(event: Event) -> dict[str, Any]:
    cls, fields = _reader(event.type)
    message = cls.FromString(event.data)
    return {name: convert(getattr(message, name)) for name, convert in fields}


@functools.cache
def _reader(type_name: str) -> tuple[type[Message], tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """The payload class of an event type and how each field becomes a value, worked
    out once per type rather than from the descriptors for every event."""
    cls = message_class(type_name)
    return cls, tuple((field.name, _converter(field)) for field in cls.DESCRIPTOR.fields)


def _converter(field: Any) -> Callable[[Any], Any]:
    if field.is_repeated:
        return lambda value: [str(v) for v in value]
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return lambda value: value
    match field.message_type.full_name:
        case "mintong.common.v1.Date":
            return lambda value: f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        case "mintong.common.v1.TimeOfDay":
            return lambda value: f"{value.hours:02d}:{value.minutes:02d}"
        case "google.protobuf.Timestamp":
            return lambda value: value.ToDatetime().isoformat()
    return str


def addresses(event: Event, cipher: PiiCipher) -> Addresses:
    told = identity_events.CitizenContactsChanged.FromString(event.data)
    return Addresses(
        citizen_id=told.citizen_id,
        phone=cipher.open(told.phone_sealed) if told.phone_sealed else None,
        wechat_openids={city: cipher.open(sealed) for city, sealed in told.wechat_openids_sealed.items()},
        app_device_token=cipher.open(told.app_device_sealed) if told.app_device_sealed else None,
        as_of=told.occurred_at.ToDatetime(dt.UTC),
    )
