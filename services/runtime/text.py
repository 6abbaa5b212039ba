"""What text any service may store: one rule, used at the gateway's edge and again
where a service takes text from elsewhere (a file import, a gRPC call).

PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate; other
control characters are never meant in a name, an address or a guide and only hide
what a person sees. So a value is refused, naming its field, when it holds any of
them, or when it is longer than its limit; tabs and line breaks are allowed only
where a field is multi-line (guides, announcements).
"""

from __future__ import annotations

import re
import unicodedata

from services.runtime.errors import InvalidArgument

#: C0 and C1 controls, DEL, and the UTF-16 surrogate range (a lone one can reach
#: Python from JSON's ``\\ud800`` escapes).
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

#: Default limits, in characters.
SHORT = 200
LONG = 4000


def text_problem(value: str, *, multiline: bool = False, max_length: int = SHORT) -> str | None:
    """Why ``value`` may not be stored, in words, or None when it may."""
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if found is not None:
        char = found.group()
        name = unicodedata.name(char, None) if not 0xD800 <= ord(char) <= 0xDFFF else "a lone surrogate"
        return f"must not contain U+{ord(char):04X} ({name or 'a control character'})"
    if len(value) > max_length:
        return f"must be at most {max_length} characters long"
    return None


def check_text(value: str, field: str, *, multiline: bool = False, max_length: int = SHORT) -> str:
    """``value`` itself, or :class:`InvalidArgument` ``invalid_text`` naming ``field``."""
    reason = text_problem(value, multiline=multiline, max_length=max_length)
    if reason is not None:
        raise InvalidArgument(
            "invalid_text", f"{field} {reason}.", field=field, title="Text cannot be stored"
        )
    return value
