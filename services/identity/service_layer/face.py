"""Face verification: the live capture of a signed-in citizen compared with their
ID photo by an outside provider. A match raises the session's assurance level to
"face" for a limited time (FacePolicy.lasts), which actions such as online ID card
replacement require; failed comparisons are limited per citizen per day.

Face recognition is never the only way: a citizen who declines it is told the
alternative, a window appointment, in a form the channel can act on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.identity.domain.channels import Alternative, Assurance, FacePolicy, window_alternative
from services.identity.service_layer.auth import Auth, TooMany
from services.identity.service_layer.channel_ports import ChannelUnitOfWork, FaceVerifier, ProviderUnavailable
from services.identity.service_layer.ports import Claims
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound

DAY = dt.timedelta(days=1)
MAX_LIVENESS_TOKEN = 4096


@dataclass(frozen=True)
class FaceAnswer:
    matched: bool
    level: Assurance
    expires_at: dt.datetime | None
    failures_left: int


class FaceVerification:
    def __init__(
        self,
        uow: ChannelUnitOfWork,
        auth: Auth,
        verifier: FaceVerifier,
        *,
        clock: Clock,
        policy: FacePolicy = FacePolicy(),
    ) -> None:
        self.uow = uow
        self.auth = auth
        self.verifier = verifier
        self.clock = clock
        self.policy = policy

    async def assurance(self, session_id: str) -> tuple[Assurance, dt.datetime | None]:
        """The session's level now, and when "face" lapses."""
        async with self.uow.read() as store:
            matched = await store.last_face_match(session_id)
        return self.level(matched)

    def level(self, matched: dt.datetime | None) -> tuple[Assurance, dt.datetime | None]:
        """The level now of a session whose last face match was at ``matched`` (None:
        never), and when "face" lapses: for those who read the match themselves, many
        sessions at once (the card holders' sessions, service_layer/cardholders.py)."""
        if matched is not None and matched + self.policy.lasts > self.clock():
            return Assurance.FACE, matched + self.policy.lasts
        return Assurance.OTP, None

    async def verify(self, access_token: str, channel: str, liveness_token: str) -> FaceAnswer:
        claims = await self.auth.authenticate(access_token, channel)
        if not liveness_token.strip() or len(liveness_token) > MAX_LIVENESS_TOKEN:
            raise InvalidArgument(
                "invalid_liveness_token",
                "Send the liveness token the face capture produced.",
                field="liveness_token",
            )
        now = self.clock()
        async with self.uow.read() as store:
            failures = await store.face_failures_since(claims.citizen_id, now - DAY)
            resident = await store.resident(claims.citizen_id)
        limit = self.policy.failures_per_day
        if len(failures) >= limit:
            # Again once the failure that filled the day's allowance is a day old.
            wait = failures[len(failures) - limit] + DAY - now
            raise TooMany(
                "Face verification failed too often today; try again tomorrow or book a window appointment.",
                max(1, int(wait.total_seconds()) + 1),
                field="Authorization",  # the signed-in citizen's failures are counted
            )
        if resident is None:
            raise NotFound("citizen", claims.citizen_id, field="Authorization")
        try:
            outcome = await self.verifier.compare(
                id_number=resident.id_number, name=resident.name, liveness_token=liveness_token
            )
        except ProviderUnavailable as error:
            await self._audit(claims, "provider_unavailable", error.code)
            raise
        async with self.uow.write() as store:
            await store.add_face_attempt(
                citizen_id=claims.citizen_id,
                session_id=claims.session_id,
                matched=outcome.matched,
                provider_ref=outcome.provider_ref,
                at=now,
            )
            await store.audit(
                actor=f"citizen:{claims.citizen_id}",
                action="face.verify",
                subject=f"citizen:{claims.citizen_id}",
                detail={
                    "result": "match" if outcome.matched else "no_match",
                    "session_id": claims.session_id,
                    "provider_ref": outcome.provider_ref,
                },
            )
        left = limit - len(failures) - (0 if outcome.matched else 1)
        if outcome.matched:
            return FaceAnswer(True, Assurance.FACE, now + self.policy.lasts, left)
        level, until = await self.assurance(claims.session_id)  # an earlier match may still hold
        return FaceAnswer(False, level, until, left)

    async def _audit(self, claims: Claims, result: str, reason: str) -> None:
        async with self.uow.write() as store:
            await store.audit(
                actor=f"citizen:{claims.citizen_id}",
                action="face.verify",
                subject=f"citizen:{claims.citizen_id}",
                detail={"result": result, "session_id": claims.session_id, "reason": reason},
            )

    async def decline(self, access_token: str, channel: str) -> Alternative:
        claims = await self.auth.authenticate(access_token, channel)
        async with self.uow.write() as store:
            resident = await store.resident(claims.citizen_id)
            if resident is None:
                raise NotFound("citizen", claims.citizen_id, field="Authorization")
            await store.audit(
                actor=f"citizen:{claims.citizen_id}",
                action="face.decline",
                subject=f"citizen:{claims.citizen_id}",
                detail={"session_id": claims.session_id},
            )
        return window_alternative(resident.city_code)
