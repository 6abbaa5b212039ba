"""Secrets for dev mode only: made up once, kept in a file under the data dir that
only its owner can read. Outside dev mode every secret comes from configuration."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


def dev_secret(data_dir: Path, name: str) -> str:
    """The secret in ``<data_dir>/<name>``, made (0600) the first time. Processes
    starting together on a new data dir (a service's or the gateway's workers) race
    to make it: each writes its own in a file of its own, and the first to link it
    under the name wins; the others read the winner's, complete by then (a check for
    the name and then an exclusive create let a second worker fail, or read the file
    before the first had written it)."""
    path = data_dir / name
    if path.exists():
        os.chmod(path, 0o600)  # also when an older file had a wider mode
        return path.read_text(encoding="utf-8").strip()
    made = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(made + "\n")
        os.link(draft, path)  # atomic: made by exactly one
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    finally:
        draft.unlink(missing_ok=True)
    log.warning("dev mode: a random %s was made in %s", name, path)
    return made
