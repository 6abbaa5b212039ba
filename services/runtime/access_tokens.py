"""Access tokens as both their maker (identity) and their checker (the gateway) read
them: JWTs signed with Ed25519 ("EdDSA"), the key named by ``kid`` in the header.

Identity signs with its newest key and publishes the public half of every key it
still accepts (IdentityService.GetSigningKeys); the gateway checks a token against
those, without a call per request. One checker for both, so a token refused by the
gateway is refused by identity with the same words, and the other way round.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.runtime.errors import Kind, ProblemError
from services.runtime.proto_values import CHANNEL_PROTO

ISSUER = "mintong-identity"
#: The audience of staff tokens (a citizen token's is its channel).
STAFF_AUDIENCE = "mintong-staff"
ALGORITHM = "EdDSA"
#: The channels a citizen token may be made for (its audience).
CITIZEN_AUDIENCES = frozenset(CHANNEL_PROTO)


def key_id(public: Ed25519PublicKey) -> str:
    """A key's id: the first 16 characters of the base64url SHA-256 of its raw public
    bytes, so the same key has the same id in every process, nothing to configure."""
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode()[:16]


def refused(detail: str) -> ProblemError:
    return ProblemError("token_invalid", detail, field="Authorization", kind=Kind.UNAUTHENTICATED)


class UnknownKey(ProblemError):
    """A token naming a key this checker does not have: the gateway asks identity for
    its keys again (a rotation it has not seen yet) before refusing it."""

    def __init__(self, kid: str) -> None:
        super().__init__(
            "token_invalid", "The token is not valid.", field="Authorization", kind=Kind.UNAUTHENTICATED
        )
        self.kid = kid


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    session_id: str
    audience: str
    expires_at: dt.datetime
    #: Staff tokens only: the role, office and username the account had when the
    #: token was made (a change revokes the account's sessions: docs/decisions.md).
    role: str = ""
    office: str = ""
    username: str = ""


class Verifier:
    """Checks tokens against a set of public keys by id (replaced whole on refresh)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self.keys: dict[str, Ed25519PublicKey] = dict(keys or {})

    def check(
        self, token: str, *, audience: str, now: dt.datetime, wrong_audience: str, expired: str
    ) -> TokenClaims:
        """The claims of a token signed by one of our keys for ``audience`` and not
        expired by ``now`` (the service's clock, not the machine's); otherwise a 401
        ``token_invalid`` saying which, or :class:`UnknownKey`."""
        # The header read alone, for its key id: PyJWT's own reading of it decoded and
        # checked every segment, all read again by ``jwt.decode`` below (a fifth of a
        # check); ``jwt.decode`` still checks the whole token as strictly.
        header = _json_segment(token.partition(".")[0])
        if header is None:
            raise refused("The token is not valid.")
        kid = header.get("kid")
        # The algorithm is fixed: "alg": "none", HS256 or any other is refused.
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            raise refused("The token is not valid.")
        key = self.keys.get(kid)
        if key is None:
            raise UnknownKey(kid)
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                options={
                    "require": sorted(_REQUIRED),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise refused(_other_kind(token, audience) or wrong_audience) from None
        except jwt.PyJWTError:
            raise refused("The token is not valid.") from None
        claims = _claims(payload, audience)
        if claims.expires_at <= now:
            raise refused(expired)
        return claims

    def issued(self, token: str) -> TokenClaims | None:
        """The claims of a token identity has just issued, read without checking its
        signature (identity's answer to this process is what the signature would
        prove: see gateway/tokens.py, ``TokenKeys.issued``); None unless it names a
        key of this set and carries every claim :meth:`check` requires."""
        header_segment, _, rest = token.partition(".")
        header = _json_segment(header_segment)
        if header is None or header.get("alg") != ALGORITHM or header.get("kid") not in self.keys:
            return None
        payload = _json_segment(rest.partition(".")[0])
        if payload is None or not payload.keys() >= _REQUIRED or payload["iss"] != ISSUER:
            return None
        if not isinstance(audience := payload["aud"], str) or not isinstance(payload["exp"], int | float):
            return None
        return _claims(payload, audience)


#: The claims every access token carries (``jwt.decode``'s ``require`` in ``check``).
_REQUIRED = frozenset({"exp", "sub", "sid", "aud", "iss"})


def _claims(payload: Mapping[str, Any], audience: str) -> TokenClaims:
    return TokenClaims(
        subject=str(payload["sub"]),
        session_id=str(payload["sid"]),
        audience=audience,
        expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.UTC),
        role=str(payload.get("role", "")),
        office=str(payload.get("office", "")),
        username=str(payload.get("username", "")),
    )


def _json_segment(segment: str) -> dict[str, Any] | None:
    """The JSON object one segment of a token encodes (base64url, padding left
    out), or None if it does not decode to one."""
    try:
        value = json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4), b"-_", validate=True))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _other_kind(token: str, audience: str) -> str | None:
    """What to tell someone who sent a good token of the other kind: a staff token
    on a citizen route or a citizen's on a staff route (its signature verified)."""
    sent = jwt.decode(token, options={"verify_signature": False}).get("aud")
    if sent == STAFF_AUDIENCE and audience != STAFF_AUDIENCE:
        return "This is a staff token: citizen routes take a citizen's token from /v1/auth/token."
    if sent in CITIZEN_AUDIENCES and audience == STAFF_AUDIENCE:
        return "This is a citizen's token: staff routes take a staff token from /v1/staff/token."
    return None
