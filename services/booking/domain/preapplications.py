"""Online pre-applications: the form a business asks citizens to fill (data, per
business and city), the answers checked against it, the review's state machine,
and the booking entitlement an approval issues.

Pure: the service layer brings the time, the citizen and the stored facts. The
register's data (name, ID number) is never asked for: a pre-application records
the citizen's id and reviewers read the register where they need it."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from services.runtime.errors import InvalidArgument, Kind, ProblemError
from services.runtime.text import LONG, text_problem

#: At most this many characters in one answer (a text field may say fewer).
MAX_ANSWER_LENGTH = LONG
#: Explanations (reasons, notes) are for people to read: a paragraph, not a file.
MAX_NOTE_LENGTH = 2000
#: Attachments one pre-application may carry.
MAX_ATTACHMENTS = 20
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FieldType(enum.Enum):
    TEXT = "text"
    #: Several lines (an explanation, an address history).
    LONG_TEXT = "long_text"
    DATE = "date"
    NUMBER = "number"
    CHOICE = "choice"


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    label_en: str = ""


@dataclass(frozen=True)
class FormField:
    """One question. ``label`` and ``help`` are zh-CN, each with an English twin
    ("" when none was written: the Chinese serves)."""

    key: str
    type: FieldType
    label: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    help: str = ""
    label_en: str = ""
    help_en: str = ""
    max_length: int = 200

    def check(self, value: str) -> str:
        """``value`` as stored (normalised), or InvalidArgument naming ``answers.<key>``."""
        where = f"answers.{self.key}"
        multiline = self.type is FieldType.LONG_TEXT
        if reason := text_problem(value, multiline=multiline, max_length=self.max_length):
            raise InvalidArgument("invalid_answer", f"{where} {reason}.", field=where)
        value = value.strip()
        if self.type is FieldType.DATE:
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise InvalidArgument(
                    "invalid_answer", f"{where} is a date written YYYY-MM-DD.", field=where
                ) from None
        if self.type is FieldType.NUMBER:
            try:
                number = Decimal(value)
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or len(value) > 32:
                raise InvalidArgument("invalid_answer", f"{where} is a number, e.g. 3 or 2.5.", field=where)
            # "-0" and "0.00" are the number 0, stored as "0".
            return format(number.normalize() if number else Decimal(0), "f")
        if self.type is FieldType.CHOICE and value not in {c.code for c in self.choices}:
            allowed = ", ".join(c.code for c in self.choices)
            raise InvalidArgument("invalid_answer", f"{where} is one of: {allowed}.", field=where)
        return value

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "type": self.type.value,
            "label": self.label,
            "label_en": self.label_en,
            "required": self.required,
            "choices": [[c.code, c.label, c.label_en] for c in self.choices],
            "help": self.help,
            "help_en": self.help_en,
            "max_length": self.max_length,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> FormField:
        return cls(
            key=str(d["key"]),
            type=FieldType(d["type"]),
            label=str(d["label"]),
            required=bool(d["required"]),
            choices=tuple(Choice(*(str(x) for x in c)) for c in d.get("choices") or ()),  # type: ignore[attr-defined]
            help=str(d.get("help", "")),
            label_en=str(d.get("label_en", "")),
            help_en=str(d.get("help_en", "")),
            max_length=int(d.get("max_length", 200)),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class Form:
    """What a business's pre-application asks, as its city's catalogue defines it."""

    city_code: str
    business_code: str
    fields: tuple[FormField, ...]
    #: Documents (photos or PDFs) a submission needs at least.
    min_attachments: int = 0
    #: What to attach, zh-CN with its English twin.
    attachments_help: str = ""
    attachments_help_en: str = ""

    def field_of(self, key: str) -> FormField:
        found = next((f for f in self.fields if f.key == key), None)
        if found is None:
            raise InvalidArgument(
                "unknown_answer",
                f"The form of {self.business_code} has no field {key!r}.",
                field=f"answers.{key}",
            )
        return found

    def fill(self, answers: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
        """``answers`` with ``changes`` applied, each checked; an empty value clears
        an answer. Required fields are asked for at submission, not while filling."""
        filled = dict(answers)
        for key, value in changes.items():
            if not _KEY.match(key):
                raise InvalidArgument(
                    "unknown_answer", f"The form has no field {key[:64]!r}.", field="answers"
                )
            form_field = self.field_of(key)
            if value.strip() == "":
                filled.pop(key, None)
            else:
                filled[key] = form_field.check(value)
        return filled

    def check_complete(self, answers: Mapping[str, str], attachments: int) -> None:
        for f in self.fields:
            if f.required and not answers.get(f.key):
                raise InvalidArgument(
                    "answer_required",
                    f"Answer {f.label_en or f.label!r} before submitting.",
                    field=f"answers.{f.key}",
                    kind=Kind.UNPROCESSABLE,
                )
        if attachments < self.min_attachments:
            raise InvalidArgument(
                "attachments_required",
                f"Attach at least {self.min_attachments} document(s) before submitting; "
                f"{attachments} attached.",
                field="attachments",
                kind=Kind.UNPROCESSABLE,
            )

    def to_json(self) -> dict[str, object]:
        return {
            "fields": [f.to_json() for f in self.fields],
            "min_attachments": self.min_attachments,
            "attachments_help": self.attachments_help,
            "attachments_help_en": self.attachments_help_en,
        }

    @classmethod
    def from_json(cls, city_code: str, business_code: str, d: Mapping[str, object]) -> Form:
        return cls(
            city_code,
            business_code,
            tuple(FormField.from_json(f) for f in d["fields"]),  # type: ignore[attr-defined]
            int(d.get("min_attachments", 0)),  # type: ignore[call-overload]
            str(d.get("attachments_help", "")),
            str(d.get("attachments_help_en", "")),
        )


class Status(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    #: A reviewer asked for more material; the citizen adds it and resubmits.
    MORE_MATERIAL_NEEDED = "more_material_needed"
    APPROVED = "approved"
    REJECTED = "rejected"


#: States in which the citizen may change answers and add documents.
EDITABLE = (Status.DRAFT, Status.MORE_MATERIAL_NEEDED)
#: Each move: from which states, to which.
TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status]] = {
    "submit": (EDITABLE, Status.SUBMITTED),
    "approve": ((Status.SUBMITTED,), Status.APPROVED),
    "reject": ((Status.SUBMITTED,), Status.REJECTED),
    "request_material": ((Status.SUBMITTED,), Status.MORE_MATERIAL_NEEDED),
}


@dataclass(frozen=True)
class Change:
    """One state change: when, from what, to what, by whom and why."""

    at: dt.datetime
    old: Status | None
    new: Status
    actor: str
    note: str = ""


@dataclass(frozen=True)
class PreApplication:
    id: str
    citizen_id: str
    city_code: str
    business_code: str
    status: Status
    answers: Mapping[str, str]
    created_at: dt.datetime
    changed_at: dt.datetime
    #: When it was last submitted: the reviewers' queue is oldest first by it.
    submitted_at: dt.datetime | None = None
    #: The last explanation: a rejection's reason, what material is needed, an approval's note.
    note: str = ""
    history: tuple[Change, ...] = field(default_factory=tuple)

    def move(self, action: str, at: dt.datetime, actor: str, note: str = "") -> tuple[PreApplication, Change]:
        """The pre-application after ``action``, and the change to record; a move
        the state does not allow is a conflict (409) naming the state."""
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise ProblemError(
                "pre_application_state",
                f"This pre-application is {self.status.value}; it cannot be {_PAST[action]}.",
                field="pre_application_id",
                kind=Kind.CONFLICT,
            )
        change = Change(at, self.status, target, actor, note)
        moved = replace(
            self,
            status=target,
            changed_at=at,
            note=note,
            submitted_at=at if target is Status.SUBMITTED else self.submitted_at,
            history=(*self.history, change),
        )
        return moved, change

    def check_editable(self) -> None:
        if self.status not in EDITABLE:
            raise ProblemError(
                "pre_application_state",
                f"This pre-application is {self.status.value}; answers and documents change only "
                "while it is a draft or more material is asked for.",
                field="pre_application_id",
                kind=Kind.CONFLICT,
            )


_PAST = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "request_material": "sent back for more material",
}


def check_note(note: str, field_name: str, *, required: bool) -> str:
    """A reviewer's explanation: storable, and present where the citizen needs it."""
    if reason := text_problem(note, multiline=True, max_length=MAX_NOTE_LENGTH):
        raise InvalidArgument("invalid_text", f"{field_name} {reason}.", field=field_name)
    note = note.strip()
    if required and not note:
        if field_name == "reason":
            raise InvalidArgument("reason_required", "Tell the citizen why, in reason.", field="reason")
        raise InvalidArgument("note_required", "Tell the citizen what is needed, in note.", field="note")
    return note


