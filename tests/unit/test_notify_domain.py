"""Notify's pure parts: templates checked at load and rendered per language,
routing with fallback, back-off, quiet hours, and the subscription table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notify.domain.model import Channel, Contacts, QuietHours, RetryPolicy, route
from services.notify.domain.templates import TemplateBook, TemplateError
from services.runtime.config import ServiceSettings
from services.runtime.errors import InvalidArgument
from services.runtime.events import load_streams

NOTIFY = Path(__file__).resolve().parents[2] / "services" / "notify"


def book() -> TemplateBook:
    return TemplateBook.from_document(yaml.safe_load((NOTIFY / "templates.yaml").read_text(encoding="utf-8")))


def one(**overrides: Any) -> dict[str, Any]:
    spec = {
        "variables": ["code"],
        "channels": ["sms"],
        "zh-CN": {"title": "验证码", "sms": "验证码{code}", "inbox": "验证码{code}"},
        "en": {"title": "Code", "sms": "Code {code}", "inbox": "Code {code}"},
    }
    spec.update(overrides)
    return {"templates": {"t": spec}}


def test_every_template_renders_in_both_languages_on_its_channels() -> None:
    templates = book()
    assert {"one_time_code", "booking_confirmed", "booking_reminder", "card_shipped"} <= set(
        templates.templates
    )
    for template in templates.templates.values():
        values = {v: f"<{v}>" for v in template.variables}
        for language in ("zh-CN", "en"):
            push = template.channels or (Channel.SMS, Channel.WECHAT, Channel.APP_PUSH)
            for channel in (*push, *([Channel.INBOX] if template.inbox else [])):
                assert template.render(language, channel, values).body


def test_rendering_speaks_the_citizens_language() -> None:
    code = book().get("one_time_code")
    zh = code.render("zh-CN", Channel.SMS, {"code": "482913", "minutes": "5"})
    en = code.render("en", Channel.SMS, {"code": "482913", "minutes": "5"})
    assert "482913" in zh.body and "482913" in en.body and zh.body != en.body
    assert (
        code.render("fr", Channel.SMS, {"code": "1", "minutes": "5"}).body
        == code.render("zh-CN", Channel.SMS, {"code": "1", "minutes": "5"}).body
    )  # an unknown language falls back to Chinese


def test_a_text_naming_an_undeclared_variable_fails_at_load() -> None:
    bad = one(en={"title": "Code", "sms": "Code {code} for {name}", "inbox": "Code {code}"})
    with pytest.raises(TemplateError, match=r"templates\.t\.en\.sms: uses name"):
        TemplateBook.from_document(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"en": None}, "no en text"), ({"zh-CN": {"title": "x", "sms": "x"}}, "no inbox text")],
)
def test_a_missing_text_fails_at_load(change: dict[str, Any], message: str) -> None:
    document = one(**change)
    if change.get("en", "") is None:
        del document["templates"]["t"]["en"]
    with pytest.raises(TemplateError, match=message):
        TemplateBook.from_document(document)


def test_a_send_missing_a_variable_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        book().get("one_time_code").render("en", Channel.SMS, {"code": "1"})
    assert raised.value.field == "variables"


def test_routing_prefers_the_citizens_channel_then_falls_back() -> None:
    contacts = Contacts(
        "c1",
        preferred=Channel.APP_PUSH,
        phone="+8613800138000",
        wechat_openids={"haikou": "o-1"},
        app_device_token="dev-1",
    )
    assert [c for c, _ in route(contacts, "haikou", None)] == [Channel.APP_PUSH, Channel.WECHAT, Channel.SMS]
    # No WeChat binding for this city's official account: skipped.
    assert [c for c, _ in route(contacts, "zhengzhou", None)] == [Channel.APP_PUSH, Channel.SMS]
    # One-time codes go by SMS only.
    assert route(contacts, "haikou", (Channel.SMS,)) == [(Channel.SMS, "+8613800138000")]
    assert route(Contacts("c2"), "haikou", None) == []


def test_back_off_doubles_and_is_capped() -> None:
    policy = RetryPolicy(dt.timedelta(seconds=2), dt.timedelta(seconds=30), 6)
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    ("now", "allowed"),
    [("21:59", "21:59"), ("22:00", "+08:00"), ("23:30", "+08:00"), ("03:00", "08:00"), ("08:00", "08:00")],
)
def test_quiet_hours_hold_non_urgent_messages_until_morning(now: str, allowed: str) -> None:
    day = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)
    local = day.replace(hour=int(now[:2]), minute=int(now[3:]))
    tomorrow = allowed.startswith("+")
    hours, minutes = (int(x) for x in allowed.lstrip("+").split(":"))
    expected = (day + dt.timedelta(days=1 if tomorrow else 0)).replace(hour=hours, minute=minutes)
    assert QuietHours().next_allowed(local) == expected


def test_every_subscribed_subject_is_taken_by_a_stream_and_every_mapping_checks() -> None:
    from services.notify.adapters import event_decoder
    from services.notify.service_layer import subscriptions
    from services.notify.service_layer.notifier import Notifier

    notifier = Notifier(None, book(), {}, clock=lambda: dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    table = subscriptions.load(yaml.safe_load((NOTIFY / "subscriptions.yaml").read_text()), notifier)
    subscriptions.check_fields(table, lambda n: set(event_decoder.message_class(n).DESCRIPTOR.fields_by_name))
    streams = load_streams(ServiceSettings().nats_streams_file)
    for subject in table:
        assert [s for s in streams if s.covers(subject)], f"no stream takes {subject}"
    assert {"mintong.booking.booking.confirmed", "mintong.booking.booking.cancelled"} <= set(table)
