"""Booking's catalogue, asked over gRPC: whether an office exists (a window clerk
is bound to one). The catalogue belongs to booking; identity never reads it."""

from __future__ import annotations

import grpc

from mintong.booking.v1 import offices_pb2 as pb
from mintong.booking.v1 import offices_pb2_grpc as pb_grpc
from services.runtime import context
from services.runtime.grpc_client import LazyStub


class GrpcOfficeDirectory:
    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.stub = LazyStub("booking", target, pb_grpc.OfficeDirectoryServiceStub)
        self.timeout = timeout

    async def exists(self, office_id: str) -> bool:
        try:
            answer = await self.stub.get().FindOffices(
                pb.FindOfficesRequest(office_ids=[office_id]),
                metadata=((context.CALLER_KEY, str(context.Caller.service("identity"))),),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise self.stub.unavailable(error) from error
        return any(o.id == office_id for o in answer.offices)
