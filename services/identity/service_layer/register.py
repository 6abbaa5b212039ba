"""The resident register file: read piece by piece, checked row by row, and the one
place where a batch of residents is created or changed (:func:`upsert_residents`).

A file is CSV (a header naming :data:`COLUMNS`, any order, and any of
:data:`OPTIONAL_COLUMNS`) or JSON lines (one object per line, the same keys).
:class:`RowReader` takes the file in pieces of any size (a piece may end inside a
line, a quoted field or a UTF-8 character) and yields each
record with the line it starts on, so nothing ever holds the whole file. A record
that is not a resident is reported by line and field with the reason (never the
value); what makes the rest of the file unreadable (no header, not UTF-8, broken
CSV quoting) is a :class:`ProblemError` for the whole import.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers

from services.identity.domain import id_number
from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer.ports import ImportStore, PreparedResident, RowProblem
from services.runtime.errors import InvalidArgument
from services.runtime.text import check_text, text_problem

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "RowProblem",
    "RowReader",
    "Upserted",
    "rows",
    "to_resident",
    "upsert_residents",
]

Format = Literal["csv", "jsonl"]

COLUMNS = (
    "id_number",
    "name",
    "phone",
    "city",
    "household_address",
    "photo_captured_on",
    "fingerprint_on_file",
    "card_issued_on",
    "card_expires_on",
    "card_status",
)

#: Columns a file may leave out (files written before the cards service had them):
#: the card's number, and a residence registered away from the household place —
#: its city and date together, the address with them if known.
OPTIONAL_COLUMNS = (
    "card_number",
    "residence_city",
    "residence_address",
    "residence_registered_on",
)

#: A card's number as the production centre prints it.
_CARD_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")

#: One record longer than this (characters) is not a resident: the file is refused
#: rather than buffered without end.
MAX_RECORD = 1_000_000

#: What the reader yields: the line a record starts on, and its fields by column, or
#: the reason the record cannot be read as a row.
Record = tuple[int, dict[str, str] | RowProblem]


def parse_phone(raw: str) -> str:
    """A mainland China number in E.164 (+86…), mobile or fixed line."""
    mobile = _MOBILE.fullmatch(raw.strip())
    if mobile is not None:
        national = mobile.group(1)
        if _valid_mobile_prefix(national[:7]):
            return f"+86{national}"
        raise _invalid_phone()
    return _parse_phone(raw)


def _parse_phone(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number) or number.country_code != 86:
        raise _invalid_phone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_phone() -> InvalidArgument:
    return InvalidArgument("invalid_phone", "Not a valid mainland China phone number.", field="phone")


#: An 11-digit number beginning with 1, as a register writes mobile numbers.
_MOBILE = re.compile(r"(?:\+?86)?(1[0-9]{10})")


@functools.lru_cache(maxsize=65_536)
def _valid_mobile_prefix(first7: str) -> bool:
    """Whether 11-digit numbers with these first 7 digits are valid, as phonenumbers
    says. Its patterns for such numbers fix at most the first 7 digits, so one answer
    per prefix stands for all 10,000 numbers under it: the full parse costs a fifth
    of an import's CPU otherwise (tests/unit/test_resident_register.py compares)."""
    try:
        _parse_phone(f"{first7}0000")
    except InvalidArgument:
        return False
    return True


