"""Signed, short-lived access tokens (JWT, HS256 with a configured key). The
audience is the channel, so a token made for the APP is refused on WeChat."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt

from services.identity.service_layer.ports import Claims
from services.runtime.errors import Kind, ProblemError

ISSUER = "mintong-identity"


def _refused(detail: str) -> ProblemError:
    return ProblemError("token_invalid", detail, field="Authorization", kind=Kind.UNAUTHENTICATED)


class JwtTokens:
    def __init__(self, key: str, lifetime: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, claims: Claims, now: dt.datetime) -> tuple[str, int]:
        payload = {
            "iss": ISSUER,
            "sub": claims.citizen_id,
            "sid": claims.session_id,
            "aud": claims.channel,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(payload, self._key, algorithm="HS256"), int(self.lifetime.total_seconds())

    def verify(self, token: str, channel: str, now: dt.datetime) -> Claims:
        try:
            # The algorithm is fixed: "alg": "none" or a swapped algorithm is refused.
            payload = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=channel,
                issuer=ISSUER,
                options={
                    "require": ["exp", "sub", "sid", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise _refused("This token was issued for another channel.") from None
        except jwt.PyJWTError:
            raise _refused("The token is not valid.") from None
        if dt.datetime.fromtimestamp(payload["exp"], dt.UTC) <= now:  # our clock, not the machine's
            raise _refused("The token has expired; refresh it.")
        return Claims(payload["sub"], payload["sid"], channel)
