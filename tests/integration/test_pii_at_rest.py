"""Personal data at rest, for real on SQLite and PostgreSQL: notify keeps citizens'
addresses sealed, its migration 0002 seals rows stored in clear before it, and after
a key rotation the ``reseal`` commands of identity and notify leave every value
opening under the new key alone, so that the old key can be dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from alembic import command
from alembic.config import Config
from pydantic import SecretStr
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, insert, select

from mintong.notify.v1 import notify_pb2 as pb
from services.identity import bootstrap as identity_bootstrap
from services.identity.config import IdentitySettings
from services.notify import bootstrap as notify_bootstrap
from services.notify.adapters import orm as notify_orm
from services.notify.adapters import sandbox
from services.notify.config import NotifySettings
from services.notify.domain.model import Channel, Contacts
from services.runtime import migrations
from services.runtime.db import Database
from services.runtime.pii import PiiCipher, PiiKeyError
from tests.e2e.processes import ROOT, clean_env
from tests.integration.test_notify import Client

ID_NUMBER = "46010619920415108X"
PHONE = "13987654321"
E164 = f"+86{PHONE}"
OPENID = "o-linjing-0001"
DEVICE = "device-token-linjing-0001"
CSV = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status\n"
    f"{ID_NUMBER},林静,{PHONE},haikou,海南省海口市美兰区,2022-01-04,true,2022-01-10,2042-01-10,valid\n"
).encode()
T0 = dt.datetime(2030, 1, 7, 0, 0, tzinfo=dt.UTC)
A, B, C, LOOKUP = (PiiCipher.generate_key() for _ in range(4))
NO_QUIET_HOURS = {"notify_quiet_start": "00:00", "notify_quiet_end": "00:00"}


async def dump(db: Database, tables: list[Table]) -> str:
    """Every row of ``tables`` as text: what someone holding the database reads."""
    async with db.read() as conn:
        return "\n".join([str((await conn.execute(select(t))).all()) for t in tables])


def clear_values_in(text: str) -> list[str]:
    return [value for value in (PHONE, OPENID, DEVICE, ID_NUMBER, ID_NUMBER[:17]) if value in text]


# --- notify keeps addresses sealed ---------------------------------------------------


@pytest.fixture
async def client(notify: Any) -> AsyncIterator[Client]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{notify.host.port}") as channel:
        yield Client(channel)


async def test_notify_keeps_phones_openids_and_device_tokens_sealed(client: Client, notify: Any) -> None:
    await client.prefer(
        "c1", pb.DELIVERY_CHANNEL_SMS, phone=E164, wechat_openids={"haikou": OPENID}, app_device_token=DEVICE
    )
    await client.settled((await client.send("c1", "card_delivered", "k1", application_id="A1")).id)
    await client.behave(pb.DELIVERY_CHANNEL_SMS, pb.SANDBOX_MODE_FAIL_PERMANENTLY)
    await client.settled((await client.send("c1", "card_delivered", "k2", application_id="A2")).id)

    assert clear_values_in(await dump(notify.db, list(notify_orm.metadata.sorted_tables))) == []
    # Opened where they are needed: for the citizen's preferences, the providers and
    # the administrators' sandbox view, which finds a recipient by its keyed hash.
    answer = await client.notify.GetPreferences(
        pb.GetPreferencesRequest(citizen_id="c1"), metadata=(("x-mintong-caller", "citizen:c1"),)
    )
    assert (answer.preferences.phone, dict(answer.preferences.wechat_openids)) == (E164, {"haikou": OPENID})
    assert [m.to for m in await client.sandbox(E164)] == [E164]
    assert [m.to for m in await client.sandbox(OPENID)] == [OPENID]  # the fallback after SMS failed
    assert await client.sandbox("+8613987654320") == []


# --- migration 0002 ------------------------------------------------------------------


def alembic_config(app: Any, cipher: PiiCipher | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(notify_bootstrap.MIGRATIONS))
    cfg.attributes.update(database=app.db, pii_cipher=cipher)
    return cfg


async def test_migration_0002_seals_what_was_stored_in_clear_and_its_downgrade_opens_it(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    settings = NotifySettings(
        data_dir=tmp_path, pii_keys=SecretStr(A), pii_lookup_key=SecretStr(LOOKUP), **backend
    )
    app = notify_bootstrap.build(settings)
    try:
        await asyncio.to_thread(migrations.upgrade, app.db, notify_bootstrap.MIGRATIONS, "0001")
        async with app.db.write() as conn:  # rows as 0001's code wrote them
            await conn.execute(
                insert(_contacts_0001()).values(
                    citizen_id="c1",
                    language="zh-CN",
                    preferred="sms",
                    phone=E164,
                    wechat_openids={"haikou": OPENID},
                    app_device_token=DEVICE,
                    updated_at=T0,
                )
            )
            await conn.execute(
                insert(notify_orm.messages).values(  # unchanged by 0002
                    id="m1",
                    citizen_id="c1",
                    template="card_delivered",
                    city_code="haikou",
                    language="zh-CN",
                    variables={"application_id": "A1"},
                    urgent=False,
                    source_key="k1",
                    title="t",
                    body="b",
                    created_at=T0,
                )
            )
            await conn.execute(insert(_deliveries_0001()).values(**DELIVERY_0001))
            await conn.execute(insert(_sandbox_0001()).values(**SANDBOX_0001))

        with pytest.raises(RuntimeError, match=r"services\.notify migrate"):
            await asyncio.to_thread(migrations.upgrade, app.db, notify_bootstrap.MIGRATIONS)
        await asyncio.to_thread(app.migrate)  # rolled back above, so it runs whole now

        assert clear_values_in(await dump(app.db, list(notify_orm.metadata.sorted_tables))) == []
        async with app.notifier.uow.read() as store:
            contacts = await store.get_contacts("c1")
            message = await store.get_message("m1")
        assert contacts == Contacts("c1", "zh-CN", Channel.SMS, E164, {"haikou": OPENID}, DEVICE)
        assert message is not None and [d.address for d in message.deliveries] == [E164]
        assert [r.to for r in await sandbox.recorded(app.db, app.cipher, E164, 10)] == [E164]

        await asyncio.to_thread(command.downgrade, alembic_config(app, app.cipher), "0001")
        async with app.db.read() as conn:
            phone = (await conn.execute(select(_deliveries_0001().c.address))).scalar_one()
        assert phone == E164
    finally:
        await app.db.dispose()


def _contacts_0001() -> Table:
    return Table(
        "contacts",
        MetaData(),
        *(Column(n, String) for n in ("citizen_id", "language", "preferred", "phone", "app_device_token")),
        Column("wechat_openids", JSON),
        Column("updated_at", DateTime(timezone=True)),
    )


def _deliveries_0001() -> Table:
    return Table(
        "deliveries",
        MetaData(),
        *(Column(n, String) for n in ("id", "message_id", "channel", "address", "title", "body", "status")),
        *(Column(n, String) for n in ("reason", "provider", "provider_ref")),
        Column("position", Integer),
        Column("attempts", Integer),
        Column("due_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True)),
        Column("trace_context", JSON),
    )


def _sandbox_0001() -> Table:
    return Table(
        "sandbox_records",
        MetaData(),
        Column("seq", Integer, primary_key=True),
        *(Column(n, String) for n in ("provider", "channel", "to", "title", "body", "delivery_id")),
        Column("recorded_at", DateTime(timezone=True)),
    )


DELIVERY_0001 = {
    "id": "d1",
    "message_id": "m1",
    "channel": "sms",
    "position": 1,
    "address": E164,
    "title": "t",
    "body": "b",
    "status": "delivered",
    "reason": "",
    "attempts": 1,
    "due_at": T0,
    "updated_at": T0,
    "trace_context": {},
}
SANDBOX_0001 = {
    "seq": 1,
    "provider": "sandbox_sms",
    "channel": "sms",
    "to": E164,
    "title": "t",
    "body": "b",
    "delivery_id": "d1",
    "recorded_at": T0,
}


# --- key rotation ---------------------------------------------------------------------


def reseal_command(service: str, tmp_path: Path, backend: dict[str, Any], keys: str) -> str:
    env = clean_env(tmp_path, MINTONG_PII_KEYS=keys, MINTONG_PII_LOOKUP_KEY=LOOKUP)
    if backend:
        env.update(
            MINTONG_DATABASE_URL=backend["database_url"], MINTONG_DB_SCHEMA_PREFIX=backend["db_schema_prefix"]
        )
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}", "reseal", "--batch", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert PHONE not in done.stdout + done.stderr and ID_NUMBER not in done.stdout + done.stderr
    return done.stdout


async def test_rotation_reseals_under_the_new_key_and_then_the_old_key_can_go(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    def identity(keys: str) -> Any:
        return identity_bootstrap.build(
            IdentitySettings(
                data_dir=tmp_path, pii_keys=SecretStr(keys), pii_lookup_key=SecretStr(LOOKUP), **backend
            )
        )

    def notify(keys: str) -> Any:
        return notify_bootstrap.build(
            NotifySettings(
                data_dir=tmp_path,
                pii_keys=SecretStr(keys),
                pii_lookup_key=SecretStr(LOOKUP),
                **backend,
                **NO_QUIET_HOURS,  # type: ignore[arg-type]  # strings pydantic parses
            )
        )

    # Under key A: a resident imported; a message sent and recorded by the SMS sandbox.
    app = identity(A)
    await asyncio.to_thread(app.migrate)
    assert (await app.imports.run_file(CSV, "csv", actor="admin:test")).imported
    await app.db.dispose()
    note = notify(A)
    await asyncio.to_thread(note.migrate)
    await note.notifier.set_contacts(
        Contacts(
            "c1",
            preferred=Channel.SMS,
            phone=E164,
            wechat_openids={"haikou": OPENID},
            app_device_token=DEVICE,
        )
    )
    sent = await note.notifier.send(
        citizen_id="c1",
        template="card_delivered",
        variables={"application_id": "A1"},
        city_code="haikou",
        source_key="k1",
    )
    assert await note.notifier.deliver_due() == 1
    await note.db.dispose()

    # Key B first, A still listed: each command re-seals everything once, in batches of one row.
    assert reseal_command("identity", tmp_path, backend, f"{B},{A}").splitlines() == [
        "residents: 1 rows, 4 sealed values, 4 re-sealed",
        "bindings: 0 rows, 0 sealed values, 0 re-sealed",
        "import_chunks: 0 rows, 0 sealed values, 0 re-sealed",  # deleted when its import ended
    ]
    assert reseal_command("notify", tmp_path, backend, f"{B},{A}").splitlines() == [
        "contacts: 1 rows, 3 sealed values, 3 re-sealed",
        "deliveries: 2 rows, 2 sealed values, 2 re-sealed",  # the inbox copy and the SMS
        "sandbox_records: 1 rows, 1 sealed values, 1 re-sealed",
    ]
    assert reseal_command("notify", tmp_path, backend, f"{B},{A}").splitlines()[0].endswith(", 0 re-sealed")

    # Only B: everything opens. Only A: nothing does any more.
    app = identity(B)
    try:
        async with app.uow.read() as store:
            resident = await store.resident_by_lookup(app.cipher.lookup(ID_NUMBER))
        assert resident is not None and (resident.id_number, resident.phone) == (ID_NUMBER, E164)
    finally:
        await app.db.dispose()
    note = notify(B)
    try:
        async with note.notifier.uow.read() as store:
            contacts = await store.get_contacts("c1")
            message = await store.get_message(sent.id)
        assert contacts is not None and (contacts.phone, contacts.app_device_token) == (E164, DEVICE)
        assert message is not None and {d.address for d in message.deliveries} == {"c1", E164}
        assert [r.to for r in await sandbox.recorded(note.db, note.cipher, E164, 10)] == [E164]

        # A token no configured key opens is named by its row, never shown, and skipped.
        async with note.db.write() as conn:
            await conn.execute(
                notify_orm.contacts.insert().values(
                    citizen_id="c2",
                    language="zh-CN",
                    phone_sealed=PiiCipher([C], LOOKUP).seal(E164),
                    updated_at=T0,
                )
            )
        reports = await note.reseal()
        assert (reports[0].table, reports[0].resealed, reports[0].unopenable) == (
            "contacts",
            0,
            ["c2.phone_sealed"],
        )
        assert E164 not in str(reports[0])
    finally:
        await note.db.dispose()
    app = identity(A)
    try:
        with pytest.raises(PiiKeyError):
            async with app.uow.read() as store:
                await store.resident_by_lookup(app.cipher.lookup(ID_NUMBER))
    finally:
        await app.db.dispose()
