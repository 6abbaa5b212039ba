"""The typed caller: how x-mintong-caller is read and written, one spelling of each
role, and who require_role lets through."""

from __future__ import annotations

import typing

import pytest

from gateway.deps import STAFF_ROLES, StaffRoleName
from services.identity.domain.staff import StaffRole
from services.runtime import context
from services.runtime.context import ANONYMOUS, Caller, CallerKind, Role, require_role
from services.runtime.errors import ProblemError


@pytest.mark.parametrize(
    ("header", "caller"),
    [
        ("citizen:c9", Caller(CallerKind.CITIZEN, "c9")),
        ("admin:st-1", Caller(CallerKind.STAFF, "st-1", Role.ADMINISTRATOR)),
        ("clerk:st-2@centre", Caller(CallerKind.STAFF, "st-2", Role.WINDOW_CLERK, "centre")),
        ("reviewer:st-9", Caller(CallerKind.STAFF, "st-9", Role.REVIEWER)),
        ("sre:st-3", Caller(CallerKind.STAFF, "st-3", Role.SRE)),
        ("service:identity", Caller(CallerKind.SERVICE, "identity")),
        ("cli:alice", Caller(CallerKind.OPERATOR, "alice")),
        ("anonymous", ANONYMOUS),
    ],
)
def test_a_header_is_read_once_into_a_caller_and_written_back_the_same(header: str, caller: Caller) -> None:
    assert Caller.parse(header) == caller
    assert str(caller) == header


def test_the_apis_spelling_of_a_role_is_read_too_and_written_as_before() -> None:
    # So a later release may send "window_clerk:…" while this one still sends "clerk:…".
    assert Caller.parse("window_clerk:st-2@centre") == Caller.staff(Role.WINDOW_CLERK, "st-2", "centre")
    assert str(Caller.parse("administrator:st-1")) == "admin:st-1"


@pytest.mark.parametrize(
    "header", ["", "anonymous:x", "citizen:", "admin", "clerk:@centre", "staff:st-1", "root:st-1", "service"]
)
def test_anything_not_well_formed_is_anonymous(header: str) -> None:
    assert Caller.parse(header) is ANONYMOUS


def test_each_role_has_one_spelling_everywhere() -> None:
    assert StaffRole is Role  # identity's staff accounts use the runtime's roles
    assert set(typing.get_args(StaffRoleName)) == {r.value for r in Role}
    assert sorted(STAFF_ROLES.values()) == sorted(r.value for r in Role)
    # The metadata keeps the words audit logs have always recorded.
    assert [str(Caller.staff(r, "s")) for r in Role] == ["clerk:s", "reviewer:s", "admin:s", "sre:s"]


def test_require_role_admits_a_kind_or_a_role_and_answers_the_caller() -> None:
    clerk = Caller.staff(Role.WINDOW_CLERK, "st-2", "centre")
    token = context.caller.set(clerk)
    try:
        assert require_role(Role.WINDOW_CLERK, Role.ADMINISTRATOR) is clerk
        assert require_role(CallerKind.STAFF) is clerk
        for refused in ((Role.ADMINISTRATOR,), (CallerKind.CITIZEN,), (CallerKind.SERVICE, Role.SRE)):
            with pytest.raises(ProblemError) as error:
                require_role(*refused)
            assert (error.value.code, error.value.kind.http_status) == ("forbidden", 403)
    finally:
        context.caller.reset(token)
    assert context.caller.get() is ANONYMOUS
    with pytest.raises(ProblemError):
        require_role(CallerKind.CITIZEN)


def test_outgoing_metadata_carries_the_caller_as_written() -> None:
    token = context.caller.set(Caller.citizen("c9"))
    try:
        assert (context.CALLER_KEY, "citizen:c9") in context.outgoing_metadata()
    finally:
        context.caller.reset(token)
