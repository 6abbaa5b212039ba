"""Staff tokens: JWT (HS256) like the citizens' access tokens, but with an audience
of their own, so that a citizen token is never taken for a staff token nor the
other way round (a citizen token's audience is its channel)."""

from __future__ import annotations

import datetime as dt

from services.identity.adapters.tokens import STAFF_AUDIENCE, check, sign
from services.identity.service_layer.staff import StaffClaims

AUDIENCE = STAFF_AUDIENCE


class JwtStaffTokens:
    def __init__(self, key: str, lifetime: dt.timedelta) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, claims: StaffClaims, now: dt.datetime) -> tuple[str, int]:
        token = sign(
            self._key,
            audience=AUDIENCE,
            subject=claims.staff_id,
            session_id=claims.session_id,
            now=now,
            lifetime=self.lifetime,
        )
        return token, int(self.lifetime.total_seconds())

    def verify(self, token: str, now: dt.datetime) -> StaffClaims:
        staff_id, session_id = check(
            self._key,
            token,
            audience=AUDIENCE,
            now=now,
            wrong_audience="This is not a staff token.",
            expired="The staff token has expired; sign in again.",
        )
        return StaffClaims(staff_id, session_id)
