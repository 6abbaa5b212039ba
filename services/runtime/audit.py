"""An append-only, hash-chained audit log, one per service database.

Every access to a resident's full record and every staff action is one entry, in
the log of the service that did it (identity: sign-ins, the register, staff
accounts; booking: catalogue changes and clerks' views of bookings; notify: the
sandbox's messages), written in the same transaction as the action. Each
entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's own
content, so the entries form a chain: altering an entry's content breaks its own
hash, and deleting or re-linking one breaks the link of the entry after it (and a
forger who recomputes one hash breaks the link of every entry after it).
:func:`verify` walks the chain and reports the first entry that does not hold.

What the chain cannot do on its own: someone with write access to the database can
rewrite the whole chain from the altered entry onwards, or cut entries off its end,
and it will verify. So the latest ``hash`` (with its ``seq``) should also be exported
regularly to a place those people cannot write (a WORM bucket, another team's
system, a signed daily report); a chain that no longer contains an exported head is
then proven rewritten. This module does not do that export.

Entries carry no personal data in clear: ``subject`` is e.g. a resident's lookup
hash (never an ID number), and ``detail`` holds only what an auditor needs.

``seq`` is given by :func:`append` (last + 1) rather than by a database sequence: a
PostgreSQL sequence is not rolled back with its transaction, so an append whose
transaction failed would leave a gap that looks like a deleted entry; and two
appends that read the same last entry would collide on the primary key instead of
forking the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.runtime import context
from services.runtime.db import Database

GENESIS_HASH = "0" * 64

# SQLite's INTEGER PRIMARY KEY is its rowid; PostgreSQL gets a bigint.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

_VERIFY_BATCH = 1000


def audit_table(metadata: MetaData, name: str = "audit_log") -> Table:
    """Attach the audit table to a service's metadata."""
    return Table(
        name,
        metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("detail", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Index(f"ix_{name}_subject", "subject", "seq"),
    )


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` with ``count`` entries checked, or the first bad entry and why."""

    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.count} entries"
        return (
            f"audit log tampered at entry {self.bad_seq}: {self.reason} ({self.count} entries before it hold)"
        )


async def append(
    conn: AsyncConnection,
    table: Table,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    at: dt.datetime,
) -> AuditEntry:
    """Append an entry inside the caller's (write) transaction, so that it commits
    or rolls back with the action it records."""
    [entry] = await append_many(
        conn, table, [Entry(actor=actor, action=action, subject=subject, detail=detail, at=at)]
    )
    return entry


@dataclass(frozen=True)
class Entry:
    """An entry to append: who did what to whom, when."""

    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    at: dt.datetime


async def append_many(conn: AsyncConnection, table: Table, entries: Sequence[Entry]) -> list[AuditEntry]:
    """Append ``entries`` in order, chained, inside the caller's (write) transaction:
    the log's end is locked and read once and the entries written in one statement
    (a batch of card changes: one entry each, not three statements each)."""
    if not entries:
        return []
    for entry in entries:
        if entry.at.tzinfo is None:
            raise ValueError("an audit entry's time must be timezone-aware")
    if conn.dialect.name == "postgresql":
        # Appenders queue here until the holder commits, then read its entry as the
        # last one. Per schema: the same table name in another schema is another log.
        await conn.execute(_LOCK_LOG, {"name": table.name})
    # SQLite needs nothing more: Database.write() begins IMMEDIATE, one writer at a time.
    last = (
        await conn.execute(select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1))
    ).first()
    seq, prev_hash = (int(last.seq), str(last.hash)) if last else (0, GENESIS_HASH)
    made: list[AuditEntry] = []
    rows: list[dict[str, Any]] = []
    for entry in entries:
        at = entry.at.astimezone(dt.UTC)
        detail_text = _canonical(entry.detail)  # also refuses what JSON cannot hold
        seq += 1
        digest = _digest(
            prev_hash,
            at=at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            detail=entry.detail,
        )
        made.append(
            AuditEntry(
                seq, at, entry.actor, entry.action, entry.subject, json.loads(detail_text), prev_hash, digest
            )
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "detail": detail_text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    await conn.execute(table.insert(), rows)
    return made


_LOCK_LOG = text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || :name))")


async def record(
    conn: AsyncConnection, table: Table, action: str, subject: str, detail: dict[str, Any]
) -> None:
    """:func:`append` an action of the caller the gateway named for this request
    (``admin:<id>``, ``clerk:<id>@<office>``, …), now."""
    await append(
        conn,
        table,
        actor=str(context.caller.get()),
        action=action,
        subject=subject,
        detail=detail,
        at=dt.datetime.now(dt.UTC),
    )


async def verify(conn: AsyncConnection, table: Table) -> VerifyResult:
    """Recompute every hash and link in ``seq`` order; the first failure wins."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    while True:
        rows = (
            await conn.execute(
                select(table).where(table.c.seq >= expected_seq).order_by(table.c.seq).limit(_VERIFY_BATCH)
            )
        ).all()
        if not rows:
            return VerifyResult(ok=True, count=count)
        for row in rows:
            if not _content_holds(row):
                return VerifyResult(False, count, row.seq, "hash does not match its content")
            if row.seq != expected_seq:
                missing = (
                    f"entry {expected_seq} is"
                    if row.seq == expected_seq + 1
                    else f"entries {expected_seq}–{row.seq - 1} are"
                )
                return VerifyResult(False, count, row.seq, f"a gap: {missing} missing")
            if row.prev_hash != prev_hash:
                link = f"entry {expected_seq - 1}" if expected_seq > 1 else "the start of the log"
                return VerifyResult(False, count, row.seq, f"prev_hash does not link to {link}")
            expected_seq, prev_hash, count = expected_seq + 1, row.hash, count + 1


def _content_holds(row: Any) -> bool:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        return False
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)  # SQLite keeps UTC, naive
    digest = _digest(
        row.prev_hash, at=at, actor=row.actor, action=row.action, subject=row.subject, detail=detail
    )
    return digest == row.hash


def _digest(
    prev_hash: str, *, at: dt.datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> str:
    content = _canonical(
        {
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def _canonical(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 as is, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


async def verify_command(db: Database, table: Table) -> int:
    """The ``verify-audit`` command of every service: print the result, exit code."""
    try:
        async with db.read() as conn:
            result = await verify(conn, table)
        print(result)
        return 0 if result.ok else 1
    finally:
        await db.dispose()
