"""Identity's gRPC servicers: proto ↔ domain at the edge, and who may ask what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mintong.identity.v1 import identity_pb2 as pb
from mintong.identity.v1 import identity_pb2_grpc as pb_grpc
from services.identity.domain.channels import Assurance
from services.identity.domain.id_number import parse
from services.identity.domain.model import mask_phone
from services.identity.service_layer.auth import Auth
from services.identity.service_layer.ports import Claims, UnitOfWork
from services.runtime import context as calls
from services.runtime.access_tokens import ALGORITHM
from services.runtime.clock import Clock
from services.runtime.errors import NotFound
from services.runtime.proto_values import channel_name as channel_of
from services.runtime.proto_values import date_to_proto


def _tokens(result: tuple[Claims, str, int, str]) -> pb.Tokens:
    claims, access, lifetime, refresh = result
    return pb.Tokens(
        access_token=access, expires_in_seconds=lifetime, refresh_token=refresh, citizen_id=claims.citizen_id
    )


#: A session's assurance level and when it lapses (service_layer/face.py).
AssuranceOf = Callable[[str], Awaitable[tuple[Assurance, dt.datetime | None]]]


async def _otp_only(session_id: str) -> tuple[Assurance, dt.datetime | None]:
    return Assurance.OTP, None


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(
        self,
        auth: Auth,
        uow: UnitOfWork,
        clock: Clock,
        *,
        assurance: AssuranceOf = _otp_only,
        signing_keys: Mapping[str, Ed25519PublicKey] | None = None,
    ) -> None:
        self.auth = auth
        self.uow = uow
        self.clock = clock
        self.assurance = assurance
        self.signing_keys = pb.GetSigningKeysResponse(
            keys=[
                pb.SigningKey(
                    key_id=kid,
                    algorithm=ALGORITHM,
                    public_key=key.public_bytes(Encoding.Raw, PublicFormat.Raw),
                )
                for kid, key in (signing_keys or {}).items()
            ]
        )

    async def RequestCode(self, request, context):
        wait = await self.auth.request_code(
            request.id_number, request.name, channel_of(request.channel), request.client_ip or "unknown"
        )
        return pb.RequestCodeResponse(resend_after_seconds=wait)

    async def SignIn(self, request, context):
        result = await self.auth.sign_in(
            request.id_number, request.name, request.code, channel_of(request.channel)
        )
        return pb.SignInResponse(tokens=_tokens(result))

    async def Refresh(self, request, context):
        result = await self.auth.refresh(request.refresh_token, channel_of(request.channel))
        return pb.RefreshResponse(tokens=_tokens(result))

    async def SignOut(self, request, context):
        await self.auth.sign_out(request.access_token, channel_of(request.channel))
        return pb.SignOutResponse()

    async def Authenticate(self, request, context):
        claims = await self.auth.authenticate(request.access_token, channel_of(request.channel))
        level, until = await self.assurance(claims.session_id)
        answer = pb.AuthenticateResponse(
            citizen_id=claims.citizen_id, session_id=claims.session_id, assurance_level=level.value
        )
        if until is not None:
            answer.assurance_expires_at.FromDatetime(until)
        return answer

    async def GetSigningKeys(self, request, context):
        # Public keys: anyone may ask (the gateway does, at start and on a key id it
        # does not know).
        return self.signing_keys

    async def GetMe(self, request, context):
        # A citizen sees only themselves, whatever id they ask for.
        me = calls.caller.get()
        subject = me.subject
        if me.kind is not calls.CallerKind.CITIZEN or subject != request.citizen_id:
            raise NotFound("citizen", request.citizen_id or "?", field="citizen_id")
        async with self.uow.read() as store:
            resident = await store.resident(subject)
        if resident is None:
            raise NotFound("citizen", subject, field="citizen_id")
        number = parse(resident.id_number, today=self.clock().date())
        return pb.GetMeResponse(
            citizen_id=resident.citizen_id,
            masked_id_number=number.masked,
            name=resident.name,
            masked_phone=mask_phone(resident.phone),
            city_code=resident.city_code,
            gender=resident.gender,
            birth_date=date_to_proto(resident.birth_date),
            card_status=resident.card_status.value,
            card_expires_on=date_to_proto(resident.card_expires_on),
        )
