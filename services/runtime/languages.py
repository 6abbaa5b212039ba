"""The languages citizens read: Chinese first, with an English twin that may be
missing, wholly or entry by entry. One home for how a missing English entry falls
back to its Chinese, used by the gateway's answers and by notify's messages."""

from __future__ import annotations

from collections.abc import Sequence


def english_or_chinese(chinese: Sequence[str], english: Sequence[str]) -> list[str]:
    """``english`` entry by entry, the Chinese entry wherever the English one is
    empty or missing (a twin list shorter than the Chinese, or none at all)."""
    return [(english[i] if i < len(english) else "") or zh for i, zh in enumerate(chinese)]
