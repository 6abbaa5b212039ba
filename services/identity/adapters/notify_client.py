"""One-time codes go to citizens through the notify service (gRPC)."""

from __future__ import annotations

from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.runtime import context
from services.runtime.grpc_client import insecure_channel

CODE_MINUTES = "5"


class NotifyCodeSender:
    def __init__(self, target: str) -> None:
        self.target = target
        self._stub: pb_grpc.NotifyServiceStub | None = None

    def _notify(self) -> pb_grpc.NotifyServiceStub:
        # Made on first use, inside the running event loop: a grpc.aio channel made
        # by the composition root (before asyncio.run) would belong to no loop.
        if self._stub is None:
            self._stub = pb_grpc.NotifyServiceStub(insecure_channel(self.target))
        return self._stub

    async def send_code(self, *, citizen_id: str, phone: str, code: str, city_code: str, key: str) -> None:
        await self._notify().SendMessage(
            pb.SendMessageRequest(
                citizen_id=citizen_id,
                template="one_time_code",
                variables={"code": code, "minutes": CODE_MINUTES},
                city_code=city_code,
                idempotency_key=f"otp:{key}",
                phone=phone,  # the phone on the register, whatever the citizen's preferences
            ),
            metadata=((context.CALLER_KEY, str(context.Caller.service("identity"))),),
            timeout=5,
        )
