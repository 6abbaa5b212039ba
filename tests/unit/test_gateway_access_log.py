"""The gateway's own access log (decision 107): the line uvicorn's access logger and
formatter wrote, the query's values redacted, the lines of a turn written at once."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import urllib.parse

import pytest
from fastapi import FastAPI
from uvicorn.logging import AccessFormatter

from gateway.access_log import AccessLog
from gateway.middleware import RequestTelemetry
from gateway.privacy import RedactedAccessLog


def _uvicorn_line(client: str, method: str, path: str, version: str, status: int) -> str:
    """What uvicorn wrote for the same request (its arguments, our redaction filter,
    its formatter without colours: the gateway's output is a pipe)."""
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        (client, method, path, version, status), None,
    )  # fmt: skip
    RedactedAccessLog().filter(record)
    fmt = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
    formatter = AccessFormatter(fmt, use_colors=False)
    return formatter.format(record) + "\n"


def _scope(
    path: str, query: bytes, client: tuple[str, int] | None = ("10.0.0.7", 50412)
) -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "http_version": "1.1",
        "client": client,
    }


@pytest.mark.parametrize(
    ("path", "query", "client", "status"),
    [
        ("/v1/offices/o/slots", b"business=B&from=2026-12-07", ("10.0.0.7", 50412), 200),
        ("/v1/sandbox/messages", b"to=%2B8613800138000", ("127.0.0.1", 1), 404),
        ("/v1/bookings", b"", None, 409),
        ("/v1/caf\u00e9 x", b"", ("::1", 8), 599),  # quoted path, a status with no phrase
    ],
)
async def test_each_line_is_uvicorns_with_the_query_redacted(
    path: str, query: bytes, client: tuple[str, int] | None, status: int
) -> None:
    out = io.StringIO()
    log = AccessLog(out)
    log.line(_scope(path, query, client), status)
    await asyncio.sleep(0)
    client_addr = f"{client[0]}:{client[1]}" if client else ""
    full = urllib.parse.quote(path) + ("?" + query.decode() if query else "")
    assert out.getvalue() == _uvicorn_line(client_addr, "GET", full, "1.1", status)
    assert "8613800138000" not in out.getvalue()


class _Counting(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_the_lines_of_one_turn_go_out_in_one_write() -> None:
    out = _Counting()
    log = AccessLog(out)
    for status in (200, 201, 409):
        log.line(_scope("/v1/bookings", b""), status)
    assert out.writes == 0
    await asyncio.sleep(0)
    assert out.writes == 1 and out.getvalue().count("\n") == 3
    log.line(_scope("/v1/bookings", b""), 200)
    await asyncio.sleep(0)
    assert out.writes == 2


async def test_the_request_telemetry_writes_a_line_per_answer_and_for_a_failure() -> None:
    out = io.StringIO()
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    telemetry = RequestTelemetry(app, access_log=AccessLog(out))
    for path in ("/ok", "/boom"):
        scope = {**_scope(path, b"q=secret"), "headers": [], "scheme": "http", "root_path": ""}

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: object) -> None:
            pass

        with pytest.raises(RuntimeError) if path == "/boom" else contextlib.nullcontext():
            await telemetry(scope, receive, send)
    await asyncio.sleep(0)
    assert out.getvalue().splitlines() == [
        'INFO:     10.0.0.7:50412 - "GET /ok?q=REDACTED HTTP/1.1" 200 OK',
        'INFO:     10.0.0.7:50412 - "GET /boom?q=REDACTED HTTP/1.1" 500 Internal Server Error',
    ]
