"""Identity's PII sealing (round trip, random IVs, keyed look-ups, key rotation, dev
keys file) and its hash-chained audit log on real SQLite and PostgreSQL: intact
chains verify, an altered, deleted or re-linked entry is reported where it is, and
concurrent appends never fork the chain."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import logging
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, delete, select, text, update

from services.identity.adapters.pii import DEV_KEYS_FILE, PiiCipher, PiiKeyError
from services.runtime.audit import GENESIS_HASH, append, audit_table, verify
from services.runtime.config import ServiceSettings
from services.runtime.db import Database

ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
T0 = dt.datetime(2030, 1, 7, 0, 0, tzinfo=dt.UTC)

audit_metadata = MetaData()
audit_log = audit_table(audit_metadata)


def cipher(*encryption_keys: str, lookup_key: str | None = None) -> PiiCipher:
    return PiiCipher(list(encryption_keys), lookup_key or "l" * 44)


# --- PII ---------------------------------------------------------------------------


def test_a_sealed_value_opens_to_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pii = cipher(PiiCipher.generate_key())
    for plain in (ID_NUMBER, PHONE, "张三", ""):
        assert pii.open(pii.seal(plain)) == plain
    # Nothing here logs. Another thread's record is not this code's: under xdist an
    # earlier test's aiosqlite thread may still log its last operation meanwhile.
    assert not [r for r in caplog.records if r.thread == threading.get_ident()]


def test_equal_values_seal_differently_and_look_up_equally() -> None:
    pii = cipher(PiiCipher.generate_key())
    assert pii.seal(ID_NUMBER) != pii.seal(ID_NUMBER)
    assert pii.lookup(ID_NUMBER) == pii.lookup(ID_NUMBER)
    assert pii.lookup(ID_NUMBER) != pii.lookup(PHONE)
    assert len(pii.lookup(ID_NUMBER)) == 64 and int(pii.lookup(ID_NUMBER), 16) >= 0
    # The lookup hash depends on its key, and not on the encryption keys.
    key = PiiCipher.generate_key()
    assert cipher(key).lookup(PHONE) != cipher(key, lookup_key="m" * 44).lookup(PHONE)
    assert cipher(key).lookup(PHONE) == cipher(PiiCipher.generate_key()).lookup(PHONE)


def test_neither_token_nor_lookup_contains_the_plain_text() -> None:
    pii = cipher(PiiCipher.generate_key())
    for plain in (ID_NUMBER, PHONE):
        sealed, lookup = pii.seal(plain), pii.lookup(plain)
        assert plain not in sealed and plain not in lookup
        assert plain.encode() not in base64.urlsafe_b64decode(sealed)
        assert plain[-8:] not in sealed  # not even the tail of the number


def test_rotation_puts_a_new_key_first_reseals_then_drops_the_old_key() -> None:
    old, new = PiiCipher.generate_key(), PiiCipher.generate_key()
    sealed_under_old = cipher(old).seal(ID_NUMBER)
    left_unrotated = cipher(old).seal(PHONE)

    both = cipher(new, old)
    assert both.open(sealed_under_old) == ID_NUMBER
    rotated = both.rotate(sealed_under_old)
    assert rotated != sealed_under_old
    assert both.open(rotated) == ID_NUMBER

    new_only = cipher(new)
    assert new_only.open(rotated) == ID_NUMBER
    assert new_only.open(new_only.rotate(rotated)) == ID_NUMBER
    with pytest.raises(PiiKeyError) as caught:
        new_only.open(left_unrotated)
    assert isinstance(caught.value, ValueError)
    assert left_unrotated not in str(caught.value) and PHONE not in str(caught.value)
    with pytest.raises(PiiKeyError):
        new_only.rotate(left_unrotated)


@pytest.mark.parametrize("damage", ["altered", "garbage", "not ascii"])
def test_a_damaged_token_does_not_open(damage: str) -> None:
    pii = cipher(PiiCipher.generate_key())
    sealed = pii.seal(ID_NUMBER)
    bad = {
        "altered": sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB"),
        "garbage": "not a token",
        "not ascii": "令牌",
    }[damage]
    with pytest.raises(PiiKeyError) as caught:
        pii.open(bad)
    assert bad not in str(caught.value)


def test_bad_configuration_is_refused_without_echoing_keys() -> None:
    good = PiiCipher.generate_key()
    for keys, lookup_key in (([], "l" * 44), (["short-secret"], "l" * 44), ([good], "short"), ([good], good)):
        with pytest.raises(PiiKeyError) as caught:
            PiiCipher(keys, lookup_key)
        assert all(key not in str(caught.value) for key in [*keys, lookup_key])
    assert good not in repr(cipher(good))


def test_dev_keys_are_created_private_once_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = PiiCipher.for_dev(data_dir)
    path = data_dir / DEV_KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert [p.name for p in data_dir.iterdir()] == [DEV_KEYS_FILE]  # no temporary left behind

    again = PiiCipher.for_dev(data_dir)
    assert path.read_bytes() == content
    assert again.open(first.seal(ID_NUMBER)) == ID_NUMBER
    assert again.lookup(ID_NUMBER) == first.lookup(ID_NUMBER)
    assert PiiCipher.for_dev(tmp_path / "elsewhere").lookup(ID_NUMBER) != first.lookup(ID_NUMBER)


def test_a_broken_dev_keys_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / DEV_KEYS_FILE).write_text("{}")
    with pytest.raises(PiiKeyError, match=DEV_KEYS_FILE):
        PiiCipher.for_dev(tmp_path)


# --- audit log ---------------------------------------------------------------------


def make_db(tmp_path: Path, backend: dict[str, Any]) -> Database:
    settings = ServiceSettings(data_dir=tmp_path, **backend)
    return Database(settings.database_url_for("identity"), schema=settings.database_schema_for("identity"))


@pytest.fixture
async def db(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[Database]:
    database = make_db(tmp_path, backend)
    async with database.write() as conn:
        if not database.is_sqlite:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
        await conn.run_sync(audit_metadata.create_all)
    yield database
    await database.dispose()


async def append_entries(db: Database, n: int) -> None:
    pii = cipher(PiiCipher.generate_key())
    for i in range(1, n + 1):
        async with db.write() as conn:
            await append(
                conn,
                audit_log,
                actor="staff:alice",
                action="resident.read_full",
                subject=pii.lookup(f"1101051949123100{i:02d}"),
                detail={"reason": "窗口办理", "case": i, "fields": ["name", "address"]},
                at=T0 + dt.timedelta(minutes=i),
            )


async def verified(db: Database) -> Any:
    async with db.read() as conn:
        return await verify(conn, audit_log)


async def test_an_empty_log_verifies(db: Database) -> None:
    result = await verified(db)
    assert (result.ok, result.count) == (True, 0)


async def test_appended_entries_form_a_chain_that_verifies(db: Database) -> None:
    async with db.write() as conn:
        first = await append(
            conn,
            audit_log,
            actor="service:gateway",
            action="staff.sign_in",
            subject="staff:alice",
            detail={},
            at=dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        )
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert first.at == T0 and len(first.hash) == 64
    await append_entries(db, 4)
    async with db.read() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.seq))).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    result = await verified(db)
    assert (result.ok, result.count, result.bad_seq) == (True, 5, None)
    assert str(result) == "audit log intact: 5 entries"


async def test_an_entry_rolled_back_with_its_transaction_leaves_no_gap(db: Database) -> None:
    await append_entries(db, 2)
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await append(conn, audit_log, actor="a", action="b", subject="c", detail={}, at=T0)
            raise RuntimeError("the recorded action failed")
    await append_entries(db, 1)
    result = await verified(db)
    assert (result.ok, result.count) == (True, 3)


async def test_an_altered_entry_is_reported(db: Database) -> None:
    await append_entries(db, 5)
    async with db.write() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(detail='{"case":99}'))
    result = await verified(db)
    assert (result.ok, result.bad_seq, result.count) == (False, 3, 2)
    assert result.reason == "hash does not match its content"


@pytest.mark.parametrize("column", ["at", "actor", "action", "subject", "prev_hash", "hash"])
async def test_altering_any_column_is_reported(db: Database, column: str) -> None:
    await append_entries(db, 5)
    value: Any = T0 if column == "at" else "0" * 64 if column.endswith("hash") else "staff:mallory"
    async with db.write() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == 4).values({column: value}))
    result = await verified(db)
    assert (result.ok, result.bad_seq) == (False, 4)


async def test_a_forged_entry_with_a_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    await append_entries(db, 5)
    async with db.write() as conn:
        genuine = (await conn.execute(select(audit_log).where(audit_log.c.seq >= 3).order_by("seq"))).all()
        await conn.execute(delete(audit_log).where(audit_log.c.seq >= 3))
        # A forger replaces entry 3 with a self-consistent one and puts 4 and 5 back.
        await append(
            conn, audit_log, actor="staff:mallory", action="resident.read_full", subject="", detail={}, at=T0
        )
        await conn.execute(audit_log.insert(), [row._asdict() for row in genuine[1:]])
    result = await verified(db)
    assert (result.ok, result.bad_seq, result.count) == (False, 4, 3)
    assert result.reason == "prev_hash does not link to entry 3"


async def test_a_deleted_entry_is_reported_as_a_gap(db: Database) -> None:
    await append_entries(db, 5)
    async with db.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    result = await verified(db)
    assert (result.ok, result.bad_seq, result.count) == (False, 3, 1)
    assert result.reason == "a gap: entry 2 is missing"

    async with db.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == 1))
    result = await verified(db)
    assert (result.bad_seq, result.reason) == (3, "a gap: entries 1–2 are missing")


async def test_a_deleted_entry_hidden_by_renumbering_breaks_the_link(db: Database) -> None:
    await append_entries(db, 5)
    async with db.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
        for seq in (3, 4, 5):  # seq is not hashed: the link is what gives it away
            await conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(seq=seq - 1))
    result = await verified(db)
    assert (result.ok, result.bad_seq, result.count) == (False, 2, 1)
    assert result.reason == "prev_hash does not link to entry 1"


async def test_concurrent_appends_do_not_fork_the_chain(
    tmp_path: Path, backend: dict[str, Any], db: Database
) -> None:
    # Two Database objects on one file or server: on SQLite they do not share the
    # in-process writer lock, so only BEGIN IMMEDIATE keeps their writers apart.
    other = make_db(tmp_path, backend)

    async def one(i: int) -> None:
        async with (db if i % 2 else other).write() as conn:
            await append(
                conn,
                audit_log,
                actor=f"staff:s{i}",
                action="residents.import",
                subject="",
                detail={"i": i},
                at=T0,
            )
            await asyncio.sleep(0.01)  # hold the transaction open while others queue

    try:
        await asyncio.gather(*(one(i) for i in range(20)))
    finally:
        await other.dispose()
    result = await verified(db)
    assert (result.ok, result.count) == (True, 20)
    async with db.read() as conn:
        details = (await conn.execute(select(audit_log.c.detail))).scalars().all()
    assert sorted(details) == sorted(f'{{"i":{i}}}' for i in range(20))
