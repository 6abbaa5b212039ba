"""How courier status callbacks are signed (docs/courier.md is the partner's copy).

The courier POSTs a JSON body to ``/v1/callbacks/courier`` with two headers:

- ``X-Courier-Timestamp``: Unix seconds when it signed;
- ``X-Courier-Signature``: ``v1=`` and the hex HMAC-SHA256, under the secret we
  share with the courier, of ``"{timestamp}.".encode() + body``.

We accept a callback whose signature matches and whose timestamp is within
``TOLERANCE`` of our clock; the event id makes a replay inside that window
refused by the cards database (a unique key), one outside it by the timestamp.
The scheme is Stripe's and Slack's: the timestamp is signed, so it cannot be
moved forward by whoever replays the body.

A batch (``/v1/callbacks/courier/batch``) carries many such callbacks in one JSON
body, ``{"callbacks": [{"timestamp": "…", "signature": "v1=…", "body": "…"}, …]}``:
each item's ``body`` is the text of one callback's body, signed with its timestamp
exactly as above, so every event is verified on its own (``verify_batch``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from services.cards.service_layer.ports import CourierEvent, CourierEventKind

TOLERANCE = dt.timedelta(minutes=5)
#: Callbacks in one batch at most.
MAX_BATCH = 500
KINDS = frozenset(
    {
        CourierEventKind.PICKED_UP,
        CourierEventKind.DELIVERED,
        CourierEventKind.DELIVERY_FAILED,
        CourierEventKind.RETURNED,
    }
)


class BadCallback(ValueError):
    """A callback we refuse; ``field`` names what was wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: bytes, timestamp: str, signature: str, body: bytes, now: dt.datetime) -> CourierEvent:
    """The event a callback reports, or ``BadCallback``. Checks the signature first:
    nothing of an unsigned body is read."""
    # Plain ASCII digits only: int() would also take " 1", "+1" and other scripts' digits.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise BadCallback("X-Courier-Timestamp", "must be Unix seconds")
    signed_at = int(timestamp)
    # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError,
    # not a refusal), and a forged header may hold anything.
    expected = sign(secret, signed_at, body).encode("ascii")
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise BadCallback("X-Courier-Signature", "does not match the body and timestamp")
    if abs(now.timestamp() - signed_at) > TOLERANCE.total_seconds():
        raise BadCallback("X-Courier-Timestamp", "too far from our clock (a replay, or a wrong clock)")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested beyond reason
        raise BadCallback("body", "is not JSON") from None
    if not isinstance(data, dict):
        raise BadCallback("body", "must be a JSON object")
    fields: dict[str, str] = {}
    for name in ("event_id", "tracking_number", "kind", "occurred_at"):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > 64:
            raise BadCallback(name, "must be a string of 1 to 64 characters")
        fields[name] = value
    if fields["kind"] not in KINDS:
        raise BadCallback("kind", f"must be one of {', '.join(sorted(KINDS))}")
    try:
        occurred_at = dt.datetime.fromisoformat(fields["occurred_at"])
    except ValueError:
        raise BadCallback("occurred_at", "must be an RFC 3339 time") from None
    if occurred_at.tzinfo is None:
        raise BadCallback("occurred_at", "must carry its UTC offset")
    detail = data.get("detail", "")
    if not isinstance(detail, str) or len(detail) > 200:
        raise BadCallback("detail", "must be a string of at most 200 characters")
    return CourierEvent(
        event_id=fields["event_id"],
        tracking_number=fields["tracking_number"],
        kind=fields["kind"],
        occurred_at=occurred_at,
        detail=detail,
    )


def verify_batch(secret: bytes, body: bytes, now: dt.datetime) -> list[CourierEvent | BadCallback]:
    """Each callback of a batch verified on its own: its event, or why it is refused.
    ``BadCallback`` when the body is no batch at all."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadCallback("body", "is not JSON") from None
    items = data.get("callbacks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise BadCallback("callbacks", f"must be a list of 1 to {MAX_BATCH} callbacks")
    return [_verify_item(secret, item, now) for item in items]


def _verify_item(secret: bytes, item: object, now: dt.datetime) -> CourierEvent | BadCallback:
    if not isinstance(item, dict):
        return BadCallback("callbacks", "each must be a JSON object")
    timestamp, signature, body = (item.get(name) for name in ("timestamp", "signature", "body"))
    if not isinstance(timestamp, str):
        return BadCallback("X-Courier-Timestamp", "must be Unix seconds")
    if not isinstance(signature, str) or len(signature) > 200:
        return BadCallback("X-Courier-Signature", "does not match the body and timestamp")
    if not isinstance(body, str):
        return BadCallback("body", "must be the callback's body as a string")
    try:
        return verify(secret, timestamp, signature, body.encode("utf-8", "surrogatepass"), now)
    except BadCallback as bad:
        return bad
