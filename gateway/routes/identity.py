"""Signing in with real-name authentication, the signed-in citizen, their inbox,
and the administrators' resident import."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.deps import (
    CHANNEL_PROTO,
    Administrator,
    AnonymousCall,
    Channel,
    Services,
    SignedIn,
    issued,
    signed_out,
)
from gateway.problems import Problem, declare
from gateway.schemas import Stored
from mintong.common.v1 import common_pb2
from mintong.identity.v1 import identity_pb2 as pb
from mintong.notify.v1 import notify_pb2
from services.runtime.proto_values import date_from_proto, timestamp_from_proto, timestamp_of

router = APIRouter(
    tags=["sign-in"],
    responses=declare(
        {
            400: [
                "id_number_required",
                "id_number_length",
                "id_number_characters",
                "id_number_birth_date",
                "id_number_check_digit",
                "name_required",
                "invalid_name",
            ],
            401: ["code_invalid", "token_invalid", "session_ended"],
            404: ["citizen_not_found", "message_not_found"],
            429: ["too_many_requests"],
        }
    ),
)
#: The largest resident import (the gateway refuses larger ones before reading them).
IMPORT_BYTES = 20_000_000
admin = APIRouter(
    prefix="/admin",
    tags=["administration"],
    responses=declare(
        {400: ["malformed_json", "not_a_list", "too_many_rows"], 415: ["unsupported_media_type"]}
    ),
)


#: 17 digits and a check character (a digit or X); spaces between are not counted.
#: Stated in the schema; identity checks it, answering which part is wrong
#: (id_number_length, id_number_characters, id_number_check_digit…).
IdNumber = Annotated[
    str,
    Stored(64),
    Field(
        description="The 18-character resident ID number: 17 digits and a digit or X.",
        json_schema_extra={"pattern": r"^ *(?:[0-9] *){17}[0-9Xx] *$"},
    ),
]
Name = Annotated[str, Stored(100, min_length=1)]


class CodeRequest(BaseModel):
    id_number: IdNumber
    name: Name = Field(description="The name on the resident register.")


class CodeRequested(BaseModel):
    status: Literal["sent_if_matched"] = Field(
        description="A code went to the phone on file if ID number and name matched; the answer never says."
    )
    resend_after_seconds: int


@router.post("/auth/otp", response_model=CodeRequested, status_code=202, summary="Ask for a one-time code")
async def request_code(
    body: CodeRequest, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> CodeRequested:
    answer = await services.identity.RequestCode(
        pb.RequestCodeRequest(
            id_number=body.id_number,
            name=body.name,
            channel=CHANNEL_PROTO[channel],
            client_ip=request.client.host if request.client else "",
        ),
        **call.options,
    )
    return CodeRequested(status="sent_if_matched", resend_after_seconds=answer.resend_after_seconds)


class SignIn(BaseModel):
    id_number: IdNumber
    name: Name
    code: str = Field(pattern=r"^\s*\d{6}\s*$", description="The six digits of the one-time code.")


class Refresh(BaseModel):
    refresh_token: Annotated[str, Stored(200, min_length=1)]


class TokenAnswer(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    citizen_id: str

    @classmethod
    def of(cls, request: Request, tokens: pb.Tokens) -> TokenAnswer:
        """Identity's tokens for the citizen; the access token taken as verified by
        this process (``deps.issued``: its first use needs no signature check)."""
        return cls(
            access_token=issued(request, tokens.access_token),
            expires_in=tokens.expires_in_seconds,
            refresh_token=tokens.refresh_token,
            citizen_id=tokens.citizen_id,
        )


@router.post("/auth/token", response_model=TokenAnswer, summary="Sign in with ID number, name and code")
async def sign_in(
    body: SignIn, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> TokenAnswer:
    answer = await services.identity.SignIn(
        pb.SignInRequest(
            id_number=body.id_number, name=body.name, code=body.code, channel=CHANNEL_PROTO[channel]
        ),
        **call.options,
    )
    return TokenAnswer.of(request, answer.tokens)


@router.post("/auth/refresh", response_model=TokenAnswer, summary="A new access token (and refresh token)")
async def refresh(
    body: Refresh, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> TokenAnswer:
    answer = await services.identity.Refresh(
        pb.RefreshRequest(refresh_token=body.refresh_token, channel=CHANNEL_PROTO[channel]), **call.options
    )
    return TokenAnswer.of(request, answer.tokens)


@router.post("/auth/logout", status_code=204, summary="End this session")
async def sign_out(request: Request, me: SignedIn, services: Services) -> Response:
    await services.identity.SignOut(
        pb.SignOutRequest(access_token=me.access_token, channel=CHANNEL_PROTO[me.channel]), **me.call.options
    )
    signed_out(request, me.session_id)
    return Response(status_code=204)


class Me(BaseModel):
    citizen_id: str
    id_number: str = Field(description="Masked: 110105********002X.")
    name: str
    phone: str = Field(description="Masked: 138****8000.")
    city: str
    gender: str
    birth_date: dt.date
    card_status: str
    card_expires_on: dt.date | None


@router.get("/me", response_model=Me, summary="The signed-in citizen")
async def me(me: SignedIn, services: Services) -> Me:
    answer = await services.identity.GetMe(pb.GetMeRequest(citizen_id=me.id), **me.call.options)
    return Me(
        citizen_id=answer.citizen_id,
        id_number=answer.masked_id_number,
        name=answer.name,
        phone=answer.masked_phone,
        city=answer.city_code,
        gender=answer.gender,
        birth_date=date_from_proto(answer.birth_date, "birth_date") or dt.date.min,
        card_status=answer.card_status,
        card_expires_on=date_from_proto(answer.card_expires_on, "card_expires_on"),
    )


class InboxMessage(BaseModel):
    id: str
    template: str
    title: str
    body: str
    created_at: dt.datetime
    read: bool


class Inbox(BaseModel):
    messages: list[InboxMessage]
    next_page_token: str
    unread_count: int


@router.get("/me/messages", response_model=Inbox, summary="The signed-in citizen's inbox, newest first")
async def my_messages(
    me: SignedIn,
    services: Services,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    page_token: Annotated[str, Stored(200), Query()] = "",
) -> Inbox:
    answer = await services.notify.ListInbox(
        notify_pb2.ListInboxRequest(
            citizen_id=me.id, page=common_pb2.PageRequest(page_size=page_size, page_token=page_token)
        ),
        **me.call.options,
    )
    return Inbox(
        messages=[_inbox_message(m) for m in answer.messages],
        next_page_token=answer.page.next_page_token,
        unread_count=answer.unread_count,
    )


MessageId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$", description="A message id from the inbox.")]


def _inbox_message(m: notify_pb2.Message) -> InboxMessage:
    return InboxMessage(
        id=m.id,
        template=m.template,
        title=m.title,
        body=m.body,
        created_at=timestamp_of(m.created_at),
        read=m.read,
    )


@router.get("/me/messages/{message_id}", response_model=InboxMessage, summary="One message of my inbox")
async def my_message(message_id: MessageId, me: SignedIn, services: Services) -> InboxMessage:
    answer = await services.notify.GetMessage(
        notify_pb2.GetMessageRequest(message_id=message_id), **me.call.options
    )
    return _inbox_message(answer.message)


@router.post("/me/messages/{message_id}/read", response_model=InboxMessage, summary="Mark a message read")
async def mark_read(message_id: MessageId, me: SignedIn, services: Services) -> InboxMessage:
    answer = await services.notify.MarkRead(
        notify_pb2.MarkReadRequest(citizen_id=me.id, message_id=message_id), **me.call.options
    )
    return _inbox_message(answer.message)


class ImportProblem(BaseModel):
    line: int = Field(
        description="The line of the file the record starts on (a CSV header is line 1); 0: the file."
    )
    field: str
    reason: str


class ImportFailure(BaseModel):
    code: str
    field: str
    detail: str


class ResidentImport(BaseModel):
    import_id: str
    state: Literal["receiving", "queued", "running", "done", "failed"]
    rows_done: int = Field(description="Records of the file read so far, good and refused.")
    imported: int
    updated: int
    unchanged: int = Field(description="Rows equal to what the register holds: not written again.")
    rejected: int
    rejections: list[ImportProblem] = Field(description="The first refused rows (up to 100).")
    rows_per_second: float
    bytes_received: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: ImportFailure | None = Field(
        description="A failed import: why the rest of the file was unreadable."
    )


def _resident_import(m: pb.ResidentImport) -> ResidentImport:
    return ResidentImport(
        import_id=m.import_id,
        state=m.state,  # type: ignore[arg-type]
        rows_done=m.rows_done,
        imported=m.imported,
        updated=m.updated,
        unchanged=m.unchanged,
        rejected=m.rejected,
        rejections=[ImportProblem(line=p.line, field=p.field, reason=p.reason) for p in m.rejections],
        rows_per_second=round(m.rows_per_second, 1),
        bytes_received=m.bytes_received,
        created_at=timestamp_of(m.created_at),
        started_at=timestamp_from_proto(m, "started_at"),
        finished_at=timestamp_from_proto(m, "finished_at"),
        error=ImportFailure(code=m.error_code, field=m.error.field, detail=m.error.reason)
        if m.error_code
        else None,
    )


#: Piece size of the upload to identity (the body arrives in smaller pieces).
UPLOAD_PIECE = 1 << 20
IMPORT_FORMATS = {
    "text/csv": pb.IMPORT_FORMAT_CSV,
    "application/x-ndjson": pb.IMPORT_FORMAT_JSON_LINES,
    "application/jsonl": pb.IMPORT_FORMAT_JSON_LINES,
}
_DATE = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}
#: One resident of the register file, as identity reads it (register.py's COLUMNS
#: and to_resident; tests/unit/test_openapi_document.py keeps the two together).
#: The body is a stream, not one JSON document, so this describes each record: a
#: CSV row under its header, or one object of the JSON lines.
RESIDENT_RECORD: dict[str, Any] = {
    "type": "object",
    "description": (
        "One resident. Required: a non-empty `id_number`, `name`, `phone` and `city`; the others "
        "may be empty or (in JSON lines) left out. Texts are single-line, without control "
        "characters. A row whose value is wrong is refused by its line and field (the "
        "`rejections` of the job); the other rows are imported."
    ),
    "properties": {
        "id_number": {
            "type": "string",
            "pattern": r"^ *(?:[0-9] *){17}[0-9Xx] *$",
            "description": "The 18-character resident ID number (GB 11643): 17 digits and a digit or X.",
        },
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "phone": {
            "type": "string",
            "description": "A mainland China mobile or fixed-line number, with or without +86.",
            "examples": ["13800138000", "+86 138 0013 8000", "0898-66668888"],
        },
        "city": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A city code: haikou."},
        "household_address": {"type": "string", "maxLength": 200, "description": "Optional."},
        "photo_captured_on": {**_DATE, "description": "Optional, YYYY-MM-DD."},
        "fingerprint_on_file": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "enum": ["true", "false", "yes", "no", "1", "0", "y", "n", ""]},
            ],
            "description": "Optional (any case); empty is false.",
        },
        "card_issued_on": {**_DATE, "description": "Optional, YYYY-MM-DD."},
        "card_expires_on": {**_DATE, "description": "Optional, YYYY-MM-DD."},
        "card_status": {
            "type": "string",
            "enum": ["valid", "reported_lost", "damaged", "expired", "invalidated", ""],
            "description": "Optional; empty is valid.",
        },
        # Columns a file may leave out altogether (OPTIONAL_COLUMNS).
        "card_number": {
            "type": "string",
            "pattern": "^[A-Za-z0-9-]{0,32}$",
            "description": "Optional: the current card's number; empty keeps the one stored.",
        },
        "residence_city": {
            "type": "string",
            "maxLength": 64,
            "description": "Optional: the city of a residence registered away from the household place.",
        },
        "residence_address": {
            "type": "string",
            "maxLength": 200,
            "description": "Optional, with residence_city.",
        },
        "residence_registered_on": {
            **_DATE,
            "description": "Optional, YYYY-MM-DD; required with residence_city.",
        },
    },
    "required": ["id_number", "name", "phone", "city"],
    "additionalProperties": False,
}
_RECORD_REF = {"$ref": "#/$defs/ResidentRecord"}
#: In the description, not as an `example`: a client generated from the document
#: (and Schemathesis) has no serializer for JSON lines and would stumble on one.
JSON_LINES_EXAMPLE = (
    '{"id_number": "11010519491231002X", "name": "王芳", "phone": "13900139009", "city": "zhengzhou"}'
)


@admin.post(
    "/residents/import",
    response_model=ResidentImport,
    status_code=202,
    summary="Start importing residents: text/csv with the documented columns, or JSON lines",
    description=(
        "The body is streamed to identity, which stores it and imports it as a job: the answer "
        "comes once the file is received, with the job and its `Location`; `GET` that for "
        "progress. Importing a file again updates only what changed."
    ),
    responses={202: {"headers": {"Location": {"schema": {"type": "string"}, "description": "The job."}}}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                "UTF-8 (a byte-order mark is skipped). Each record is a `ResidentRecord` "
                "(the schema's `x-mintong-record`); the file is read as a stream, never whole."
            ),
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": (
                            "RFC 4180 CSV: a header naming every column of `ResidentRecord` in any "
                            "order, then one resident a row; blank lines are skipped. The row's "
                            "line is the one it starts on (the header is line 1)."
                        ),
                        "x-mintong-record": _RECORD_REF,
                        "$defs": {"ResidentRecord": RESIDENT_RECORD},
                    },
                    "example": (
                        "id_number,name,phone,city,household_address,photo_captured_on,"
                        "fingerprint_on_file,card_issued_on,card_expires_on,card_status\n"
                        "11010519491231002X,王芳,13900139009,zhengzhou,,2024-05-01,true,"
                        "2015-06-01,2035-06-01,valid\n"
                    ),
                },
                **{
                    media: {
                        "schema": {
                            "type": "string",
                            "description": (
                                "JSON lines: one `ResidentRecord` object a line (values may be "
                                "strings, or true/false for fingerprint_on_file; null is empty); "
                                "blank lines are skipped. For example: " + JSON_LINES_EXAMPLE
                            ),
                            "x-mintong-record": _RECORD_REF,
                            "$defs": {"ResidentRecord": RESIDENT_RECORD},
                        },
                    }
                    for media in ("application/x-ndjson", "application/jsonl")
                },
            },
        }
    },
)
async def import_residents(
    request: Request, response: Response, admin: Administrator, services: Services
) -> ResidentImport:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in IMPORT_FORMATS:
        raise Problem(
            415,
            "unsupported_media_type",
            "Send text/csv or JSON lines (application/x-ndjson, application/jsonl).",
            field="Content-Type",
        )

    async def pieces() -> AsyncIterator[pb.StartResidentImportRequest]:
        # Streamed on as it arrives, re-cut to pieces of a megabyte: never the whole body.
        buffer = bytearray()
        first = True
        async for data in request.stream():
            buffer += data
            if len(buffer) >= UPLOAD_PIECE:
                yield pb.StartResidentImportRequest(
                    format=IMPORT_FORMATS[media] if first else pb.IMPORT_FORMAT_UNSPECIFIED,
                    content=bytes(buffer),
                )
                buffer.clear()
                first = False
        if buffer or first:
            yield pb.StartResidentImportRequest(
                format=IMPORT_FORMATS[media] if first else pb.IMPORT_FORMAT_UNSPECIFIED, content=bytes(buffer)
            )

    options = {**admin.call.options, "timeout": max(admin.call.timeout, services.upload_timeout)}
    answer = await services.identity_admin.StartResidentImport(pieces(), **options)
    response.headers["Location"] = f"/v1/admin/residents/imports/{answer.job.import_id}"
    return _resident_import(answer.job)


@admin.get(
    "/residents/imports/{import_id}",
    response_model=ResidentImport,
    summary="How far a resident import is: rows done, refused rows by line, rate",
    responses=declare({404: ["import_not_found"]}),
)
async def resident_import(
    import_id: Annotated[str, Path(max_length=36)],
    admin: Administrator,
    services: Services,
) -> ResidentImport:
    answer = await services.identity_admin.GetResidentImport(
        pb.GetResidentImportRequest(import_id=import_id), **admin.call.options
    )
    return _resident_import(answer.job)