@dataclass(frozen=True)
class Entitlement:
    """What an approval issues: one booking of one business by one citizen, until
    it expires. Booking consumes it; cancelling that booking gives it back."""

    pre_application_id: str
    citizen_id: str
    city_code: str
    business_code: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    booking_id: str | None = None


def check_entitlement(
    found: Entitlement | None,
    pre_application_id: str,
    citizen_id: str,
    city_code: str,
    business_code: str,
    business_name: str,
    now: dt.datetime,
    *,
    booking_id: str | None = None,
) -> Entitlement:
    """``found`` if it allows this booking (``booking_id``: the booking being moved,
    which already holds it)."""
    if (
        found is None
        or found.citizen_id != citizen_id
        or (found.city_code, found.business_code) != (city_code, business_code)
    ):
        raise ProblemError(
            "pre_application_not_approved",
            f"Pre-application {pre_application_id!r} is not an approved one of yours for "
            f"{business_name}; book once you have the notice that it can be handled.",
            field="pre_application_id",
            # 422 like a missing one (pre_application_required): neither request
            # can pass as it is, whichever of the two it was.
            kind=Kind.UNPROCESSABLE,
        )
    if found.booking_id is not None and found.booking_id != booking_id:
        raise ProblemError(
            "entitlement_used",
            f"Pre-application {pre_application_id!r} was used for a booking already; "
            "cancel that booking to use it again.",
            field="pre_application_id",
            kind=Kind.CONFLICT,
        )
    if found.expires_at <= now and found.booking_id is None:
        raise ProblemError(
            "entitlement_expired",
            f"The approval of pre-application {pre_application_id!r} expired on "
            f"{found.expires_at:%Y-%m-%d %H:%M} UTC; apply again.",
            field="pre_application_id",
            kind=Kind.CONFLICT,
        )
    return found


