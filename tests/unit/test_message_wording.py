"""Item 9 of issue 9: every message says what is true for the office and city it
is sent for, in the citizen's language, catalogue names included.

Checked against the demo catalogue (deploy/demo/catalogue.yaml): Haikou's centres
take no walk-ins and have no on-site numbering, its businesses are offered on
WeChat only, some of Zhengzhou's on the app and web only; so no template may name
a numbering machine, a kiosk or a list of channels."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.booking.domain import model
from services.booking.service_layer import catalogue_file
from services.notify.domain.model import Channel
from services.notify.domain.templates import LANGUAGES, Template, TemplateBook, in_language
from services.notify.service_layer.subscriptions import template_value

ROOT = Path(__file__).resolve().parents[2]
#: Words that are false somewhere: Haikou has no numbering, no kiosk is promised
#: anywhere, and no business is offered on every channel in every city.
UNTRUE_SOMEWHERE = re.compile(r"取号|叫号机|[Nn]umbering|[Kk]iosk|APP|微信|网站|\b[Aa]pp\b|WeChat|\b[Ww]eb\b")
BOOKING_TEMPLATES = ("booking_confirmed", "booking_reminder", "booking_cancelled", "booking_rescheduled")


@pytest.fixture(scope="module")
def book() -> TemplateBook:
    return TemplateBook.from_document(yaml.safe_load((ROOT / "services/notify/templates.yaml").read_text()))


@pytest.fixture(scope="module")
def demo() -> list[tuple[model.City, list[model.Business], list[model.Office]]]:
    doc = catalogue_file.parse((ROOT / "deploy/demo/catalogue.yaml").read_bytes(), "yaml")
    return [catalogue_file.to_domain(city) for city in doc.cities]


def test_no_template_promises_what_some_office_or_city_lacks(book: TemplateBook) -> None:
    for template in book.templates.values():
        for language, texts in template.texts.items():
            for channel, text in texts.items():
                for part in (text.title, text.body):
                    found = UNTRUE_SOMEWHERE.search(part)
                    assert found is None, (template.name, language, channel.value, found.group())


def _event(business: model.Business, office: model.Office) -> dict[str, Any]:
    """A booking event's fields as notify decodes them (Chinese with English twins)."""
    return {
        "business_name": business.name,
        "business_name_en": business.name_en,
        "office_name": office.name,
        "office_name_en": office.name_en,
        "office_address": office.address,
        "office_address_en": office.address_en,
        "office_phone": office.phone,
        "materials": list(business.materials),
        "materials_en": list(business.materials_en),
        "visit_requirements": list(office.visit_requirements),
        "visit_requirements_en": list(office.visit_requirements_en),
        "date": "2030-01-09",
        "start": "09:30",
        "old_date": "2030-01-08",
        "old_start": "10:00",
        "confirmation_code": "K7Q2",
    }


_FIELD = {
    "business": "business_name",
    "office": "office_name",
    "address": "office_address",
    "phone": "office_phone",
    "materials": "materials",
    "visit_requirements": "visit_requirements",
    "date": "date",
    "time": "start",
    "old_date": "old_date",
    "old_time": "old_start",
    "code": "confirmation_code",
}


CHINESE = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _bodies(template: Template, event: dict[str, Any], language: str) -> list[tuple[Channel, str]]:
    values = {v: in_language(template_value(event, _FIELD[v]), language) for v in template.variables}
    channels = (Channel.SMS, Channel.WECHAT, Channel.APP_PUSH, Channel.INBOX)
    return [(channel, template.render(language, channel, values).body) for channel in channels]


def test_booking_messages_speak_the_citizens_language_for_every_demo_office(
    book: TemplateBook, demo: list[tuple[model.City, list[model.Business], list[model.Office]]]
) -> None:
    checked = 0
    for _, businesses, offices in demo:
        by_code = {b.code: b for b in businesses}
        for office in offices:
            for business in (by_code[code] for code in office.business_codes):
                event = _event(business, office)
                for template, language in itertools.product(map(book.get, BOOKING_TEMPLATES), LANGUAGES):
                    for channel, body in _bodies(template, event, language):
                        # No English name inside a Chinese message, and no Chinese in an English one.
                        foreign = LATIN_WORD if language == "zh-CN" else CHINESE
                        assert not foreign.search(body), (office.id, template.name, channel, body)
                        assert "。；" not in body and ".;" not in body, body  # lists read as one sentence
                        if channel is not Channel.APP_PUSH:  # a push names only time and place
                            assert (business.name_en if language == "en" else business.name) in body
                        checked += 1
    assert checked > 100
