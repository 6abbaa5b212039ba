"""Notify's gRPC servicers: proto ↔ domain at the edge, and who may ask what."""

from __future__ import annotations

from mintong.common.v1 import common_pb2
from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.notify.adapters import orm, sandbox
from services.notify.domain.messages import Delivery, Message
from services.notify.domain.model import Channel, Contacts, Status
from services.notify.service_layer.notifier import Notifier
from services.runtime import audit
from services.runtime import context as calls
from services.runtime.db import Database
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.pii import PiiCipher
from services.runtime.proto_values import timestamp_to_proto

CHANNELS = {
    Channel.SMS: pb.DELIVERY_CHANNEL_SMS,
    Channel.WECHAT: pb.DELIVERY_CHANNEL_WECHAT,
    Channel.APP_PUSH: pb.DELIVERY_CHANNEL_APP_PUSH,
    Channel.INBOX: pb.DELIVERY_CHANNEL_INBOX,
}
CHANNEL_OF = {v: k for k, v in CHANNELS.items()}
STATUSES = {
    Status.QUEUED: pb.DELIVERY_STATUS_QUEUED,
    Status.SENDING: pb.DELIVERY_STATUS_SENDING,
    Status.DELIVERED: pb.DELIVERY_STATUS_DELIVERED,
    Status.FAILED: pb.DELIVERY_STATUS_FAILED,
}
MODES = {
    pb.SANDBOX_MODE_DELIVER: sandbox.Mode.DELIVER,
    pb.SANDBOX_MODE_FAIL_PERMANENTLY: sandbox.Mode.FAIL_PERMANENTLY,
    pb.SANDBOX_MODE_FAIL_TRANSIENTLY: sandbox.Mode.FAIL_TRANSIENTLY,
    pb.SANDBOX_MODE_SLOW: sandbox.Mode.SLOW,
    pb.SANDBOX_MODE_AWAIT_RECEIPT: sandbox.Mode.AWAIT_RECEIPT,
}
#: Internal callers and staff roles that may act for any citizen.
TRUSTED = (calls.CallerKind.SERVICE, calls.Role.ADMINISTRATOR, calls.Role.SRE)


def delivery_to_proto(d: Delivery) -> pb.Delivery:
    return pb.Delivery(
        id=d.id,
        channel=CHANNELS[d.channel],
        status=STATUSES[d.status],
        reason=d.reason,
        attempts=d.attempts,
        updated_at=timestamp_to_proto(d.updated_at),
    )


def message_to_proto(m: Message) -> pb.Message:
    return pb.Message(
        id=m.id,
        citizen_id=m.citizen_id,
        template=m.template,
        title=m.title,
        body=m.body,
        created_at=timestamp_to_proto(m.created_at),
        read=m.read_at is not None,
        deliveries=[delivery_to_proto(d) for d in m.deliveries],
    )


def acting_for(citizen_id: str) -> str | None:
    """The citizen a caller may see, or None for trusted callers (all). A citizen
    asking for someone else's things gets NOT_FOUND, as if they did not exist."""
    me = calls.caller.get()
    if me.is_one_of(*TRUSTED):
        return None
    if me.kind is calls.CallerKind.CITIZEN and (not citizen_id or me.subject == citizen_id):
        return me.subject
    raise NotFound("citizen", citizen_id or "?", field="citizen_id")


class NotifyServicer(pb_grpc.NotifyServiceServicer):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def SendMessage(self, request: pb.SendMessageRequest, context) -> pb.SendMessageResponse:
        calls.require_role(*TRUSTED)
        message = await self.notifier.send(
            citizen_id=request.citizen_id,
            template=request.template,
            variables=dict(request.variables),
            city_code=request.city_code,
            source_key=f"request:{request.idempotency_key}" if request.idempotency_key else "",
            phone=request.phone or None,
        )
        return pb.SendMessageResponse(message=message_to_proto(message))

    async def GetMessage(self, request: pb.GetMessageRequest, context) -> pb.GetMessageResponse:
        message = await self.notifier.get_message(request.message_id, citizen_id=acting_for(""))
        return pb.GetMessageResponse(message=message_to_proto(message))

    async def ListInbox(self, request: pb.ListInboxRequest, context) -> pb.ListInboxResponse:
        citizen = acting_for(request.citizen_id) or request.citizen_id
        page, token, unread = await self.notifier.inbox(
            citizen, request.page.page_size, request.page.page_token
        )
        return pb.ListInboxResponse(
            messages=[message_to_proto(m) for m in page],
            page=common_pb2.PageInfo(next_page_token=token),
            unread_count=unread,
        )

    async def MarkRead(self, request: pb.MarkReadRequest, context) -> pb.MarkReadResponse:
        citizen = acting_for(request.citizen_id) or request.citizen_id
        return pb.MarkReadResponse(
            message=message_to_proto(await self.notifier.mark_read(citizen, request.message_id))
        )

    async def GetPreferences(self, request: pb.GetPreferencesRequest, context) -> pb.GetPreferencesResponse:
        citizen = acting_for(request.citizen_id) or request.citizen_id
        return pb.GetPreferencesResponse(preferences=_preferences(await self.notifier.get_contacts(citizen)))

    async def SetPreferences(self, request: pb.SetPreferencesRequest, context) -> pb.SetPreferencesResponse:
        p = request.preferences
        citizen = acting_for(p.citizen_id) or p.citizen_id
        preferred = CHANNEL_OF.get(p.preferred_channel) if p.preferred_channel else None
        saved = await self.notifier.set_contacts(
            Contacts(
                citizen_id=citizen,
                language=p.language or "zh-CN",
                preferred=preferred,
                phone=p.phone or None,
                wechat_openids=dict(p.wechat_openids),
                app_device_token=p.app_device_token or None,
            )
        )
        return pb.SetPreferencesResponse(preferences=_preferences(saved))

    async def SetLanguage(self, request: pb.SetLanguageRequest, context) -> pb.SetLanguageResponse:
        citizen = acting_for(request.citizen_id) or request.citizen_id
        saved = await self.notifier.set_language(citizen, request.language)
        return pb.SetLanguageResponse(preferences=_preferences(saved))


