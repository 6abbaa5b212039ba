"""Staff sign-in and staff administration over gRPC: proto ↔ domain at the edge."""

from __future__ import annotations

from mintong.identity.v1 import staff_pb2 as pb
from mintong.identity.v1 import staff_pb2_grpc as pb_grpc
from services.identity.domain.staff import StaffAccount, StaffRole
from services.identity.service_layer.staff import StaffAuth
from services.runtime import context as calls
from services.runtime.errors import InvalidArgument
from services.runtime.text import check_text

ROLES: dict[pb.StaffRole, StaffRole] = {
    pb.STAFF_ROLE_WINDOW_CLERK: StaffRole.WINDOW_CLERK,
    pb.STAFF_ROLE_REVIEWER: StaffRole.REVIEWER,
    pb.STAFF_ROLE_ADMINISTRATOR: StaffRole.ADMINISTRATOR,
    pb.STAFF_ROLE_SRE: StaffRole.SRE,
}
ROLE_PROTO = {role: value for value, role in ROLES.items()}
#: Who may manage staff accounts.
ADMIN = StaffRole.ADMINISTRATOR


def role_of(value: pb.StaffRole) -> StaffRole:
    if value not in ROLES:
        raise InvalidArgument(
            "invalid_role", "Name the role: window_clerk, reviewer, administrator or sre.", field="role"
        )
    return ROLES[value]


def member(account: StaffAccount) -> pb.StaffMember:
    return pb.StaffMember(
        staff_id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=ROLE_PROTO[account.role],
        office_id=account.office_id or "",
        active=account.active,
    )


class StaffServicer(pb_grpc.StaffServiceServicer):
    def __init__(self, staff: StaffAuth) -> None:
        self.staff = staff

    async def SignIn(self, request, context):
        account, token, lifetime = await self.staff.sign_in(
            check_text(request.username, "username", max_length=128),
            request.password,
            request.client_ip or "unknown",
        )
        return pb.StaffServiceSignInResponse(
            access_token=token, expires_in_seconds=lifetime, staff=member(account)
        )

    async def SignOut(self, request, context):
        await self.staff.sign_out(request.access_token)
        return pb.StaffServiceSignOutResponse()

    async def Authenticate(self, request, context):
        account, session_id = await self.staff.authenticate(request.access_token)
        return pb.StaffServiceAuthenticateResponse(
            staff_id=account.id,
            username=account.username,
            role=ROLE_PROTO[account.role],
            office_id=account.office_id or "",
            session_id=session_id,
        )


class StaffAdminServicer(pb_grpc.StaffAdminServiceServicer):
    def __init__(self, staff: StaffAuth) -> None:
        self.staff = staff

    async def CreateStaff(self, request, context):
        calls.require_role(ADMIN)
        account = await self.staff.create(
            actor=str(calls.caller.get()),
            username=check_text(request.username, "username"),
            display_name=check_text(request.display_name, "display_name"),
            role=role_of(request.role),
            office_id=request.office_id or None,
            password=request.password,
        )
        return pb.CreateStaffResponse(staff=member(account))

    async def ListStaff(self, request, context):
        calls.require_role(ADMIN)
        role = role_of(request.role) if request.role else None
        found = await self.staff.list_staff(role, request.office_id or None)
        return pb.ListStaffResponse(staff=[member(a) for a in found])

    async def SetStaffActive(self, request, context):
        calls.require_role(ADMIN)
        account = await self.staff.set_active(
            actor=str(calls.caller.get()), staff_id=request.staff_id, active=request.active
        )
        return pb.SetStaffActiveResponse(staff=member(account))

    async def SetStaffRole(self, request, context):
        calls.require_role(ADMIN)
        account = await self.staff.set_role(
            actor=str(calls.caller.get()),
            staff_id=request.staff_id,
            role=role_of(request.role),
            office_id=request.office_id or None,
        )
        return pb.SetStaffRoleResponse(staff=member(account))