def _date(value: str, field: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument("invalid_date", "Use YYYY-MM-DD.", field=field) from None


def _bool(value: str, field: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n", ""):
        return False
    raise InvalidArgument("invalid_boolean", "Use true or false.", field=field)


class RowReader:
    """Records of one register file, fed piece by piece: ``feed`` each piece, then
    ``end``. Each yields the records completed so far, with their first line."""

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""
        self._lines = 0  # physical lines handed to the parser so far
        self.header: list[str] | None = None

    def feed(self, piece: bytes) -> Iterator[Record]:
        self._pending += self._decode(piece, final=False)
        cut = self._complete_up_to()
        if cut:
            complete, self._pending = self._pending[:cut], self._pending[cut:]
            yield from self._parse(complete)
        elif len(self._pending) > MAX_RECORD:
            raise InvalidArgument(
                "record_too_long",
                f"A record from line {self._lines + 1} runs past {MAX_RECORD} characters.",
                field="content",
            )

    def end(self) -> Iterator[Record]:
        self._pending += self._decode(b"", final=True)
        rest, self._pending = self._pending, ""
        if rest:
            yield from self._parse(rest)
        if self.fmt == "csv" and self.header is None:
            self._check_header([])

    def _decode(self, piece: bytes, *, final: bool) -> str:
        try:
            return self._decoder.decode(piece, final)
        except UnicodeDecodeError:
            raise InvalidArgument(
                "not_utf8", f"The file must be UTF-8 (near line {self._lines + 1}).", field="content"
            ) from None

    def _complete_up_to(self) -> int:
        """Where the complete records in the pending text end (0: none yet): after
        the last line break outside a quoted CSV field. JSON strings hold no raw
        line break, so for JSON lines any line break will do."""
        text = self._pending
        breaker = "\n" if "\n" in text else "\r"  # "\r" alone: old Mac line ends
        at = text.rfind(breaker)
        if breaker == "\r" and at == len(text) - 1:
            at = text.rfind("\r", 0, at)  # a "\n" may follow in the next piece
        while at >= 0:
            # An even number of quotes before the break: it is outside any field.
            if self.fmt == "jsonl" or text.count('"', 0, at) % 2 == 0:
                return at + 1
            at = text.rfind(breaker, 0, at)
        return 0

    def _parse(self, text: str) -> Iterator[Record]:
        if self.fmt == "jsonl":
            yield from self._json_lines(text)
        else:
            yield from self._csv(text)

    def _json_lines(self, text: str) -> Iterator[Record]:
        for raw in text.splitlines():
            self._lines += 1
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield self._lines, RowProblem(self._lines, "row", f"Not valid JSON: {exc.msg}.")
                continue
            if not isinstance(item, dict):
                yield self._lines, RowProblem(self._lines, "row", "Each resident is a JSON object.")
                continue
            yield (
                self._lines,
                {
                    str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in item.items()
                },
            )

    def _csv(self, text: str) -> Iterator[Record]:
        # newline="": the csv module reads line ends itself (\r\n, \r, quoted ones).
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            if self.header is None:
                header = next(reader, None)
                if header is None:
                    return
                self._check_header(header)
                self.header = header
            columns = self.header
            while True:
                start = self._lines + reader.line_num + 1
                values = next(reader, None)
                if values is None:
                    break
                if values:  # a blank line is no record
                    yield start, {c: values[i] if i < len(values) else "" for i, c in enumerate(columns) if c}
        except csv.Error as exc:
            raise InvalidArgument(
                "malformed_csv",
                f"Not valid CSV near line {self._lines + reader.line_num}: {exc}.",
                field="content",
            ) from None
        finally:
            self._lines += reader.line_num

    def _check_header(self, header: list[str]) -> None:
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidArgument(
                "missing_columns", f"The header lacks {', '.join(missing)}.", field="content"
            )


def rows(pieces: Iterable[bytes] | bytes, fmt: Format) -> Iterator[Record]:
    """Every record of a file given whole or in pieces (tests, small files)."""
    reader = RowReader(fmt)
    for piece in [pieces] if isinstance(pieces, bytes) else pieces:
        yield from reader.feed(piece)
    yield from reader.end()


def _text(row: dict[str, str], field: str, max_length: int) -> str:
    return check_text(row.get(field, "").strip(), field, max_length=max_length)


def to_resident(row: dict[str, Any], today: dt.date) -> Resident:
    """A row as a resident (with no citizen id yet), or a ProblemError naming the field."""
    unknown = sorted(set(row) - set(COLUMNS) - set(OPTIONAL_COLUMNS))
    if unknown:
        name = unknown[0]
        if text_problem(name, max_length=64) is None:
            raise InvalidArgument("unknown_field", f"Unknown field {name}.", field=name)
        raise InvalidArgument("unknown_field", "A field that is not a column of the register.", field="row")
    number = id_number.parse(row.get("id_number", ""), today=today)
    name = _text(row, "name", 100)
    if not name:
        raise InvalidArgument("invalid_name", "A name of 1 to 100 characters.", field="name")
    city = _text(row, "city", 64)
    if not city:
        raise InvalidArgument("city_required", "Name the city.", field="city")
    try:
        status = CardStatus(row.get("card_status", "").strip() or "valid")
    except ValueError:
        allowed = ", ".join(s.value for s in CardStatus)
        raise InvalidArgument("invalid_card_status", f"One of {allowed}.", field="card_status") from None
    return Resident(
        citizen_id="",
        id_number=number.value,
        name=name,
        phone=parse_phone(row.get("phone", "")),
        city_code=city,
        household_address=_text(row, "household_address", 200),
        gender=number.gender,
        birth_date=number.birth_date,
        photo_captured_on=_date(row.get("photo_captured_on", ""), "photo_captured_on"),
        fingerprint_on_file=_bool(row.get("fingerprint_on_file", ""), "fingerprint_on_file"),
        card_issued_on=_date(row.get("card_issued_on", ""), "card_issued_on"),
        card_expires_on=_date(row.get("card_expires_on", ""), "card_expires_on"),
        card_status=status,
        **_card_and_residence(row, today),
    )


def _card_and_residence(row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    card_number = row.get("card_number", "").strip()
    if card_number and not _CARD_NUMBER.fullmatch(card_number):
        raise InvalidArgument(
            "invalid_card_number", "1 to 32 letters, digits or hyphens.", field="card_number"
        )
    city = _text(row, "residence_city", 64)
    address = _text(row, "residence_address", 200)
    since = _date(row.get("residence_registered_on", ""), "residence_registered_on")
    if (city or address) and since is None:
        raise InvalidArgument(
            "residence_date_required",
            "A residence needs the date it was registered on.",
            field="residence_registered_on",
        )
    if since is not None and not city:
        raise InvalidArgument(
            "residence_city_required", "A registered residence names its city.", field="residence_city"
        )
    if since is not None and since > today:
        raise InvalidArgument(
            "invalid_date", "A residence cannot be registered in the future.", field="residence_registered_on"
        )
    return {
        "card_number": card_number,
        "residence_city_code": city,
        "residence_address": address,
        "residence_registered_on": since,
    }


def digest_text(resident: Resident) -> str:
    """Everything the register file says of a resident, as one canonical text: its
    keyed hash tells an unchanged row from a changed one."""
    fields = [
        resident.id_number,
        resident.name,
        resident.phone,
        resident.city_code,
        resident.household_address,
        resident.photo_captured_on,
        resident.fingerprint_on_file,
        resident.card_issued_on,
        resident.card_expires_on,
        resident.card_status.value,
    ]
    extra = [
        resident.card_number,
        resident.residence_city_code,
        resident.residence_address,
        resident.residence_registered_on,
    ]
    # Only when present: a row without them digests as before they existed, so a
    # re-import of an unchanged file after the upgrade rewrites nothing.
    if any(extra):
        fields += extra
    return "resident-row:" + json.dumps(fields, default=str, ensure_ascii=False)


@dataclass(frozen=True)
class Upserted:
    """What one batch did to the register. ``created`` and ``changed`` are (citizen
    id, resident) pairs: whoever must learn of new residents or changed phones
    hooks :func:`upsert_residents`."""

    created: tuple[tuple[str, Resident], ...]
    changed: tuple[tuple[str, Resident], ...]
    unchanged: int


async def upsert_residents(
    store: ImportStore, batch: Sequence[PreparedResident], now: dt.datetime
) -> Upserted:
    """Create or update a batch of residents, keyed by ID number, in the caller's
    transaction. A resident whose row is the same as stored is not written; a later
    row of the batch for the same ID number wins over an earlier one."""
    latest = {p.lookup: p for p in batch}
    known = await store.resident_digests(list(latest))
    created: list[tuple[str, Resident]] = []
    changed: list[tuple[str, Resident]] = []
    writes: list[tuple[str, PreparedResident]] = []
    for lookup, prepared in latest.items():
        citizen_id, digest = known.get(lookup, (None, None))
        if citizen_id is None:
            citizen_id = str(uuid.uuid4())
            created.append((citizen_id, prepared.resident))
        elif digest == prepared.digest:
            continue
        else:
            changed.append((citizen_id, prepared.resident))
        writes.append((citizen_id, prepared))
    if writes:
        await store.upsert_residents(writes, now)
        # New and changed residents: notify is told their contacts (the whole set, so
        # telling it of a change that was not the phone is harmless). The phones are
        # the ones just sealed, and a resident made now has no binding yet.
        await store.contacts_changed(
            [citizen_id for citizen_id, _ in created + changed],
            phones={citizen_id: p.sealed["phone_sealed"] for citizen_id, p in writes},
            unbound=[citizen_id for citizen_id, _ in created],
        )
    return Upserted(tuple(created), tuple(changed), len(batch) - len(writes))
