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
    for _line, row in register._rows(content, fmt):  # type: ignore[arg-type]
        with contextlib.suppress(ProblemError):  # a bad row: reported by line, the import goes on
            register.to_resident(row, TODAY)


@pytest.mark.parametrize(
    "content", [b"\r0", b"id_number\r0", b'id_number,name\n"unclosed', b"\x00,a", b"\xff\xfe"]
)
def test_a_broken_file_is_refused_not_crashed_on(content: bytes) -> None:
    with pytest.raises(ProblemError):
        register._rows(content, "csv")


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    fmt=st.sampled_from(["csv", "json"]),
)
def test_any_upload_gives_rows_or_a_problem(content: bytes, fmt: str) -> None:
    with contextlib.suppress(ProblemError):
        read_all(content, fmt)


def test_a_row_with_a_known_good_resident_reads() -> None:
    header = ",".join(register.COLUMNS)
    row = "11010519491231002X,张三,13800138000,zhengzhou,地址,2022-01-01,true,2022-01-02,2042-01-02,valid"
    [(line, parsed)] = register._rows(f"{header}\r\n{row}\r\n".encode(), "csv")
    resident, _ = register.to_resident(parsed, TODAY)
    assert (line, resident.phone, resident.gender) == (2, "+8613800138000", "female")
