"""One-time-code limits on real SQLite and PostgreSQL: a request whose name does not
match the register never touches the owner's limits (resend wait, hourly cap) and is
limited by its address instead, and the answer is the same whether it matched."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.identity import bootstrap
from services.identity.config import IdentitySettings
from services.identity.service_layer.auth import Auth
from services.runtime.errors import ProblemError
from tests.conftest import FakeClock
from tests.e2e.test_identity import CSV, ZHANG, number

OWNER, STRANGER = "10.0.0.1", "203.0.113.9"


class Codes:
    """Records the codes identity hands to notify instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_code(self, *, citizen_id: str, phone: str, code: str, city_code: str, key: str) -> None:
        self.sent.append((citizen_id, phone))


@pytest.fixture
async def identity(tmp_path: Path, backend: dict[str, Any], clock: FakeClock) -> AsyncIterator[Any]:
    app = bootstrap.build(IdentitySettings(data_dir=tmp_path, **backend), clock=clock)
    await asyncio.to_thread(app.migrate)
    await app.imports.run_file(CSV.encode(), "csv", actor="admin:test")
    app.auth.sender = Codes()
    yield app
    await app.db.dispose()


async def ask(auth: Auth, name: str, address: str, id_number: str = ZHANG) -> int | tuple[str, int | None]:
    """The answer: the resend wait, or the refusal's code and Retry-After."""
    try:
        return await auth.request_code(id_number, name, "app", address)
    except ProblemError as refused:
        return refused.code, refused.retry_after


async def sent(auth: Auth) -> int:
    await asyncio.sleep(0)  # codes are handed over after the answer, in a task
    await asyncio.sleep(0)
    return len(auth.sender.sent)  # type: ignore[attr-defined]


async def test_a_wrong_name_does_not_start_the_owners_resend_wait(identity: Any, clock: FakeClock) -> None:
    auth: Auth = identity.auth
    assert await ask(auth, "李四", STRANGER) == 60
    # The stranger's second try waits, as a matching one would…
    assert await ask(auth, "李四", STRANGER) == ("too_many_requests", 61)
    # …and the owner is not kept waiting by it: the code goes out.
    assert await ask(auth, "张伟", OWNER) == 60
    assert await sent(auth) == 1
    assert await ask(auth, "张伟", OWNER) == ("too_many_requests", 61)
    clock.now += dt.timedelta(seconds=61)
    assert await ask(auth, "张伟", OWNER) == 60
    assert await sent(auth) == 2


async def test_a_wrong_name_does_not_use_up_the_owners_hourly_codes(identity: Any, clock: FakeClock) -> None:
    auth: Auth = identity.auth
    for _ in range(5):
        assert await ask(auth, "李四", STRANGER) == 60
        clock.now += dt.timedelta(seconds=61)
    assert await ask(auth, "李四", STRANGER) == ("too_many_requests", 3600)
    for _ in range(5):
        assert await ask(auth, "张伟", OWNER) == 60
        clock.now += dt.timedelta(seconds=61)
    assert await sent(auth) == 5
    assert await ask(auth, "张伟", OWNER) == ("too_many_requests", 3600)


async def test_the_answer_is_the_same_whether_the_request_matched(identity: Any) -> None:
    auth: Auth = identity.auth
    unknown = number("11010119900307001")
    answers = [
        await ask(auth, "张伟", "10.0.0.2"),
        await ask(auth, "李四", "10.0.0.3"),
        await ask(auth, "李四", "10.0.0.4", unknown),
    ]
    assert answers == [60, 60, 60]
    # Repeated, each is refused the same way too.
    assert [await ask(auth, name, a) for name, a in (("张伟", "10.0.0.2"), ("李四", "10.0.0.3"))] == [
        ("too_many_requests", 61)
    ] * 2
    assert await ask(auth, "李四", "10.0.0.4", unknown) == ("too_many_requests", 61)
    assert await sent(auth) == 1


async def test_strangers_are_limited_by_their_address(identity: Any) -> None:
    auth: Auth = identity.auth
    numbers = [number(f"110101199003070{i:02d}") for i in range(20)]
    for n in numbers:
        assert await ask(auth, "李四", STRANGER, n) == 60
    assert await ask(auth, "李四", STRANGER, number("11010119900307099")) == ("too_many_requests", 3600)
    # The owner, elsewhere, is not.
    assert await ask(auth, "张伟", OWNER) == 60


async def refused_field(auth: Auth, name: str, address: str, id_number: str = ZHANG) -> str | None:
    with pytest.raises(ProblemError) as refused:
        await auth.request_code(id_number, name, "app", address)
    assert refused.value.code == "too_many_requests"
    return refused.value.field


async def test_a_refusal_names_what_is_limited_alike_whether_the_request_matched(identity: Any) -> None:
    auth: Auth = identity.auth
    assert await ask(auth, "张伟", OWNER) == 60
    assert await ask(auth, "李四", STRANGER) == 60
    # The ID number's wait, for the owner and for a stranger the same (decision 38).
    assert await refused_field(auth, "张伟", OWNER) == "id_number"
    assert await refused_field(auth, "李四", STRANGER) == "id_number"
    # Too many numbers from one address: the client's address is limited.
    for i in range(19):
        assert await ask(auth, "李四", STRANGER, number(f"110101199003070{i:02d}")) == 60
    assert await refused_field(auth, "李四", STRANGER, number("11010119900307099")) == "client_address"
