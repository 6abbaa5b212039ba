"""HMAC signatures of HTTP bodies exchanged with outside systems: requests mintong
sends to providers, and the callbacks (delivery receipts, courier status) they send
back to the gateway. See docs/sms-provider.md for the scheme."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_VERSION = "v1"
TIMESTAMP_HEADER = "X-Mintong-Timestamp"
SIGNATURE_HEADER = "X-Mintong-Signature"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Mintong-Signature`` value: ``v1=`` and the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"`` keyed with ``secret``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300
) -> bool:
    """Whether ``signature`` signs ``body`` at ``timestamp`` with ``secret``, and
    ``timestamp`` (unix seconds) lies within ``tolerance`` seconds of ``now``, either
    side — the window bounds how long a captured request can be replayed."""
    # Only plain ASCII digits: int() would also take "+1", " 1", "1_0" and Arabic-Indic digits.
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode("ascii")
    # Constant time, so the signature cannot be guessed byte by byte from response times;
    # bytes rather than str because compare_digest refuses non-ASCII str.
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
