"""Staff tokens: JWT (EdDSA) like the citizens' access tokens, but with an audience
of their own, so that a citizen token is never taken for a staff token nor the
other way round (a citizen token's audience is its channel). They carry the role,
office and username, which the gateway reads without asking identity."""

from __future__ import annotations

import datetime as dt

from services.identity.adapters.tokens import STAFF_AUDIENCE, SigningKeys, sign
from services.identity.service_layer.staff import StaffClaims

AUDIENCE = STAFF_AUDIENCE


class JwtStaffTokens:
    def __init__(self, keys: SigningKeys, lifetime: dt.timedelta) -> None:
        self._keys = keys
        self._verifier = keys.verifier()
        self.lifetime = lifetime

    def issue(self, claims: StaffClaims, now: dt.datetime) -> tuple[str, int]:
        extra = {"role": claims.role, "username": claims.username}
        if claims.office_id:
            extra["office"] = claims.office_id
        token = sign(
            self._keys,
            audience=AUDIENCE,
            subject=claims.staff_id,
            session_id=claims.session_id,
            now=now,
            lifetime=self.lifetime,
            extra=extra,
        )
        return token, int(self.lifetime.total_seconds())

    def verify(self, token: str, now: dt.datetime) -> StaffClaims:
        claims = self._verifier.check(
            token,
            audience=AUDIENCE,
            now=now,
            wrong_audience="This is not a staff token.",
            expired="The staff token has expired; sign in again.",
        )
        return StaffClaims(claims.subject, claims.session_id, claims.role, claims.office, claims.username)
