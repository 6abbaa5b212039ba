"""What time it is: the one ``Clock`` type every service takes, and the real one.

Use cases take a clock instead of reading the machine's, so tests can set the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

#: Answers the current instant, timezone-aware in UTC.
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
