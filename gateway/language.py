"""The language a client reads: chosen from ``Accept-Language``, zh-CN by default.

The services send every catalogue text Chinese first with an English twin (the
`_en` fields of the protos, empty when the bureau wrote none); the gateway answers
in the language asked for and says which in ``Content-Language``. Two languages
need no locale library: the header's ranges are weighed by their q-values
(RFC 9110 §12.5.4) and the first one naming zh or en wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import Depends, Header, Response

from services.runtime.languages import english_or_chinese

LanguageName = Literal["zh-CN", "en"]
DEFAULT: LanguageName = "zh-CN"


def negotiate(header: str | None) -> LanguageName:
    """The best of zh-CN and en for an ``Accept-Language`` value; zh-CN when it
    names neither (or is absent or malformed)."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            ranges.append((-weight, position, tag.strip().lower()))
    for _, _, tag in sorted(ranges):
        primary = tag.split("-")[0]
        if primary == "en":
            return "en"
        if primary in ("zh", "*"):
            return "zh-CN"
    return DEFAULT


#: ``Accept-Language`` as a route's own parameter (:func:`answer_in`).
AcceptLanguage = Annotated[
    str | None,
    Header(
        description="The language of the answer's texts: zh-CN (the default) or en.",
        examples=["zh-CN", "en"],
    ),
]


async def language(response: Response, accept_language: AcceptLanguage = None) -> LanguageName:
    return answer_in(response, accept_language)


def answer_in(response: Response, accept_language: str | None) -> LanguageName:
    """The language of the answer, said in its headers. A route that comes by the
    thousand and mostly answers with a problem (a booking, refused at the edge) takes
    ``Accept-Language`` as its own parameter and calls this where it answers, rather
    than solve :data:`Language` for every request (decision 109)."""
    chosen = negotiate(accept_language)
    response.headers["Content-Language"] = chosen
    response.headers.append("Vary", "Accept-Language")
    return chosen


Language = Annotated[LanguageName, Depends(language)]


def pick(language: str, zh: str, en: str) -> str:
    """The text in ``language``; the Chinese where no English was written."""
    return en if language == "en" and en else zh


def pick_list(language: str, zh: Sequence[str], en: Sequence[str]) -> list[str]:
    """A list in ``language``: its English twin entry by entry, the Chinese where
    an entry (or the whole twin) has none."""
    return english_or_chinese(zh, en) if language == "en" else list(zh)
