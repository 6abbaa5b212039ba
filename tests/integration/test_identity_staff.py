"""Staff accounts and staff sign-in on real SQLite and PostgreSQL: the same answer
and the same work for an unknown username as for a wrong password, the sign-in
throttle (by address, never a lockout of the username),
sessions that sign-out and disabling end, the last administrator kept, every
staff action in the audit chain, and no password in any log; the create-staff CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import argon2
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.adapters.passwords import Argon2Passwords
from services.identity.config import IdentitySettings
from services.identity.domain.staff import StaffRole
from services.identity.service_layer.staff import StaffAuth
from services.runtime import audit
from services.runtime.errors import ProblemError
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-enough-password"


class CountingPasswords(Argon2Passwords):
    """Cheap argon2id, counting the verifications: what work each sign-in did."""

    def __init__(self) -> None:
        super().__init__(argon2.profiles.CHEAPEST)
        self.verified: list[str] = []

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return super().verify(password_hash, password)


class KnownOffices:
    """Booking's catalogue, as far as these tests need it (the real one answers in
    tests/e2e/test_staff_citizens.py and the create-staff test below)."""

    async def exists(self, office_id: str) -> bool:
        return office_id in {"zz-office-1", "zz-office-2"}


@pytest.fixture
async def identity(tmp_path: Path, backend: dict[str, Any], clock: FakeClock) -> AsyncIterator[Any]:
    settings = IdentitySettings(data_dir=tmp_path, **backend)
    app = bootstrap.build(settings, clock=clock, passwords=CountingPasswords(), offices=KnownOffices())
    await asyncio.to_thread(app.migrate)
    yield app
    await app.db.dispose()


async def make(staff: StaffAuth, username: str, role: StaffRole, office: str | None = None) -> str:
    account = await staff.create(
        actor="admin:test", username=username, display_name="", role=role, office_id=office, password=PASSWORD
    )
    return account.id


async def entries(app: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    async with app.db.read() as conn:
        rows = (await conn.execute(select(orm.audit).order_by(orm.audit.c.seq))).all()
        assert (await audit.verify(conn, orm.audit)).ok
    return [(r.actor, r.action, r.subject, json.loads(r.detail)) for r in rows]


async def test_a_staff_member_signs_in_is_known_by_the_token_and_signs_out(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    clerk = await make(staff, "Clerk.One", StaffRole.WINDOW_CLERK, "zz-office-1")
    account, token, lifetime = await staff.sign_in(" CLERK.one ", PASSWORD, "10.0.0.1")
    assert (account.id, account.username, account.office_id, lifetime) == (
        clerk,
        "clerk.one",
        "zz-office-1",
        1800,
    )
    who, _ = await staff.authenticate(token)
    assert (who.id, who.role) == (clerk, StaffRole.WINDOW_CLERK)
    await staff.sign_out(token)
    with pytest.raises(ProblemError) as ended:
        await staff.authenticate(token)
    assert (ended.value.code, ended.value.kind.http_status) == ("session_ended", 401)
    assert [(a, s) for _, a, s, _ in await entries(identity)] == [
        ("staff.create", f"staff:{clerk}"),
        ("staff.sign_in", f"staff:{clerk}"),
        ("staff.sign_out", f"staff:{clerk}"),
    ]


async def test_unknown_user_and_wrong_password_get_the_same_answer_after_the_same_work(
    identity: Any,
) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "reviewer1", StaffRole.REVIEWER)
    passwords: CountingPasswords = staff.passwords  # type: ignore[assignment]
    answers = []
    for username in ("reviewer1", "nobody-here"):
        passwords.verified.clear()
        with pytest.raises(ProblemError) as refused:
            await staff.sign_in(username, "wrong-password-123", "10.0.0.1")
        answers.append((refused.value.code, refused.value.detail, refused.value.field, refused.value.kind))
        assert len(passwords.verified) == 1 and passwords.verified[0].startswith("$argon2id$")
    assert answers[0] == answers[1] == ("credentials_invalid", answers[0][1], "password", answers[0][3])
    assert answers[0][3].http_status == 401
    failed = [(s, d["reason"]) for _, a, s, d in await entries(identity) if a == "staff.sign_in_failed"]
    assert failed[0][1] == "wrong_password" and failed[1][1] == "unknown_username"
    assert "nobody-here" not in failed[1][0]  # kept as a keyed hash: it may be a mistyped password


async def fail(staff: StaffAuth, username: str, address: str) -> tuple[str, int | None]:
    return (await refusal(staff, username, address))[:2]


async def refusal(staff: StaffAuth, username: str, address: str) -> tuple[str, int | None, str | None]:
    with pytest.raises(ProblemError) as refused:
        await staff.sign_in(username, "wrong-password-123", address)
    return refused.value.code, refused.value.retry_after, refused.value.field


async def test_failures_slow_down_their_address_for_any_username_and_back_off_progressively(
    identity: Any, clock: FakeClock
) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "sre1", StaffRole.SRE)
    for username in ("sre1", "ghost"):  # known or not, the same answers
        answers = [await fail(staff, username, "10.0.0.1") for _ in range(5)]
        assert answers == [("credentials_invalid", None)] * 5
        # The next try waits 1 s after the fifth failure, right password or not…
        with pytest.raises(ProblemError) as waiting:
            await staff.sign_in(username, PASSWORD, "10.0.0.1")
        assert (waiting.value.code, waiting.value.retry_after) == ("too_many_requests", 1)
        waits: list[int | None] = []
        for _ in range(4):
            clock.now += dt.timedelta(seconds=waits[-1] or 0 if waits else 1)
            assert (await fail(staff, username, "10.0.0.1"))[0] == "credentials_invalid"
            waits.append((await fail(staff, username, "10.0.0.1"))[1])
        assert waits == [2, 4, 8, 16]  # …and twice as long after each further one.
    clock.now += dt.timedelta(minutes=15)
    account, _, _ = await staff.sign_in("sre1", PASSWORD, "10.0.0.1")
    assert account.username == "sre1"


async def test_a_stranger_cannot_lock_a_staff_member_out(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "admin9", StaffRole.ADMINISTRATOR)
    for _ in range(5):
        await fail(staff, "admin9", "203.0.113.9")
    # The username is limited (from that address); an unknown one alike.
    assert await refusal(staff, "admin9", "203.0.113.9") == ("too_many_requests", 1, "username")
    account, _, _ = await staff.sign_in("admin9", PASSWORD, "10.0.0.1")  # the owner, at their desk
    assert account.username == "admin9"


async def test_one_address_trying_many_usernames_is_slowed_down(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "reviewer7", StaffRole.REVIEWER)
    for i in range(20):  # four usernames, five free failures each: the pair limit is never met
        assert (await fail(staff, f"user{i % 4}", "203.0.113.9"))[0] == "credentials_invalid"
    assert await refusal(staff, "reviewer7", "203.0.113.9") == ("too_many_requests", 1, "client_address")
    assert (await staff.sign_in("reviewer7", PASSWORD, "10.0.0.2"))[0].username == "reviewer7"


async def test_a_successful_sign_in_forgets_earlier_failures(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "reviewer2", StaffRole.REVIEWER)
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(ProblemError):
                await staff.sign_in("reviewer2", "wrong-password-123", "10.0.0.1")
        await staff.sign_in("reviewer2", PASSWORD, "10.0.0.1")


async def test_disabling_ends_sessions_and_refuses_sign_in_with_the_same_answer(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    admin = await make(staff, "admin1", StaffRole.ADMINISTRATOR)
    reviewer = await make(staff, "reviewer3", StaffRole.REVIEWER)
    _, token, _ = await staff.sign_in("reviewer3", PASSWORD, "10.0.0.1")
    await staff.set_active(actor=f"admin:{admin}", staff_id=reviewer, active=False)
    with pytest.raises(ProblemError):
        await staff.authenticate(token)
    with pytest.raises(ProblemError) as refused:
        await staff.sign_in("reviewer3", PASSWORD, "10.0.0.1")
    assert refused.value.code == "credentials_invalid"
    await staff.set_active(actor=f"admin:{admin}", staff_id=reviewer, active=True)
    await staff.sign_in("reviewer3", PASSWORD, "10.0.0.1")
    actions = [(actor, a) for actor, a, s, _ in await entries(identity) if s == f"staff:{reviewer}"]
    assert (f"admin:{admin}", "staff.disable") in actions and (f"admin:{admin}", "staff.enable") in actions


async def test_a_role_change_ends_the_sessions_and_is_audited(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    admin = await make(staff, "admin2", StaffRole.ADMINISTRATOR)
    member = await make(staff, "member", StaffRole.REVIEWER)
    _, token, _ = await staff.sign_in("member", PASSWORD, "10.0.0.1")
    with pytest.raises(ProblemError) as refused:
        await staff.set_role(
            actor=f"admin:{admin}", staff_id=member, role=StaffRole.WINDOW_CLERK, office_id=None
        )
    assert refused.value.code == "office_required"
    await staff.set_role(
        actor=f"admin:{admin}", staff_id=member, role=StaffRole.WINDOW_CLERK, office_id="zz-office-2"
    )
    # The token said "reviewer": the change ends its session; a new one says clerk.
    with pytest.raises(ProblemError) as ended:
        await staff.authenticate(token)
    assert ended.value.code == "session_ended"
    _, token, _ = await staff.sign_in("member", PASSWORD, "10.0.0.1")
    who, _ = await staff.authenticate(token)
    assert (who.role, who.office_id) == (StaffRole.WINDOW_CLERK, "zz-office-2")
    change = [d for _, a, s, d in await entries(identity) if a == "staff.role_change"]
    assert change == [
        {"from": "reviewer", "to": "window_clerk", "office_from": None, "office_to": "zz-office-2"}
    ]


async def test_the_last_active_administrator_stays(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    first = await make(staff, "admin3", StaffRole.ADMINISTRATOR)
    for change in (
        staff.set_active(actor=f"admin:{first}", staff_id=first, active=False),
        staff.set_role(actor=f"admin:{first}", staff_id=first, role=StaffRole.SRE, office_id=None),
    ):
        with pytest.raises(ProblemError) as refused:
            await change
        assert (refused.value.code, refused.value.kind.http_status) == ("last_administrator", 409)
    second = await make(staff, "admin4", StaffRole.ADMINISTRATOR)
    await staff.set_active(actor=f"admin:{second}", staff_id=first, active=False)


async def test_usernames_are_unique_whatever_their_spelling(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    await make(staff, "same.name", StaffRole.SRE)
    with pytest.raises(ProblemError) as taken:
        await make(staff, "SAME.name", StaffRole.REVIEWER)
    assert (taken.value.code, taken.value.kind.http_status) == ("username_taken", 409)
    assert [a.username for a in await staff.list_staff()] == ["same.name"]


async def test_the_bootstrap_administrator_is_made_once(
    tmp_path: Path, backend: dict[str, Any], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = IdentitySettings(
        data_dir=tmp_path,
        bootstrap_admin_user="Boss",
        bootstrap_admin_password=SecretStr(PASSWORD),
        **backend,
    )
    made = []
    for _ in range(2):  # two starts, or two replicas
        app = bootstrap.build(settings, clock=clock, passwords=CountingPasswords())
        await asyncio.to_thread(app.migrate)
        [worker] = [w for w in app.host.workers if isinstance(w, bootstrap.BootstrapAdministrator)]
        await worker.start()
        made.append([(a.username, a.role) for a in await app.staff.list_staff()])
        await app.db.dispose()
    assert made == [[("boss", StaffRole.ADMINISTRATOR)]] * 2
    assert [a for _, a, _, _ in await entries(app)] == ["staff.create"]
    await app.staff.sign_in("boss", PASSWORD, "127.0.0.1")
    assert PASSWORD not in caplog.text
    dump = []
    async with app.db.read() as conn:
        for table in ("audit_log", "staff_accounts", "staff_sessions", "rate_events"):
            dump += [str(row) for row in (await conn.execute(text(f"SELECT * FROM {table}"))).all()]
    assert dump and PASSWORD not in " ".join(dump)
    await app.db.dispose()


def test_a_bootstrap_user_needs_a_password_and_the_other_way_round(tmp_path: Path) -> None:
    for half in ({"bootstrap_admin_user": "boss"}, {"bootstrap_admin_password": PASSWORD}):
        with pytest.raises(ValueError, match="BOOTSTRAP_ADMIN"):
            IdentitySettings(data_dir=tmp_path, **half)  # type: ignore[arg-type]


async def test_create_staff_takes_the_password_from_stdin_never_argv_and_asks_booking_for_the_office(
    tmp_path: Path, booking: Any
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
    env["MINTONG_DATA_DIR"] = str(tmp_path / "identity")
    env["MINTONG_BOOKING_GRPC_TARGET"] = f"127.0.0.1:{booking.host.port}"

    async def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        # In a thread: the booking service it asks runs on this event loop.
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.identity", *args],
            input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert (await run("migrate")).returncode == 0
    made = await run(
        "create-staff", "--username", "clerk9", "--role", "window_clerk", "--office", "centre", stdin=PASSWORD
    )
    assert made.returncode == 0, made.stderr
    assert "window_clerk 'clerk9'" in made.stdout and PASSWORD not in made.stdout + made.stderr
    # The refusals side by side: each is a process of its own that writes nothing, and
    # four interpreters started one after another were most of this test's time.
    nowhere, no_office, short, argv = await asyncio.gather(
        run(
            "create-staff", "--username", "clerk7", "--role", "window_clerk", "--office", "no-such-office",
            stdin=PASSWORD,
        ),
        run("create-staff", "--username", "clerk8", "--role", "window_clerk", stdin=PASSWORD),
        run("create-staff", "--username", "sre9", "--role", "sre", stdin="short"),
        run("create-staff", "--username", "x", "--role", "sre", "--password", PASSWORD),
    )  # fmt: skip
    assert nowhere.returncode == 2 and "no-such-office" in nowhere.stderr
    assert no_office.returncode == 2 and "office" in no_office.stderr
    assert short.returncode == 2 and "12" in short.stderr
    assert argv.returncode != 0


async def test_a_hash_with_weaker_parameters_is_replaced_at_sign_in(identity: Any) -> None:
    staff: StaffAuth = identity.staff
    member = await make(staff, "old.hash", StaffRole.REVIEWER)  # made with the cheapest parameters
    stronger = argon2.Parameters(
        type=argon2.Type.ID,
        version=19,
        salt_len=16,
        hash_len=16,
        time_cost=2,
        memory_cost=1024,
        parallelism=1,
    )
    staff.passwords = Argon2Passwords(stronger)
    await staff.sign_in("old.hash", PASSWORD, "10.0.0.1")
    async with identity.db.read() as conn:
        stored = (
            await conn.execute(
                select(orm.staff_accounts.c.password_hash).where(orm.staff_accounts.c.id == member)
            )
        ).scalar_one()
    assert "m=1024,t=2,p=1" in stored and not staff.passwords.needs_rehash(stored)
    await staff.sign_in("old.hash", PASSWORD, "10.0.0.1")  # and the new hash verifies
