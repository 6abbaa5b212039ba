"""The gateway's copy of identity's token keys: a token naming an unknown key id makes
it ask identity again, at most once per interval; with no key at all it always asks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.tokens import TokenKeys
from mintong.identity.v1 import identity_pb2
from services.runtime.access_tokens import ISSUER, UnknownKey, key_id
from services.runtime.errors import ProblemError

NOW = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)


class Identity:
    """Answers GetSigningKeys with its keys, or fails while ``down``."""

    def __init__(self, *keys: Ed25519PrivateKey) -> None:
        self.keys = list(keys)
        self.asked = 0
        self.down = False

    async def GetSigningKeys(self, request: Any, **options: Any) -> identity_pb2.GetSigningKeysResponse:
        self.asked += 1
        if self.down:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
        return identity_pb2.GetSigningKeysResponse(
            keys=[
                identity_pb2.SigningKey(
                    key_id=key_id(k.public_key()),
                    algorithm="EdDSA",
                    public_key=k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                )
                for k in self.keys
            ]
        )


def token(key: Ed25519PrivateKey) -> str:
    claims = {"iss": ISSUER, "aud": "web", "sub": "c1", "sid": "s1", "exp": NOW + dt.timedelta(minutes=5)}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key())})


async def check(keys: TokenKeys, value: str) -> str:
    claims = await keys.check(value, audience="web", now=NOW, wrong_audience="other", expired="expired")
    return claims.subject


async def test_an_unknown_key_id_asks_identity_once_per_interval() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    identity = Identity(old)
    keys = TokenKeys(identity, timeout=1.0, min_interval=3600)  # type: ignore[arg-type]
    assert await check(keys, token(old)) == "c1"
    assert identity.asked == 1
    identity.keys.insert(0, new)  # a rotation: the new key signs
    keys._asked_at = -float("inf")  # as if asked long ago: the new kid is fetched now
    assert await check(keys, token(new)) == "c1"
    assert identity.asked == 2
    for _ in range(10):  # made-up key ids cost identity nothing more within the interval
        with pytest.raises(UnknownKey):
            await check(keys, token(Ed25519PrivateKey.generate()))
    assert identity.asked == 2
    assert await check(keys, token(old)) == "c1"  # the old key is still published


async def test_with_no_key_yet_the_gateway_asks_whatever_the_interval() -> None:
    key = Ed25519PrivateKey.generate()
    identity = Identity(key)
    identity.down = True
    keys = TokenKeys(identity, timeout=1.0, min_interval=3600)  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError):
        await check(keys, token(key))
    identity.down = False  # identity is up now: the next token is checked
    assert await check(keys, token(key)) == "c1"
    assert identity.asked == 2


async def test_a_token_verified_once_is_not_verified_again_until_the_keys_change() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    identity = Identity(new, old)
    keys = TokenKeys(identity, timeout=1.0, min_interval=3600)  # type: ignore[arg-type]
    value = token(old)
    assert await check(keys, value) == "c1"
    assert list(keys._verified) == [value]
    assert await check(keys, value) == "c1"  # from the cache
    with pytest.raises(ProblemError) as late:  # its expiry is checked each time all the same
        await keys.check(
            value,
            audience="web",
            now=NOW + dt.timedelta(minutes=5),
            wrong_audience="other",
            expired="expired",
        )
    assert late.value.detail == "expired"
    with pytest.raises(ProblemError):  # another audience is checked anew, and refused
        await keys.check(value, audience="app", now=NOW, wrong_audience="other", expired="expired")
    identity.keys = [new]  # the old key retired
    await keys.refresh(force=True)
    with pytest.raises(UnknownKey):
        await check(keys, value)


async def test_a_token_identity_just_issued_is_taken_without_its_signature_checked() -> None:
    key = Ed25519PrivateKey.generate()
    identity = Identity(key)
    keys = TokenKeys(identity, timeout=1.0, min_interval=3600)  # type: ignore[arg-type]
    await keys.refresh()
    value = token(key)
    keys.issued(value)
    assert keys._verified[value][1].session_id == "s1"
    keys.verifier.check = None  # type: ignore[method-assign,assignment]  # a signature check would fail now
    assert await check(keys, value) == "c1"
    with pytest.raises(ProblemError) as late:  # expiry and audience as for any token
        await keys.check(
            value, audience="web", now=NOW + dt.timedelta(minutes=5), wrong_audience="w", expired="expired"
        )
    assert late.value.detail == "expired"


async def test_an_issued_token_under_a_key_not_known_yet_or_unreadable_is_checked_on_first_use() -> None:
    known, unknown = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = TokenKeys(Identity(known), timeout=1.0, min_interval=3600)  # type: ignore[arg-type]
    await keys.refresh()
    unnamed = jwt.encode({"iss": ISSUER, "aud": "web", "sub": "c1", "sid": "s1"}, known, algorithm="EdDSA")
    for value in (token(unknown), "not.a.token", "", unnamed):
        keys.issued(value)
    assert keys._verified == {}
