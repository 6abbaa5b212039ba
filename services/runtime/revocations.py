"""Revoked sessions, told to every gateway process through a JetStream key-value
bucket: the key is the session id, written when a session ends before its tokens
do (sign-out, a staff account disabled or changed, a channel binding removed).

Identity writes the entries through its outbox (``$KV.<bucket>.<session id>`` is a
subject like any other), in the transaction that ends the session, so a revocation
is never lost while NATS is down: the relay publishes it when NATS is back, and the
relay is woken at the commit, so it leaves at once otherwise. Entries expire with
the bucket's TTL, which identity sets to the longest lifetime a token can have:
after that every token of the session has expired anyway.

Every gateway process watches the bucket (:class:`RevocationWatcher`): it reads
the current entries first (a gateway started after a sign-out knows it before it
checks a token), then follows new ones as they come.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.runtime.bucket_watch import BucketWatch
from services.runtime.events import EventBus
from services.runtime.outbox import add_messages

log = logging.getLogger(__name__)

BUCKET = "mintong_revoked_sessions"
#: The outbox rows' event type: no proto, the value is a short reason.
ENTRY_TYPE = "mintong.kv.revoked_session"


def subject(session_id: str) -> str:
    return f"$KV.{BUCKET}.{session_id}"


async def add_revocations(conn: AsyncConnection, outbox: Table, session_ids: list[str], reason: str) -> None:
    """Revoke ``session_ids`` for every gateway, in the caller's transaction."""
    await add_messages(conn, outbox, [(subject(sid), ENTRY_TYPE, reason.encode()) for sid in session_ids])


async def ensure_bucket(js: JetStreamContext, ttl: dt.timedelta) -> KeyValue:
    """Create the bucket, or bring its TTL to ``ttl`` (a longer token lifetime set
    since): only the TTL is ever changed."""
    config = KeyValueConfig(bucket=BUCKET, ttl=ttl.total_seconds(), history=1)
    try:
        return await js.create_key_value(config)
    except BadRequestError:  # it exists with another TTL
        info = await js.stream_info(f"KV_{BUCKET}")
        info.config.max_age = ttl.total_seconds()
        info.config.duplicate_window = min(120.0, ttl.total_seconds())
        await js.update_stream(info.config)
        return await js.key_value(BUCKET)


class RevocationWatcher(BucketWatch):
    """A gateway process's view of the revoked sessions: the bucket's entries, and
    the sessions this process saw signed out itself (those apply before NATS has
    carried them back)."""

    name = "revocation-watcher"
    bucket = BUCKET
    owner = "identity"
    label = "revocation watch"

    def __init__(self, bus: EventBus, *, retry: float = 1.0) -> None:
        super().__init__(bus, retry=retry)
        #: session id → when this process learnt it (monotonic seconds).
        self._revoked: dict[str, float] = {}
        self._ttl = 13 * 3600.0  # until the bucket says

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._revoked

    def __len__(self) -> int:
        return len(self._revoked)

    def add(self, session_id: str) -> None:
        self._revoked[session_id] = time.monotonic()
        self._prune()

    async def wait_for(self, session_id: str) -> None:
        """Until ``session_id`` is known revoked (tests; the latency benchmark)."""
        await self.wait_until(lambda: session_id in self._revoked)

    async def opened(self, kv: KeyValue) -> None:
        status = await kv.status()
        if status.ttl:
            self._ttl = float(status.ttl)

    def loaded(self) -> None:
        log.info("revocation watch: %d revoked sessions known", len(self._revoked))

    def on_entry(self, entry: KeyValue.Entry) -> None:
        if entry.operation is None and entry.key:  # a put (not a delete or purge)
            self.add(entry.key)

    def _prune(self) -> None:
        """Forget what the bucket has forgotten: every token of those sessions is
        expired by now (bounded memory in a long-running process)."""
        oldest = time.monotonic() - self._ttl
        if self._revoked and next(iter(self._revoked.values())) < oldest:
            self._revoked = {k: v for k, v in self._revoked.items() if v >= oldest}
