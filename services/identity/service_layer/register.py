"""The resident register: importing residents from CSV or JSON. Bad rows are
reported by line with the reason; good rows are imported; importing the same
file again updates in place (keyed by ID number), so it is idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

import phonenumbers

from services.identity.domain import id_number
from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer.ports import Sealer, UnitOfWork
from services.runtime.errors import InvalidArgument, ProblemError

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
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    imported: int
    updated: int
    problems: tuple[RowProblem, ...]


def parse_phone(raw: str) -> str:
    """A mainland China number in E.164 (+86…), mobile or fixed line."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number) or number.country_code != 86:
        raise InvalidArgument("invalid_phone", "Not a valid mainland China phone number.", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


def _rows(content: bytes, fmt: Literal["json", "csv"]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument("not_utf8", "The file must be UTF-8.", field="content") from None
    if fmt == "json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument("malformed_json", f"Not valid JSON: {exc.msg}.", field="content") from None
        if not isinstance(items, list):
            raise InvalidArgument("not_a_list", "Send a JSON array of residents.", field="content")
        rows = [
            (
                n,
                {
                    k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in item.items()
                },
            )
            if isinstance(item, dict)
            else (n, {"_": ""})
            for n, item in enumerate(items, start=1)
        ]
    else:
        # newline="": the csv module reads line ends itself (\r\n, \r, quoted ones).
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidArgument(
                    "missing_columns", f"The header lacks {', '.join(missing)}.", field="content"
                )
            rows = [(n, {k: v or "" for k, v in row.items() if k}) for n, row in enumerate(reader, start=2)]
        except csv.Error as exc:
            raise InvalidArgument(
                "malformed_csv", f"Not valid CSV near line {reader.line_num}: {exc}.", field="content"
            ) from None
    if len(rows) > MAX_ROWS:
        raise InvalidArgument("too_many_rows", f"At most {MAX_ROWS} residents per import.", field="content")
    return rows


def to_resident(row: dict[str, Any], today: dt.date) -> tuple[Resident, str]:
    """A row as a resident (with a placeholder citizen id), or a ProblemError naming the field."""
    if "_" in row:
        raise InvalidArgument("not_an_object", "Each resident is a JSON object.", field="row")
    unknown = sorted(set(row) - set(COLUMNS))
    if unknown:
        raise InvalidArgument("unknown_field", f"Unknown field {unknown[0]}.", field=unknown[0])
    number = id_number.parse(row.get("id_number", ""), today=today)
    name = row.get("name", "").strip()
    if not name or len(name) > 100:
        raise InvalidArgument("invalid_name", "A name of 1 to 100 characters.", field="name")
    city = row.get("city", "").strip()
    if not city:
        raise InvalidArgument("city_required", "Name the city.", field="city")
    try:
        status = CardStatus(row.get("card_status", "").strip() or "valid")
    except ValueError:
        allowed = ", ".join(s.value for s in CardStatus)
        raise InvalidArgument("invalid_card_status", f"One of {allowed}.", field="card_status") from None
    resident = Resident(
        citizen_id="",
        id_number=number.value,
        name=name,
        phone=parse_phone(row.get("phone", "")),
        city_code=city,
        household_address=row.get("household_address", "").strip(),
        gender=number.gender,
        birth_date=number.birth_date,
        photo_captured_on=_date(row.get("photo_captured_on", ""), "photo_captured_on"),
        fingerprint_on_file=_bool(row.get("fingerprint_on_file", ""), "fingerprint_on_file"),
        card_issued_on=_date(row.get("card_issued_on", ""), "card_issued_on"),
        card_expires_on=_date(row.get("card_expires_on", ""), "card_expires_on"),
        card_status=status,
    )
    return resident, number.value


async def import_residents(
    uow: UnitOfWork,
    sealer: Sealer,
    content: bytes,
    fmt: Literal["json", "csv"],
    *,
    actor: str,
    now: dt.datetime,
) -> ImportResult:
    problems: list[RowProblem] = []
    good: list[Resident] = []
    for line, row in _rows(content, fmt):
        try:
            resident, _ = to_resident(row, now.date())
        except ProblemError as error:
            problems.append(RowProblem(line, error.field or "row", error.detail))
            continue
        good.append(resident)
    imported = updated = 0
    async with uow.write() as store:
        reachable_anew: list[str] = []  # new residents and changed phones: notify is told
        for resident in good:
            lookup = sealer.lookup(resident.id_number)
            existing = await store.resident_by_lookup(lookup)
            citizen_id = existing.citizen_id if existing else str(uuid.uuid4())
            if await store.save_resident(replace(resident, citizen_id=citizen_id), lookup, now):
                imported += 1
            else:
                updated += 1
            if existing is None or existing.phone != resident.phone:
                reachable_anew.append(citizen_id)
        await store.contacts_changed(reachable_anew)
        await store.audit(
            actor=actor,
            action="residents.import",
            subject="register",
            detail={"imported": imported, "updated": updated, "refused": len(problems)},
        )
    return ImportResult(imported, updated, tuple(problems))
