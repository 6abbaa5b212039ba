"""The register file parser refuses what it cannot read with a precise 400, never
a crash: whatever bytes an administrator uploads."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.identity.service_layer import register
from services.runtime.errors import ProblemError

TODAY = dt.date(2030, 1, 7)


def read_all(content: bytes, fmt: str) -> None:
    for _line, row in register.rows(content, fmt):  # type: ignore[arg-type]
        if isinstance(row, dict):
            with contextlib.suppress(ProblemError):  # a bad row: reported by line, the import goes on
                register.to_resident(row, TODAY)


@pytest.mark.parametrize(
    "content", [b"\r0", b"id_number\r0", b'id_number,name\n"unclosed', b"\x00,a", b"\xff\xfe"]
)
def test_a_broken_file_is_refused_not_crashed_on(content: bytes) -> None:
    with pytest.raises(ProblemError):
        list(register.rows(content, "csv"))


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    fmt=st.sampled_from(["csv", "jsonl"]),
)
def test_any_upload_gives_rows_or_a_problem(content: bytes, fmt: str) -> None:
    with contextlib.suppress(ProblemError):
        read_all(content, fmt)


def test_a_row_with_a_known_good_resident_reads() -> None:
    header = ",".join(register.COLUMNS)
    row = "11010519491231002X,张三,13800138000,zhengzhou,地址,2022-01-01,true,2022-01-02,2042-01-02,valid"
    [(line, parsed)] = register.rows(f"{header}\r\n{row}\r\n".encode(), "csv")
    assert isinstance(parsed, dict)
    resident = register.to_resident(parsed, TODAY)
    assert (line, resident.phone, resident.gender) == (2, "+8613800138000", "female")


HEADER = ",".join(register.COLUMNS)
GOOD = "11010519491231002X,张三,13800138000,zhengzhou,地址,2022-01-01,true,2022-01-02,2042-01-02,valid"


def pieces(content: bytes, size: int) -> list[bytes]:
    return [content[i : i + size] for i in range(0, len(content), size)]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=64))
def test_pieces_of_any_size_read_as_the_whole_file(size: int) -> None:
    # Cut anywhere: inside a line, a quoted field with a line break, a UTF-8 character.
    content = (f'{HEADER}\n{GOOD}\n\n"1101","多行\n地址",x,,,,,,,\r\n{GOOD.replace("张三", "李四")}').encode()
    whole = list(register.rows(content, "csv"))
    assert [line for line, _ in whole] == [2, 4, 6]
    assert list(register.rows(pieces(content, size), "csv")) == whole


def test_json_lines_report_each_bad_line_and_read_the_rest() -> None:
    content = b'{"name": "a"}\n\nnot json\n[1]\n{"name": "b"}'
    found = list(register.rows(pieces(content, 3), "jsonl"))
    assert [line for line, _ in found] == [1, 3, 4, 5]
    assert [type(row).__name__ for _, row in found] == ["dict", "RowProblem", "RowProblem", "dict"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "张\x00三"), ("household_address", "地址\x07"), ("city", "zz\ud800"), ("name", "长" * 101)],
)
def test_text_that_cannot_be_stored_is_refused_naming_the_field(field: str, value: str) -> None:
    [(_, row)] = register.rows(f"{HEADER}\n{GOOD}\n".encode(), "csv")
    assert isinstance(row, dict)
    with pytest.raises(ProblemError) as refused:
        register.to_resident({**row, field: value}, TODAY)
    assert refused.value.field == field


def test_a_record_without_end_is_refused_not_buffered() -> None:
    with pytest.raises(ProblemError) as refused:
        list(
            register.rows(pieces(f'{HEADER}\n"'.encode() + b"x" * (register.MAX_RECORD + 10), 1 << 16), "csv")
        )
    assert refused.value.code == "record_too_long"


@settings(max_examples=2000, deadline=None)
@given(
    digits=st.text("0123456789", min_size=10, max_size=10),
    prefix=st.sampled_from(["", "86", "+86"]),
)
def test_the_mobile_fast_path_agrees_with_phonenumbers(digits: str, prefix: str) -> None:
    raw = f"{prefix}1{digits}"
    try:
        expected: str | None = register._parse_phone(raw)
    except ProblemError:
        expected = None
    try:
        found: str | None = register.parse_phone(raw)
    except ProblemError:
        found = None
    assert found == expected
