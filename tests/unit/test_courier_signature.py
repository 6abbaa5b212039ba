"""Courier status callbacks (services/cards/adapters/courier_signature.py): a good
signature gives the event; a wrong secret, an altered body, a moved or stale
timestamp, or any field out of shape is a ``BadCallback`` naming the field — never
another exception, whatever bytes and headers arrive."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cards.adapters.courier_signature import TOLERANCE, BadCallback, sign, verify, verify_batch
from services.cards.service_layer.ports import CourierEvent

SECRET = b"courier-test-secret-0001"
NOW = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)
TS = int(NOW.timestamp())
EVENT = {
    "event_id": "evt-0001",
    "tracking_number": "SF1234567890",
    "kind": "picked_up",
    "occurred_at": "2030-01-07T07:59:30+00:00",
}


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def check(body: bytes, *, ts: int = TS, secret: bytes = SECRET, now: dt.datetime = NOW) -> CourierEvent:
    return verify(SECRET, str(ts), sign(secret, ts, body), body, now)


def refused(body: bytes, **kwargs: Any) -> str:
    with pytest.raises(BadCallback) as caught:
        check(body, **kwargs)
    assert isinstance(caught.value, ValueError)
    return caught.value.field


def test_a_good_callback_gives_its_event() -> None:
    event = check(body_of({**EVENT, "detail": "front desk"}))
    assert event == CourierEvent(
        event_id="evt-0001",
        tracking_number="SF1234567890",
        kind="picked_up",
        occurred_at=dt.datetime(2030, 1, 7, 7, 59, 30, tzinfo=dt.UTC),
        detail="front desk",
    )
    assert check(body_of(EVENT)).detail == ""


def test_the_signature_is_v1_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = body_of(EVENT)
    expected = hmac.new(SECRET, f"{TS}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, body) == f"v1={expected}"


def test_a_wrong_secret_is_refused() -> None:
    assert refused(body_of(EVENT), secret=b"another-secret-entirely") == "X-Courier-Signature"


def test_an_altered_body_is_refused() -> None:
    body = body_of(EVENT)
    signature = sign(SECRET, TS, body)
    for altered in (body.replace(b"picked_up", b"delivered"), body + b" ", body[:-1]):
        with pytest.raises(BadCallback) as caught:
            verify(SECRET, str(TS), signature, altered, NOW)
        assert caught.value.field == "X-Courier-Signature"


def test_a_moved_timestamp_is_refused() -> None:
    # Whoever replays a body cannot move its timestamp forward: the MAC covers it.
    body = body_of(EVENT)
    signature = sign(SECRET, TS - 3600, body)
    with pytest.raises(BadCallback) as caught:
        verify(SECRET, str(TS), signature, body, NOW)
    assert caught.value.field == "X-Courier-Signature"


@pytest.mark.parametrize("offset", [TOLERANCE, -TOLERANCE])
def test_a_timestamp_just_inside_the_tolerance_passes(offset: dt.timedelta) -> None:
    assert check(body_of(EVENT), ts=int((NOW + offset).timestamp())).event_id == "evt-0001"


@pytest.mark.parametrize(
    "offset", [TOLERANCE + dt.timedelta(seconds=1), -TOLERANCE - dt.timedelta(seconds=1)]
)
def test_a_timestamp_too_old_or_too_new_is_refused(offset: dt.timedelta) -> None:
    assert refused(body_of(EVENT), ts=int((NOW + offset).timestamp())) == "X-Courier-Timestamp"


@pytest.mark.parametrize(
    "timestamp", ["", "soon", "1.5", "0x10", "1" * 5000, f" {TS}", f"+{TS}", f"{TS}\n", "١٨٩٤٠٠٣٢٠٠", "-1"]
)
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    body = body_of(EVENT)
    with pytest.raises(BadCallback) as caught:
        verify(SECRET, timestamp, sign(SECRET, TS, body), body, NOW)
    assert caught.value.field == "X-Courier-Timestamp"


@pytest.mark.parametrize("signature", ["", "v1=", "v1=" + "0" * 64, "v2=abc", "签名", "v1=\udcff"])
def test_a_malformed_or_foreign_signature_is_refused(signature: str) -> None:
    body = body_of(EVENT)
    with pytest.raises(BadCallback) as caught:
        verify(SECRET, str(TS), signature, body, NOW)
    assert caught.value.field == "X-Courier-Signature"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"\xff\xfe", "body"),
        (b"[1, 2]", "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'"a string"', "body"),
        (body_of({k: v for k, v in EVENT.items() if k != "event_id"}), "event_id"),
        (body_of({**EVENT, "event_id": ""}), "event_id"),
        (body_of({**EVENT, "event_id": "e" * 65}), "event_id"),
        (body_of({**EVENT, "event_id": 7}), "event_id"),
        (body_of({**EVENT, "tracking_number": None}), "tracking_number"),
        (body_of({**EVENT, "kind": "lost_in_space"}), "kind"),
        (body_of({**EVENT, "kind": ["picked_up"]}), "kind"),
        (body_of({**EVENT, "occurred_at": "yesterday"}), "occurred_at"),
        (body_of({**EVENT, "occurred_at": "2030-01-07T07:59:30"}), "occurred_at"),
        (body_of({**EVENT, "detail": 5}), "detail"),
        (body_of({**EVENT, "detail": "d" * 201}), "detail"),
    ],
)
def test_a_field_out_of_shape_is_refused_by_name(body: bytes, field: str) -> None:
    assert refused(body) == field


def test_every_kind_a_courier_reports_is_taken() -> None:
    for kind in ("picked_up", "delivered", "delivery_failed", "returned"):
        assert check(body_of({**EVENT, "kind": kind})).kind == kind


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200) | st.dictionaries(st.text(max_size=20), st.text(max_size=80)).map(body_of),
    timestamp=st.text(max_size=20),
    signature=st.text(max_size=80),
)
def test_any_callback_gives_an_event_or_a_bad_callback(body: bytes, timestamp: str, signature: str) -> None:
    for ts, sig in ((timestamp, signature), (str(TS), sign(SECRET, TS, body))):
        with contextlib.suppress(BadCallback):
            verify(SECRET, ts, sig, body, NOW)


def test_the_worked_example_of_docs_courier_md_holds() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "courier.md").read_text(encoding="utf-8")
    body = doc.split("body:", 1)[1].split("\n", 1)[0].strip().encode()
    signature = doc.split("signature:", 1)[1].split("\n", 1)[0].strip()
    assert sign(b"example-secret", 1893982500, body) == signature
    now = dt.datetime.fromtimestamp(1893982500, dt.UTC)
    assert verify(b"example-secret", "1893982500", signature, body, now).kind == "delivered"


def item(body: bytes, *, secret: bytes = SECRET) -> dict[str, str]:
    return {"timestamp": str(TS), "signature": sign(secret, TS, body), "body": body.decode()}


def test_a_batch_is_verified_callback_by_callback() -> None:
    good = item(body_of(EVENT))
    callbacks = [good, item(body_of(EVENT), secret=b"another"), {**good, "timestamp": 5}, "x", item(b"{}")]
    found = verify_batch(SECRET, json.dumps({"callbacks": callbacks}).encode(), NOW)
    assert found[0] == check(body_of(EVENT))
    assert [f.field for f in found[1:] if isinstance(f, BadCallback)] == [
        "X-Courier-Signature",
        "X-Courier-Timestamp",
        "callbacks",
        "event_id",
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"callbacks": []}',
        b'{"callbacks": {}}',
        json.dumps({"callbacks": [{}] * 501}).encode(),
    ],
)
def test_a_body_that_is_no_batch_is_refused_whole(body: bytes) -> None:
    with pytest.raises(BadCallback):
        verify_batch(SECRET, body, NOW)


@settings(max_examples=100, deadline=None)
@given(
    callbacks=st.lists(
        st.dictionaries(st.sampled_from(["timestamp", "signature", "body"]), st.text()), max_size=5
    )
)
def test_any_batch_gives_an_answer_per_callback(callbacks: list[dict[str, str]]) -> None:
    with contextlib.suppress(BadCallback):
        assert len(verify_batch(SECRET, json.dumps({"callbacks": callbacks}).encode(), NOW)) == len(callbacks)


def test_the_batch_example_of_docs_courier_md_holds() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "courier.md").read_text(encoding="utf-8")
    batch = doc.split("## Batches", 1)[1].split("```json", 1)[1].split("```", 1)[0].encode()
    now = dt.datetime.fromtimestamp(1893982500, dt.UTC)
    (event,) = verify_batch(b"example-secret", batch, now)
    assert isinstance(event, CourierEvent) and event.kind == "delivered"
