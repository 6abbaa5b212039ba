"""The bureau's policies as data, with effective dates (issue 11, item 4; decision 59).

A policy changes one thing of the catalogue for a while: a business suspended with
an announcement, an entry-exit destination suspended, an emergency reason allowed
(with the evidence it needs) or withdrawn, an office's visit requirements, an office
closed for a day or a range. It is ``scheduled`` until its ``effective_from``,
``in_force`` from then, and ``lapsed`` from its ``effective_until`` (if any): only
in force does it change anything. Coming into force it records what it replaced
(``previous``), which its lapse restores.

The functions here are pure: they take the catalogue's objects and give changed
copies; the service layer stores them."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.booking.domain import model
from services.booking.domain.rules import BookingRules
from services.runtime.errors import InvalidArgument

#: An office closes for at most this many days in one policy.
MAX_CLOSURE_DAYS = 366


class Kind(enum.Enum):
    BUSINESS_SUSPENSION = "business_suspension"
    DESTINATION_SUSPENSION = "destination_suspension"
    ENTRY_EXIT_REASON = "entry_exit_reason"
    VISIT_REQUIREMENTS = "visit_requirements"
    OFFICE_CLOSURE = "office_closure"


class State(enum.Enum):
    SCHEDULED = "scheduled"
    IN_FORCE = "in_force"
    LAPSED = "lapsed"


#: Kinds whose subject is an office (the others': a business, destination or reason of a city).
OFFICE_KINDS = frozenset({Kind.VISIT_REQUIREMENTS, Kind.OFFICE_CLOSURE})


@dataclass(frozen=True)
class Policy:
    id: str
    city_code: str
    kind: Kind
    #: A business code, a destination (ISO 3166 alpha-2), a reason code or an office id.
    subject: str
    #: What the kind needs: announcement(s), names and evidence, requirements, days and reason.
    details: Mapping[str, Any]
    effective_from: dt.datetime
    effective_until: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    state: State = State.SCHEDULED
    previous: Mapping[str, Any] | None = None
    closure_done: bool = False
    cancelled_count: int = 0
    changed_at: dt.datetime | None = field(default=None, compare=False)

    def due(self, now: dt.datetime) -> bool:
        """Its time has come, and it is not in force yet."""
        return self.state is State.SCHEDULED and self.effective_from <= now and not self.over(now)

    def over(self, now: dt.datetime) -> bool:
        return self.effective_until is not None and self.effective_until <= now

    @property
    def closed_days(self) -> tuple[dt.date, ...]:
        if self.kind is not Kind.OFFICE_CLOSURE:
            return ()
        return tuple(model.dates_between(closure_first(self), closure_last(self)))


def closure_first(policy: Policy) -> dt.date:
    return dt.date.fromisoformat(str(policy.details["from"]))


def closure_last(policy: Policy) -> dt.date:
    return dt.date.fromisoformat(str(policy.details["to"]))


def check_period(effective_from: dt.datetime, effective_until: dt.datetime | None) -> None:
    """A period runs forwards: a policy that lapses before it begins is a mistake."""
    if effective_until is not None and effective_until <= effective_from:
        raise InvalidArgument(
            "invalid_effective_period",
            f"effective_until ({effective_until.isoformat()}) must be after effective_from "
            f"({effective_from.isoformat()}).",
            field="effective_until",
        )


def check_closure_days(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise InvalidArgument(
            "invalid_date_range", f"The closure's to ({last}) is before its from ({first}).", field="to"
        )
    if (last - first).days + 1 > MAX_CLOSURE_DAYS:
        raise InvalidArgument(
            "date_range_too_long",
            f"Close an office for at most {MAX_CLOSURE_DAYS} days in one policy, "
            f"not {(last - first).days + 1}.",
            field="to",
        )


def check_announcement(text: str) -> None:
    if not text.strip():
        raise InvalidArgument(
            "announcement_required",
            "A suspension must tell citizens why, in an announcement.",
            field="announcement",
        )


# What each kind replaces, and what it makes of the catalogue.


def business_before(business: model.Business) -> dict[str, Any]:
    return {
        "status": business.status.value,
        "announcement": business.announcement,
        "announcement_en": business.announcement_en,
    }


def suspended_business(business: model.Business, policy: Policy) -> model.Business:
    return replace(
        business,
        status=model.BusinessStatus.SUSPENDED,
        announcement=str(policy.details["announcement"]).strip(),
        announcement_en=str(policy.details.get("announcement_en", "")).strip(),
    )


def restored_business(business: model.Business, previous: Mapping[str, Any]) -> model.Business:
    return replace(
        business,
        status=model.BusinessStatus(previous["status"]),
        announcement=str(previous["announcement"]),
        announcement_en=str(previous["announcement_en"]),
    )


def rules_before(rules: BookingRules, policy: Policy) -> dict[str, Any]:
    if policy.kind is Kind.DESTINATION_SUSPENSION:
        return {"suspended": policy.subject in rules.suspended_destinations}
    code = policy.subject
    return {
        "allowed": code in rules.entry_exit_reasons,
        "names": list(rules.entry_exit_reason_names[code]) if code in rules.entry_exit_reason_names else None,
        "evidence": [list(e) for e in rules.entry_exit_reason_evidence.get(code, ())],
    }


def ruled(rules: BookingRules, policy: Policy) -> BookingRules:
    """The city's rules with a destination or reason policy in force."""
    code, d = policy.subject, policy.details
    if policy.kind is Kind.DESTINATION_SUSPENSION:
        return _with_destination(rules, code, suspended=True)
    names = dict(rules.entry_exit_reason_names)
    if d.get("name"):
        names[code] = (str(d["name"]), str(d.get("name_en", "")))
    evidence = dict(rules.entry_exit_reason_evidence)
    evidence[code] = tuple((str(zh), str(en)) for zh, en in d.get("evidence", []))
    return _with_reason(
        replace(rules, entry_exit_reason_names=names, entry_exit_reason_evidence=evidence),
        code,
        bool(d.get("allowed", True)),
    )


