"""The policies' gRPC servicer (decision 59): proto ↔ domain, and the texts checked
as storable whatever the gateway checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mintong.booking.v1 import policies_pb2 as pb
from mintong.booking.v1 import policies_pb2_grpc as pb_grpc
from services.booking.domain.policies import Kind, Policy, State, closure_first, closure_last
from services.booking.service_layer import policies
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.context import Role, require_role
from services.runtime.errors import InvalidArgument
from services.runtime.proto_values import (
    date_from_proto,
    date_to_proto,
    timestamp_from_proto,
    timestamp_to_proto,
)
from services.runtime.text import LONG, SHORT, check_text

_STATES = {
    State.SCHEDULED: pb.POLICY_STATE_SCHEDULED,
    State.IN_FORCE: pb.POLICY_STATE_IN_FORCE,
    State.LAPSED: pb.POLICY_STATE_LAPSED,
}
_STATE_OF = {v: k for k, v in _STATES.items()}
#: At most this many visit requirements or evidence items in one policy.
MAX_ITEMS = 50


def _texts(values: Any, field: str, *, required: bool = False, max_length: int = SHORT) -> list[str]:
    items = list(values)
    if len(items) > MAX_ITEMS:
        raise InvalidArgument("too_many_items", f"Give at most {MAX_ITEMS} items in {field}.", field=field)
    if required and not items:
        raise InvalidArgument("requirements_required", f"Give at least one item in {field}.", field=field)
    return [check_text(v, f"{field}[{n}]", max_length=max_length) for n, v in enumerate(items)]


def _twins(zh: list[str], en: list[str], field: str) -> None:
    if en and len(en) != len(zh):
        raise InvalidArgument(
            "translations_mismatch", f"Give one English text per item, or none ({len(zh)}).", field=field
        )


def _code(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument("field_required", f"Name the {field.replace('_', ' ')}.", field=field)
    return check_text(value, field, max_length=64)


def new_policy(request: pb.CreatePolicyRequest, now: dt.datetime) -> policies.NewPolicy:
    city = _code(request.city_code, "city")
    starts = timestamp_from_proto(request, "effective_from") or now
    until = timestamp_from_proto(request, "effective_until")
    which = request.WhichOneof("details")
    details: dict[str, Any]
    if which == "business_suspension":
        s = request.business_suspension
        kind, subject = Kind.BUSINESS_SUSPENSION, _code(s.business_code, "business")
        details = {
            "announcement": check_text(s.announcement, "announcement", multiline=True, max_length=2000),
            "announcement_en": check_text(
                s.announcement_en, "announcement_en", multiline=True, max_length=2000
            ),
        }
    elif which == "destination_suspension":
        kind, subject = (
            Kind.DESTINATION_SUSPENSION,
            _code(request.destination_suspension.destination, "destination"),
        )
        details = {}
    elif which == "entry_exit_reason":
        r = request.entry_exit_reason
        evidence = _texts(r.evidence, "evidence", max_length=LONG // 4)
        evidence_en = _texts(r.evidence_en, "evidence_en", max_length=LONG // 4)
        _twins(evidence, evidence_en, "evidence_en")
        kind, subject = Kind.ENTRY_EXIT_REASON, _code(r.code, "code")
        details = {
            "allowed": r.allowed,
            "name": check_text(r.name, "name"),
            "name_en": check_text(r.name_en, "name_en"),
            "evidence": [[zh, evidence_en[n] if evidence_en else ""] for n, zh in enumerate(evidence)],
        }
    elif which == "visit_requirements":
        v = request.visit_requirements
        zh = _texts(v.requirements, "requirements", required=True, max_length=LONG // 4)
        en = _texts(v.requirements_en, "requirements_en", max_length=LONG // 4)
        _twins(zh, en, "requirements_en")
        kind, subject = Kind.VISIT_REQUIREMENTS, _code(v.office_id, "office_id")
        details = {"requirements": zh, "requirements_en": en}
    elif which == "office_closure":
        c = request.office_closure
        first = date_from_proto(c.from_date, "from")
        last = date_from_proto(c.to_date, "to")
        if first is None or last is None:
            raise InvalidArgument(
                "date_required", "Give both from and to.", field="from" if first is None else "to"
            )
        kind, subject = Kind.OFFICE_CLOSURE, _code(c.office_id, "office_id")
        details = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "reason": check_text(c.reason, "reason", multiline=True, max_length=2000),
            "reason_en": check_text(c.reason_en, "reason_en", multiline=True, max_length=2000),
        }
    else:
        raise InvalidArgument("policy_kind_required", "Say what the policy is about.", field="kind")
    return policies.NewPolicy(city, kind, subject, details, starts, until)


def policy_to_proto(p: Policy) -> pb.Policy:
    d = p.details
    message = pb.Policy(
        id=p.id,
        city_code=p.city_code,
        effective_from=timestamp_to_proto(p.effective_from),
        effective_until=timestamp_to_proto(p.effective_until),
        state=_STATES[p.state],
        created_at=timestamp_to_proto(p.created_at),
        created_by=p.created_by,
        cancelled_count=p.cancelled_count,
    )
    match p.kind:
        case Kind.BUSINESS_SUSPENSION:
            message.business_suspension.CopyFrom(
                pb.BusinessSuspensionPolicy(
                    business_code=p.subject,
                    announcement=str(d["announcement"]),
                    announcement_en=str(d.get("announcement_en", "")),
                )
            )
        case Kind.DESTINATION_SUSPENSION:
            message.destination_suspension.CopyFrom(pb.DestinationSuspensionPolicy(destination=p.subject))
        case Kind.ENTRY_EXIT_REASON:
            evidence = [list(e) for e in d.get("evidence", [])]
            message.entry_exit_reason.CopyFrom(
                pb.EntryExitReasonPolicy(
                    code=p.subject,
                    allowed=bool(d.get("allowed", True)),
                    name=str(d.get("name", "")),
                    name_en=str(d.get("name_en", "")),
                    evidence=[str(e[0]) for e in evidence],
                    evidence_en=[str(e[1]) for e in evidence] if any(e[1] for e in evidence) else [],
                )
            )
        case Kind.VISIT_REQUIREMENTS:
            message.visit_requirements.CopyFrom(
                pb.VisitRequirementsPolicy(
                    office_id=p.subject,
                    requirements=list(d["requirements"]),
                    requirements_en=list(d.get("requirements_en", [])),
                )
            )
        case Kind.OFFICE_CLOSURE:
            message.office_closure.CopyFrom(
                pb.OfficeClosurePolicy(
                    office_id=p.subject,
                    from_date=date_to_proto(closure_first(p)),
                    to_date=date_to_proto(closure_last(p)),
                    reason=str(d.get("reason", "")),
                    reason_en=str(d.get("reason_en", "")),
                )
            )
    return message


class PolicyAdminServicer(pb_grpc.PolicyAdminServiceServicer):
    """Every call re-checks that the caller is an administrator."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def CreatePolicy(self, request: pb.CreatePolicyRequest, context) -> pb.CreatePolicyResponse:
        me = require_role(Role.ADMINISTRATOR)
        new = new_policy(request, self.clock())
        made = await policies.create(self.uow, self.clock, new, created_by=str(me))
        return pb.CreatePolicyResponse(policy=policy_to_proto(made))

    async def ListPolicies(self, request: pb.ListPoliciesRequest, context) -> pb.ListPoliciesResponse:
        require_role(Role.ADMINISTRATOR)
        states = [_STATE_OF[s] for s in request.states if s in _STATE_OF]
        found = await policies.list_policies(self.uow, _code(request.city_code, "city"), states)
        return pb.ListPoliciesResponse(policies=[policy_to_proto(p) for p in found])

    async def EndPolicy(self, request: pb.EndPolicyRequest, context) -> pb.EndPolicyResponse:
        require_role(Role.ADMINISTRATOR)
        ended = await policies.end(self.uow, self.clock, _code(request.policy_id, "policy_id"))
        return pb.EndPolicyResponse(policy=policy_to_proto(ended))
