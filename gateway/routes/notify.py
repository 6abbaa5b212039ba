"""Messages: the language a citizen reads them in, what sandbox providers recorded
(staff), and providers' delivery receipts."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError

from gateway.deps import Operator, ServiceCall, Services, SignedIn
from gateway.problems import Problem, declare
from gateway.schemas import Stored
from mintong.notify.v1 import notify_pb2 as pb
from services.runtime.proto_values import timestamp_of
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

#: A citizen's choices about their messages. Where they are reached (the register's
#: phone, bound WeChat openids and APP devices) is identity's to tell notify, so the
#: only thing a citizen writes here is their language: a sub-resource replaced
#: whole by PUT (idempotent, and no merge rules as a PATCH of the whole would need).
preferences = APIRouter(tags=["messages"], responses=declare({400: ["unsupported_language"]}))
#: Sandbox routes: the gateway serves them only outside production (gateway/app.py).
sandbox = APIRouter(tags=["messages"], responses=declare({404: ["sandbox_not_found"]}))
providers = APIRouter(
    prefix="/providers",
    tags=["providers"],
    responses=declare(
        {
            400: ["invalid_receipt"],
            401: ["unsigned_receipt", "bad_signature"],
            404: ["delivery_not_found"],
            503: ["receipts_not_configured"],
        }
    ),
)

_CHANNELS = {
    pb.DELIVERY_CHANNEL_SMS: "sms",
    pb.DELIVERY_CHANNEL_WECHAT: "wechat",
    pb.DELIVERY_CHANNEL_APP_PUSH: "app_push",
    pb.DELIVERY_CHANNEL_INBOX: "inbox",
}
_STATUSES = {
    pb.DELIVERY_STATUS_QUEUED: "queued",
    pb.DELIVERY_STATUS_SENDING: "sending",
    pb.DELIVERY_STATUS_DELIVERED: "delivered",
    pb.DELIVERY_STATUS_FAILED: "failed",
}


Preferred = Literal["sms", "wechat", "app_push"]
#: The channels a citizen can prefer (the inbox always gets a copy).
_PREFERRED: dict[int, Preferred] = {
    pb.DELIVERY_CHANNEL_SMS: "sms",
    pb.DELIVERY_CHANNEL_WECHAT: "wechat",
    pb.DELIVERY_CHANNEL_APP_PUSH: "app_push",
}


class NotificationPreferences(BaseModel):
    language: Literal["zh-CN", "en"] = Field(description="The language of the citizen's messages.")
    preferred_channel: Preferred | None = Field(
        description="Tried first; none: the channel the citizen signed in on decides."
    )


class MessageLanguage(BaseModel):
    language: Literal["zh-CN", "en"] = Field(
        description="zh-CN (the default) or en: the language of every message from now on."
    )


def _preferences(p: pb.Preferences) -> NotificationPreferences:
    return NotificationPreferences(
        language="en" if p.language == "en" else "zh-CN",
        preferred_channel=_PREFERRED.get(p.preferred_channel),
    )


@preferences.get(
    "/me/notification-preferences",
    response_model=NotificationPreferences,
    summary="How the signed-in citizen's messages reach them",
)
async def my_preferences(me: SignedIn, services: Services) -> NotificationPreferences:
    answer = await services.notify.GetPreferences(
        pb.GetPreferencesRequest(citizen_id=me.id), **me.call.options
    )
    return _preferences(answer.preferences)


@preferences.put(
    "/me/notification-preferences/language",
    response_model=NotificationPreferences,
    summary="Choose the language of my messages (zh-CN or en)",
)
async def set_my_language(body: MessageLanguage, me: SignedIn, services: Services) -> NotificationPreferences:
    answer = await services.notify.SetLanguage(
        pb.SetLanguageRequest(citizen_id=me.id, language=body.language), **me.call.options
    )
    return _preferences(answer.preferences)


class SandboxMessage(BaseModel):
    provider: str = Field(description="Always a sandbox_* provider: nothing here reached anyone.")
    channel: str
    to: str
    title: str
    body: str
    delivery_id: str
    recorded_at: dt.datetime


class SandboxMessages(BaseModel):
    messages: list[SandboxMessage]


@sandbox.get(
    "/sandbox/messages",
    response_model=SandboxMessages,
    summary="What the sandbox providers recorded instead of sending (administrators and SREs; sandbox only)",
)
async def sandbox_messages(
    staff: Operator,
    services: Services,
    to: Annotated[
        Annotated[str, Stored(512)] | None,
        Query(description="A phone (with or without +86), openid or device token."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SandboxMessages:
    answer = await services.notify_admin.ListSandboxMessages(
        pb.ListSandboxMessagesRequest(to=to or "", limit=limit), **staff.call.options
    )
    return SandboxMessages(
        messages=[
            SandboxMessage(
                provider=m.provider,
                channel=_CHANNELS[m.channel],
                to=m.to,
                title=m.title,
                body=m.body,
                delivery_id=m.delivery_id,
                recorded_at=timestamp_of(m.recorded_at),
            )
            for m in answer.messages
        ]
    )


class Receipt(BaseModel):
    provider_ref: Annotated[str, Stored(128, min_length=1)]
    status: Literal["delivered", "failed"]
    reason: Annotated[str, Stored(500)] = ""


class ReceiptRecorded(BaseModel):
    delivery_id: str
    status: str


@providers.post(
    "/{provider}/receipts",
    response_model=ReceiptRecorded,
    summary="A provider's delivery receipt, signed like our requests to it (docs/sms-provider.md)",
)
async def receipt(
    request: Request,
    provider: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,32}$")],
    call: ServiceCall,
    services: Services,
    timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER)] = None,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> ReceiptRecorded:
    secret = request.app.state.receipt_secret
    if secret is None:
        raise Problem(
            503, "receipts_not_configured", "This gateway takes no receipts (MINTONG_RECEIPT_SECRET)."
        )
    body = await request.body()
    if not timestamp or not signature:
        raise Problem(401, "unsigned_receipt", "Receipts must be signed.", field=SIGNATURE_HEADER)
    if not verify(secret, timestamp, body, signature, now=time.time()):
        raise Problem(
            401, "bad_signature", "The receipt's signature does not verify.", field=SIGNATURE_HEADER
        )
    try:
        parsed = Receipt.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise Problem(400, "invalid_receipt", f"{field}: {first['msg']}", field=field) from None
    status = pb.DELIVERY_STATUS_DELIVERED if parsed.status == "delivered" else pb.DELIVERY_STATUS_FAILED
    answer = await services.notify_admin.RecordReceipt(
        pb.RecordReceiptRequest(
            provider=provider, provider_ref=parsed.provider_ref, status=status, reason=parsed.reason
        ),
        **call.options,
    )
    return ReceiptRecorded(delivery_id=answer.delivery.id, status=_STATUSES[answer.delivery.status])
