"""``OfficeDirectoryService``: which offices the catalogue has, for other services."""

from __future__ import annotations

from mintong.booking.v1 import offices_pb2 as pb
from mintong.booking.v1 import offices_pb2_grpc as pb_grpc
from services.booking.service_layer import directory
from services.booking.service_layer.unit_of_work import UnitOfWork


class OfficeDirectoryServicer(pb_grpc.OfficeDirectoryServiceServicer):
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def FindOffices(self, request: pb.FindOfficesRequest, context: object) -> pb.FindOfficesResponse:
        # Open to every caller, as the public catalogue is.
        found = await directory.find_offices(self.uow, request.office_ids)
        return pb.FindOfficesResponse(
            offices=[pb.KnownOffice(id=o.id, city_code=o.city_code, name=o.name) for o in found]
        )
