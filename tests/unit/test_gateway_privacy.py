"""Personal data in URLs stays out of the gateway's access log and spans: every
query value is redacted, names are kept unless they look like a value themselves."""

from __future__ import annotations

import logging

import pytest

from gateway.privacy import REDACTED, RedactedAccessLog, redact_query


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        ("to=%2B8613800138000&limit=5", f"to={REDACTED}&limit={REDACTED}"),
        ("to=a%26b", f"to={REDACTED}"),  # an encoded & inside a value stays inside it
        ("13800138000", f"{REDACTED}={REDACTED}"),  # a bare value is no name
        (
            "lat=20.03&lng=110.33&business=ID_CARD_RENEWAL",
            f"lat={REDACTED}&lng={REDACTED}&business={REDACTED}",
        ),
        ("", ""),
    ],
)
def test_every_query_value_is_redacted(query: str, redacted: str) -> None:
    assert redact_query(query) == redacted


def test_the_access_log_keeps_the_path_and_loses_the_query_values() -> None:
    # The arguments uvicorn's access logger passes: client, method, path?query, version, status.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "GET", "/v1/sandbox/messages?to=%2B8613800138000", "1.1", 200),
        None,
    )
    assert RedactedAccessLog().filter(record)
    assert record.getMessage() == f'10.0.0.1:5000 - "GET /v1/sandbox/messages?to={REDACTED} HTTP/1.1" 200'
    plain = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", ("no query",), None)
    assert RedactedAccessLog().filter(plain) and plain.getMessage() == "no query"
