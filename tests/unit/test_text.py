"""The one rule of what text a service may store."""

from __future__ import annotations

import pytest

from services.runtime.errors import InvalidArgument
from services.runtime.text import check_text, text_problem


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\ud800b", "line\nbreak"])
def test_refused_in_a_single_line_field(bad: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_text(bad, "name")
    assert caught.value.field == "name"
    assert caught.value.code == "invalid_text"


def test_multiline_fields_take_line_breaks_and_tabs_but_not_nul() -> None:
    assert text_problem("第一行\n\t第二行\r\n", multiline=True) is None
    assert text_problem("a\x00", multiline=True) is not None


def test_length_is_counted_in_characters() -> None:
    assert text_problem("张" * 200) is None
    assert "at most 200" in (text_problem("张" * 201) or "")
