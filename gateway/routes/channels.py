"""One citizen on every channel: binding a WeChat openid (through WeChat's OAuth,
never a bare openid from the client) or an APP device, one-step sign-in through
them; and face verification, with the way round it for a citizen who declines."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from gateway.deps import CHANNEL_PROTO, AnonymousCall, Channel, Services, SignedIn
from gateway.problems import Problem, declare
from gateway.routes.identity import TokenAnswer
from gateway.schemas import Stored
from mintong.identity.v1 import channels_pb2 as pb
from services.runtime.proto_values import timestamp_from_proto, timestamp_of

router = APIRouter(
    tags=["channel binding"],
    responses=declare(
        {
            400: [
                "invalid_base64",
                "invalid_device_id",
                "invalid_label",
                "wechat_city_unknown",
                "invalid_code",
            ],
            401: ["not_bound", "device_signin_invalid", "credentials_invalid"],
            403: ["wrong_channel"],
            404: ["binding_not_found"],
            409: ["already_bound", "too_many_bindings"],
            429: ["too_many_requests"],
        }
    ),
)
face = APIRouter(
    tags=["face verification"],
    responses=declare(
        {400: ["invalid_liveness_token"], 429: ["too_many_requests"], 503: ["face_provider_unavailable"]}
    ),
)

BASE64URL = r"^[A-Za-z0-9_-]*={0,2}$"
DEVICE_ID = r"^[A-Za-z0-9._:-]{8,128}$"
DEVICE_MESSAGE = 'UTF-8 of "mintong-device-signin/v1\\n<nonce>\\n<device_id>"'


def _bytes(value: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise Problem(400, "invalid_base64", "Send base64url (RFC 4648 §5).", field=field) from None


class WeChatCode(BaseModel):
    city: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_-]+$",
        description="The city whose official account the page belongs to, e.g. haikou.",
    )
    code: str = Field(
        pattern=r"^[!-~]{1,256}$",
        description="The `code` WeChat's OAuth redirect gave the official account's page (printable "
        "ASCII); used once.",
    )


class DeviceKey(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID, description="The APP's id for this installation.")
    public_key: str = Field(
        min_length=1,
        max_length=64,
        pattern=BASE64URL,
        description="The device's raw 32-byte Ed25519 public key, base64url. The private key stays on it.",
    )
    label: Annotated[str, Stored(64)] = Field(default="", description="What the citizen calls the device.")


class Binding(BaseModel):
    id: str
    kind: Literal["wechat", "app"]
    city: str | None = Field(description="The official account's city (WeChat bindings).")
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, b: pb.Binding) -> Binding:
        return cls(
            id=b.id,
            kind="wechat" if b.kind == pb.BINDING_KIND_WECHAT else "app",
            city=b.city_code or None,
            label=b.label,
            created_at=timestamp_of(b.created_at),
            last_used_at=timestamp_from_proto(b, "last_used_at"),
        )


class Bindings(BaseModel):
    bindings: list[Binding]


_BOUND = {
    200: {"description": "Already bound to this citizen: unchanged, or the device's key replaced."},
}


@router.post(
    "/me/bindings/wechat",
    response_model=Binding,
    status_code=201,
    responses=_BOUND,  # type: ignore[arg-type]
    summary="Bind the WeChat user of a city's official account (WeChat channel)",
)
async def bind_wechat(body: WeChatCode, me: SignedIn, services: Services, response: Response) -> Binding:
    answer = await services.channel_bindings.BindWeChat(
        pb.BindWeChatRequest(
            access_token=me.access_token,
            channel=CHANNEL_PROTO[me.channel],
            city_code=body.city,
            code=body.code,
        ),
        **me.call.options,
    )
    response.status_code = 201 if answer.created else 200
    return Binding.of(answer.binding)


@router.post(
    "/me/bindings/app",
    response_model=Binding,
    status_code=201,
    responses=_BOUND,  # type: ignore[arg-type]
    summary="Register this APP device's public key (APP channel)",
)
async def bind_device(body: DeviceKey, me: SignedIn, services: Services, response: Response) -> Binding:
    answer = await services.channel_bindings.BindDevice(
        pb.BindDeviceRequest(
            access_token=me.access_token,
            channel=CHANNEL_PROTO[me.channel],
            device_id=body.device_id,
            public_key=_bytes(body.public_key, "public_key"),
            label=body.label,
        ),
        **me.call.options,
    )
    response.status_code = 201 if answer.created else 200
    return Binding.of(answer.binding)


@router.get("/me/bindings", response_model=Bindings, summary="The signed-in citizen's bindings")
async def list_bindings(me: SignedIn, services: Services) -> Bindings:
    answer = await services.channel_bindings.ListBindings(
        pb.ListBindingsRequest(access_token=me.access_token, channel=CHANNEL_PROTO[me.channel]),
        **me.call.options,
    )
    return Bindings(bindings=[Binding.of(b) for b in answer.bindings])


@router.delete(
    "/me/bindings/{binding_id}",
    status_code=204,
    summary="Remove a binding; the sessions it opened end with it",
)
async def remove_binding(
    binding_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    me: SignedIn,
    services: Services,
) -> Response:
    await services.channel_bindings.RemoveBinding(
        pb.RemoveBindingRequest(
            access_token=me.access_token, channel=CHANNEL_PROTO[me.channel], binding_id=binding_id
        ),
        **me.call.options,
    )
    return Response(status_code=204)


@router.post(
    "/auth/wechat",
    response_model=TokenAnswer,
    summary="One-step sign-in with a bound WeChat user (WeChat channel)",
)
async def sign_in_with_wechat(
    body: WeChatCode, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> TokenAnswer:
    answer = await services.channel_bindings.SignInWithWeChat(
        pb.SignInWithWeChatRequest(city_code=body.city, code=body.code, channel=CHANNEL_PROTO[channel]),
        **call.options,
    )
    return TokenAnswer.of(request, answer.tokens)


class DeviceChallengeRequest(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID)


class DeviceChallenge(BaseModel):
    nonce: str = Field(description=f"Sign the {DEVICE_MESSAGE} with the device's key; used once.")
    expires_in: int


@router.post(
    "/auth/device/challenge",
    response_model=DeviceChallenge,
    summary="A nonce for a bound device to sign (APP channel)",
)
async def device_challenge(
    body: DeviceChallengeRequest, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> DeviceChallenge:
    answer = await services.channel_bindings.CreateDeviceChallenge(
        pb.CreateDeviceChallengeRequest(
            device_id=body.device_id,
            channel=CHANNEL_PROTO[channel],
            client_ip=request.client.host if request.client else "",
        ),
        **call.options,
    )
    return DeviceChallenge(nonce=answer.nonce, expires_in=answer.expires_in_seconds)


class DeviceSignIn(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID)
    nonce: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    signature: str = Field(
        min_length=1,
        max_length=128,
        pattern=BASE64URL,
        description=f"The Ed25519 signature of the {DEVICE_MESSAGE}, base64url.",
    )


@router.post(
    "/auth/device",
    response_model=TokenAnswer,
    summary="One-step sign-in with a bound device's signature (APP channel)",
)
async def sign_in_with_device(
    body: DeviceSignIn, request: Request, channel: Channel, call: AnonymousCall, services: Services
) -> TokenAnswer:
    answer = await services.channel_bindings.SignInWithDevice(
        pb.SignInWithDeviceRequest(
            device_id=body.device_id,
            nonce=body.nonce,
            signature=_bytes(body.signature, "signature"),
            channel=CHANNEL_PROTO[channel],
        ),
        **call.options,
    )
    return TokenAnswer.of(request, answer.tokens)


class FaceCapture(BaseModel):
    liveness_token: Annotated[str, Stored(4096, min_length=1)] = Field(
        description="What the face-verification provider's capture SDK produced on the device.",
    )


class FaceVerified(BaseModel):
    result: Literal["match", "no_match"]
    assurance_level: Literal["otp", "face"]
    assurance_expires_at: dt.datetime | None = Field(description='When "face" lapses.')
    failures_left: int = Field(description="Failed comparisons left today.")


@face.post(
    "/me/face-verification",
    response_model=FaceVerified,
    summary="Compare a live capture with the ID photo; a match raises this session to assurance 'face'",
)
async def verify_face(body: FaceCapture, me: SignedIn, services: Services) -> FaceVerified:
    answer = await services.face_verification.VerifyFace(
        pb.VerifyFaceRequest(
            access_token=me.access_token,
            channel=CHANNEL_PROTO[me.channel],
            liveness_token=body.liveness_token,
        ),
        **me.call.options,
    )
    return FaceVerified(
        result="match" if answer.result == pb.FACE_RESULT_MATCH else "no_match",
        assurance_level="face" if answer.assurance_level == "face" else "otp",
        assurance_expires_at=timestamp_from_proto(answer, "assurance_expires_at"),
        failures_left=max(0, answer.failures_left),
    )


class Alternative(BaseModel):
    kind: str = Field(description='"window_appointment": book `business` at an office window.')
    business: str = Field(description="The catalogue business to book, e.g. ID_CARD_RENEWAL.")
    city: str
    detail: str


class FaceDeclined(BaseModel):
    alternative: Alternative


@face.post(
    "/me/face-verification/decline",
    response_model=FaceDeclined,
    summary="Decline face recognition: the answer names the alternative (a window appointment)",
)
async def decline_face(me: SignedIn, services: Services) -> FaceDeclined:
    answer = await services.face_verification.DeclineFace(
        pb.DeclineFaceRequest(access_token=me.access_token, channel=CHANNEL_PROTO[me.channel]),
        **me.call.options,
    )
    return FaceDeclined(
        alternative=Alternative(
            kind=answer.alternative.kind,
            business=answer.alternative.business_code,
            city=answer.alternative.city_code,
            detail=answer.alternative.detail,
        )
    )
