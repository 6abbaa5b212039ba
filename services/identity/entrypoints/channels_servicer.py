"""gRPC servicers of channel binding, one-step sign-in and face verification:
proto ↔ domain at the edge."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from mintong.common.v1 import common_pb2
from mintong.identity.v1 import channels_pb2 as pb
from mintong.identity.v1 import channels_pb2_grpc as pb_grpc
from services.identity.domain.channels import Binding, BindingKind
from services.identity.entrypoints.grpc_servicer import _tokens
from services.identity.service_layer.channel_ports import ProviderUnavailable
from services.identity.service_layer.channels import Channels
from services.identity.service_layer.face import FaceVerification
from services.runtime.proto_values import channel_name as channel_of
from services.runtime.proto_values import timestamp_to_proto

T = TypeVar("T")

KINDS = {BindingKind.WECHAT: pb.BINDING_KIND_WECHAT, BindingKind.APP_DEVICE: pb.BINDING_KIND_APP_DEVICE}


def _binding(b: Binding) -> pb.Binding:
    return pb.Binding(
        id=b.id,
        kind=KINDS[b.kind],
        city_code=b.city_code,
        label=b.label,
        created_at=timestamp_to_proto(b.created_at),
        last_used_at=timestamp_to_proto(b.last_used_at),
    )


async def _provider(call: Awaitable[T], context: grpc.aio.ServicerContext) -> T:
    """The call's result; a provider that could not answer becomes UNAVAILABLE with
    a problem (503, Retry-After) the gateway passes on, rather than a crash."""
    try:
        return await call
    except ProviderUnavailable as error:
        problem = common_pb2.Problem(
            code=error.code,
            title=error.code.replace("_", " ").capitalize(),
            detail=error.detail,
            status=503,
            retry_after_seconds=error.retry_after,
        )
        detail = any_pb2.Any()
        detail.Pack(problem)
        status = rpc_status.to_status(
            status_pb2.Status(code=code_pb2.UNAVAILABLE, message=error.detail, details=[detail])
        )
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise  # abort raises; this keeps the type checker sure nothing returns


class ChannelBindingServicer(pb_grpc.ChannelBindingServiceServicer):
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    async def BindWeChat(self, request, context):
        binding, created = await _provider(
            self.channels.bind_wechat(
                request.access_token, channel_of(request.channel), request.city_code, request.code
            ),
            context,
        )
        return pb.BindWeChatResponse(binding=_binding(binding), created=created)

    async def BindDevice(self, request, context):
        binding, created = await self.channels.bind_device(
            request.access_token,
            channel_of(request.channel),
            request.device_id,
            request.public_key,
            request.label,
        )
        return pb.BindDeviceResponse(binding=_binding(binding), created=created)

    async def ListBindings(self, request, context):
        found = await self.channels.list_bindings(request.access_token, channel_of(request.channel))
        return pb.ListBindingsResponse(bindings=[_binding(b) for b in found])

    async def RemoveBinding(self, request, context):
        await self.channels.remove_binding(
            request.access_token, channel_of(request.channel), request.binding_id
        )
        return pb.RemoveBindingResponse()

    async def SignInWithWeChat(self, request, context):
        result = await _provider(
            self.channels.sign_in_with_wechat(request.city_code, request.code, channel_of(request.channel)),
            context,
        )
        return pb.SignInWithWeChatResponse(tokens=_tokens(result))

    async def CreateDeviceChallenge(self, request, context):
        nonce, lifetime = await self.channels.create_device_challenge(
            request.device_id, channel_of(request.channel), request.client_ip or "unknown"
        )
        return pb.CreateDeviceChallengeResponse(nonce=nonce, expires_in_seconds=lifetime)

    async def SignInWithDevice(self, request, context):
        result = await self.channels.sign_in_with_device(
            request.device_id, request.nonce, request.signature, channel_of(request.channel)
        )
        return pb.SignInWithDeviceResponse(tokens=_tokens(result))


class FaceVerificationServicer(pb_grpc.FaceVerificationServiceServicer):
    def __init__(self, face: FaceVerification) -> None:
        self.face = face

    async def VerifyFace(self, request, context):
        answer = await _provider(
            self.face.verify(request.access_token, channel_of(request.channel), request.liveness_token),
            context,
        )
        return pb.VerifyFaceResponse(
            result=pb.FACE_RESULT_MATCH if answer.matched else pb.FACE_RESULT_NO_MATCH,
            assurance_level=answer.level.value,
            assurance_expires_at=timestamp_to_proto(answer.expires_at),
            failures_left=answer.failures_left,
        )

    async def DeclineFace(self, request, context):
        alternative = await self.face.decline(request.access_token, channel_of(request.channel))
        return pb.DeclineFaceResponse(
            alternative=pb.Alternative(
                kind=alternative.kind,
                business_code=alternative.business_code,
                city_code=alternative.city_code,
                detail=alternative.detail,
            )
        )
