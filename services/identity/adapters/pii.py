"""Sealing of residents' ID numbers and phone numbers at rest.

A :class:`PiiCipher` seals a value with Fernet (AES-128-CBC + HMAC-SHA256, a fresh
random IV each time), so equal values give unequal tokens and nothing about the
value shows in the database. Look-ups and unique constraints use :meth:`lookup`, a
keyed hash (HMAC-SHA256 under a key of its own): deterministic, so ``WHERE
id_lookup = :h`` works, yet useless to whoever holds the table without the key.

Keys come from configuration, newest encryption key first. Rotation: put a new key
first, run :meth:`PiiCipher.rotate` over every stored token, then drop the old key.
The lookup key cannot be rotated that way (every stored hash would change); it is
re-derived, if ever, by a migration that opens every sealed value and hashes it anew.

:meth:`PiiCipher.for_dev` keeps generated keys in ``<data_dir>/pii-keys.json`` for a
developer's machine. Outside dev the composition root must take the keys from
configuration (a secret store) and refuse to start without them; this module does
not decide which mode applies.

Callers normalise a value before sealing or hashing it (e.g. an ID number's final
``x`` upper-cased), so that equal numbers hash equally. Nothing here logs, and no
error message carries a value, a token or a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEV_KEYS_FILE = "pii-keys.json"

#: The lookup key is at least this long (Fernet keys, 44 characters, qualify).
MIN_LOOKUP_KEY_LENGTH = 32


class PiiKeyError(ValueError):
    """A sealed value cannot be opened with the configured keys (or a key is bad)."""


class PiiCipher:
    """Seals, opens, re-seals and hashes personal data under configured keys."""

    def __init__(self, encryption_keys: list[str], lookup_key: str) -> None:
        if not encryption_keys:
            raise PiiKeyError("at least one PII encryption key is required")
        fernets = []
        for position, key in enumerate(encryption_keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # No key in the message: it would end up in a log.
                raise PiiKeyError(
                    f"PII encryption key #{position} is not a Fernet key "
                    "(32 bytes, url-safe base64; see PiiCipher.generate_key)"
                ) from None
        if len(lookup_key) < MIN_LOOKUP_KEY_LENGTH:
            raise PiiKeyError(f"the PII lookup key must be at least {MIN_LOOKUP_KEY_LENGTH} characters")
        if lookup_key in encryption_keys:
            raise PiiKeyError("the PII lookup key must differ from every encryption key")
        self._fernet = MultiFernet(fernets)
        self._lookup_key = lookup_key.encode("utf-8")
        self._key_count = len(fernets)

    def __repr__(self) -> str:
        return f"PiiCipher(<{self._key_count} encryption key(s)>, <lookup key>)"

    @staticmethod
    def generate_key() -> str:
        """A new random key, fit for either role (operators run this)."""
        return Fernet.generate_key().decode("ascii")

    @classmethod
    def for_dev(cls, data_dir: Path) -> PiiCipher:
        """Dev mode only: keys generated once into ``<data_dir>/pii-keys.json``
        (mode 0600), then reused, so sealed values survive restarts."""
        path = Path(data_dir) / DEV_KEYS_FILE
        if not path.exists():
            _create_private_file(
                path,
                json.dumps(
                    {"encryption_keys": [cls.generate_key()], "lookup_key": cls.generate_key()}, indent=2
                ),
            )
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            encryption_keys, lookup_key = stored["encryption_keys"], stored["lookup_key"]
        except (ValueError, KeyError, TypeError):
            raise PiiKeyError(f"{path} is not a PII keys file; remove it to generate new keys") from None
        return cls(list(encryption_keys), lookup_key)

    def seal(self, plain: str) -> str:
        """The token to store for ``plain``: different every time."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text of a token sealed under any configured key."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise _unopenable() from None

    def rotate(self, sealed: str) -> str:
        """``sealed`` re-sealed under the newest key (for the rotation pass)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise _unopenable() from None

    def lookup(self, plain: str) -> str:
        """The keyed hash of ``plain`` (64 hex digits) for equality look-ups."""
        return hmac.new(self._lookup_key, plain.encode("utf-8"), hashlib.sha256).hexdigest()


def _unopenable() -> PiiKeyError:
    # The token is left out on purpose: it is personal data under encryption.
    return PiiKeyError(
        "a sealed PII value cannot be opened: it was sealed under a key that is no longer "
        "configured, or it was altered"
    )


def _create_private_file(path: Path, content: str) -> None:
    """Write ``path`` readable by its owner only, atomically: a concurrent first
    start either wins or reads the winner's complete file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