def restored_rules(rules: BookingRules, policy: Policy, previous: Mapping[str, Any]) -> BookingRules:
    code = policy.subject
    if policy.kind is Kind.DESTINATION_SUSPENSION:
        return _with_destination(rules, code, suspended=bool(previous["suspended"]))
    names = dict(rules.entry_exit_reason_names)
    names.pop(code, None)
    if previous.get("names"):
        names[code] = (str(previous["names"][0]), str(previous["names"][1]))
    evidence = dict(rules.entry_exit_reason_evidence)
    evidence.pop(code, None)
    if previous.get("evidence"):
        evidence[code] = tuple((str(zh), str(en)) for zh, en in previous["evidence"])
    restored = replace(rules, entry_exit_reason_names=names, entry_exit_reason_evidence=evidence)
    return _with_reason(restored, code, bool(previous["allowed"]))


def _with_destination(rules: BookingRules, code: str, *, suspended: bool) -> BookingRules:
    others = tuple(c for c in rules.suspended_destinations if c != code)
    return replace(rules, suspended_destinations=(*others, code) if suspended else others)


def _with_reason(rules: BookingRules, code: str, allowed: bool) -> BookingRules:
    others = tuple(c for c in rules.entry_exit_reasons if c != code)
    if allowed:
        # Kept where it was, else appended: the order citizens read them in stays.
        kept = rules.entry_exit_reasons if code in rules.entry_exit_reasons else (*others, code)
        return replace(rules, entry_exit_reasons=kept)
    return replace(rules, entry_exit_reasons=others)


def office_before(office: model.Office, policy: Policy) -> dict[str, Any]:
    if policy.kind is Kind.VISIT_REQUIREMENTS:
        return {
            "visit_requirements": list(office.visit_requirements),
            "visit_requirements_en": list(office.visit_requirements_en),
        }
    return {"closed_dates": sorted(d.isoformat() for d in office.closed_dates if d in policy.closed_days)}


def officed(office: model.Office, policy: Policy) -> model.Office:
    """The office with a visit-requirements or closure policy in force."""
    if policy.kind is Kind.VISIT_REQUIREMENTS:
        return replace(
            office,
            visit_requirements=tuple(str(r) for r in policy.details["requirements"]),
            visit_requirements_en=tuple(str(r) for r in policy.details.get("requirements_en", [])),
        )
    return replace(office, closed_dates=office.closed_dates | frozenset(policy.closed_days))


def restored_office(office: model.Office, policy: Policy, previous: Mapping[str, Any]) -> model.Office:
    if policy.kind is Kind.VISIT_REQUIREMENTS:
        return replace(
            office,
            visit_requirements=tuple(previous["visit_requirements"]),
            visit_requirements_en=tuple(previous["visit_requirements_en"]),
        )
    kept = {dt.date.fromisoformat(d) for d in previous["closed_dates"]}
    reopened = frozenset(policy.closed_days) - kept
    return replace(office, closed_dates=office.closed_dates - reopened)
