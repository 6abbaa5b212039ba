"""Staff rules without a database: roles and the window clerk's office, usernames
and passwords, the sign-in throttle's arithmetic, argon2id hashes, staff tokens that are
never citizen tokens, and the gateway's role and office checks."""

from __future__ import annotations

import base64
import datetime as dt
import json

import argon2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.deps import Call, Staff, require_office, staff
from gateway.problems import Problem
from services.identity.adapters.passwords import Argon2Passwords
from services.identity.adapters.staff_tokens import JwtStaffTokens
from services.identity.adapters.tokens import JwtTokens, SigningKeys
from services.identity.domain.staff import (
    SignInThrottle,
    StaffAccount,
    StaffRole,
    check_office,
    check_password,
    check_username,
)
from services.identity.service_layer.ports import Claims
from services.identity.service_layer.staff import StaffClaims
from services.runtime.errors import ProblemError

T0 = dt.datetime(2030, 1, 7, 0, 0, tzinfo=dt.UTC)
KEY = SigningKeys((Ed25519PrivateKey.generate(),))


# --- roles and offices --------------------------------------------------------------


def test_a_window_clerk_is_bound_to_exactly_one_office() -> None:
    assert check_office(StaffRole.WINDOW_CLERK, " zz-office-1 ") == "zz-office-1"
    with pytest.raises(ProblemError) as missing:
        check_office(StaffRole.WINDOW_CLERK, None)
    assert (missing.value.code, missing.value.field) == ("office_required", "office_id")
    with pytest.raises(ProblemError) as bad:
        check_office(StaffRole.WINDOW_CLERK, "no spaces/slashes")
    assert bad.value.code == "invalid_office"


def test_a_reviewer_may_be_bound_to_an_office_whose_city_they_review() -> None:
    assert check_office(StaffRole.REVIEWER, " zz-office-1 ") == "zz-office-1"
    assert check_office(StaffRole.REVIEWER, "") is None
    with pytest.raises(ProblemError) as bad:
        check_office(StaffRole.REVIEWER, "no spaces/slashes")
    assert bad.value.code == "invalid_office"


@pytest.mark.parametrize("role", [StaffRole.ADMINISTRATOR, StaffRole.SRE])
def test_no_other_role_has_an_office(role: StaffRole) -> None:
    assert check_office(role, "") is None
    with pytest.raises(ProblemError) as refused:
        check_office(role, "zz-office-1")
    assert refused.value.code == "office_not_allowed"
    with pytest.raises(ProblemError):
        StaffAccount("id", "someone", "Someone", role, "zz-office-1", True)


@pytest.mark.parametrize(
    ("raw", "expected"), [("Admin", "admin"), (" li.wei_2 ", "li.wei_2"), ("ＡＤＭＩＮ", "admin")]
)
def test_usernames_have_one_spelling(raw: str, expected: str) -> None:
    assert check_username(raw) == expected


@pytest.mark.parametrize("raw", ["", "ab", "-admin", "a b c", "管理员", "x" * 65, "admin@bureau"])
def test_bad_usernames_are_refused(raw: str) -> None:
    with pytest.raises(ProblemError) as refused:
        check_username(raw)
    assert (refused.value.code, refused.value.field) == ("invalid_username", "username")


def test_passwords_are_long_enough_and_not_absurdly_long() -> None:
    check_password("x" * 12)
    for bad in ("x" * 11, "x" * 1025):
        with pytest.raises(ProblemError) as refused:
            check_password(bad)
        assert (refused.value.code, refused.value.field) == ("weak_password", "password")


# --- throttle ------------------------------------------------------------------------


def test_failures_beyond_the_free_ones_wait_twice_as_long_each_time() -> None:
    policy = SignInThrottle(window=dt.timedelta(minutes=15))
    at = [T0 + dt.timedelta(seconds=s) for s in range(12)]
    assert policy.wait(at[:4], at[3], free=5) is None
    # The fifth failure: 1 s from it; then 2 s, 4 s, … counted from the latest.
    assert policy.wait(at[:5], at[4], free=5) == 1
    assert policy.wait(at[:5], at[4] + dt.timedelta(seconds=1), free=5) is None
    assert policy.wait(at[:6], at[5], free=5) == 2
    assert policy.wait(at[:10], at[9], free=5) == 32
    assert policy.wait(at[:10], at[9] + dt.timedelta(seconds=20), free=5) == 12


