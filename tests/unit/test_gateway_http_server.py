"""The gateway's HTTP protocol (decision 119): an answer's head and body written to
the socket in one piece, nothing held past the turn of the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from gateway.http_server import OneWriteHttpToolsProtocol, OneWriteTransport


class Recorded:
    """A transport that records its writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("10.0.0.7", 50412)}.get(name, default)


async def test_the_writes_of_a_turn_go_out_as_one() -> None:
    recorded = Recorded()
    transport = OneWriteTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 409 Conflict\r\n\r\n")
    transport.write(bytearray(b'{"code":"slot_full"}'))
    assert recorded.writes == []
    await asyncio.sleep(0)
    assert recorded.writes == [b'HTTP/1.1 409 Conflict\r\n\r\n{"code":"slot_full"}']
    # A later turn's write is its own, and the transport's other parts are its own.
    transport.write(b"data: 1\n\n")
    await asyncio.sleep(0)
    assert recorded.writes[1:] == [b"data: 1\n\n"]
    assert transport.get_extra_info("peername") == ("10.0.0.7", 50412)


async def test_closing_writes_what_is_gathered_first() -> None:
    recorded = Recorded()
    transport = OneWriteTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
    transport.close()
    assert recorded.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"]
    assert recorded.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing more to write
    assert len(recorded.writes) == 1


async def test_a_peer_gone_within_the_turn_gets_nothing() -> None:
    recorded = Recorded()
    transport = OneWriteTransport(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    recorded.closed = True  # connection_lost closed it underneath
    await asyncio.sleep(0)
    assert recorded.writes == []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n in range(3):
            await send({"type": "http.response.body", "body": b"chunk%d" % n, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    body = scope["path"].encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[str]:
    """The app served with the gateway's protocol on a Unix socket, as uvicorn's
    server makes its connections."""
    path = str(tmp_path / "gateway.sock")
    config = uvicorn.Config(app, http=OneWriteHttpToolsProtocol, log_level="warning", lifespan="off")
    config.load()
    state, loop = ServerState(), asyncio.get_running_loop()
    server = await loop.create_unix_server(lambda: OneWriteHttpToolsProtocol(config, state, {}, loop), path)
    try:
        yield path
    finally:
        server.close()
        await server.wait_closed()


async def test_answers_pipelined_streamed_and_closed_through_uvicorn(tmp_path: Path) -> None:
    async with serving(tmp_path) as path:
        reader, writer = await asyncio.open_unix_connection(path)
        # Two requests at once on a kept-alive connection: both answered, in order.
        writer.write(b"GET /one HTTP/1.1\r\nhost: g\r\n\r\nGET /two HTTP/1.1\r\nhost: g\r\n\r\n")
        for expected in (b"/one", b"/two"):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert await reader.readexactly(len(expected)) == expected
        # A streamed answer: chunked, every chunk delivered.
        writer.write(b"GET /stream HTTP/1.1\r\nhost: g\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head
        streamed = await reader.readuntil(b"0\r\n\r\n")
        assert [part for part in streamed.split(b"\r\n") if b"chunk" in part] == [
            b"chunk0",
            b"chunk1",
            b"chunk2",
        ]
        # Connection: close: the answer whole, then the end of the stream.
        writer.write(b"GET /last HTTP/1.1\r\nhost: g\r\nconnection: close\r\n\r\n")
        answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n/last")
        writer.close()
        await writer.wait_closed()
