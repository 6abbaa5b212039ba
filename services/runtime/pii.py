"""Sealing of personal data at rest (ID numbers, phone numbers and other addresses),
shared by the services that keep such data (identity, notify).

A :class:`PiiCipher` seals a value with Fernet (AES-128-CBC + HMAC-SHA256, a fresh
random IV each time), so equal values give unequal tokens and nothing about the
value shows in the database. Look-ups and unique constraints use :meth:`lookup`, a
keyed hash (HMAC-SHA256 under a key of its own): deterministic, so ``WHERE
id_lookup = :h`` works, yet useless to whoever holds the table without the key.

Keys come from configuration (:class:`PiiSettings`), newest encryption key first.
Rotation: put a new key first, run :func:`reseal` over every sealed column (each
service's ``reseal`` command), then drop the old key. The lookup key cannot be
rotated that way (every stored hash would change); it is re-derived, if ever, by a
migration that opens every sealed value and hashes it anew.

:meth:`PiiCipher.for_dev` keeps generated keys in ``<data_dir>/pii-keys.json`` for a
developer's machine. Outside dev the settings refuse to load without keys.

Callers normalise a value before sealing or hashing it (e.g. an ID number's final
``x`` upper-cased), so that equal numbers hash equally. Nothing here logs a value,
and no error message carries a value, a token or a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr, model_validator
from sqlalchemy import Table, and_, select, update

from services.runtime.config import ServiceSettings
from services.runtime.db import Database

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
        self._newest = fernets[0]
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

    def seal_bytes(self, plain: bytes) -> str:
        """The token to store for raw bytes (e.g. a piece of an uploaded file, which
        may end inside a UTF-8 character)."""
        return self._fernet.encrypt(plain).decode("ascii")

    def open_bytes(self, sealed: str) -> bytes:
        """The bytes of a token made by :meth:`seal_bytes`."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            raise _unopenable() from None

    def rotate(self, sealed: str) -> str:
        """``sealed`` re-sealed under the newest key (for the rotation pass)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise _unopenable() from None

    def is_current(self, sealed: str) -> bool:
        """True when ``sealed`` opens under the newest key: re-sealing it would only
        change its IV, so a second rotation pass leaves it alone."""
        try:
            self._newest.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def lookup(self, plain: str) -> str:
        """The keyed hash of ``plain`` (64 hex digits) for equality look-ups."""
        return hmac.new(self._lookup_key, plain.encode("utf-8"), hashlib.sha256).hexdigest()


class PiiSettings(ServiceSettings):
    """Settings of a service that keeps personal data sealed (MINTONG_PII_*)."""

    #: Fernet keys sealing personal data, newest first, comma-separated. Rotation:
    #: put a new key first (values sealed under any listed key still open), run the
    #: service's ``reseal`` command, then drop the old key (docs/operations.md).
    pii_keys: SecretStr | None = None
    #: Key of the keyed hashes personal data is looked up by.
    pii_lookup_key: SecretStr | None = None

    @model_validator(mode="after")
    def _pii_keys_outside_dev(self) -> PiiSettings:
        if self.env != "dev":
            for name in ("pii_keys", "pii_lookup_key"):
                if getattr(self, name) is None:
                    raise ValueError(f"MINTONG_{name.upper()} must be set when MINTONG_ENV is not dev")
        return self

    def pii_cipher(self) -> PiiCipher:
        """The configured keys; in dev mode without them, the dev keys file's."""
        if self.pii_keys and self.pii_lookup_key:
            keys = [k.strip() for k in self.pii_keys.get_secret_value().split(",") if k.strip()]
            return PiiCipher(keys, self.pii_lookup_key.get_secret_value())
        return PiiCipher.for_dev(self.data_dir)  # the validator refused this outside dev


# --- re-sealing under the newest key -----------------------------------------------


@dataclass(frozen=True)
class SealedColumns:
    """Columns of one table holding tokens (or NULL). The table has a one-column
    primary key, by which the pass pages through it."""

    table: Table
    columns: tuple[str, ...]


@dataclass
class ResealReport:
    table: str
    rows: int = 0
    values: int = 0  # tokens looked at
    resealed: int = 0  # of them, sealed anew under the newest key
    #: "<primary key>.<column>" of tokens no configured key opens (never values).
    unopenable: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        line = f"{self.table}: {self.rows} rows, {self.values} sealed values, {self.resealed} re-sealed"
        if self.unopenable:
            line += f", {len(self.unopenable)} cannot be opened: " + ", ".join(self.unopenable[:20])
        return line


async def reseal(
    db: Database, cipher: PiiCipher, targets: Sequence[SealedColumns], *, batch: int = 500
) -> list[ResealReport]:
    """Re-seal every token of ``targets`` not yet under the newest key.

    One write transaction per ``batch`` rows, so the service can keep running (and
    SQLite's one writer is not held for the whole pass). A row is only rewritten
    where its tokens are still the ones read (compare-and-set), so a value the
    service changed meanwhile is left as the service wrote it. Running it again
    re-seals nothing: tokens under the newest key are left alone. Tokens that no
    configured key opens are reported by primary key, and the pass goes on.
    """
    reports = []
    for target in targets:
        table = target.table
        [pk] = table.primary_key.columns
        report = ResealReport(table.name)
        last = None
        while True:
            async with db.write() as conn:
                query = select(pk, *(table.c[c] for c in target.columns)).order_by(pk).limit(batch)
                if last is not None:
                    query = query.where(pk > last)
                rows = (await conn.execute(query)).all()
                for row in rows:
                    report.rows += 1
                    changes = {}
                    for name in target.columns:
                        token = row._mapping[name]
                        if token is None:
                            continue
                        report.values += 1
                        if cipher.is_current(token):
                            continue
                        try:
                            changes[name] = cipher.rotate(token)
                        except PiiKeyError:
                            report.unopenable.append(f"{row[0]}.{name}")
                    if changes:
                        same = and_(pk == row[0], *(table.c[c] == row._mapping[c] for c in changes))
                        done = await conn.execute(update(table).where(same).values(**changes))
                        report.resealed += len(changes) if done.rowcount else 0
            if len(rows) < batch:
                break
            last = rows[-1][0]
        reports.append(report)
    return reports


async def reseal_command(
    reseal: Callable[[int], Awaitable[list[ResealReport]]], db: Database, batch: int
) -> int:
    """The ``reseal`` command of every service that seals: print each table's
    report, close the database, exit 1 if anything could not be opened."""
    try:
        reports = await reseal(batch)
    finally:
        await db.dispose()
    for report in reports:
        print(report)
    return 1 if any(r.unopenable for r in reports) else 0


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
