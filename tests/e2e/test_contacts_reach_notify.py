"""Notify learns every citizen's contacts from identity, through events: the
register's phone at import and when a re-import changes it, a bound WeChat openid
and APP device and their removal; sealed all the way, in the stream's store too.
And the backfill that covers residents imported before identity told notify."""

from __future__ import annotations

from typing import Any

import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete, func, select, update

from services.identity.adapters import orm
from services.identity.adapters.channel_store import SqlChannelStore
from services.identity.service_layer import contacts
from services.notify.domain.model import Contacts
from tests.e2e.conftest import Platform
from tests.e2e.test_channels import b64, bind_wechat, otp_sign_in, wechat_sign_in
from tests.e2e.test_identity import CSV, ZHANG, bearer, import_file, load_register
from tests.integration.test_notify import eventually

PHONE = "+8613800138001"


async def contacts_in_notify(platform: Platform, citizen_id: str) -> Contacts:
    found: Contacts = await platform.notify.notifier.get_contacts(citizen_id)
    return found


async def outbox_rows(platform: Platform) -> int:
    async with platform.identity.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(orm.outbox))).scalar_one())


async def test_notify_learns_the_phone_bindings_and_their_removal(platform: Platform) -> None:
    await load_register(platform)
    signed_in = await otp_sign_in(platform, "wechat")
    citizen = signed_in["citizen_id"]

    async def phone_known() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if found.phone == PHONE else None

    assert (await eventually(phone_known)).wechat_openids == {}

    # A WeChat openid bound: notify can reach the citizen on WeChat in that city.
    bound = await bind_wechat(platform, signed_in["access_token"], "zhang.1")
    assert bound.status_code == 201, bound.text

    async def openid_known() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if found.wechat_openids else None

    learned = await eventually(openid_known)
    assert list(learned.wechat_openids) == ["haikou"]
    assert learned.wechat_openids["haikou"].startswith("sandbox-") and learned.phone == PHONE

    # An APP device bound too: its id is the push address.
    on_app = await otp_sign_in(platform, "app", already=1)
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    device = await platform.http.post(
        "/v1/me/bindings/app",
        json={"device_id": "ios-7f3a2b1c-4d5e", "public_key": b64(key), "label": "iPhone"},
        headers=bearer(platform, on_app["access_token"], "app"),
    )
    assert device.status_code == 201, device.text

    async def device_known() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if found.app_device_token == "ios-7f3a2b1c-4d5e" else None

    await eventually(device_known)

    # Removed: notify forgets the openid (and keeps the phone and the device).
    removed = await platform.http.delete(
        f"/v1/me/bindings/{bound.json()['id']}", headers=bearer(platform, on_app["access_token"], "app")
    )
    assert removed.status_code == 204, removed.text

    async def openid_forgotten() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if not found.wechat_openids else None

    forgotten = await eventually(openid_forgotten)
    assert (forgotten.phone, forgotten.app_device_token) == (PHONE, "ios-7f3a2b1c-4d5e")

    # Nothing in the stream's store says who the citizen is or where they are reached.
    stored = await _identity_stream(platform)
    assert stored and all(
        b"13800138001" not in m and b"sandbox-" not in m and b"ios-7f3a" not in m for m in stored
    )


async def test_a_reimport_tells_notify_a_changed_phone_and_nothing_else(platform: Platform) -> None:
    first = await load_register(platform)
    assert first["imported"] == 2
    before = await outbox_rows(platform)
    assert before == 2  # one per new resident

    again = await load_register(platform)  # the same file: nothing changed
    assert again["unchanged"] == 2 and await outbox_rows(platform) == before

    changed = CSV.replace("13800138001", "13800138002")
    assert (await import_file(platform, changed.encode()))["updated"] == 1
    assert await outbox_rows(platform) == before + 1  # only 张伟's phone changed

    async with platform.identity.uow.read() as store:
        resident = await store.resident_by_lookup(platform.identity.cipher.lookup(ZHANG))
    assert resident is not None

    async def new_phone_known() -> Contacts | None:
        found = await contacts_in_notify(platform, resident.citizen_id)
        return found if found.phone == "+8613800138002" else None

    await eventually(new_phone_known)


async def test_residents_imported_before_reach_notify_by_the_backfill(platform: Platform) -> None:
    """As on a data dir of before: residents there, no event of theirs, the backfill
    not run. Running it (what the identity process does at start) tells notify."""
    app = platform.identity
    result = await import_file(platform, CSV.encode())
    assert result["imported"] == 2
    async with app.db.write() as conn:
        await conn.execute(delete(orm.outbox))
        await conn.execute(delete(orm.backfills))
    async with app.uow.read() as store:
        citizens = await store.citizens_after("", 10)
    assert len(citizens) == 2

    assert await contacts.publish_all(app.uow, batch=1) == 2  # resumable, one citizen a batch
    assert await contacts.publish_all(app.uow) == 0  # done: the next start publishes nothing
    app.host.wake_relay()

    async def all_known() -> bool:
        return all([(await contacts_in_notify(platform, c)).phone for c in citizens])

    await eventually(all_known)
    assert await contacts.publish_all(app.uow, restart=True) == 2  # republish-contacts


async def test_a_binding_made_before_subjects_were_kept_reaches_notify_at_its_next_sign_in(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[str] = []
    keep_subject = SqlChannelStore.keep_subject

    async def counted(self: SqlChannelStore, binding_id: str, subject: str) -> bool:
        kept.append(binding_id)
        return await keep_subject(self, binding_id, subject)

    monkeypatch.setattr(SqlChannelStore, "keep_subject", counted)
    await load_register(platform)
    signed_in = await otp_sign_in(platform, "wechat")
    citizen = signed_in["citizen_id"]
    assert (await bind_wechat(platform, signed_in["access_token"], "zhang.1")).status_code == 201
    # A binding that keeps its subject: signing in seals and writes nothing more.
    assert (await wechat_sign_in(platform, "zhang.4")).status_code == 200
    assert kept == []
    # As bound before identity kept subjects: only the keyed hash is left, and notify
    # has been told (by a republication) that there is no openid.
    async with platform.identity.db.write() as conn:
        await conn.execute(update(orm.bindings).values(subject_sealed=None))
    await contacts.publish_all(platform.identity.uow, restart=True)

    async def phone_only() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if found.phone and not found.wechat_openids else None

    await eventually(phone_only)
    one_step = await wechat_sign_in(platform, "zhang.2")
    assert one_step.status_code == 200, one_step.text

    async def openid_again() -> Contacts | None:
        found = await contacts_in_notify(platform, citizen)
        return found if found.wechat_openids else None

    assert list((await eventually(openid_again)).wechat_openids) == ["haikou"]
    assert len(kept) == 1  # once: the next sign-in finds the subject kept
    assert (await wechat_sign_in(platform, "zhang.3")).status_code == 200
    assert len(kept) == 1


async def _identity_stream(platform: Platform) -> list[bytes]:
    connection: Any = await nats.connect(platform.identity.settings.nats_url)
    try:
        js = connection.jetstream()
        info = await js.stream_info("IDENTITY")
        return [
            (await js.get_msg("IDENTITY", seq)).data or b""
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await connection.close()
