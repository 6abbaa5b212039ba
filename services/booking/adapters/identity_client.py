"""Identity's register, asked over gRPC: which citizen ids exist."""

from __future__ import annotations

from collections.abc import Collection

import grpc

from mintong.identity.v1 import citizens_pb2 as pb
from mintong.identity.v1 import citizens_pb2_grpc as pb_grpc
from services.runtime import context
from services.runtime.grpc_client import LazyStub


class GrpcCitizenDirectory:
    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.stub = LazyStub("identity", target, pb_grpc.CitizenDirectoryServiceStub)
        self.timeout = timeout

    async def existing(self, citizen_ids: Collection[str]) -> set[str]:
        if not citizen_ids:
            return set()
        try:
            answer = await self.stub.get().GetCitizens(
                pb.GetCitizensRequest(citizen_ids=list(citizen_ids)),
                # Booking asks for itself, whoever's call it is serving.
                metadata=((context.CALLER_KEY, str(context.Caller.service("booking"))),),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise self.stub.unavailable(error) from error
        return {c.citizen_id for c in answer.citizens}