def test_the_wait_is_at_most_the_window_and_failures_age_out() -> None:
    policy = SignInThrottle(window=dt.timedelta(minutes=15))
    many = [T0 + dt.timedelta(milliseconds=m) for m in range(100)]
    assert policy.wait(many, many[-1], free=5) == 15 * 60
    later = many[-1] + dt.timedelta(minutes=15)
    assert policy.wait(many, later, free=5) is None
    assert policy.wait(many, later + dt.timedelta(hours=1), free=5) is None


# --- password hashes -----------------------------------------------------------------


CHEAP = argon2.profiles.CHEAPEST


def test_argon2id_hashes_verify_and_never_hold_the_password() -> None:
    passwords = Argon2Passwords(CHEAP)
    hashed = passwords.hash("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert hashed != passwords.hash("correct horse battery")  # salted
    assert passwords.verify(hashed, "correct horse battery")
    assert not passwords.verify(hashed, "correct horse battery!")
    assert not passwords.verify("not a hash", "anything")
    assert not passwords.needs_rehash(hashed)


def test_a_hash_made_with_weaker_parameters_needs_rehashing() -> None:
    old = Argon2Passwords(CHEAP).hash("correct horse battery")
    assert Argon2Passwords().needs_rehash(old)  # the default parameters are stronger
    assert Argon2Passwords().verify(old, "correct horse battery")


# --- staff tokens --------------------------------------------------------------------


def test_a_staff_token_is_never_a_citizen_token_nor_the_other_way_round() -> None:
    staff_tokens = JwtStaffTokens(KEY, dt.timedelta(minutes=30))
    citizen_tokens = JwtTokens(KEY)  # even under the same key
    staff_token, lifetime = staff_tokens.issue(StaffClaims("s1", "sess1"), T0)
    assert lifetime == 1800
    assert staff_tokens.verify(staff_token, T0) == StaffClaims("s1", "sess1")
    for channel in ("app", "wechat", "web"):
        with pytest.raises(ProblemError) as refused:
            citizen_tokens.verify(staff_token, channel, T0)
        assert refused.value.code == "token_invalid"
        citizen_token, _ = citizen_tokens.issue(Claims("c1", "sess2", channel), T0)
        with pytest.raises(ProblemError) as refused:
            staff_tokens.verify(citizen_token, T0)
        assert refused.value.code == "token_invalid"


def test_expired_tampered_unsigned_and_foreign_staff_tokens_are_refused() -> None:
    tokens = JwtStaffTokens(KEY, dt.timedelta(minutes=30))
    token, _ = tokens.issue(StaffClaims("s1", "sess1"), T0)
    header, payload, signature = token.split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=="))
    raised["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(raised).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for bad in (
        f"{header}.{forged_payload}.{signature}",
        f"{none_header}.{payload}.",
        JwtStaffTokens(SigningKeys((Ed25519PrivateKey.generate(),)), dt.timedelta(minutes=30)).issue(
            StaffClaims("s1", "x"), T0
        )[0],
        "not-a-token",
    ):
        with pytest.raises(ProblemError) as refused:
            tokens.verify(bad, T0)
        assert (refused.value.code, refused.value.kind.http_status) == ("token_invalid", 401)
    with pytest.raises(ProblemError):
        tokens.verify(token, T0 + dt.timedelta(minutes=30))


# --- the gateway's checks -------------------------------------------------------------


def member(role: str, office_id: str | None = None) -> Staff:
    return Staff("s1", "someone", role, office_id, "token", Call("r", "x", 1.0))  # type: ignore[arg-type]


def test_a_window_clerk_acts_only_for_their_own_office() -> None:
    require_office(member("window_clerk", "zz-office-1"), "zz-office-1")
    with pytest.raises(Problem) as refused:
        require_office(member("window_clerk", "zz-office-1"), "zz-office-2")
    assert (refused.value.status, refused.value.code, refused.value.field) == (
        403,
        "wrong_office",
        "office_id",
    )
    for role in ("reviewer", "administrator", "sre"):  # bound to no office: the role check decides
        require_office(member(role), "zz-office-2")


def test_the_staff_dependency_lets_in_only_the_roles_named() -> None:
    administrators = staff("administrator")
    operators = staff("administrator", "sre")
    anyone = staff()
    assert administrators.admit(member("administrator")).role == "administrator"
    assert operators.admit(member("sre")).role == "sre"
    assert anyone.admit(member("reviewer")).role == "reviewer"
    for check, role in ((administrators, "sre"), (administrators, "window_clerk"), (operators, "reviewer")):
        with pytest.raises(Problem) as refused:
            check.admit(member(role, "zz-office-1" if role == "window_clerk" else None))
        assert (refused.value.status, refused.value.code) == (403, "forbidden")
