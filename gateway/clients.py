"""One gRPC channel per service, and the health of each."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mintong.booking.v1 import (
    bookings_pb2_grpc,
    catalogue_pb2_grpc,
    hall_pb2_grpc,
    policies_pb2_grpc,
    preapplications_pb2_grpc,
)
from mintong.cards.v1 import cards_pb2_grpc
from mintong.identity.v1 import channels_pb2_grpc, citizens_pb2_grpc, identity_pb2_grpc, staff_pb2_grpc
from mintong.notify.v1 import notify_pb2_grpc
from services.runtime.config import ServiceSettings
from services.runtime.grpc_client import insecure_channel

SERVICES = ("identity", "booking", "cards", "notify")


class Clients:
    def __init__(self, settings: ServiceSettings) -> None:
        self.channels = {name: insecure_channel(settings.grpc_target(name)) for name in SERVICES}
        self.catalogue = catalogue_pb2_grpc.CatalogueServiceStub(self.channels["booking"])
        self.catalogue_admin = catalogue_pb2_grpc.CatalogueAdminServiceStub(self.channels["booking"])
        self.bookings = bookings_pb2_grpc.BookingServiceStub(self.channels["booking"])
        self.booking_staff = bookings_pb2_grpc.BookingStaffServiceStub(self.channels["booking"])
        self.pre_applications = preapplications_pb2_grpc.PreApplicationServiceStub(self.channels["booking"])
        self.pre_application_review = preapplications_pb2_grpc.PreApplicationReviewServiceStub(
            self.channels["booking"]
        )
        self.hall = hall_pb2_grpc.HallServiceStub(self.channels["booking"])
        self.hall_staff = hall_pb2_grpc.HallStaffServiceStub(self.channels["booking"])
        self.policy_admin = policies_pb2_grpc.PolicyAdminServiceStub(self.channels["booking"])
        self.notify = notify_pb2_grpc.NotifyServiceStub(self.channels["notify"])
        self.notify_admin = notify_pb2_grpc.NotifyAdminServiceStub(self.channels["notify"])
        self.identity = identity_pb2_grpc.IdentityServiceStub(self.channels["identity"])
        self.identity_admin = identity_pb2_grpc.IdentityAdminServiceStub(self.channels["identity"])
        #: Seconds a register file's upload may take (the gateway's settings say; the
        #: import itself runs after it, as a job).
        self.upload_timeout: float = getattr(settings, "import_upload_timeout", 600.0)
        self.channel_bindings = channels_pb2_grpc.ChannelBindingServiceStub(self.channels["identity"])
        self.face_verification = channels_pb2_grpc.FaceVerificationServiceStub(self.channels["identity"])
        self.staff = staff_pb2_grpc.StaffServiceStub(self.channels["identity"])
        self.staff_admin = staff_pb2_grpc.StaffAdminServiceStub(self.channels["identity"])
        self.citizens = citizens_pb2_grpc.CitizenDirectoryServiceStub(self.channels["identity"])
        self.cards = cards_pb2_grpc.CardApplicationServiceStub(self.channels["cards"])
        self.card_staff = cards_pb2_grpc.CardStaffServiceStub(self.channels["cards"])
        self.courier_callbacks = cards_pb2_grpc.CourierCallbackServiceStub(self.channels["cards"])

    async def health(self, deadline: float = 1.0) -> dict[str, str]:
        """Each service's overall health status, e.g. {"booking": "SERVING"}."""

        async def check(name: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=deadline
                )
            except grpc.aio.AioRpcError as exc:
                return name, f"UNREACHABLE ({exc.code().name})"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)

        return dict(await asyncio.gather(*(check(n, c) for n, c in self.channels.items())))

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.channels.values()))
