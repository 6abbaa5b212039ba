"""The gateway's access log: one line per answered request, as uvicorn wrote it
(``INFO:     127.0.0.1:50412 - "GET /v1/offices/o/slots?business=REDACTED HTTP/1.1"
200 OK``), written by the request's telemetry middleware from what it already holds
(decision 107).

uvicorn's own access log went through the logging machinery for every request (a
record, two filters, a copied record for its formatter, the status phrase looked
up, a write and a flush of its own): an eighth of a slot list's CPU in the gateway
(docs/performance.md). Here the line is one f-string, the query redacted as the
span's URL is (gateway/privacy.py), and the lines of one turn of the event loop go
out in one write: at a few thousand requests a second that is one write for many
lines; a lone request's line is written at the end of its own turn, as before.
"""

from __future__ import annotations

import asyncio
import functools
import http
import urllib.parse
from typing import TextIO

from starlette.types import Scope

from gateway.privacy import redact_query


@functools.lru_cache(maxsize=1024)
def _quoted(path: str) -> str:
    # As uvicorn quoted it; paths repeat (a slot list's office, the bookings route).
    return urllib.parse.quote(path)


@functools.cache
def _status(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} "


class AccessLog:
    """Lines for ``stream`` (the process's standard output, where uvicorn wrote
    them), gathered over a turn of the event loop and written together."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._pending: list[str] = []

    def line(self, scope: Scope, status: int) -> None:
        client = scope.get("client")
        path = _quoted(scope["path"])
        if query := scope.get("query_string"):
            path += "?" + redact_query(query.decode("latin-1"))
        self._pending.append(
            f"INFO:     {f'{client[0]}:{client[1]:d}' if client else ''} - "
            f'"{scope["method"]} {path} HTTP/{scope["http_version"]}" {_status(status)}\n'
        )
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        if lines:
            self.stream.write("".join(lines))
            self.stream.flush()
