"""The HTTP protocol the gateway serves with: uvicorn's (httptools), each answer
written to its socket in one piece (decision 119).

uvicorn writes an answer's status line and headers when the app sends
``http.response.start`` and the body when it sends ``http.response.body``: two
``send(2)`` calls, two TCP segments, two wake-ups of the client, for the few hundred
bytes of a refusal or a booking. On loopback a ``send(2)`` runs the receiving side's
TCP stack too, and the two were a fifth of the gateway's CPU under a crowd of
refusals (docs/performance.md, *Vacancy at the edge*, session 11). Here what a
connection writes during one turn of the event loop goes out together at the end of
that turn: the head and the body of an answer, which the app sends one right after
the other, are one write. Nothing waits longer than the turn: a streamed answer's
head (the halls' boards) leaves when its turn ends, each later chunk at the end of
its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWriteTransport:
    """``transport`` with the writes of one turn of the event loop gathered into one.
    Everything else is the transport's own; closing it writes what is gathered first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        # The peer may have gone within the turn: what it would have got is dropped,
        # as the transport itself drops writes after it is closed.
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`OneWriteTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWriteTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        # A whole answer leaves at once, not at the end of the turn: a crowd's
        # requests read in one turn are served in the next, and each answer, a 503
        # or the first bookings', waited there for the last of them (decision 126).
        # Its head and body were gathered already: still one write.
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
