"""Signed, short-lived access tokens: JWT signed with Ed25519 ("EdDSA"), the key's id
in the header. The newest key signs; the older ones stay published (and accepted)
so that their tokens live out their few minutes after a rotation. The audience is
the channel, so a token made for the APP is refused on WeChat. The gateway checks
these tokens itself with the public keys (services/runtime/access_tokens.py)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from services.identity.service_layer.ports import Claims
from services.runtime.access_tokens import ALGORITHM, ISSUER, STAFF_AUDIENCE, Verifier, key_id

__all__ = ["STAFF_AUDIENCE", "JwtTokens", "SigningKeys"]

_PEM_START = "-----BEGIN"


@dataclass(frozen=True)
class SigningKeys:
    """Identity's token keys, newest first: the first signs, every one verifies."""

    private: tuple[Ed25519PrivateKey, ...]

    def __post_init__(self) -> None:
        if not self.private:
            raise ValueError("at least one token signing key is needed")

    @classmethod
    def parse(cls, setting: str) -> SigningKeys:
        """MINTONG_TOKEN_SIGNING_KEYS: Ed25519 private keys (PKCS#8 PEM), newest first,
        separated by commas; each a PEM value or the path of a PEM file."""
        keys = []
        for item in (part.strip() for part in setting.split(",")):
            if not item:
                continue
            pem = item if item.startswith(_PEM_START) else Path(item).read_text(encoding="utf-8")
            key = load_pem_private_key(pem.replace("\\n", "\n").encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(
                    "token signing keys must be Ed25519 keys (openssl genpkey -algorithm ed25519)"
                )
            keys.append(key)
        return cls(tuple(keys))

    @classmethod
    def dev(cls, data_dir: Path) -> SigningKeys:
        """Dev mode: one key made the first time in ``<data dir>/token-signing-key.pem``
        (0600), as services/runtime/dev_secrets.py does for other secrets."""
        path = data_dir / "token-signing-key.pem"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            )
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process of this data dir made it first
                pass
            else:
                with os.fdopen(fd, "wb") as file:
                    file.write(pem)
        os.chmod(path, 0o600)
        return cls.parse(str(path))

    @property
    def signing(self) -> tuple[str, Ed25519PrivateKey]:
        return key_id(self.private[0].public_key()), self.private[0]

    @property
    def public(self) -> dict[str, Ed25519PublicKey]:
        """Every key's public half by id, the signing key's first."""
        return {key_id(k.public_key()): k.public_key() for k in self.private}

    def verifier(self) -> Verifier:
        return Verifier(self.public)


def sign(
    keys: SigningKeys,
    *,
    audience: str,
    subject: str,
    session_id: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    extra: dict[str, str] | None = None,
) -> str:
    """A token of one session; citizens' and staff tokens differ in audience (and
    staff tokens carry role, office and username: ``extra``)."""
    kid, key = keys.signing
    payload: dict[str, object] = {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "sid": session_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        **(extra or {}),
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


class JwtTokens:
    def __init__(self, keys: SigningKeys, lifetime: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self._keys = keys
        self._verifier = keys.verifier()
        self.lifetime = lifetime

    def issue(self, claims: Claims, now: dt.datetime) -> tuple[str, int]:
        token = sign(
            self._keys,
            audience=claims.channel,
            subject=claims.citizen_id,
            session_id=claims.session_id,
            now=now,
            lifetime=self.lifetime,
        )
        return token, int(self.lifetime.total_seconds())

    def verify(self, token: str, channel: str, now: dt.datetime) -> Claims:
        claims = self._verifier.check(
            token,
            audience=channel,
            now=now,
            wrong_audience="This token was issued for another channel.",
            expired="The token has expired; refresh it.",
        )
        return Claims(claims.subject, claims.session_id, channel)
