"""A city's booking policy: values from the catalogue file, with the defaults the
seed's bureaus use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The reasons entry-exit documents are issued for while only emergencies are
#: (the seed's list); a city may narrow or widen it in its booking rules.
DEFAULT_ENTRY_EXIT_REASONS = (
    "FUNERAL",
    "MEDICAL_TREATMENT",
    "CRITICALLY_ILL_RELATIVE",
    "URGENT_BUSINESS",
    "LABOUR_SERVICES",
    "EMPLOYMENT",
    "STUDY_ABROAD",
    "EXPIRING_VISA",
)
ENTRY_EXIT_CATEGORY = "entry_exit"
#: What citizens read for each of those reasons, Chinese first (the seed's words);
#: a city's catalogue may name these or other reasons itself.
DEFAULT_ENTRY_EXIT_REASON_NAMES: dict[str, tuple[str, str]] = {
    "FUNERAL": ("出国奔丧", "Attending a funeral abroad"),
    "MEDICAL_TREATMENT": ("出国就医", "Medical treatment abroad"),
    "CRITICALLY_ILL_RELATIVE": ("探望危重病人", "Visiting a critically ill relative"),
    "URGENT_BUSINESS": ("参加紧急商务", "Urgent business"),
    "LABOUR_SERVICES": ("参加紧急劳务", "Urgent labour services"),
    "EMPLOYMENT": ("出国就业", "Employment abroad"),
    "STUDY_ABROAD": ("临近开学日期的出国留学", "Study abroad close to its start date"),
    "EXPIRING_VISA": ("所持签证或入境许可即将到期", "An expiring visa or entry permit"),
}


@dataclass(frozen=True)
class HallRules:
    """How a city's halls run their queue (issue 11): check-in window, ticket
    prefixes, priority groups and when a called ticket becomes a no-show."""

    #: A booking checks in from this long before its start…
    checkin_early: dt.timedelta = dt.timedelta(minutes=30)
    #: …to this long after it.
    checkin_late: dt.timedelta = dt.timedelta(minutes=15)
    #: Ticket letter per business category (``id_card`` → ``A``); others get ``default_prefix``.
    ticket_prefixes: Mapping[str, str] = field(default_factory=dict)
    default_prefix: str = "A"
    #: Groups served first, in this order (a clerk names one at check-in).
    priority_groups: tuple[str, ...] = ("elderly", "disabled")
    #: A called ticket that was called this many times without coming is a no-show…
    max_calls: int = 3
    #: …as is one that did not come within this long of its first call.
    no_show_grace: dt.timedelta = dt.timedelta(minutes=10)
    #: "Your number is coming up" when this many tickets are ahead.
    coming_up_ahead: int = 3

    def prefix_for(self, category: str) -> str:
        return self.ticket_prefixes.get(category, self.default_prefix)

    def to_json(self) -> dict[str, object]:
        return {
            "checkin_early_minutes": int(self.checkin_early.total_seconds() // 60),
            "checkin_late_minutes": int(self.checkin_late.total_seconds() // 60),
            "ticket_prefixes": dict(self.ticket_prefixes),
            "default_prefix": self.default_prefix,
            "priority_groups": list(self.priority_groups),
            "max_calls": self.max_calls,
            "no_show_grace_minutes": int(self.no_show_grace.total_seconds() // 60),
            "coming_up_ahead": self.coming_up_ahead,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> HallRules:
        """Every key optional: cities stored before the hall existed have none."""
        d = dict(data or {})
        default = cls()

        def minutes(key: str, fallback: dt.timedelta) -> dt.timedelta:
            return dt.timedelta(minutes=int(d[key])) if key in d else fallback  # type: ignore[call-overload]

        return cls(
            checkin_early=minutes("checkin_early_minutes", default.checkin_early),
            checkin_late=minutes("checkin_late_minutes", default.checkin_late),
            ticket_prefixes={str(k): str(v) for k, v in dict(d.get("ticket_prefixes") or {}).items()},  # type: ignore[call-overload]
            default_prefix=str(d.get("default_prefix", default.default_prefix)),
            priority_groups=tuple(d.get("priority_groups", default.priority_groups)),  # type: ignore[arg-type]
            max_calls=int(d.get("max_calls", default.max_calls)),  # type: ignore[call-overload]
            no_show_grace=minutes("no_show_grace_minutes", default.no_show_grace),
            coming_up_ahead=int(d.get("coming_up_ahead", default.coming_up_ahead)),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class BookingRules:
    """One city's booking policy; the defaults are what the seed's bureaus use."""

    #: Slots can be booked from now up to this many days ahead (today counts as day 1)…
    horizon_days: int = 7
    #: …and the last day of the horizon opens at this local time each day.
    release_time: dt.time = dt.time(8, 0)
    #: No cancelling or moving a booking later than this before it starts.
    cancel_cutoff: dt.timedelta = dt.timedelta(hours=2)
    #: ``no_show_limit`` no-shows within ``no_show_window`` block booking for ``no_show_block``.
    no_show_limit: int = 3
    no_show_window: dt.timedelta = dt.timedelta(days=90)
    no_show_block: dt.timedelta = dt.timedelta(days=30)
    #: How long a freed place is held for the first citizen on its waitlist.
    hold: dt.timedelta = dt.timedelta(minutes=15)
    entry_exit_reasons: tuple[str, ...] = DEFAULT_ENTRY_EXIT_REASONS
    #: Destinations (ISO 3166 alpha-2) whose endorsements are suspended, e.g. ("AU",).
    suspended_destinations: tuple[str, ...] = ()
    #: Names the city gave its reasons (code → (zh-CN, en)); the defaults otherwise.
    entry_exit_reason_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: What a citizen must bring to show each reason (code → ((zh-CN, en), …)); set by policies.
    entry_exit_reason_evidence: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: How long the booking entitlement an approved pre-application issues can be used.
    entitlement: dt.timedelta = dt.timedelta(days=30)
    hall: HallRules = field(default_factory=HallRules)

    def reason_name(self, code: str) -> tuple[str, str]:
        """A reason's name in Chinese and English (en "" when none was written)."""
        found = self.entry_exit_reason_names.get(code) or DEFAULT_ENTRY_EXIT_REASON_NAMES.get(code)
        return found or (code, "")

    def last_bookable_date(self, now: dt.datetime) -> dt.date:
        """``now`` is local wall-clock time; before the release time the last day
        of the horizon is not open yet."""
        days = self.horizon_days - (1 if now.time() >= self.release_time else 2)
        return now.date() + dt.timedelta(days=max(days, 0))

    def to_json(self) -> dict[str, object]:
        return {
            "horizon_days": self.horizon_days,
            "release_time": self.release_time.strftime("%H:%M"),
            "cancel_cutoff_minutes": int(self.cancel_cutoff.total_seconds() // 60),
            "no_show_limit": self.no_show_limit,
            "no_show_window_days": self.no_show_window.days,
            "no_show_block_days": self.no_show_block.days,
            "hold_minutes": int(self.hold.total_seconds() // 60),
            "entry_exit_reasons": list(self.entry_exit_reasons),
            "suspended_destinations": list(self.suspended_destinations),
            "entry_exit_reason_names": {k: list(v) for k, v in self.entry_exit_reason_names.items()},
            "entry_exit_reason_evidence": {
                k: [list(e) for e in v] for k, v in self.entry_exit_reason_evidence.items()
            },
            "entitlement_days": self.entitlement.days,
            "hall": self.hall.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> BookingRules:
        if not data:
            return cls()
        d = dict(data)
        return cls(
            horizon_days=int(d["horizon_days"]),  # type: ignore[call-overload]
            release_time=dt.time.fromisoformat(str(d["release_time"])),
            cancel_cutoff=dt.timedelta(minutes=int(d["cancel_cutoff_minutes"])),  # type: ignore[call-overload]
            no_show_limit=int(d["no_show_limit"]),  # type: ignore[call-overload]
            no_show_window=dt.timedelta(days=int(d["no_show_window_days"])),  # type: ignore[call-overload]
            no_show_block=dt.timedelta(days=int(d["no_show_block_days"])),  # type: ignore[call-overload]
            hold=dt.timedelta(minutes=int(d["hold_minutes"])),  # type: ignore[call-overload]
            entry_exit_reasons=tuple(d["entry_exit_reasons"]),  # type: ignore[arg-type]
            suspended_destinations=tuple(d["suspended_destinations"]),  # type: ignore[arg-type]
            entry_exit_reason_names={
                str(k): (str(v[0]), str(v[1]))
                for k, v in dict(d.get("entry_exit_reason_names") or {}).items()  # type: ignore[call-overload]
            },
            entry_exit_reason_evidence={
                str(k): tuple((str(e[0]), str(e[1])) for e in v)
                for k, v in dict(d.get("entry_exit_reason_evidence") or {}).items()  # type: ignore[call-overload]
            },
            # Rules stored before pre-applications had an entitlement period: the default.
            entitlement=dt.timedelta(days=int(d.get("entitlement_days", 30))),  # type: ignore[call-overload]
            hall=HallRules.from_json(d.get("hall")),  # type: ignore[arg-type]
        )
