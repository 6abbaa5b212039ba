"""The notify service for real: gRPC on port 0, SQLite and PostgreSQL, a real
nats-server carrying booking events, sandbox providers told to fail."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import nats
import pytest
from google.protobuf.message import Message as ProtoMessage

from mintong.booking.v1 import events_pb2
from mintong.common.v1 import common_pb2
from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.runtime import context
from services.runtime.events import EVENT_TYPE, MSG_ID, subject_of

SERVICE = ((context.CALLER_KEY, "service:identity"),)
PHONE = "+8613800138000"


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.notify = pb_grpc.NotifyServiceStub(channel)
        self.admin = pb_grpc.NotifyAdminServiceStub(channel)

    async def prefer(self, citizen: str, channel: pb.DeliveryChannel, **contacts: Any) -> None:
        preferences = pb.Preferences(citizen_id=citizen, preferred_channel=channel, **contacts)
        await self.notify.SetPreferences(pb.SetPreferencesRequest(preferences=preferences), metadata=SERVICE)

    async def behave(
        self, channel: pb.DeliveryChannel, mode: pb.SandboxMode, times: int = 0, delay: float = 0.0
    ) -> None:
        request = pb.SetSandboxBehaviourRequest(channel=channel, mode=mode, times=times, delay_seconds=delay)
        await self.admin.SetSandboxBehaviour(request, metadata=SERVICE)

    async def send(self, citizen: str, template: str, key: str, **variables: str) -> pb.Message:
        answer = await self.notify.SendMessage(
            pb.SendMessageRequest(
                citizen_id=citizen,
                template=template,
                variables=variables,
                city_code="haikou",
                idempotency_key=key,
            ),
            metadata=SERVICE,
        )
        return answer.message

    async def settled(self, message_id: str, *, within: float = 15.0) -> pb.Message:
        """The message once no delivery is queued or sending any more."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            answer = await self.notify.GetMessage(
                pb.GetMessageRequest(message_id=message_id), metadata=SERVICE
            )
            pending = (pb.DELIVERY_STATUS_QUEUED, pb.DELIVERY_STATUS_SENDING)
            if not any(d.status in pending for d in answer.message.deliveries):
                return answer.message
            assert asyncio.get_running_loop().time() < deadline, answer.message
            await asyncio.sleep(0.05)

    async def sandbox(self, to: str) -> list[pb.SandboxMessage]:
        answer = await self.admin.ListSandboxMessages(pb.ListSandboxMessagesRequest(to=to), metadata=SERVICE)
        return list(answer.messages)


@pytest.fixture
async def client(notify: Any) -> AsyncIterator[Client]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{notify.host.port}") as channel:
        yield Client(channel)


def outcome(message: pb.Message) -> list[tuple[str, str]]:
    return [
        (
            pb.DeliveryChannel.Name(d.channel).split("_", 2)[-1],
            pb.DeliveryStatus.Name(d.status).split("_")[-1],
        )
        for d in message.deliveries
    ]


CONFIRMED = {
    "business": "ID card renewal",
    "office": "Longhua centre",
    "address": "21 Longkun Rd",
    "date": "2030-01-09",
    "time": "09:00",
    "code": "K7Q2",
    "materials": "ID card",
    "phone": "0898-1",
    "visit_requirements": "Mask",
}


async def test_the_preferred_channel_and_the_inbox_get_it(client: Client) -> None:
    await client.prefer("c1", pb.DELIVERY_CHANNEL_WECHAT, phone=PHONE, wechat_openids={"haikou": "o-c1"})
    message = await client.settled((await client.send("c1", "booking_confirmed", "k1", **CONFIRMED)).id)
    assert outcome(message) == [("INBOX", "DELIVERED"), ("WECHAT", "DELIVERED")]
    [wechat] = await client.sandbox("o-c1")
    assert wechat.provider == "sandbox_wechat" and "K7Q2" in wechat.body
    assert await client.sandbox(PHONE) == []


async def test_a_permanent_failure_falls_back_to_the_next_channel(client: Client) -> None:
    await client.prefer("c2", pb.DELIVERY_CHANNEL_WECHAT, phone=PHONE, wechat_openids={"haikou": "o-c2"})
    await client.behave(pb.DELIVERY_CHANNEL_WECHAT, pb.SANDBOX_MODE_FAIL_PERMANENTLY)
    message = await client.settled((await client.send("c2", "booking_confirmed", "k2", **CONFIRMED)).id)
    assert outcome(message) == [("INBOX", "DELIVERED"), ("WECHAT", "FAILED"), ("SMS", "DELIVERED")]
    assert "fail permanently" in message.deliveries[1].reason
    assert len(await client.sandbox(PHONE)) == 1


