"""An application's life: the statuses, which moves between them are legal, and
the application itself with its timeline (every move timestamped and explained)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from services.runtime.errors import Conflict


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    CHECKS_PASSED = "checks_passed"
    CHECKS_FAILED = "checks_failed"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_PRODUCTION = "in_production"
    PRODUCED = "produced"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED = "returned"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    CANCELLED = "cancelled"


S = Status

#: Every legal move. The courier retries a failed delivery (→ shipped) or returns
#: the card to the office (→ returned → ready for pickup there).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SUBMITTED: frozenset({S.CHECKS_PASSED, S.CHECKS_FAILED, S.CANCELLED}),
    S.CHECKS_PASSED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.CHECKS_FAILED: frozenset(),
    S.APPROVED: frozenset({S.IN_PRODUCTION, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.IN_PRODUCTION: frozenset({S.PRODUCED}),
    S.PRODUCED: frozenset({S.SHIPPED, S.READY_FOR_PICKUP}),
    S.SHIPPED: frozenset({S.DELIVERED, S.DELIVERY_FAILED, S.RETURNED}),
    S.DELIVERY_FAILED: frozenset({S.SHIPPED, S.RETURNED}),
    S.RETURNED: frozenset({S.READY_FOR_PICKUP}),
    S.READY_FOR_PICKUP: frozenset({S.COLLECTED}),
    S.DELIVERED: frozenset(),
    S.COLLECTED: frozenset(),
    S.CANCELLED: frozenset(),
}

#: Statuses in which an application is still being handled (another of the same
#: kind may not be opened meanwhile).
OPEN = frozenset(s for s in Status if TRANSITIONS[s]) - {S.CHECKS_FAILED}
FINAL = frozenset(s for s in Status if not TRANSITIONS[s])


class IllegalTransition(Conflict):
    def __init__(self, old: Status, new: Status) -> None:
        super().__init__(
            "illegal_transition",
            f"An application that is {old.value.replace('_', ' ')} "
            f"cannot become {new.value.replace('_', ' ')}.",
            field="status",
        )
        self.old = old
        self.new = new


@dataclass(frozen=True)
class Transition:
    from_status: Status | None
    to_status: Status
    at: dt.datetime
    reason: str
    actor: str


@dataclass(frozen=True)
class DeliveryDetails:
    """How the card reaches the citizen. Recipient, phone and address are personal
    data: sealed at rest, masked in answers, never in events or logs."""

    method: str  # a kinds.Delivery value
    recipient: str = ""
    phone: str = ""  # E.164
    address: str = ""
    office_id: str = ""


@dataclass
class Application:
    id: str
    citizen_id: str
    city_code: str
    kind: str
    delivery: DeliveryDetails
    status: Status
    submitted_at: dt.datetime
    reasons: list[tuple[str, str, str]] = field(default_factory=list)  # code, zh, en
    needs_review: bool = False
    tracking_number: str = ""
    card_number: str = ""
    batch_id: str = ""
    timeline: list[Transition] = field(default_factory=list)


def check_move(old: Status, new: Status) -> None:
    """Refuses an illegal move (409 illegal_transition)."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(old, new)


def move(app: Application, new: Status, at: dt.datetime, reason: str, actor: str) -> Transition:
    """Moves ``app`` to ``new``, recording why; refuses an illegal move."""
    check_move(app.status, new)
    step = Transition(app.status, new, at, reason, actor)
    app.status = new
    app.timeline.append(step)
    return step
