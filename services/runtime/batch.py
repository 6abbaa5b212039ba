"""Questions about many ids at once (which of these exist?), one bound for all."""

from __future__ import annotations

from collections.abc import Iterable

from services.runtime.errors import InvalidArgument
from services.runtime.text import check_text

#: Ids per call: a bound on what one question reads.
MAX_IDS = 500


def bounded_ids(ids: Iterable[str], field: str, limit: int = MAX_IDS) -> list[str]:
    """The distinct non-empty ids, in order; 400 ``too_many_ids`` beyond ``limit``,
    400 ``invalid_text`` for an id no database could hold (so none is asked for)."""
    unique = list(dict.fromkeys(check_text(i, field) for i in ids if i))
    if len(unique) > limit:
        raise InvalidArgument("too_many_ids", f"At most {limit} ids in one call.", field=field)
    return unique
