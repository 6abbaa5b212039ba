"""Events from other services as flat, printable values for templates.

Dates become YYYY-MM-DD, times HH:MM, repeated strings a list; the payload class is
found by the event's type name among the generated event modules."""

from __future__ import annotations

from typing import Any

from google.protobuf import symbol_database
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

import mintong.booking.v1.events_pb2  # noqa: F401  (registers the booking events)
from services.runtime.consumer import Event


def message_class(type_name: str) -> type[Message]:
    found: type[Message] = symbol_database.Default().GetSymbol(type_name)
    return found


def decode(event: Event) -> dict[str, Any]:
    message = message_class(event.type).FromString(event.data)
    return {field.name: _value(field, getattr(message, field.name)) for field in message.DESCRIPTOR.fields}


def _value(field: Any, value: Any) -> Any:
    if field.is_repeated:
        return [str(v) for v in value]
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    match field.message_type.full_name:
        case "mintong.common.v1.Date":
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        case "mintong.common.v1.TimeOfDay":
            return f"{value.hours:02d}:{value.minutes:02d}"
        case "google.protobuf.Timestamp":
            return value.ToDatetime().isoformat()
    return str(value)