def _preferences(c: Contacts) -> pb.Preferences:
    return pb.Preferences(
        citizen_id=c.citizen_id,
        language=c.language,
        preferred_channel=CHANNELS[c.preferred] if c.preferred else pb.DELIVERY_CHANNEL_UNSPECIFIED,
        phone=c.phone or "",
        wechat_openids=c.wechat_openids,
        app_device_token=c.app_device_token or "",
    )


class NotifyAdminServicer(pb_grpc.NotifyAdminServiceServicer):
    def __init__(
        self,
        notifier: Notifier,
        db: Database,
        cipher: PiiCipher,
        sandboxes: dict[Channel, sandbox.SandboxProvider],
    ) -> None:
        self.notifier = notifier
        self.db = db
        self.cipher = cipher
        self.sandboxes = sandboxes

    async def ListSandboxMessages(
        self, request: pb.ListSandboxMessagesRequest, context
    ) -> pb.ListSandboxMessagesResponse:
        calls.require_role(*TRUSTED)
        if not self.sandboxes:
            raise NotFound("sandbox", "provider", field="to")
        limit = request.limit if 0 < request.limit <= 500 else 100
        found = await sandbox.recorded(self.db, self.cipher, request.to or None, limit)
        # The recipient only as its keyed hash: the log must not hold phone numbers.
        await self._audit(
            "sandbox.listed",
            f"to:{self.cipher.lookup(request.to)}" if request.to else "all",
            {"count": len(found)},
        )
        return pb.ListSandboxMessagesResponse(
            messages=[
                pb.SandboxMessage(
                    provider=r.provider,
                    channel=CHANNELS[r.channel],
                    to=r.to,
                    title=r.title,
                    body=r.body,
                    delivery_id=r.delivery_id,
                    recorded_at=timestamp_to_proto(r.recorded_at),
                )
                for r in found
            ]
        )

    async def SetSandboxBehaviour(
        self, request: pb.SetSandboxBehaviourRequest, context
    ) -> pb.SetSandboxBehaviourResponse:
        calls.require_role(*TRUSTED)
        provider = self.sandboxes.get(CHANNEL_OF.get(request.channel))  # type: ignore[arg-type]
        if provider is None or request.mode not in MODES:
            raise InvalidArgument(
                "not_a_sandbox", "That channel has no sandbox provider here.", field="channel"
            )
        provider.behave(MODES[request.mode], times=request.times, delay=request.delay_seconds)
        await self._audit(
            "sandbox.behaviour_set",
            provider.name,
            {
                "mode": pb.SandboxMode.Name(request.mode),
                "times": request.times,
                "delay": request.delay_seconds,
            },
        )
        return pb.SetSandboxBehaviourResponse()

    async def _audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        async with self.db.write() as conn:
            await audit.record(conn, orm.audit, action, subject, detail)

    async def RecordReceipt(self, request: pb.RecordReceiptRequest, context) -> pb.RecordReceiptResponse:
        calls.require_role(*TRUSTED)
        if request.status not in (pb.DELIVERY_STATUS_DELIVERED, pb.DELIVERY_STATUS_FAILED):
            raise InvalidArgument(
                "invalid_receipt_status", "A receipt says delivered or failed.", field="status"
            )
        delivered = request.status == pb.DELIVERY_STATUS_DELIVERED
        delivery = await self.notifier.record_receipt(
            request.provider, request.provider_ref, delivered, request.reason
        )
        return pb.RecordReceiptResponse(delivery=delivery_to_proto(delivery))
