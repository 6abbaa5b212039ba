"""Unit tests of resident ID numbers (GB 11643-1999): fixed vectors, then properties
checked against a reference implementation written here independently (weights as
2^(17-i) mod 11, dates checked with ``calendar.monthrange``, regexes for characters).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.identity.domain.id_number import IdNumber, check_character, parse
from services.runtime.errors import InvalidArgument

TODAY = dt.date(2025, 6, 30)
CODES = {
    "id_number_required",
    "id_number_characters",
    "id_number_length",
    "id_number_birth_date",
    "id_number_check_digit",
}
#: Real region codes (Beijing Chaoyang, Guangdong Jieyang, Shanghai Huangpu, Haikou...).
REGIONS = ("110105", "440524", "310101", "460100", "460105", "460108", "510107", "650102")


# --- reference implementation ------------------------------------------------------


def reference_check(first17: str) -> str:
    total = 0
    for i in range(17):
        total += int(first17[i]) * (2 ** (17 - i) % 11)
    return "10X98765432"[total % 11]


def reference_accepts(value: str, today: dt.date) -> bool:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value, flags=re.ASCII):
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not (1850 <= year <= today.year and 1 <= month <= 12):
        return False
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if (year, month, day) > (today.year, today.month, today.day):
        return False
    return value[17] == reference_check(value[:17])


def reference_normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"\A\s+|\s+\Z", "", text)
    text = re.sub(r"[ \t\u3000]", "", text)
    return re.sub(r"x\Z", "X", text)


def with_check(first17: str) -> str:
    return first17 + reference_check(first17)


# --- helpers -----------------------------------------------------------------------


def refusal(raw: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse(raw, today=TODAY)
    error = caught.value
    assert error.field == "id_number"
    assert error.code in CODES
    # Personal data: no run of the number's digits in what may reach a log.
    for text in (error.detail, str(error), repr(error)):
        assert not re.search(r"\d{5,}", text), text
    return error


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- vectors -----------------------------------------------------------------------


def test_a_valid_number_of_a_woman() -> None:
    number = parse("11010519491231002X", today=TODAY)
    assert number.value == "11010519491231002X"
    assert number.region == "110105"
    assert number.birth_date == dt.date(1949, 12, 31)
    assert number.sequence == "002"
    assert number.gender == "female"


def test_a_valid_number_of_a_man_born_in_1880() -> None:
    number = parse("440524188001010014", today=TODAY)
    assert (number.region, number.birth_date, number.sequence, number.gender) == (
        "440524",
        dt.date(1880, 1, 1),
        "001",
        "male",
    )


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        "110105 19491231 002X",
        "110105\u300019491231\u3000002X",
        "110105\t19491231\t002x",
        "  11010519491231002X \n",
        "\u3000１１０１０５ １９４９１２３１ ００２Ｘ\u3000",
    ],
)
def test_normalised_forms_give_the_canonical_value(raw: str) -> None:
    assert parse(raw, today=TODAY).value == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310021", "id_number_check_digit"),
        (with_check("11010519000229001"), "id_number_birth_date"),  # 1900 is not a leap year
        (with_check("11010520230230001"), "id_number_birth_date"),
        (with_check("11010520231301001"), "id_number_birth_date"),
        (with_check("11010520230001001"), "id_number_birth_date"),
        (with_check("11010520230100001"), "id_number_birth_date"),
        (with_check("11010500000101001"), "id_number_birth_date"),
        (with_check("11010520250701001"), "id_number_birth_date"),  # the day after TODAY
        (with_check("11010518491231001"), "id_number_birth_date"),
        ("11010519491231002", "id_number_length"),
        ("1101051949123100201", "id_number_length"),
        ("", "id_number_required"),
        ("  \u3000\t ", "id_number_required"),
        ("110105-19491231-002X", "id_number_characters"),
        ("1101051949A231002X", "id_number_characters"),
        ("11010x19491231002X", "id_number_characters"),
        ("X11010519491231002", "id_number_characters"),
        ("11010519491231002X.", "id_number_characters"),
        ("110105\n19491231002X", "id_number_characters"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "id_number_characters"),  # Arabic-Indic digits are not ASCII
    ],
)
def test_malformed_numbers_are_refused_without_echoing_them(raw: str, code: str) -> None:
    assert refusal(raw).code == code


def test_a_leap_day_birth_date_is_accepted() -> None:
    assert parse(with_check("11010520000229001"), today=TODAY).birth_date == dt.date(2000, 2, 29)


def test_the_birth_date_bounds_are_inclusive() -> None:
    assert parse(with_check("11010518500101001"), today=TODAY).birth_date == dt.date(1850, 1, 1)
    assert parse(with_check("11010520250630001"), today=TODAY).birth_date == TODAY


def test_the_length_detail_says_how_many_characters_were_given() -> None:
    assert "17" in refusal("11010519491231002").detail
    assert "19" in refusal("1101051949123100201").detail


def test_check_character_vectors_and_contract() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"
    for bad in (
        "1101051949123100",
        "110105194912310021",
        "1101051949123100X",
        "１１０１０５１９４９１２３１００２",
    ):
        with pytest.raises(ValueError):
            check_character(bad)


def test_the_number_prints_masked_and_only_value_gives_it_in_full() -> None:
    number = parse("11010519491231002X", today=TODAY)
    assert number.masked == "110105********002X"
    assert str(number) == f"{number}" == format(number) == "110105********002X"
    assert "19491231" not in repr(number)
    assert "19491231" not in repr([number])
    assert number.value == "11010519491231002X"


def test_a_hand_built_number_must_agree_with_its_value() -> None:
    good = parse("11010519491231002X", today=TODAY)
    assert IdNumber("11010519491231002X", "110105", dt.date(1949, 12, 31), "002", "female") == good
    with pytest.raises(ValueError):
        IdNumber("11010519491231002X", "110105", dt.date(1949, 12, 30), "002", "female")
    with pytest.raises(ValueError):
        IdNumber("11010519491231002X", "110105", dt.date(1949, 12, 31), "002", "male")


# --- properties --------------------------------------------------------------------

prefixes = st.builds(
    lambda region, born, sequence: f"{region}{born:%Y%m%d}{sequence:03d}",
    st.sampled_from(REGIONS),
    st.dates(min_value=dt.date(1850, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


@given(prefixes)
def test_a_correct_check_character_is_accepted_and_every_other_refused(prefix: str) -> None:
    right = reference_check(prefix)
    number = parse(prefix + right, today=TODAY)
    assert number.value == prefix + right
    assert number.region == prefix[:6]
    assert number.birth_date == dt.date(int(prefix[6:10]), int(prefix[10:12]), int(prefix[12:14]))
    assert number.sequence == prefix[14:17]
    assert number.gender == ("male" if int(prefix[14:17]) % 2 == 1 else "female")
    assert check_character(prefix) == right
    for shown in (number.masked, str(number), repr(number), f"{number}"):
        assert prefix[6:14] not in shown
    assert number.masked[6:14] == "********"
    assert number.masked[:6] + number.masked[14:] == number.value[:6] + number.value[14:]
    for wrong in "0123456789X":
        if wrong != right:
            assert refusal(prefix + wrong).code == "id_number_check_digit"


@given(
    prefixes,
    st.lists(st.sampled_from([" ", "\u3000", "\t"]), max_size=4),
    st.lists(st.integers(min_value=0, max_value=18), max_size=4),
    st.booleans(),
    st.sampled_from(["", " ", "\n", "\u3000", "\t \r\n"]),
)
def test_written_forms_of_a_valid_number_parse_to_it(
    prefix: str, spaces: list[str], positions: list[int], wide: bool, around: str
) -> None:
    value = prefix + reference_check(prefix)
    written = value.lower()
    for space, position in zip(spaces, positions, strict=False):
        written = written[:position] + space + written[position:]
    if wide:
        written = full_width(written)
    assert parse(around + written + around, today=TODAY).value == value


noisy_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("0123456789Xx １２９Ｘｘ\u3000\t-\n٣"), max_size=24),
    prefixes.map(lambda prefix: prefix + reference_check(prefix)),
    st.builds(lambda prefix, tail: prefix + tail, prefixes, st.text(max_size=3)),
)


@given(noisy_text)
def test_any_text_parses_exactly_when_the_reference_accepts_it(raw: str) -> None:
    try:
        number = parse(raw, today=TODAY)
    except InvalidArgument as error:
        assert error.field == "id_number"
        assert error.code in CODES
        assert not re.search(r"\d{5,}", str(error))
        assert not reference_accepts(reference_normalise(raw), TODAY)
    else:
        assert reference_accepts(number.value, TODAY)
        assert number.value == reference_normalise(raw)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=18, max_size=18))
def test_eighteen_arbitrary_characters_never_raise_anything_else(raw: str) -> None:
    assume(raw.strip())
    try:
        parse(raw, today=TODAY)
    except InvalidArgument as error:
        assert error.code in CODES