async def test_a_transient_failure_is_retried_with_back_off_then_delivered(client: Client) -> None:
    await client.prefer("c3", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    await client.behave(pb.DELIVERY_CHANNEL_SMS, pb.SANDBOX_MODE_FAIL_TRANSIENTLY, times=2)
    message = await client.settled(
        (
            await client.send(
                "c3", "booking_cancelled", "k3", business="b", office="o", date="2030-01-09", time="09:00"
            )
        ).id
    )
    assert outcome(message) == [("INBOX", "DELIVERED"), ("SMS", "DELIVERED")]
    assert message.deliveries[1].attempts == 3


async def test_retries_give_up_at_the_cap_and_fall_back(client: Client, notify: Any) -> None:
    notify.notifier.retry = notify.notifier.retry.__class__(
        dt.timedelta(seconds=0.01), dt.timedelta(seconds=0.02), 2
    )
    await client.prefer("c4", pb.DELIVERY_CHANNEL_APP_PUSH, phone=PHONE, app_device_token="dev-4")
    await client.behave(pb.DELIVERY_CHANNEL_APP_PUSH, pb.SANDBOX_MODE_FAIL_TRANSIENTLY, times=99)
    message = await client.settled((await client.send("c4", "card_delivered", "k4", application_id="A1")).id)
    assert outcome(message) == [("INBOX", "DELIVERED"), ("APP_PUSH", "FAILED"), ("SMS", "DELIVERED")]
    assert message.deliveries[1].reason.startswith("gave up after 2 tries")


async def test_a_slow_provider_times_out_and_is_retried(client: Client, notify: Any) -> None:
    notify.notifier.send_timeout = 0.1
    await client.prefer("c5", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    await client.behave(pb.DELIVERY_CHANNEL_SMS, pb.SANDBOX_MODE_SLOW, delay=1.0)
    sent = await client.send("c5", "card_delivered", "k5", application_id="A2")
    await eventually(lambda: _attempted(client, sent.id, pb.DELIVERY_CHANNEL_SMS))  # and timed out
    await client.behave(pb.DELIVERY_CHANNEL_SMS, pb.SANDBOX_MODE_DELIVER)
    message = await client.settled(sent.id)
    assert outcome(message)[-1] == ("SMS", "DELIVERED") and message.deliveries[-1].attempts >= 2


async def test_one_time_codes_go_by_sms_only_and_need_a_phone(client: Client) -> None:
    await client.prefer("c6", pb.DELIVERY_CHANNEL_WECHAT, wechat_openids={"haikou": "o-c6"})
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.send("c6", "one_time_code", "otp-1", code="482913", minutes="5")
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    answer = await client.notify.SendMessage(
        pb.SendMessageRequest(
            citizen_id="c6",
            template="one_time_code",
            variables={"code": "482913", "minutes": "5"},
            city_code="haikou",
            idempotency_key="otp-2",
            phone=PHONE,
        ),
        metadata=SERVICE,
    )
    message = await client.settled(answer.message.id)
    assert outcome(message) == [("SMS", "DELIVERED")]  # no inbox copy: a code is for the phone alone
    assert "482913" in (await client.sandbox(PHONE))[0].body and "482913" not in message.body


async def test_the_same_idempotency_key_sends_once(client: Client) -> None:
    await client.prefer("c7", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    first = await client.send("c7", "card_delivered", "same", application_id="A3")
    second = await client.send("c7", "card_delivered", "same", application_id="A3")
    assert first.id == second.id
    await client.settled(first.id)
    assert len(await client.sandbox(PHONE)) == 1


async def test_receipts_decide_what_a_provider_only_accepted(client: Client, notify: Any) -> None:
    await client.prefer("c8", pb.DELIVERY_CHANNEL_WECHAT, phone=PHONE, wechat_openids={"haikou": "o-c8"})
    await client.behave(pb.DELIVERY_CHANNEL_WECHAT, pb.SANDBOX_MODE_AWAIT_RECEIPT)
    sent = await client.send("c8", "card_delivered", "k8", application_id="A4")

    async def accepted() -> str | None:  # the provider has taken it and named it
        message = (
            await client.notify.GetMessage(pb.GetMessageRequest(message_id=sent.id), metadata=SERVICE)
        ).message
        return await _provider_ref(notify, message.deliveries[-1].id) if len(message.deliveries) > 1 else None

    ref = await eventually(accepted)
    receipt = pb.RecordReceiptRequest(
        provider="sandbox_wechat",
        provider_ref=ref,
        status=pb.DELIVERY_STATUS_FAILED,
        reason="user blocked the account",
    )
    await client.admin.RecordReceipt(receipt, metadata=SERVICE)
    message = await client.settled(sent.id)
    assert outcome(message) == [("INBOX", "DELIVERED"), ("WECHAT", "FAILED"), ("SMS", "DELIVERED")]
    # A repeated receipt changes nothing.
    again = await client.admin.RecordReceipt(receipt, metadata=SERVICE)
    assert again.delivery.status == pb.DELIVERY_STATUS_FAILED


async def _provider_ref(notify: Any, delivery_id: str) -> str | None:
    from sqlalchemy import select

    from services.notify.adapters import orm

    async with notify.db.read() as conn:
        query = select(orm.deliveries.c.provider_ref).where(orm.deliveries.c.id == delivery_id)
        return (await conn.execute(query)).scalar_one()


async def test_a_citizen_reads_only_their_own_inbox(client: Client) -> None:
    for n in range(3):
        await client.send("c9", "card_delivered", f"inbox-{n}", application_id=f"A{n}")
    other = await client.send("c10", "card_delivered", "inbox-x", application_id="AX")
    me = ((context.CALLER_KEY, "citizen:c9"),)
    page = await client.notify.ListInbox(
        pb.ListInboxRequest(citizen_id="c9", page=common_pb2.PageRequest(page_size=2)), metadata=me
    )
    assert len(page.messages) == 2 and page.page.next_page_token and page.unread_count == 3
    rest = await client.notify.ListInbox(
        pb.ListInboxRequest(
            citizen_id="c9", page=common_pb2.PageRequest(page_size=2, page_token=page.page.next_page_token)
        ),
        metadata=me,
    )
    assert len(rest.messages) == 1 and not rest.page.next_page_token
    read = await client.notify.MarkRead(
        pb.MarkReadRequest(citizen_id="c9", message_id=rest.messages[0].id), metadata=me
    )
    assert read.message.read

    for call in (
        client.notify.GetMessage(pb.GetMessageRequest(message_id=other.id), metadata=me),
        client.notify.ListInbox(pb.ListInboxRequest(citizen_id="c10"), metadata=me),
        client.notify.MarkRead(pb.MarkReadRequest(citizen_id="c9", message_id=other.id), metadata=me),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as raised:  # citizens do not send messages
        await client.notify.SendMessage(pb.SendMessageRequest(citizen_id="c9"), metadata=me)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def booking_confirmed(booking_id: str, citizen: str, day: int = 9) -> events_pb2.BookingConfirmed:
    return events_pb2.BookingConfirmed(
        booking_id=booking_id,
        citizen_id=citizen,
        city_code="haikou",
        business_name="身份证换领",
        business_name_en="ID card renewal",
        office_name="龙华办证中心",
        office_name_en="Longhua centre",
        office_address="龙昆南路21号",
        office_address_en="21 Longkun Rd",
        office_phone="0898-1",
        date=common_pb2.Date(year=2030, month=1, day=day),
        start=common_pb2.TimeOfDay(hours=9, minutes=30),
        confirmation_code="K7Q2",
        materials=["身份证", "户口簿"],
        # An entry without English: the Chinese serves in an English message too.
        materials_en=["ID card", ""],
        visit_requirements=["佩戴口罩"],
        visit_requirements_en=["Mask"],
    )


async def publish(url: str, event: ProtoMessage, event_id: str) -> None:
    nc = await nats.connect(url)
    try:
        headers = {MSG_ID: event_id, EVENT_TYPE: event.DESCRIPTOR.full_name}
        await nc.jetstream().publish(subject_of(event), event.SerializeToString(), headers=headers)
    finally:
        await nc.close()


async def messages_of(notify: Any, citizen: str) -> list[Any]:
    """Every message made for a citizen, scheduled ones too (the inbox shows only
    what has reached it)."""
    from sqlalchemy import select

    from services.notify.adapters import orm

    async with notify.db.read() as conn:
        query = select(orm.messages.c.id).where(orm.messages.c.citizen_id == citizen)
        ids = (await conn.execute(query.order_by(orm.messages.c.created_at))).scalars().all()
    return [await notify.notifier.get_message(i, citizen_id=None) for i in ids]


async def eventually(check: Callable[[], Any], within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
    return result


async def test_a_booking_event_becomes_a_confirmation_and_a_scheduled_reminder(
    client: Client, notify: Any, nats_server: Any, clock: Any, make_settings: Callable[..., Any]
) -> None:
    await client.prefer("c11", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    await publish(nats_server.url, booking_confirmed("b-1", "c11"), "evt-1")
    found = await eventually(lambda: _two(notify, "c11"))
    reminder = next(m for m in found if m.template == "booking_reminder")
    confirmation = next(m for m in found if m.template == "booking_confirmed")
    # In the citizen's language (Chinese by default), catalogue names included.
    assert "09:30" in confirmation.body and "身份证；户口簿" in confirmation.body
    assert "身份证换领" in confirmation.body and "龙华办证中心（龙昆南路21号）" in confirmation.body
    assert "ID card" not in confirmation.body and "Longhua" not in confirmation.body
    inbox, _, unread = await notify.notifier.inbox("c11", 100, "")
    assert ([m.template for m in inbox], unread) == (["booking_confirmed"], 1)  # the reminder is not due yet
    # The reminder waits until 18:00 the day before (10:00 UTC), in the database.
    assert [d.due_at for d in reminder.deliveries] == [dt.datetime(2030, 1, 8, 10, 0, tzinfo=dt.UTC)] * 2

    # It survives a restart of notify, and goes when its time comes.
    await notify.host.stop()
    from services.notify import bootstrap
    from services.notify.config import NotifySettings

    again = bootstrap.build(
        make_settings(NotifySettings, notify_quiet_start="00:00", notify_quiet_end="00:00"), clock=clock
    )
    await again.host.start(port=0)
    try:
        clock.now = dt.datetime(2030, 1, 8, 10, 1, tzinfo=dt.UTC)
        again.worker.wake()
        done = await eventually(lambda: _delivered(again, reminder.id))
        assert [d.channel.value for d in done.deliveries] == ["inbox", "sms"]
    finally:
        await again.host.stop()


async def test_a_citizen_reading_english_is_told_in_english(
    client: Client, notify: Any, nats_server: Any
) -> None:
    await client.prefer("c15", pb.DELIVERY_CHANNEL_SMS, phone=PHONE, language="en")
    await publish(nats_server.url, booking_confirmed("b-15", "c15"), "evt-15")
    found = await eventually(lambda: _two(notify, "c15"))
    confirmation = next(m for m in found if m.template == "booking_confirmed")
    assert confirmation.language == "en"
    assert "Your appointment for ID card renewal is confirmed" in confirmation.body
    assert "Longhua centre (21 Longkun Rd)" in confirmation.body
    assert "Please bring: ID card; 户口簿" in confirmation.body
    assert "Visit requirements: Mask" in confirmation.body
    sms = next(d for d in confirmation.deliveries if d.channel.value == "sms")
    assert sms.body.startswith("[Mintong] Booked: ID card renewal at Longhua centre")


async def test_a_cancelled_booking_withdraws_its_reminder(
    client: Client, notify: Any, nats_server: Any
) -> None:
    await client.prefer("c12", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    await publish(nats_server.url, booking_confirmed("b-2", "c12"), "evt-2")
    await eventually(lambda: _two(notify, "c12"))
    cancelled = events_pb2.BookingCancelled(
        booking_id="b-2",
        citizen_id="c12",
        city_code="haikou",
        business_name="ID card renewal",
        office_name="Longhua centre",
        date=common_pb2.Date(year=2030, month=1, day=9),
        start=common_pb2.TimeOfDay(hours=9, minutes=30),
    )
    await publish(nats_server.url, cancelled, "evt-3")
    found = await eventually(lambda: _count(notify, "c12", 3))
    reminder = next(m for m in found if m.template == "booking_reminder")
    assert {d.status.value for d in reminder.deliveries} == {"failed"}
    assert "withdrawn" in reminder.deliveries[0].reason


async def test_an_event_redelivered_or_republished_is_told_once(
    notify: Any, nats_server: Any, client: Client
) -> None:
    await client.prefer("c13", pb.DELIVERY_CHANNEL_SMS, phone="+8613900139000")
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    info = await js.stream_info("BOOKING")
    info.config.duplicate_window = 0.2
    await js.update_stream(info.config)
    await nc.close()
    event = booking_confirmed("b-3", "c13")
    await publish(nats_server.url, event, "evt-4")

    async def stored_twice() -> bool:  # once the server's duplicate window has passed
        await publish(nats_server.url, event, "evt-4")
        return await _stored(nats_server.url, "BOOKING", subject_of(event)) >= 2

    await eventually(stored_twice)
    await eventually(lambda: _two(notify, "c13"))
    # Notify has acknowledged both copies: whatever they were going to make is made.
    await eventually(lambda: _all_acked(nats_server.url, "BOOKING", "notify-booking"))
    assert len(await messages_of(notify, "c13")) == 2  # confirmation + reminder, once each
    assert len(await client.sandbox("+8613900139000")) == 1  # the reminder is not due yet


async def _attempted(client: Client, message_id: str, channel: int) -> bool:
    answer = await client.notify.GetMessage(pb.GetMessageRequest(message_id=message_id), metadata=SERVICE)
    return any(d.channel == channel and d.attempts >= 1 for d in answer.message.deliveries)


async def _stored(url: str, stream: str, subject: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(stream, subjects_filter=subject)).state.messages
    finally:
        await nc.close()


async def _all_acked(url: str, stream: str, durable: str) -> bool:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        consumer = await js.consumer_info(stream, durable)
        return consumer.ack_floor is not None and consumer.ack_floor.stream_seq >= last
    finally:
        await nc.close()


async def _two(notify: Any, citizen: str) -> list[Any] | None:
    return await _count(notify, citizen, 2)


async def _count(notify: Any, citizen: str, n: int) -> list[Any] | None:
    found = await messages_of(notify, citizen)
    if len(found) < n:
        return None
    if any(
        d.status.value == "queued" and m.template != "booking_reminder" for m in found for d in m.deliveries
    ):
        return None
    return found


async def _delivered(notify: Any, message_id: str) -> Any:
    message = await notify.notifier.get_message(message_id, citizen_id=None)
    return message if all(d.status.value == "delivered" for d in message.deliveries) else None


async def test_quiet_hours_hold_what_can_wait_and_not_what_cannot(
    client: Client, notify: Any, clock: Any
) -> None:
    from services.notify.domain.model import QuietHours

    notify.notifier.quiet = QuietHours()
    clock.now = dt.datetime(2030, 1, 7, 15, 0, tzinfo=dt.UTC)  # 23:00 in Haikou
    await client.prefer("c14", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    later = await client.send("c14", "card_delivered", "quiet-1", application_id="A7")
    now = await client.send(
        "c14", "booking_cancelled", "quiet-2", business="b", office="o", date="2030-01-08", time="09:00"
    )
    sms_later = (await notify.notifier.get_message(later.id, citizen_id=None)).deliveries[1]
    assert (sms_later.status.value, sms_later.due_at) == (
        "queued",
        dt.datetime(2030, 1, 8, 0, 0, tzinfo=dt.UTC),
    )
    assert outcome(await client.settled(now.id)) == [("INBOX", "DELIVERED"), ("SMS", "DELIVERED")]
    assert outcome(later)[0] == ("INBOX", "DELIVERED")  # the inbox copy never waits


async def test_addresses_from_identity_keep_the_citizens_choices_and_the_newest_wins(notify: Any) -> None:
    from services.notify.domain.model import Addresses, Channel, Contacts

    notifier = notify.notifier
    await notifier.set_contacts(Contacts("c-a", language="en", preferred=Channel.WECHAT))
    at = dt.datetime(2030, 1, 7, 8, tzinfo=dt.UTC)
    newer = Addresses("c-a", "+8613800138000", {"haikou": "o-1"}, "ios-1", at + dt.timedelta(seconds=1))
    older = Addresses("c-a", "+8613900139000", {}, None, at)
    async with notifier.uow.write() as store:
        assert await notifier.learn_addresses(store, newer)
        assert not await notifier.learn_addresses(store, older)  # a redelivery overtaken
        assert await notifier.learn_addresses(store, newer)  # the same again: harmless
    assert await notifier.get_contacts("c-a") == Contacts(
        "c-a", "en", Channel.WECHAT, "+8613800138000", {"haikou": "o-1"}, "ios-1"
    )
    # A citizen notify never heard of gets the default language and no preference.
    async with notifier.uow.write() as store:
        assert await notifier.learn_addresses(store, Addresses("c-b", "+8613700137000", {}, None, at))
    assert await notifier.get_contacts("c-b") == Contacts("c-b", phone="+8613700137000")


async def test_a_language_set_before_any_address_is_kept_when_they_come(notify: Any) -> None:
    from services.notify.domain.model import Addresses, Contacts
    from services.runtime.errors import ProblemError

    notifier = notify.notifier
    assert (await notifier.set_language("c-l", "en")).language == "en"
    with pytest.raises(ProblemError) as refused:
        await notifier.set_language("c-l", "fr")
    assert (refused.value.code, refused.value.field) == ("unsupported_language", "language")
    at = dt.datetime(2030, 1, 7, 8, tzinfo=dt.UTC)
    async with notifier.uow.write() as store:
        assert await notifier.learn_addresses(store, Addresses("c-l", "+8613700137000", {}, None, at))
    assert await notifier.get_contacts("c-l") == Contacts("c-l", "en", phone="+8613700137000")
    # And the other way round: the language changes, the addresses stay.
    assert await notifier.set_language("c-l", "zh-CN") == Contacts("c-l", phone="+8613700137000")


def card_event(kind: type[ProtoMessage], citizen: str, **fields: Any) -> ProtoMessage:
    return kind(
        application_id="app-1",
        citizen_id=citizen,
        city_code="haikou",
        kind="id_card_lost",
        kind_name="居民身份证挂失补领",
        kind_name_en="Replace a lost ID card",
        delivery_method="mail",
        **fields,
    )


async def test_card_steps_are_told_in_the_citizens_language(
    client: Client, notify: Any, nats_server: Any
) -> None:
    from mintong.cards.v1 import events_pb2 as cards_events

    await client.prefer("c31", pb.DELIVERY_CHANNEL_SMS, phone=PHONE)
    await client.prefer("c32", pb.DELIVERY_CHANNEL_SMS, phone=PHONE, language="en")
    shipped = cards_events.ApplicationShipped
    courier = {"courier": "中国邮政EMS", "courier_en": "China Post EMS"}
    await publish(nats_server.url, card_event(shipped, "c31", tracking_number="SF123", **courier), "card-1")
    await publish(nats_server.url, card_event(shipped, "c32", tracking_number="SF456", **courier), "card-2")
    await publish(nats_server.url, card_event(cards_events.ApplicationDelivered, "c31"), "card-3")
    await publish(nats_server.url, card_event(cards_events.ApplicationInProduction, "c31"), "card-4")

    async def two() -> list[Any] | None:
        found = await messages_of(notify, "c31")
        return found if len(found) == 2 else None

    zh = await eventually(two)
    assert [m.template for m in zh] == ["card_shipped", "card_delivered"]  # production is not told
    assert "SF123" in zh[0].body and "中国邮政EMS" in zh[0].body and "app-1" in zh[0].body
    [en] = await eventually(lambda: messages_of(notify, "c32"))
    assert en.template == "card_shipped" and "China Post EMS" in en.body and "SF456" in en.body


async def test_an_office_closure_withdraws_the_reminder_and_tells_why_once(
    client: Client, notify: Any, nats_server: Any
) -> None:
    await client.prefer("c59", pb.DELIVERY_CHANNEL_SMS, phone=PHONE, language="en")
    await publish(nats_server.url, booking_confirmed("b-59", "c59"), "evt-59")
    await eventually(lambda: _two(notify, "c59"))
    closed = events_pb2.BookingCancelledByClosure(
        booking_id="b-59",
        citizen_id="c59",
        city_code="haikou",
        business_name="身份证换领",
        business_name_en="ID card renewal",
        office_name="龙华办证中心",
        office_name_en="Longhua centre",
        date=common_pb2.Date(year=2030, month=1, day=9),
        start=common_pb2.TimeOfDay(hours=9, minutes=30),
        policy_id="p-1",
        closed_from=common_pb2.Date(year=2030, month=1, day=9),
        closed_to=common_pb2.Date(year=2030, month=1, day=9),
        reason="水管爆裂",
        reason_en="A burst pipe.",
    )
    # Published twice (a relay that crashed before marking its row): told once.
    await publish(nats_server.url, closed, "evt-60")
    await publish(nats_server.url, closed, "evt-60")
    found = await eventually(lambda: _count(notify, "c59", 3))
    told = [m for m in found if m.template == "booking_cancelled_by_closure"]
    assert len(told) == 1
    assert "Longhua centre is closed on" in told[0].body and "A burst pipe." in told[0].body
    reminder = next(m for m in found if m.template == "booking_reminder")
    assert {d.status.value for d in reminder.deliveries} == {"failed"}
