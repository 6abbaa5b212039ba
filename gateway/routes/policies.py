"""The bureau's policies with effective dates (decision 59): administrators only; the
booking service checks the role again, audits each change and applies each policy
when its time comes. Thin: JSON ↔ proto."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from gateway import schemas
from gateway.deps import Administrator, Services
from gateway.problems import declare
from mintong.booking.v1 import policies_pb2 as pb
from services.runtime.proto_values import date_of, date_to_proto, timestamp_from_proto, timestamp_to_proto

router = APIRouter(
    prefix="/admin",
    tags=["administration: policies"],
    responses=declare(
        {
            400: [
                "invalid_effective_period",
                "invalid_date_range",
                "date_range_too_long",
                "announcement_required",
                "invalid_destination",
                "invalid_reason_code",
                "translations_mismatch",
                "too_many_items",
                "requirements_required",
            ],
            404: ["city_not_found", "office_not_found", "business_not_found", "policy_not_found"],
        }
    ),
)

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
PolicyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$", description="A policy's id.")]
State = Literal["scheduled", "in_force", "lapsed"]
_STATES: dict[pb.PolicyState, State] = {
    pb.POLICY_STATE_SCHEDULED: "scheduled",
    pb.POLICY_STATE_IN_FORCE: "in_force",
    pb.POLICY_STATE_LAPSED: "lapsed",
}
_STATE_OF = {v: k for k, v in _STATES.items()}
Announcement = Annotated[str, schemas.Stored(2000, multiline=True)]
Item = Annotated[str, schemas.Stored(1000)]
Items = Annotated[list[Item], Field(max_length=50)]


def _plausible(value: dt.datetime | None) -> dt.datetime | None:
    """A time a policy can mean: one year 1 or 9999 with an offset is not even a UTC
    time Python can hold, and no bureau plans a policy outside these years."""
    if value is None:
        return None
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("must be a time between the years 2000 and 2999") from None
    if not 2000 <= utc.year <= 2999:
        raise ValueError("must be a time between the years 2000 and 2999")
    return utc


When = Annotated[AwareDatetime | None, AfterValidator(_plausible)]


class _Period(BaseModel):
    effective_from: When = Field(
        default=None, description="When it comes into force (with its offset); left out: now."
    )
    effective_until: When = Field(default=None, description="When it lapses; left out: until ended.")


class BusinessSuspension(_Period):
    kind: Literal["business_suspension"]
    business: schemas.CodeText
    announcement: Annotated[str, schemas.Stored(2000, min_length=1, multiline=True)] = Field(
        description="Shown on the business and in each refusal, in Chinese (zh-CN)."
    )
    announcement_en: Announcement = ""


class DestinationSuspension(_Period):
    kind: Literal["destination_suspension"]
    destination: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2, e.g. AU.")]


class EntryExitReason(_Period):
    kind: Literal["entry_exit_reason"]
    code: Annotated[
        str, Field(pattern=r"^[A-Z0-9_]{1,64}$", description="What a booking gives as reason_code.")
    ]
    allowed: bool = Field(default=True, description="false: the reason is not accepted while in force.")
    name: Annotated[str, schemas.Stored(200)] = ""
    name_en: Annotated[str, schemas.Stored(200)] = ""
    evidence: Items = Field(default=[], description="What a citizen brings to show the reason (zh-CN).")
    evidence_en: Items = Field(default=[], description="Empty, or one English text per evidence.")


class VisitRequirements(_Period):
    kind: Literal["visit_requirements"]
    office_id: schemas.CodeText
    requirements: Annotated[list[Item], Field(min_length=1, max_length=50)]
    requirements_en: Items = []


class OfficeClosure(_Period):
    kind: Literal["office_closure"]
    office_id: schemas.CodeText
    from_: schemas.Day = Field(alias="from", description="The first closed day (the city's calendar).")
    to: schemas.Day = Field(description="The last closed day; the same as from for one day.")
    reason: Announcement = Field(default="", description="Told to each citizen whose booking it cancels.")
    reason_en: Announcement = ""


NewPolicy = Annotated[
    BusinessSuspension | DestinationSuspension | EntryExitReason | VisitRequirements | OfficeClosure,
    Field(discriminator="kind"),
]


class Policy(BaseModel):
    id: str
    city: str
    kind: Literal[
        "business_suspension",
        "destination_suspension",
        "entry_exit_reason",
        "visit_requirements",
        "office_closure",
    ]
    state: State
    effective_from: dt.datetime
    effective_until: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    details: dict[str, object] = Field(description="What the kind says: as it was given.")
    cancelled_bookings: int = Field(description="An office closure: the bookings it cancelled so far.")

    @classmethod
    def of(cls, p: pb.Policy) -> Policy:
        which = p.WhichOneof("details") or "office_closure"
        details: dict[str, object]
        if which == "business_suspension":
            s = p.business_suspension
            details = {
                "business": s.business_code,
                "announcement": s.announcement,
                "announcement_en": s.announcement_en,
            }
        elif which == "destination_suspension":
            details = {"destination": p.destination_suspension.destination}
        elif which == "entry_exit_reason":
            r = p.entry_exit_reason
            details = {
                "code": r.code,
                "allowed": r.allowed,
                "name": r.name,
                "name_en": r.name_en,
                "evidence": list(r.evidence),
                "evidence_en": list(r.evidence_en),
            }
        elif which == "visit_requirements":
            v = p.visit_requirements
            details = {
                "office_id": v.office_id,
                "requirements": list(v.requirements),
                "requirements_en": list(v.requirements_en),
            }
        else:
            c = p.office_closure
            details = {
                "office_id": c.office_id,
                "from": date_of(c.from_date).isoformat(),
                "to": date_of(c.to_date).isoformat(),
                "reason": c.reason,
                "reason_en": c.reason_en,
            }
        created = timestamp_from_proto(p, "created_at")
        starts = timestamp_from_proto(p, "effective_from")
        assert created is not None and starts is not None
        return cls(
            id=p.id,
            city=p.city_code,
            kind=which,  # type: ignore[arg-type]
            state=_STATES.get(p.state, "scheduled"),
            effective_from=starts,
            effective_until=timestamp_from_proto(p, "effective_until"),
            created_at=created,
            created_by=p.created_by,
            details=details,
            cancelled_bookings=p.cancelled_count,
        )


class Policies(BaseModel):
    policies: list[Policy]


def _request(
    city: str,
    body: BusinessSuspension | DestinationSuspension | EntryExitReason | VisitRequirements | OfficeClosure,
) -> pb.CreatePolicyRequest:
    request = pb.CreatePolicyRequest(
        city_code=city,
        effective_from=timestamp_to_proto(body.effective_from),
        effective_until=timestamp_to_proto(body.effective_until),
    )
    match body:
        case BusinessSuspension():
            request.business_suspension.CopyFrom(
                pb.BusinessSuspensionPolicy(
                    business_code=body.business,
                    announcement=body.announcement,
                    announcement_en=body.announcement_en,
                )
            )
        case DestinationSuspension():
            request.destination_suspension.CopyFrom(
                pb.DestinationSuspensionPolicy(destination=body.destination)
            )
        case EntryExitReason():
            request.entry_exit_reason.CopyFrom(
                pb.EntryExitReasonPolicy(
                    code=body.code,
                    allowed=body.allowed,
                    name=body.name,
                    name_en=body.name_en,
                    evidence=body.evidence,
                    evidence_en=body.evidence_en,
                )
            )
        case VisitRequirements():
            request.visit_requirements.CopyFrom(
                pb.VisitRequirementsPolicy(
                    office_id=body.office_id,
                    requirements=body.requirements,
                    requirements_en=body.requirements_en,
                )
            )
        case OfficeClosure():
            request.office_closure.CopyFrom(
                pb.OfficeClosurePolicy(
                    office_id=body.office_id,
                    from_date=date_to_proto(body.from_),
                    to_date=date_to_proto(body.to),
                    reason=body.reason,
                    reason_en=body.reason_en,
                )
            )
    return request


@router.post(
    "/cities/{city}/policies",
    response_model=Policy,
    status_code=201,
    summary="Make a policy: a suspension, an emergency reason, visit requirements or an office closure",
    description=(
        "It changes nothing before effective_from and nothing after effective_until. An office "
        "closure in force cancels the bookings of its days (each citizen is told once) before it "
        "answers, and refuses new bookings and waitlist offers on them."
    ),
)
async def create_policy(city: Code, body: NewPolicy, admin: Administrator, services: Services) -> Policy:
    answer = await services.policy_admin.CreatePolicy(_request(city, body), **admin.call.options)
    return Policy.of(answer.policy)


@router.get("/cities/{city}/policies", response_model=Policies, summary="A city's policies, oldest first")
async def list_policies(
    city: Code,
    admin: Administrator,
    services: Services,
    state: Annotated[list[State] | None, Query(description="Only these states (repeat it).")] = None,
) -> Policies:
    answer = await services.policy_admin.ListPolicies(
        pb.ListPoliciesRequest(city_code=city, states=[_STATE_OF[s] for s in state or []]),
        **admin.call.options,
    )
    return Policies(policies=[Policy.of(p) for p in answer.policies])


@router.post("/policies/{policy_id}/end", response_model=Policy, summary="End a policy now")
async def end_policy(policy_id: PolicyId, admin: Administrator, services: Services) -> Policy:
    answer = await services.policy_admin.EndPolicy(
        pb.EndPolicyRequest(policy_id=policy_id), **admin.call.options
    )
    return Policy.of(answer.policy)
