"""The gateway answers in the language the client asks for (zh-CN unless it asks
for English), and falls back to the Chinese where no English was written."""

from __future__ import annotations

import pytest

from gateway.language import negotiate, pick, pick_list


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("fr-FR,en;q=0.5", "en"),  # French is not offered: the next choice
        ("fr-FR", "zh-CN"),
        ("zh;q=0.3,en;q=0.7", "en"),  # weights, not order, decide
        ("en;q=0,zh", "zh-CN"),  # q=0: not acceptable
        ("*", "zh-CN"),
        ("en;q=oops", "zh-CN"),  # a malformed weight counts as unacceptable
        ("EN-gb", "en"),
    ],
)
def test_accept_language_chooses_between_chinese_and_english(header: str | None, chosen: str) -> None:
    assert negotiate(header) == chosen


def test_english_falls_back_to_the_chinese_where_none_was_written() -> None:
    assert (pick("en", "身份证", "ID card"), pick("en", "身份证", ""), pick("zh-CN", "身份证", "ID")) == (
        "ID card",
        "身份证",
        "身份证",
    )
    assert pick_list("en", ["身份证", "户口簿"], ["ID card", ""]) == ["ID card", "户口簿"]
    assert pick_list("en", ["身份证", "户口簿"], []) == ["身份证", "户口簿"]
    assert pick_list("zh-CN", ["身份证"], ["ID card"]) == ["身份证"]
