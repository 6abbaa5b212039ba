"""Signed, short-lived access tokens (JWT, HS256 with a configured key). The
audience is the channel, so a token made for the APP is refused on WeChat."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt

from services.identity.service_layer.ports import Claims
from services.runtime.errors import Kind, ProblemError
from services.runtime.proto_values import CHANNEL_PROTO

ISSUER = "mintong-identity"
#: The audience of staff tokens (a citizen token's is its channel).
STAFF_AUDIENCE = "mintong-staff"


def _refused(detail: str) -> ProblemError:
    return ProblemError("token_invalid", detail, field="Authorization", kind=Kind.UNAUTHENTICATED)


def sign(
    key: str, *, audience: str, subject: str, session_id: str, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """An HS256 token of one session; citizens' and staff tokens differ in audience."""
    payload = {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "sid": session_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(payload, key, algorithm="HS256")


def check(
    key: str, token: str, *, audience: str, now: dt.datetime, wrong_audience: str, expired: str
) -> tuple[str, str]:
    """(subject, session id) of a token signed with ``key`` for ``audience`` and not
    expired by ``now``; otherwise a 401 ``token_invalid`` saying which."""
    try:
        # The algorithm is fixed: "alg": "none" or a swapped algorithm is refused.
        payload = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=audience,
            issuer=ISSUER,
            options={
                "require": ["exp", "sub", "sid", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise _refused(_other_kind(token, audience) or wrong_audience) from None
    except jwt.PyJWTError:
        raise _refused("The token is not valid.") from None
    if dt.datetime.fromtimestamp(payload["exp"], dt.UTC) <= now:  # our clock, not the machine's
        raise _refused(expired)
    return str(payload["sub"]), str(payload["sid"])


def _other_kind(token: str, audience: str) -> str | None:
    """What to tell someone who sent a good token of the other kind: a staff token
    on a citizen route or a citizen's on a staff route (its signature verified)."""
    sent = jwt.decode(token, options={"verify_signature": False}).get("aud")
    if sent == STAFF_AUDIENCE and audience != STAFF_AUDIENCE:
        return "This is a staff token: citizen routes take a citizen's token from /v1/auth/token."
    if sent in CHANNEL_PROTO and audience == STAFF_AUDIENCE:
        return "This is a citizen's token: staff routes take a staff token from /v1/staff/token."
    return None


class JwtTokens:
    def __init__(self, key: str, lifetime: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, claims: Claims, now: dt.datetime) -> tuple[str, int]:
        token = sign(
            self._key,
            audience=claims.channel,
            subject=claims.citizen_id,
            session_id=claims.session_id,
            now=now,
            lifetime=self.lifetime,
        )
        return token, int(self.lifetime.total_seconds())

    def verify(self, token: str, channel: str, now: dt.datetime) -> Claims:
        citizen_id, session_id = check(
            self._key,
            token,
            audience=channel,
            now=now,
            wrong_audience="This token was issued for another channel.",
            expired="The token has expired; refresh it.",
        )
        return Claims(citizen_id, session_id, channel)
