"""The catalogue file administrators load (YAML or JSON): its schema and its
translation into domain objects. Every mistake is reported with the path of the
field at fault, e.g. ``cities[1].offices[0].opening_hours.mon[0]``.

Every text a citizen reads (names, addresses, guides, materials, visit
requirements, announcements) is Chinese first: either ``{zh-CN: 中文, en: English}``
or a plain string, which is the Chinese text alone (it then serves every language).
Texts must be storable (services/runtime/text.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from services.booking.domain import model, preapplications, rules
from services.runtime.errors import InvalidArgument
from services.runtime.text import LONG, check_text, text_problem

_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _day(value: object) -> object:
    # YAML reads a bare 2030-01-01 as a date, JSON gives a string; nothing else is a
    # day (pydantic would read a number as a Unix time).
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("a date is written YYYY-MM-DD") from None
    return value


Day = Annotated[dt.date, BeforeValidator(_day)]


def _weekdays(spec: str) -> list[int]:
    first, _, last = spec.lower().partition("-")
    if first not in _WEEKDAYS or (last and last not in _WEEKDAYS):
        raise ValueError(f"{spec!r} is not a weekday or range such as 'mon-fri'")
    start, end = _WEEKDAYS[first], _WEEKDAYS[last or first]
    if end < start:
        raise ValueError(f"{spec!r} runs backwards")
    return list(range(start, end + 1))


def _period(text: str) -> tuple[dt.time, dt.time]:
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a period such as '09:00-12:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        opens, closes = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if closes <= opens:
        raise ValueError(f"{text!r} closes before it opens")
    return opens, closes


Weekdays = Annotated[str, AfterValidator(lambda v: _weekdays(v) and v)]
Period = Annotated[str, AfterValidator(lambda v: _period(v) and v)]


def _storable(*, multiline: bool = False, max_length: int = 200) -> AfterValidator:
    def check(value: str) -> str:
        if reason := text_problem(value, multiline=multiline, max_length=max_length):
            raise ValueError(reason)
        return value

    return AfterValidator(check)


ShortText = Annotated[str, _storable()]
LongText = Annotated[str, _storable(multiline=True, max_length=LONG)]


class _Strict(BaseModel):
    # Strict: "yes" is not a boolean nor "5" a number, whatever pydantic would make
    # of them; the file says what it means (its schema is in booking's contract).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Bilingual(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ShortTexts(_Bilingual):
    zh_cn: ShortText = Field(alias="zh-CN", min_length=1)
    en: ShortText = ""


class LongTexts(_Bilingual):
    zh_cn: LongText = Field(alias="zh-CN", min_length=1)
    en: LongText = ""


def _chinese_alone(value: object) -> object:
    return {"zh-CN": value} if isinstance(value, str) else value


class _OrChineseAlone:
    """The schema says what the validator takes: the object, or a plain string."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "minLength": 1}, handler(schema)]}


#: A text in both languages, or a plain string: the Chinese alone.
Short = Annotated[ShortTexts, BeforeValidator(_chinese_alone), _OrChineseAlone()]
Long = Annotated[LongTexts, BeforeValidator(_chinese_alone), _OrChineseAlone()]


def _en_list(values: list[ShortTexts] | list[LongTexts]) -> tuple[str, ...]:
    """English twins of a list: one per entry, or none when no entry has one."""
    english = tuple(v.en for v in values)
    return english if any(english) else ()


class ChoiceDoc(_Strict):
    code: Code
    label: Short


class FormFieldDoc(_Strict):
    """One question of a pre-application form. The register's data (name, ID
    number) is never asked: the pre-application records who the citizen is."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    type: Literal["text", "long_text", "date", "number", "choice"]
    label: Short
    required: bool = False
    #: For type choice only: the allowed answers.
    choices: list[ChoiceDoc] = []
    help: Long | None = None
    #: Characters an answer may have.
    max_length: int = Field(default=200, ge=1, le=LONG)

    @model_validator(mode="after")
    def _choices_only_for_choice(self) -> FormFieldDoc:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("a choice field lists its choices, and only a choice field does")
        _refuse_duplicates("choice", [c.code for c in self.choices])
        return self


class PreApplicationFormDoc(_Strict):
    """What a business's online pre-application asks, in this city."""

    fields: list[FormFieldDoc] = Field(default=[], max_length=100)
    #: Documents (photos, PDFs) a submission needs at least.
    min_attachments: int = Field(default=0, ge=0, le=20)
    #: What to attach.
    attachments_help: Long | None = None

    @model_validator(mode="after")
    def _unique_keys(self) -> PreApplicationFormDoc:
        _refuse_duplicates("field", [f.key for f in self.fields])
        return self

    def to_domain(self, city_code: str, business_code: str) -> preapplications.Form:
        return preapplications.Form(
            city_code,
            business_code,
            tuple(
                preapplications.FormField(
                    key=f.key,
                    type=preapplications.FieldType(f.type),
                    label=f.label.zh_cn,
                    required=f.required,
                    choices=tuple(
                        preapplications.Choice(c.code, c.label.zh_cn, c.label.en) for c in f.choices
                    ),
                    help=f.help.zh_cn if f.help else "",
                    label_en=f.label.en,
                    help_en=f.help.en if f.help else "",
                    max_length=f.max_length,
                )
                for f in self.fields
            ),
            self.min_attachments,
            self.attachments_help.zh_cn if self.attachments_help else "",
            self.attachments_help.en if self.attachments_help else "",
        )


