"""Keeping personal data that arrives in URLs out of traces and access logs.

A query string can carry personal data (``/v1/sandbox/messages?to=+86138…``, a
citizen's position in ``?lat=…&lng=…``), and both the request's server span
(``http.url``, gateway/middleware.py) and uvicorn's access log would record the
full URL. Both keep the parameter names here and lose every value: one rule that
needs no list of which parameters are personal, kept up to date by whoever adds the
next one. The path is kept whole: paths carry ids, never personal data.
"""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import parse_qsl

REDACTED = "REDACTED"
# A parameter name as our API spells them; anything else (``?13800138000``) is a value.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")


@functools.lru_cache(maxsize=1024)
def redact_query(query: str) -> str:
    """``to=%2B86138…&limit=5`` → ``to=REDACTED&limit=REDACTED`` (a still-encoded
    query: a decoded one could have an ``&`` inside a value). Worked out once per
    query while it is asked again (a slot list's few date ranges, read by the
    thousand): each request's span and access-log line redact it, two parses of
    the query that were a twentieth of a slot list's CPU."""
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{name if _NAME.fullmatch(name) else REDACTED}={REDACTED}" for name in names)


class RedactedAccessLog(logging.Filter):
    """Redacts the query of uvicorn's access-log records, whose arguments are
    ``(client, method, path with query, HTTP version, status)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            path, _, query = args[2].partition("?")
            record.args = (args[0], args[1], f"{path}?{redact_query(query)}", args[3], args[4])
        return True


def redact_access_log() -> None:
    """Install :class:`RedactedAccessLog` on uvicorn's access logger, once."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactedAccessLog) for f in access.filters):
        access.addFilter(RedactedAccessLog())