# attachments

#: What a document may be, told by its first bytes (never by its name).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
ALLOWED_TYPES = tuple(t for _, t in _SIGNATURES)


def sniff(content: bytes) -> str | None:
    """The media type ``content`` starts like, or None when it is none we take."""
    return next((media for magic, media in _SIGNATURES if content.startswith(magic)), None)


def check_document(content: bytes, max_bytes: int) -> str:
    """The sniffed type of an uploaded document, or a problem naming ``content``."""
    if not content:
        raise InvalidArgument("attachment_empty", "The document is empty.", field="content")
    if len(content) > max_bytes:
        raise ProblemError(
            "attachment_too_large",
            f"A document may have at most {max_bytes} bytes; this one has {len(content)}.",
            field="content",
            kind=Kind.UNPROCESSABLE,
        )
    media = sniff(content)
    if media is None:
        raise ProblemError(
            "attachment_type_not_allowed",
            "Attach a photo (JPEG or PNG) or a PDF; the content is none of them, whatever its name says.",
            field="content",
            kind=Kind.UNPROCESSABLE,
        )
    return media


@dataclass(frozen=True)
class Attachment:
    id: str
    pre_application_id: str
    media_type: str
    size: int
    #: What the document is, in the citizen's words (e.g. "户口簿首页").
    label: str
    created_at: dt.datetime
