"""APP devices prove possession of an Ed25519 private key (RFC 8032) by signing the
service's nonce; the service keeps only the raw 32-byte public key. Ed25519 rather
than an HMAC secret: a leak of the table lets no one sign in as a device."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.runtime.errors import InvalidArgument


class Ed25519Keys:
    def check_public_key(self, raw: bytes) -> None:
        try:
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise InvalidArgument(
                "invalid_public_key", "Send the device's raw 32-byte Ed25519 public key.", field="public_key"
            ) from None

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True
