"""Access tokens checked in the gateway, with no call to identity per request:
identity's public keys (asked for at start, again every few minutes and when a
token names a key id not seen yet, at most once per ``min_interval``), and the
revoked sessions every gateway process watches (services/runtime/revocations.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.problems import Problem
from mintong.identity.v1 import identity_pb2, identity_pb2_grpc
from services.runtime.access_tokens import ALGORITHM, TokenClaims, UnknownKey, Verifier, refused
from services.runtime.clock import Clock
from services.runtime.errors import ProblemError
from services.runtime.revocations import RevocationWatcher

log = logging.getLogger(__name__)


class TokenKeys:
    """Identity's token keys as this process last heard them."""

    def __init__(
        self,
        stub: identity_pb2_grpc.IdentityServiceStub,
        *,
        timeout: float,
        min_interval: float = 5.0,
        every: float = 300.0,
        cache_size: int = 20_000,
    ) -> None:
        self.stub = stub
        self.timeout = timeout
        self.min_interval = min_interval
        self.every = every
        self.verifier = Verifier()
        #: Tokens verified, with the key set that verified them (a new set from
        #: identity, a retired key gone, makes every entry stale).
        self._verified: dict[str, tuple[Verifier, TokenClaims]] = {}
        self.cache_size = cache_size
        self._asked_at = -float("inf")
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self, *, force: bool = False) -> None:
        """Ask identity for its keys, unless asked less than ``min_interval`` ago (a
        stream of tokens with made-up key ids costs identity one call per interval)."""
        async with self._lock:
            # With no key at all (identity was not up when last asked) there is
            # nothing to protect: ask. A failed call does not count as asked.
            recent = time.monotonic() - self._asked_at < self.min_interval
            if recent and not force and self.verifier.keys:
                return
            answer = await self.stub.GetSigningKeys(
                identity_pb2.GetSigningKeysRequest(), timeout=self.timeout
            )
            self._asked_at = time.monotonic()
            self.verifier = Verifier(
                {
                    k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key)
                    for k in answer.keys
                    if k.algorithm == ALGORITHM
                }
            )

    async def check(
        self, token: str, *, audience: str, now: dt.datetime, wrong_audience: str, expired: str
    ) -> TokenClaims:
        """``Verifier.check``; a key id not known yet makes this process ask identity
        (rate-limited) before the token is refused. A token verified before is not
        verified again (0.26 ms of CPU saved per request): the same characters, the
        same verdict, as long as the keys are the same; its expiry is checked anew."""
        verifier = self.verifier
        known = self._verified.get(token)
        if known is not None and known[0] is verifier and known[1].audience == audience:
            if known[1].expires_at <= now:
                raise refused(expired)
            return known[1]
        if not verifier.keys:
            await self.refresh()
        for last in (False, True):
            verifier = self.verifier
            try:
                claims = verifier.check(
                    token, audience=audience, now=now, wrong_audience=wrong_audience, expired=expired
                )
            except UnknownKey:
                if last:
                    raise
                await self.refresh()
                continue
            self._remember(token, verifier, claims)
            return claims
        raise AssertionError("unreachable")

    def issued(self, token: str) -> None:
        """A token identity has just issued to this process (a sign-in, a refresh),
        taken as verified: its first use is then a look-up like the ones after it,
        instead of the signature's check (Ed25519 and PyJWT's reading, about half a
        millisecond of CPU, decision 118). Identity's answer on its channel is what
        the signature would have proved. Expiry and revocation are checked on every
        use as for any token; a token naming a key this process does not know yet is
        left to be checked on its first use."""
        verifier = self.verifier
        claims = verifier.issued(token)
        if claims is not None:
            self._remember(token, verifier, claims)

    def _remember(self, token: str, verifier: Verifier, claims: TokenClaims) -> None:
        if len(self._verified) >= self.cache_size:
            self._verified.clear()  # bounded; refilled by the tokens in use
        self._verified[token] = (verifier, claims)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="token-keys")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        """At start, then every ``every`` seconds: a retired key leaves this process
        even when no token names a new one."""
        while True:
            try:
                await self.refresh(force=True)
                wait = self.every
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # identity not up yet: the first token asks again
                log.info("identity's token keys not read (%s); trying again", type(exc).__name__)
                wait = min(self.every, 2.0)
            await asyncio.sleep(wait)


class TokenChecker:
    """What the routes' dependencies ask: the claims of a valid, unrevoked token."""

    def __init__(
        self, keys: TokenKeys, revoked: RevocationWatcher, clock: Clock, *, ready_wait: float
    ) -> None:
        self.keys = keys
        self.revoked = revoked
        self.clock = clock
        self.ready_wait = ready_wait

    async def claims(self, token: str, *, audience: str, wrong_audience: str, expired: str) -> TokenClaims:
        try:
            claims = await self.keys.check(
                token, audience=audience, now=self.clock(), wrong_audience=wrong_audience, expired=expired
            )
        except ProblemError as error:
            raise Problem(error.kind.http_status, error.code, error.detail, field=error.field) from None
        if not self.revoked.ready.is_set():
            # A process that has not read the revocations yet could take a signed-out
            # token: it waits a moment for them, then says to try again.
            try:
                await asyncio.wait_for(self.revoked.ready.wait(), self.ready_wait)
            except TimeoutError:
                raise Problem(
                    503,
                    "sessions_unavailable",
                    "Signed-in requests cannot be checked just now; try again shortly.",
                    headers={"Retry-After": "1"},
                ) from None
        if claims.session_id in self.revoked:
            raise Problem(
                401, "session_ended", "This session has ended; sign in again.", field="Authorization"
            )
        return claims
