"""``CitizenDirectoryService``: citizens, masked, for staff and other services."""

from __future__ import annotations

from mintong.identity.v1 import citizens_pb2 as pb
from mintong.identity.v1 import citizens_pb2_grpc as pb_grpc
from services.identity.service_layer import citizens
from services.identity.service_layer.ports import Sealer, UnitOfWork
from services.runtime import context as calls
from services.runtime.clock import Clock
from services.runtime.context import CallerKind, Role

#: Staff who serve or review citizens; an SRE operates the platform and sees none.
STAFF = (Role.WINDOW_CLERK, Role.REVIEWER, Role.ADMINISTRATOR)


def _summary(found: citizens.MaskedCitizen) -> pb.CitizenSummary:
    return pb.CitizenSummary(
        citizen_id=found.citizen_id,
        masked_name=found.masked_name,
        masked_id_number=found.masked_id_number,
        city_code=found.city_code,
    )


class CitizenDirectoryServicer(pb_grpc.CitizenDirectoryServiceServicer):
    def __init__(self, uow: UnitOfWork, sealer: Sealer, clock: Clock) -> None:
        self.uow = uow
        self.sealer = sealer
        self.clock = clock

    async def FindCitizen(self, request: pb.FindCitizenRequest, context: object) -> pb.FindCitizenResponse:
        calls.require_role(*STAFF)
        found = await citizens.find_by_id_number(
            self.uow, self.sealer, request.id_number, actor=str(calls.caller.get()), now=self.clock()
        )
        return pb.FindCitizenResponse(citizen=_summary(found))

    async def GetCitizens(self, request: pb.GetCitizensRequest, context: object) -> pb.GetCitizensResponse:
        calls.require_role(*STAFF, CallerKind.SERVICE)
        found = await citizens.by_ids(self.uow, request.citizen_ids, self.clock().date())
        return pb.GetCitizensResponse(citizens=[_summary(c) for c in found])
