"""Message templates per event, channel and language, checked when they are loaded:
a text naming a variable its template does not declare fails at load, not at send."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.notify.domain.model import Channel
from services.runtime.errors import InvalidArgument

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

#: A template variable's value: one text, or a text per language (language → text),
#: of which the message's language picks one when the message is made.
Value = str | Mapping[str, str]


def in_language(value: Value, language: str) -> str:
    """``value`` in ``language``, else in the default language (Chinese first)."""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get(DEFAULT_LANGUAGE) or ""


class TemplateError(ValueError):
    """A template document that cannot be used; names the place at fault."""


@dataclass(frozen=True)
class Text:
    title: str
    body: str


@dataclass(frozen=True)
class Template:
    name: str
    variables: frozenset[str]
    #: Urgent messages (one-time codes, same-day changes) ignore quiet hours.
    urgent: bool
    #: The push channels it may use; None means any.
    channels: tuple[Channel, ...] | None
    texts: Mapping[str, Mapping[Channel, Text]]
    #: Whether the in-app inbox keeps a copy; not for one-time codes, which must
    #: not be readable from a session other than the phone's owner's.
    inbox: bool = True

    def render(self, language: str, channel: Channel, values: Mapping[str, str]) -> Text:
        missing = self.variables - values.keys()
        if missing:
            raise InvalidArgument(
                "missing_variables",
                f"Template {self.name} needs {', '.join(sorted(missing))}.",
                field="variables",
            )
        texts = self.texts.get(language) or self.texts[DEFAULT_LANGUAGE]
        text = texts[channel]
        return Text(text.title.format_map(values), text.body.format_map(values))


def _fields(text: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from None


class TemplateBook:
    def __init__(self, templates: Mapping[str, Template]) -> None:
        self.templates = dict(templates)

    def get(self, name: str) -> Template:
        try:
            return self.templates[name]
        except KeyError:
            raise InvalidArgument("unknown_template", f"No template {name!r}.", field="template") from None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TemplateBook:
        """Build from the parsed templates file; see services/notify/templates.yaml."""
        templates = {}
        for name, spec in (document.get("templates") or {}).items():
            where = f"templates.{name}"
            variables = frozenset(spec.get("variables", []))
            channels = tuple(Channel(c) for c in spec["channels"]) if spec.get("channels") else None
            inbox = bool(spec.get("inbox", True))
            needed = [*(channels or (Channel.SMS, Channel.WECHAT, Channel.APP_PUSH))] + (
                [Channel.INBOX] if inbox else []
            )
            texts: dict[str, dict[Channel, Text]] = {}
            for language in LANGUAGES:
                if language not in spec:
                    raise TemplateError(f"{where}: no {language} text")
                entry = spec[language]
                title = entry.get("title", "")
                texts[language] = {}
                for channel in needed:
                    body = entry.get(channel.value)
                    if not body:
                        raise TemplateError(f"{where}.{language}: no {channel.value} text")
                    texts[language][channel] = Text(title, body)
                    for text, part in ((title, "title"), (body, channel.value)):
                        unknown = _fields(text, f"{where}.{language}.{part}") - variables
                        if unknown:
                            raise TemplateError(
                                f"{where}.{language}.{part}: uses {', '.join(sorted(unknown))}, "
                                "which the template does not declare"
                            )
            templates[name] = Template(name, variables, bool(spec.get("urgent")), channels, texts, inbox)
        return cls(templates)
