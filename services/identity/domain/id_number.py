"""Resident ID numbers (GB 11643-1999): parsed once, at the edge, into an :class:`IdNumber`.

An ID number is personal data. Nothing here ever puts one into an error message, and
an :class:`IdNumber` prints itself masked, so that an f-string or a log line cannot leak
the full number by accident; the full value is only ever read through ``.value``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Literal

from services.runtime.errors import InvalidArgument

Gender = Literal["male", "female"]

FIELD = "id_number"
LENGTH = 18
#: The register holds no one born earlier; an earlier date is a typing error.
EARLIEST_BIRTH_DATE = dt.date(1850, 1, 1)
#: ISO 7064 MOD 11-2 weights of the first 17 digits (2^(17-i) mod 11).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for each remainder of the weighted sum mod 11.
CHECK_CHARACTERS = "10X98765432"

_DIGITS = frozenset("0123456789")
# After NFKC the full-width space U+3000 (and the no-break space) is already U+0020.
_EMBEDDED_SPACES = str.maketrans("", "", " \t\u3000")


@dataclass(frozen=True, repr=False)
class IdNumber:
    """A well-formed resident ID number; build one with :func:`parse`.

    ``region``, ``birth_date``, ``sequence`` and ``gender`` are read from ``value``
    once, so callers never slice the string themselves.
    """

    value: str
    region: str
    birth_date: dt.date
    sequence: str
    gender: Gender

    def __post_init__(self) -> None:
        # A hand-built IdNumber whose parts disagree with its value would make the
        # masked form and the derived fields lie; refuse it as a programming error.
        born = self.birth_date
        if not (
            len(self.value) == LENGTH
            and self.region == self.value[:6]
            and self.value[6:14] == f"{born.year:04}{born.month:02}{born.day:02}"
            and self.sequence == self.value[14:17]
            and self.gender == _gender(self.sequence)
        ):
            raise ValueError("IdNumber parts disagree with its value; build it with parse().")

    @property
    def masked(self) -> str:
        """The number with its birth date hidden, e.g. ``110105********002X``: enough
        for a citizen to recognise it, not enough to identify them."""
        return f"{self.value[:6]}{'*' * 8}{self.value[14:]}"

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r})"


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 ASCII digits.

    Raises ``ValueError`` for anything else: callers validate user input first
    (:func:`parse` does), so a bad argument here is a programming error.
    """
    if len(first17) != LENGTH - 1 or not _DIGITS.issuperset(first17):
        raise ValueError("check_character() needs exactly 17 ASCII digits.")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def parse(raw: str, *, today: dt.date) -> IdNumber:
    """Read a resident ID number as a citizen types or pastes it.

    Normalisation, deliberately forgiving only of how numbers are commonly written:

    * NFKC, so full-width digits ``０``-``９`` and ``Ｘ``/``ｘ`` (Chinese input methods)
      become ASCII;
    * surrounding whitespace is stripped, and spaces inside (ASCII, full-width U+3000,
      tabs) are removed, because numbers are often written in groups such as
      ``110105 19491231 002X``;
    * a lower-case ``x`` is accepted as the last character and stored as ``X``.

    Anything else (hyphens, punctuation, letters other than a final X, digits of
    other scripts) is refused rather than guessed at. Then the number must have 18
    characters, a real birth date between 1850-01-01 and ``today``, and the right
    ISO 7064 MOD 11-2 check character.

    Every refusal is an :class:`InvalidArgument` on field ``id_number`` whose detail
    never repeats the number: it is personal data and details end up in logs.
    """
    compact = unicodedata.normalize("NFKC", raw).strip().translate(_EMBEDDED_SPACES)
    if not compact:
        raise InvalidArgument("id_number_required", "Enter your resident ID number.", field=FIELD)

    last = len(compact) - 1
    for position, char in enumerate(compact):
        if char not in _DIGITS and not (position == last and char in "Xx"):
            raise InvalidArgument(
                "id_number_characters",
                f"An ID number contains only digits and, as its last character, X; "
                f"character {position + 1} is not allowed.",
                field=FIELD,
                title="ID number has characters it cannot have",
            )
    if len(compact) != LENGTH:
        raise InvalidArgument(
            "id_number_length",
            f"An ID number has {LENGTH} characters; {len(compact)} were given (spaces not counted).",
            field=FIELD,
            title="ID number has the wrong length",
        )
    value = compact.upper()

    try:
        birth_date = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidArgument(
            "id_number_birth_date",
            "The birth date in the ID number (characters 7 to 14) is not a real date.",
            field=FIELD,
            title="ID number's birth date is wrong",
        ) from None
    if birth_date > today:
        raise InvalidArgument(
            "id_number_birth_date",
            "The birth date in the ID number (characters 7 to 14) is in the future.",
            field=FIELD,
            title="ID number's birth date is wrong",
        )
    if birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidArgument(
            "id_number_birth_date",
            "The birth date in the ID number (characters 7 to 14) is before 1 January 1850.",
            field=FIELD,
            title="ID number's birth date is wrong",
        )

    if value[17] != check_character(value[:17]):
        raise InvalidArgument(
            "id_number_check_digit",
            "The ID number's check character does not match: please check it for a typing error.",
            field=FIELD,
            title="ID number check digit is wrong",
        )

    sequence = value[14:17]
    return IdNumber(
        value=value, region=value[:6], birth_date=birth_date, sequence=sequence, gender=_gender(sequence)
    )


def _gender(sequence: str) -> Gender:
    """GB 11643: an odd sequence number is given to men, an even one to women."""
    return "male" if int(sequence) % 2 else "female"