class BusinessDoc(_Strict):
    code: Code
    category: ShortText
    name: Short
    service_guide: Long
    materials: list[Short] = []
    phone: ShortText
    duration_minutes: int = Field(gt=0, le=480)
    handling: Literal["online", "window", "online_or_window"]
    requires_pre_application: bool = False
    channels: list[Literal["app", "wechat", "web"]] = ["app", "wechat", "web"]
    status: Literal["active", "suspended"] = "active"
    announcement: Long | None = None
    #: The online pre-application's form, where requires_pre_application.
    pre_application_form: PreApplicationFormDoc | None = None

    @model_validator(mode="after")
    def _suspension_is_announced(self) -> BusinessDoc:
        if self.status == "suspended" and not (self.announcement and self.announcement.zh_cn.strip()):
            raise ValueError("a suspended business needs an announcement")
        if self.pre_application_form is not None and not self.requires_pre_application:
            raise ValueError("only a business that requires a pre-application has a pre_application_form")
        return self


class SlotGroupDoc(_Strict):
    code: Code
    businesses: list[Code] = Field(min_length=1)
    capacity: int = Field(gt=0, le=1000)
    slot_minutes: int = Field(gt=0, le=480)


class LocationDoc(_Strict):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class OfficeDoc(_Strict):
    id: Code
    name: Short
    kind: ShortText
    address: Short
    location: LocationDoc
    phone: ShortText
    #: Keys are weekdays or ranges ("mon-fri", "sat"); values "HH:MM-HH:MM" periods.
    opening_hours: dict[Weekdays, list[Period]]
    walk_in_allowed: bool = True
    visit_requirements: list[Long] = []
    closed_dates: list[Day] = []
    slot_groups: list[SlotGroupDoc] = []

    @field_validator("opening_hours")
    @classmethod
    def _no_overlap(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Two periods of one day sharing minutes would plan the same slot twice."""
        by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for days, texts in value.items():
            for weekday in _weekdays(days):
                by_day.setdefault(weekday, []).extend(_period(p) for p in texts)
        for weekday, periods in by_day.items():
            periods.sort()
            for (_, closes), (opens, _) in itertools.pairwise(periods):
                if opens < closes:
                    day = next(k for k, v in _WEEKDAYS.items() if v == weekday)
                    raise ValueError(f"periods overlap on {day} at {opens:%H:%M}")
        return value


class ReasonDoc(_Strict):
    """An entry-exit reason with the name citizens read (else the default name)."""

    code: Code
    name: Short


class HallRulesDoc(_Strict):
    """How the city's halls run their queue; anything left out keeps the default."""

    checkin_early_minutes: int = Field(default=30, ge=0, le=24 * 60)
    checkin_late_minutes: int = Field(default=15, ge=0, le=24 * 60)
    #: Business category → ticket letter(s), e.g. {id_card: A, household: B}.
    ticket_prefixes: dict[Code, Annotated[str, Field(pattern=r"^[A-Z]{1,2}$")]] = {}
    default_prefix: str = Field(default="A", pattern=r"^[A-Z]{1,2}$")
    #: Served first, in this order.
    priority_groups: list[Code] = ["elderly", "disabled"]
    max_calls: int = Field(default=3, ge=1, le=20)
    no_show_grace_minutes: int = Field(default=10, ge=1, le=24 * 60)
    coming_up_ahead: int = Field(default=3, ge=1, le=100)


class BookingRulesDoc(_Strict):
    """A city's booking policy; anything left out keeps the default."""

    horizon_days: int = Field(default=7, ge=1, le=90)
    release_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    cancel_cutoff_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    no_show_limit: int = Field(default=3, ge=1, le=100)
    no_show_window_days: int = Field(default=90, ge=1, le=3650)
    no_show_block_days: int = Field(default=30, ge=0, le=3650)
    hold_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: Codes, or {code, name} to name a reason the defaults do not (or otherwise).
    entry_exit_reasons: list[Code | ReasonDoc] = list(rules.DEFAULT_ENTRY_EXIT_REASONS)
    #: ISO 3166 alpha-2 codes, e.g. [AU].
    suspended_destinations: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = []
    #: Days the booking entitlement of an approved pre-application can be used.
    entitlement_days: int = Field(default=30, ge=1, le=366)
    hall: HallRulesDoc = HallRulesDoc()

    def to_domain(self) -> rules.BookingRules:
        named = [r for r in self.entry_exit_reasons if isinstance(r, ReasonDoc)]
        data = self.model_dump()
        data["entry_exit_reasons"] = [r if isinstance(r, str) else r.code for r in self.entry_exit_reasons]
        data["entry_exit_reason_names"] = {r.code: [r.name.zh_cn, r.name.en] for r in named}
        return rules.BookingRules.from_json(data)


class CityDoc(_Strict):
    code: Code
    name: Short
    time_zone: str = "Asia/Shanghai"
    booking_rules: BookingRulesDoc = BookingRulesDoc()
    businesses: list[BusinessDoc] = []
    offices: list[OfficeDoc] = []

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
        return value

    @model_validator(mode="after")
    def _groups_name_known_businesses(self) -> CityDoc:
        _refuse_duplicates("business", [b.code for b in self.businesses])
        known = {b.code for b in self.businesses}
        for office in self.offices:
            seen: set[str] = set()
            for group in office.slot_groups:
                for code in group.businesses:
                    if code not in known:
                        raise ValueError(f"office {office.id} lists unknown business {code}")
                    if code in seen:
                        raise ValueError(f"office {office.id} lists business {code} in two groups")
                    seen.add(code)
        return self


class CatalogueDoc(_Strict):
    cities: list[CityDoc] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CatalogueDoc:
        # Office ids are global: a repeated one would silently move an office.
        _refuse_duplicates("city", [c.code for c in self.cities])
        _refuse_duplicates("office", [o.id for c in self.cities for o in c.offices])
        return self


def _refuse_duplicates(what: str, keys: list[str]) -> None:
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise ValueError(f"{what} {', '.join(repeated)} appears more than once")


def _check_texts(value: object, where: str) -> None:
    """Every string of the file, keys too, may be stored (services/runtime/text.py):
    whatever the schema, a NUL or a control character never reaches the database."""
    if isinstance(value, str):
        check_text(value, where or "content", multiline=True, max_length=LONG)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_texts(str(key), f"{where}.{key}".lstrip(".") if isinstance(key, str) else where)
            _check_texts(item, f"{where}.{key}".lstrip("."))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_texts(item, f"{where}[{i}]")


def parse(content: bytes, fmt: Literal["yaml", "json"]) -> CatalogueDoc:
    try:
        raw = json.loads(content) if fmt == "json" else yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidArgument(
            "malformed_catalogue", f"Not valid {fmt.upper()}: {exc}", field="content"
        ) from None
    _check_texts(raw, "")
    try:
        return CatalogueDoc.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        raise InvalidArgument(
            "invalid_catalogue", f"{where or 'catalogue'}: {first['msg']}", field=where or "content"
        ) from None


def to_domain(doc: CityDoc) -> tuple[model.City, list[model.Business], list[model.Office]]:
    city = model.City(
        code=doc.code,
        name=doc.name.zh_cn,
        time_zone=doc.time_zone,
        rules=doc.booking_rules.to_domain(),
        name_en=doc.name.en,
    )
    businesses = [
        model.Business(
            city_code=doc.code,
            code=b.code,
            category=b.category,
            name=b.name.zh_cn,
            service_guide=b.service_guide.zh_cn,
            materials=tuple(m.zh_cn for m in b.materials),
            phone=b.phone,
            duration_minutes=b.duration_minutes,
            handling=model.Handling(b.handling),
            requires_pre_application=b.requires_pre_application,
            channels=frozenset(model.Channel(c) for c in b.channels),
            status=model.BusinessStatus(b.status),
            announcement=b.announcement.zh_cn if b.announcement else "",
            name_en=b.name.en,
            service_guide_en=b.service_guide.en,
            materials_en=_en_list(b.materials),
            announcement_en=b.announcement.en if b.announcement else "",
        )
        for b in doc.businesses
    ]
    offices = [
        model.Office(
            id=o.id,
            city_code=doc.code,
            name=o.name.zh_cn,
            kind=o.kind,
            address=o.address.zh_cn,
            location=model.GeoPoint(o.location.lat, o.location.lng),
            phone=o.phone,
            opening_hours=tuple(
                model.OpeningPeriod(weekday, *_period(period))
                for days, periods in o.opening_hours.items()
                for weekday in _weekdays(days)
                for period in periods
            ),
            walk_in_allowed=o.walk_in_allowed,
            visit_requirements=tuple(v.zh_cn for v in o.visit_requirements),
            slot_groups=tuple(
                model.SlotGroup(g.code, tuple(g.businesses), g.capacity, g.slot_minutes)
                for g in o.slot_groups
            ),
            closed_dates=frozenset(o.closed_dates),
            name_en=o.name.en,
            address_en=o.address.en,
            visit_requirements_en=_en_list(o.visit_requirements),
        )
        for o in doc.offices
    ]
    return city, businesses, offices


def forms_of(doc: CityDoc) -> list[tuple[str, preapplications.Form | None]]:
    """Each business's pre-application form (None: it has none, or no longer)."""
    return [
        (
            b.code,
            b.pre_application_form.to_domain(doc.code, b.code)
            if b.pre_application_form is not None
            else preapplications.Form(doc.code, b.code, ())
            if b.requires_pre_application
            else None,
        )
        for b in doc.businesses
    ]


def json_schema() -> str:
    """The catalogue file's JSON Schema, committed beside booking's protos as part of
    its contract (``make openapi``): the gateway's API document shows it."""
    return json.dumps(CatalogueDoc.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
