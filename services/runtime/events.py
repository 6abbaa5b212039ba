"""NATS JetStream plumbing: event subjects, the stream configuration and one
connection per process that survives NATS being down.

Subjects come from the ``(mintong.events.v1.subject)`` option on each event
message; streams come from ``deploy/nats/streams.yaml``. Neither is spelled
anywhere else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import nats
import yaml
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, BadRequestError, NoStreamResponseError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from mintong.events.v1 import options_pb2

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"  # JetStream's de-duplication header
#: JetStream stores the message only if the stream's last one has this Nats-Msg-Id.
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
EVENT_TYPE = "Mintong-Event-Type"  # full proto name of the payload


def subject_of(message: Message | type[Message]) -> str:
    options = message.DESCRIPTOR.GetOptions()
    subject: str = options.Extensions[options_pb2.subject]  # type: ignore[index]  # stubs lag
    if not subject:
        raise ValueError(f"{message.DESCRIPTOR.full_name} declares no (mintong.events.v1.subject)")
    return subject


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: list[str]
    max_age_days: float
    duplicate_window_seconds: float

    def covers(self, subject: str) -> bool:
        return any(_matches(pattern, subject) for pattern in self.subjects)

    def config(self, replicas: int) -> api.StreamConfig:
        return api.StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            max_age=self.max_age_days * 86400,
            duplicate_window=self.duplicate_window_seconds,
            num_replicas=replicas,
        )


def _matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: ``*`` is one token, ``>`` one or more trailing tokens."""
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or token not in ("*", s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


def load_streams(path: Path) -> list[StreamSpec]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        StreamSpec(
            name=item["name"],
            subjects=list(item["subjects"]),
            max_age_days=float(item.get("max_age_days", 30)),
            duplicate_window_seconds=float(item.get("duplicate_window_seconds", 120)),
        )
        for item in document["streams"]
    ]


class EventBus:
    """One NATS connection for a process. ``start`` returns at once; the connection
    is made in the background and retried forever, so a service serves requests
    (and its outbox fills) while NATS is down."""

    def __init__(self, url: str, name: str, streams: list[StreamSpec], replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.streams = streams
        self.replicas = replicas
        self.nc: NATS | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._pipeline: Pipeline | None = None
        #: Run with the JetStream context at every connection and stream repair
        #: (a key-value bucket a service owns: services/runtime/revocations.py).
        self.setup: list[Callable[[JetStreamContext], Awaitable[object]]] = []
        #: Called when the connection comes back after a loss.
        self.on_reconnect: list[Callable[[], None]] = []
        #: Called when the connection is lost (what was watched may go stale unseen).
        self.on_disconnect: list[Callable[[], None]] = []

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"nats-connect-{self.name}")

    async def jetstream(self) -> JetStreamContext:
        await self._ready.wait()
        assert self.nc is not None
        return self.nc.jetstream()

    async def pipeline(self) -> Pipeline:
        """The process's :class:`Pipeline` (made at the first call, on the connection,
        which keeps its subscription across reconnects)."""
        await self._ready.wait()
        assert self.nc is not None
        if self._pipeline is None or self._pipeline.nc is not self.nc:
            self._pipeline = Pipeline(self.nc)
        return self._pipeline

    async def _connect(self) -> None:
        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=0.2, max=5),
            retry=retry_if_exception_type(Exception),
            before_sleep=lambda state: log.warning(
                "NATS at %s not reachable (%s); retrying",
                self.url,
                state.outcome.exception() if state.outcome else "?",
            ),
        )
        async for attempt in retrying:
            with attempt:
                nc = await nats.connect(
                    # Several URLs, comma-separated, name the nodes of a cluster: the
                    # client starts at any that answers and moves to another when one
                    # goes down (it also learns the others from the one it reaches).
                    servers=[url.strip() for url in self.url.split(",") if url.strip()],
                    name=self.name,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                try:
                    await ensure_streams(nc.jetstream(), self.streams, self.replicas)
                    for step in self.setup:
                        await step(nc.jetstream())
                except Exception:
                    await nc.close()
                    raise
        self.nc = nc
        self._ready.set()
        log.info("connected to NATS at %s", self.url)

    async def ensure_streams(self) -> None:
        """Create the streams again, e.g. after NATS lost its store."""
        js = await self.jetstream()
        await ensure_streams(js, self.streams, self.replicas)
        for step in self.setup:
            await step(js)

    # One line per event while NATS is away, instead of nats-py's tracebacks.
    async def _on_error(self, error: Exception) -> None:
        log.warning("NATS %s: %s", self.url, error or type(error).__name__)

    async def _on_disconnected(self) -> None:
        if not self._closing:  # our own close() disconnects too: nothing to report
            log.warning("disconnected from NATS at %s; reconnecting", self.url)
            for callback in self.on_disconnect:
                callback()

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", self.url)
        for callback in self.on_reconnect:
            callback()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.nc is not None:
            # close, not drain: the relay waits for its batch's acks (a row whose ack
            # is lost stays unsent and goes out again), and drain waits up to 30 s on
            # a consumer's open pull request.
            try:
                await self.nc.close()
            except OSError as exc:  # the server went first: nothing left to flush
                log.info("NATS connection closed uncleanly: %s", exc)


async def ensure_streams(js: JetStreamContext, streams: list[StreamSpec], replicas: int) -> None:
    """Create the streams, or bring an existing one to the configured settings."""
    for spec in streams:
        config = spec.config(replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


class Pipeline:
    """JetStream publishes sent back to back, each answered by a future of its ack,
    so that a batch costs one flush and one wait rather than a round trip each (the
    outbox relay, decision 102). nats-py's own ``publish_async`` (2.16) is not used:
    its reply handler raises the server's refusal instead of setting it on the
    future (``APIError.from_error`` raises), so a refused publish would never be
    answered. A future nobody waits for any more is dropped with :meth:`forget`."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self._prefix = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[dict[str, object]]] = {}

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[dict[str, object]]:
        """Send the message; the future gets the ack (``{"stream", "seq",
        "duplicate"?}``) or the server's refusal as :class:`APIError`
        (:class:`NoStreamResponseError` when no stream takes the subject)."""
        if not self._prefix:
            prefix = self.nc.new_inbox() + "."
            await self.nc.subscribe(prefix + "*", cb=self._answer)
            self._prefix = prefix
        token = str(next(self._tokens))
        future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except BaseException:
            del self._waiting[token]
            raise
        return future

    def forget(self, futures: list[asyncio.Future[dict[str, object]]]) -> None:
        """Stop waiting for these acks (timed out, or the batch was given up)."""
        gone = {id(f) for f in futures}
        for token in [t for t, f in self._waiting.items() if id(f) in gone]:
            self._waiting.pop(token).cancel()

    async def _answer(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._prefix) :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get(api.Header.STATUS) == "503":  # no responders
            future.set_exception(NoStreamResponseError())
            return
        try:
            answer = json.loads(msg.data)
            if "error" in answer:
                APIError.from_error(answer["error"])  # raises the refusal's own class
            future.set_result(answer)
        except Exception as exc:  # a refusal, or an answer that is no JSON
            future.set_exception(exc)
