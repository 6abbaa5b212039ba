"""A service another asks for a fact it owns, when that one cannot answer: the
asking adapters refuse with 503 ``<service>_unavailable`` and Retry-After, never
a crash (and never store the unchecked reference)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from services.booking.adapters.identity_client import GrpcCitizenDirectory
from services.identity.adapters.booking_client import GrpcOfficeDirectory
from services.runtime.errors import Kind, ProblemError
from tests.conftest import free_port


@pytest.mark.parametrize(
    ("service", "ask"),
    [
        ("booking", lambda target: GrpcOfficeDirectory(target, timeout=2).exists("centre")),
        ("identity", lambda target: GrpcCitizenDirectory(target, timeout=2).existing(["c1"])),
    ],
)
async def test_an_owner_that_cannot_answer_is_a_503_naming_it(
    service: str, ask: Callable[[str], Awaitable[object]]
) -> None:
    with pytest.raises(ProblemError) as refused:
        await ask(f"127.0.0.1:{free_port()}")  # nothing listens there
    problem = refused.value
    assert (problem.code, problem.kind, problem.retry_after) == (
        f"{service}_unavailable",
        Kind.UNAVAILABLE,
        5,
    )
    assert problem.kind.http_status == 503
