"""Staff sign-in (username + password → a short-lived staff token), sign-out, and
the administrators' staff accounts. Identity checks every staff token and the
role again; the gateway only turns HTTP into calls."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import (
    STAFF_ROLES,
    Administrator,
    AnonymousCall,
    AnyStaff,
    Services,
    Staff,
    StaffRoleName,
    issued,
    signed_out,
    staff,
)
from gateway.problems import declare
from gateway.routes.identity import IdNumber
from gateway.schemas import Stored
from mintong.identity.v1 import citizens_pb2
from mintong.identity.v1 import staff_pb2 as pb

router = APIRouter(
    prefix="/staff",
    tags=["staff"],
    responses=declare({401: ["credentials_invalid", "session_ended"], 429: ["too_many_requests"]}),
)
admin = APIRouter(
    prefix="/admin/staff",
    tags=["administration"],
    responses=declare(
        {
            400: [
                "invalid_username",
                "weak_password",
                "invalid_display_name",
                "office_required",
                "office_not_allowed",
                "invalid_office",
                "invalid_role",
            ],
            404: ["staff_not_found"],
            409: ["username_taken"],
        }
    ),
)

ROLE_PROTO = {name: value for value, name in STAFF_ROLES.items()}
StaffId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]
OfficeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


#: Stated in the schema; identity checks it (invalid_username), in any letter case.
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"


class StaffSignIn(BaseModel):
    username: Annotated[str, Stored(128, min_length=1)]
    password: str = Field(min_length=1, max_length=1024)


class StaffToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds; then sign in again (staff tokens are not refreshed).")
    staff_id: str
    username: str
    role: StaffRoleName
    office_id: str | None = Field(description="The office of a window clerk; null for other roles.")


@router.post(
    "/token",
    response_model=StaffToken,
    summary="Staff sign-in with username and password",
    description="Unknown username and wrong password get the same 401. Repeated failures slow "
    "down further tries from the same client address (429 with Retry-After, twice as long after "
    "each further failure); a username is never locked for everyone.",
)
async def sign_in(body: StaffSignIn, request: Request, call: AnonymousCall, services: Services) -> StaffToken:
    answer = await services.staff.SignIn(
        pb.StaffServiceSignInRequest(
            username=body.username,
            password=body.password,
            client_ip=request.client.host if request.client else "",
        ),
        **call.options,
    )
    return StaffToken(
        access_token=issued(request, answer.access_token),
        expires_in=answer.expires_in_seconds,
        staff_id=answer.staff.staff_id,
        username=answer.staff.username,
        role=STAFF_ROLES[answer.staff.role],
        office_id=answer.staff.office_id or None,
    )


@router.post("/logout", status_code=204, summary="End this staff session")
async def sign_out(request: Request, me: AnyStaff, services: Services) -> Response:
    await services.staff.SignOut(
        pb.StaffServiceSignOutRequest(access_token=me.access_token), **me.call.options
    )
    signed_out(request, me.session_id)
    return Response(status_code=204)


class StaffMe(BaseModel):
    staff_id: str
    username: str
    role: StaffRoleName
    office_id: str | None


@router.get("/me", response_model=StaffMe, summary="The signed-in staff member")
async def me(me: AnyStaff) -> StaffMe:
    return StaffMe(staff_id=me.id, username=me.username, role=me.role, office_id=me.office_id)


class StaffMember(BaseModel):
    staff_id: str
    username: str
    display_name: str
    role: StaffRoleName
    office_id: str | None
    active: bool

    @classmethod
    def of(cls, member: pb.StaffMember) -> StaffMember:
        return cls(
            staff_id=member.staff_id,
            username=member.username,
            display_name=member.display_name,
            role=STAFF_ROLES[member.role],
            office_id=member.office_id or None,
            active=member.active,
        )


#: A window clerk names the office they serve at; a reviewer may name one (they
#: review its city's pre-applications); no other role has one. Stated in the
#: schema; identity checks it (office_required, office_not_allowed).
OFFICE_WITH_ROLE = ConfigDict(
    json_schema_extra={
        "allOf": [
            {
                "if": {"properties": {"role": {"const": "window_clerk"}}, "required": ["role"]},
                "then": {"required": ["office_id"], "properties": {"office_id": {"type": "string"}}},
            },
            {
                "if": {"properties": {"role": {"enum": ["administrator", "sre"]}}, "required": ["role"]},
                "then": {"properties": {"office_id": {"type": "null"}}},
            },
        ]
    }
)


class NewStaff(BaseModel):
    model_config = OFFICE_WITH_ROLE

    username: Annotated[str, Stored(64)] = Field(
        description="3 to 64 of a–z, digits, '.', '_', '-'; it starts with a letter or digit.",
        json_schema_extra={"pattern": USERNAME},
    )
    display_name: Annotated[str, Stored(200)] = ""
    role: StaffRoleName
    office_id: OfficeId | None = Field(default=None, description="Required for a window clerk, else none.")
    password: str = Field(min_length=12, max_length=1024, description="The first password (12+ characters).")


class RoleChange(BaseModel):
    model_config = OFFICE_WITH_ROLE

    role: StaffRoleName
    office_id: OfficeId | None = Field(default=None, description="Required for a window clerk, else none.")


class ActiveChange(BaseModel):
    active: bool = Field(description="false disables the account and ends its sessions.")


class StaffList(BaseModel):
    staff: list[StaffMember]


@admin.post("", response_model=StaffMember, status_code=201, summary="Make a staff account")
async def create_staff(body: NewStaff, admin: Administrator, services: Services) -> StaffMember:
    answer = await services.staff_admin.CreateStaff(
        pb.CreateStaffRequest(
            username=body.username,
            display_name=body.display_name,
            role=ROLE_PROTO[body.role],
            office_id=body.office_id or "",
            password=body.password,
        ),
        **admin.call.options,
    )
    return StaffMember.of(answer.staff)


@admin.get("", response_model=StaffList, summary="Staff accounts, by username")
async def list_staff(
    admin: Administrator,
    services: Services,
    role: StaffRoleName | None = None,
    office_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> StaffList:
    answer = await services.staff_admin.ListStaff(
        pb.ListStaffRequest(
            role=ROLE_PROTO[role] if role else pb.STAFF_ROLE_UNSPECIFIED, office_id=office_id or ""
        ),
        **admin.call.options,
    )
    return StaffList(staff=[StaffMember.of(m) for m in answer.staff])


@admin.put("/{staff_id}/role", response_model=StaffMember, summary="Give a staff member another role")
async def set_role(
    staff_id: StaffId, body: RoleChange, admin: Administrator, services: Services
) -> StaffMember:
    answer = await services.staff_admin.SetStaffRole(
        pb.SetStaffRoleRequest(staff_id=staff_id, role=ROLE_PROTO[body.role], office_id=body.office_id or ""),
        **admin.call.options,
    )
    return StaffMember.of(answer.staff)


@admin.put("/{staff_id}/active", response_model=StaffMember, summary="Disable or enable a staff account")
async def set_active(
    staff_id: StaffId, body: ActiveChange, admin: Administrator, services: Services
) -> StaffMember:
    answer = await services.staff_admin.SetStaffActive(
        pb.SetStaffActiveRequest(staff_id=staff_id, active=body.active), **admin.call.options
    )
    return StaffMember.of(answer.staff)


# --- citizens, as staff may see them ------------------------------------------------


class CitizenQuery(BaseModel):
    # The sign-in's ID number (its pattern in the schema; identity says which part
    # is wrong): the schema said 15 to 40 characters, and identity refused 15.
    id_number: IdNumber = Field(
        description="The citizen's resident ID number (18 characters; spaces and a lower-case x are "
        "accepted). In the body, not the URL, so that it reaches no access log.",
    )


class MaskedCitizen(BaseModel):
    citizen_id: str = Field(description="What every service knows the citizen by (e.g. for an approval).")
    masked_name: str = Field(description="The first character of the name, e.g. 张*.")
    masked_id_number: str = Field(description="Without the birth date, e.g. 410105********123X.")
    city: str

    @classmethod
    def of(cls, c: citizens_pb2.CitizenSummary) -> MaskedCitizen:
        return cls(
            citizen_id=c.citizen_id,
            masked_name=c.masked_name,
            masked_id_number=c.masked_id_number,
            city=c.city_code,
        )


#: Staff who serve or review citizens; SREs see none.
CitizenStaff = Annotated[Staff, Depends(staff("window_clerk", "reviewer", "administrator"))]


@router.post(
    "/citizens/find",
    response_model=MaskedCitizen,
    summary="Find a citizen by ID number (masked; every look-up is audited)",
    description="For window clerks, reviewers and administrators: the citizen id to act on, with "
    "the name and ID number masked. Found or not (404 citizen_not_found on id_number), the "
    "look-up is an entry of identity's audit log under the staff member's id.",
    responses=declare(
        {
            400: [
                "id_number_length",
                "id_number_characters",
                "id_number_birth_date",
                "id_number_check_digit",
            ]
        }
    ),
)
async def find_citizen(body: CitizenQuery, member: CitizenStaff, services: Services) -> MaskedCitizen:
    answer = await services.citizens.FindCitizen(
        citizens_pb2.FindCitizenRequest(id_number=body.id_number), **member.call.options
    )
    return MaskedCitizen.of(answer.citizen)
