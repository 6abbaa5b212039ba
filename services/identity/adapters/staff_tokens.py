"""Staff tokens: JWT (HS256) like the citizens' access tokens, but with an audience
of their own, so that a citizen token is never taken for a staff token nor the
other way round (a citizen token's audience is its channel)."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt

from services.identity.adapters.tokens import ISSUER
from services.identity.service_layer.staff import StaffClaims
from services.runtime.errors import Kind, ProblemError

AUDIENCE = "mintong-staff"


def _refused(detail: str) -> ProblemError:
    return ProblemError("token_invalid", detail, field="Authorization", kind=Kind.UNAUTHENTICATED)


class JwtStaffTokens:
    def __init__(self, key: str, lifetime: dt.timedelta) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, claims: StaffClaims, now: dt.datetime) -> tuple[str, int]:
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": claims.staff_id,
            "sid": claims.session_id,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(payload, self._key, algorithm="HS256"), int(self.lifetime.total_seconds())

    def verify(self, token: str, now: dt.datetime) -> StaffClaims:
        try:
            # The algorithm is fixed: "alg": "none" or a swapped algorithm is refused.
            payload = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={
                    "require": ["exp", "sub", "sid", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise _refused("This is not a staff token.") from None
        except jwt.PyJWTError:
            raise _refused("The token is not valid.") from None
        if dt.datetime.fromtimestamp(payload["exp"], dt.UTC) <= now:  # our clock, not the machine's
            raise _refused("The staff token has expired; sign in again.")
        return StaffClaims(str(payload["sub"]), str(payload["sid"]))
