"""Channel binding on a real SQLite and PostgreSQL: races are settled by the
database (one binding per openid, one sign-in per nonce), and every binding
change leaves an audit entry the chain still verifies with."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.identity.domain.channels import device_message
from services.runtime import audit
from services.runtime.errors import ProblemError
from tests.conftest import FakeClock
from tests.e2e.test_identity import CSV, WANG, ZHANG


@pytest.fixture
async def identity(tmp_path: Path, backend: dict[str, Any], clock: FakeClock) -> AsyncIterator[Any]:
    app = bootstrap.build(IdentitySettings(data_dir=tmp_path, **backend), clock=clock)
    await asyncio.to_thread(app.migrate)
    await app.imports.run_file(CSV.encode(), "csv", actor="admin:test")
    yield app
    await app.db.dispose()


async def session(app: Any, id_number: str, channel: str) -> str:
    """An access token of a real-name session (as if the code had been right)."""
    async with app.channels.uow.write() as store:
        resident = await store.resident_by_lookup(app.cipher.lookup(id_number))
        _, access, _, _ = await app.auth.open_session(store, resident.citizen_id, channel, app.auth.clock())
    return str(access)


def outcomes(results: list[Any]) -> tuple[list[Any], list[ProblemError]]:
    """What concurrent calls answered: the successes and the refusals. Any other
    exception (a database error, a bug) fails the test with its own traceback."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, ProblemError):
            raise result
    return [r for r in results if not isinstance(r, BaseException)], [
        r for r in results if isinstance(r, ProblemError)
    ]


async def test_two_citizens_binding_one_openid_at_once_one_wins(identity: Any) -> None:
    tokens = [await session(identity, who, "wechat") for who in (ZHANG, WANG)]
    results = await asyncio.gather(
        *(identity.channels.bind_wechat(t, "wechat", "haikou", f"shared.{i}") for i, t in enumerate(tokens)),
        return_exceptions=True,
    )
    wins, refused = outcomes(results)
    assert len(wins) == len(refused) == 1
    assert (refused[0].code, refused[0].kind.http_status) == ("already_bound", 409)


async def test_one_nonce_signs_in_once_however_often_it_is_sent(identity: Any) -> None:
    token = await session(identity, ZHANG, "app")
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    await identity.channels.bind_device(token, "app", "android-0123456789", public, "")
    nonce, lifetime = await identity.channels.create_device_challenge("android-0123456789", "app", "10.0.0.1")
    assert lifetime == 60
    signature = key.sign(device_message(nonce, "android-0123456789"))
    results = await asyncio.gather(
        *(
            identity.channels.sign_in_with_device("android-0123456789", nonce, signature, "app")
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    wins, refused = outcomes(results)
    assert len(wins) == 1 and len(refused) == 3
    assert {r.code for r in refused} == {"device_signin_invalid"}


async def test_device_challenges_are_limited_per_device(identity: Any) -> None:
    for _ in range(20):
        await identity.channels.create_device_challenge("ios-limited-0001", "app", "10.0.0.2")
    with pytest.raises(ProblemError) as limited:
        await identity.channels.create_device_challenge("ios-limited-0001", "app", "10.0.0.2")
    assert limited.value.kind.http_status == 429


async def test_binding_changes_are_audited_in_a_chain_that_verifies(identity: Any, clock: FakeClock) -> None:
    token = await session(identity, ZHANG, "wechat")
    binding, created = await identity.channels.bind_wechat(token, "wechat", "haikou", "zhang.1")
    assert created
    clock.now += dt.timedelta(minutes=1)
    await identity.channels.remove_binding(token, "wechat", binding.id)
    async with identity.db.read() as conn:
        rows = (await conn.execute(orm.audit.select().order_by(orm.audit.c.seq))).all()
        assert (await audit.verify(conn, orm.audit)).ok
    mine = [r for r in rows if r.action.startswith("binding.")]
    assert [r.action for r in mine] == ["binding.add", "binding.remove"]
    assert all("sandbox-" not in r.detail and r.subject == f"citizen:{binding.citizen_id}" for r in mine)


async def test_what_no_database_would_take_is_refused_before_it(identity: Any) -> None:
    token = await session(identity, ZHANG, "app")
    with pytest.raises(ProblemError) as absent:
        await identity.channels.remove_binding(token, "app", "a\x00b")
    assert absent.value.code == "binding_not_found"
    with pytest.raises(ProblemError) as refused:
        await identity.channels.sign_in_with_device("ios-12345678", "n\x00nce", b"sig", "app")
    assert refused.value.code == "device_signin_invalid"
