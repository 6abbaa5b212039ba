"""Which events become which messages: a table read from subscriptions.yaml, so
that a new event → message mapping is a data change, not new plumbing. Checked
when loaded: unknown templates, variables a template needs but the mapping does
not fill, and fields the event does not have all fail at start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.notify.domain.templates import Value
from services.notify.service_layer.notifier import Notifier, Send, Staged
from services.notify.service_layer.ports import Store
from services.runtime.languages import english_or_chinese


class SubscriptionError(ValueError):
    pass


@dataclass(frozen=True)
class Action:
    #: "send" a template, or "cancel" what is still queued under a key.
    kind: str
    template: str = ""
    variables: Mapping[str, str] | None = None  # template variable -> event field
    #: Send at `at` (local) the day before the date in this field, not at once.
    day_before: str | None = None
    at: dt.time = dt.time(18, 0)
    #: Event field whose value later cancels this message (or, for "cancel", the key).
    cancel_key: str | None = None


@dataclass(frozen=True)
class Subscription:
    subject: str
    event: str  # full proto name of the payload
    citizen: str
    city: str
    actions: tuple[Action, ...]

    def fields(self) -> set[str]:
        used = {self.citizen, self.city}
        for a in self.actions:
            used |= set((a.variables or {}).values()) | {f for f in (a.day_before, a.cancel_key) if f}
        return used


def load(document: Mapping[str, Any], notifier: Notifier) -> dict[str, Subscription]:
    result = {}
    for i, item in enumerate(document.get("subscriptions") or []):
        where = f"subscriptions[{i}]"
        actions = []
        for j, spec in enumerate(item["actions"]):
            if "cancel" in spec:
                actions.append(Action("cancel", cancel_key=spec["cancel"]))
                continue
            template = notifier.templates.templates.get(spec["send"])
            if template is None:
                raise SubscriptionError(f"{where}.actions[{j}]: no template {spec['send']!r}")
            variables = dict(spec.get("variables") or {})
            if set(variables) != template.variables:
                raise SubscriptionError(
                    f"{where}.actions[{j}]: {spec['send']} needs exactly {sorted(template.variables)}, "
                    f"the mapping fills {sorted(variables)}"
                )
            at = dt.time.fromisoformat(spec["at"]) if "at" in spec else dt.time(18, 0)
            actions.append(
                Action("send", spec["send"], variables, spec.get("day_before"), at, spec.get("cancel_key"))
            )
        subscription = Subscription(
            item["subject"], item["event"], item["citizen"], item["city"], tuple(actions)
        )
        if subscription.subject in result:
            raise SubscriptionError(f"{where}: {subscription.subject} is subscribed twice")
        result[subscription.subject] = subscription
    return result


def check_fields(subscriptions: Mapping[str, Subscription], fields_of: Callable[[str], set[str]]) -> None:
    """Every field a subscription reads exists in its event."""
    for s in subscriptions.values():
        if missing := s.fields() - fields_of(s.event):
            raise SubscriptionError(f"{s.subject}: {s.event} has no field {', '.join(sorted(missing))}")


#: How a list (materials, visit requirements) reads as one text, per language; an
#: entry's own closing stop gives way to the separator ("…取号；请按…", not "…取号。；请按…").
_LIST_SEPARATOR = {"zh-CN": "；", "en": "; "}
_CLOSING_STOPS = "。；;.． "


def _printable(value: Any, language: str = "en") -> str:
    if not isinstance(value, list):
        return str(value)
    return _LIST_SEPARATOR[language].join(str(entry).rstrip(_CLOSING_STOPS) for entry in value)


def template_value(values: Mapping[str, Any], field: str) -> Value:
    """A field for a template. Texts for citizens come Chinese first with an English
    twin in ``<field>_en`` (empty, or entry by entry, where none was written): such a
    field gives both languages, and the citizen's picks one when the message is made."""
    chinese = values[field]
    if f"{field}_en" not in values:
        return _printable(chinese)
    english = values[f"{field}_en"]
    if isinstance(chinese, list):
        english = english_or_chinese(chinese, english)
    return {"zh-CN": _printable(chinese, "zh-CN"), "en": _printable(english or chinese, "en")}


async def handle(
    notifier: Notifier,
    subscriptions: Mapping[str, Subscription],
    store: Store,
    subject: str,
    event_id: str,
    values: Mapping[str, Any],
    staged: Staged,
) -> None:
    """Carry out a subscription's actions, in order, in the consumer's transaction.
    Messages to send are added to ``staged``, for the consumer to make with the other
    events' before it commits (Notifier.flush); a cancellation first makes those
    staged before it, so that it withdraws what an earlier event queued, as it
    would had each event been handled alone. The consumer's processed-events record
    deduplicates, so nothing is looked for first."""
    subscription = subscriptions.get(subject)
    if subscription is None:
        return
    citizen, city = str(values[subscription.citizen]), str(values[subscription.city])
    for action in subscription.actions:
        if action.kind == "cancel":
            await notifier.flush(store, staged)
            await notifier.cancel_in(store, str(values[action.cancel_key or ""]), f"withdrawn by {subject}")
            continue
        not_before = None
        if action.day_before:
            day = dt.date.fromisoformat(values[action.day_before])
            local = dt.datetime.combine(day - dt.timedelta(days=1), action.at, tzinfo=notifier.zone)
            if day <= notifier.clock().astimezone(notifier.zone).date():
                continue  # a same-day booking: the confirmation is the reminder
            not_before = local.astimezone(dt.UTC)
        staged.sends.append(
            Send(
                citizen_id=citizen,
                template=action.template,
                variables={name: template_value(values, f) for name, f in (action.variables or {}).items()},
                city_code=city,
                source_key=f"{event_id}:{action.template}:{citizen}",
                not_before=not_before,
                cancel_key=str(values[action.cancel_key]) if action.cancel_key else None,
            )
        )
