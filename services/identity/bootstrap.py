"""The identity service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.identity.v1 import channels_pb2, channels_pb2_grpc, identity_pb2, identity_pb2_grpc
from services.identity.adapters import orm
from services.identity.adapters.channel_store import SqlChannelStore
from services.identity.adapters.device_keys import Ed25519Keys
from services.identity.adapters.face import SandboxFaceVerifier
from services.identity.adapters.notify_client import NotifyCodeSender
from services.identity.adapters.pii import PiiCipher
from services.identity.adapters.store import SqlStore
from services.identity.adapters.tokens import JwtTokens
from services.identity.adapters.wechat import HttpWeChatOAuth, SandboxWeChatOAuth, parse_apps
from services.identity.config import IdentitySettings
from services.identity.domain.channels import FacePolicy
from services.identity.domain.model import OtpPolicy
from services.identity.entrypoints.channels_servicer import ChannelBindingServicer, FaceVerificationServicer
from services.identity.entrypoints.grpc_servicer import IdentityAdminServicer, IdentityServicer
from services.identity.service_layer.auth import Auth, Clock
from services.identity.service_layer.channel_ports import FaceVerifier, WeChatOAuth
from services.identity.service_layer.channels import Channels
from services.identity.service_layer.face import FaceVerification
from services.identity.service_layer.housekeeping import PruneWorker
from services.runtime import migrations
from services.runtime.db import Database, TransactionFactory
from services.runtime.dev_secrets import dev_secret
from services.runtime.host import ServiceHost
from services.runtime.pii import ResealReport, reseal

NAME = "identity"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Identity:
    settings: IdentitySettings
    db: Database
    cipher: PiiCipher
    uow: TransactionFactory[SqlStore]
    auth: Auth
    host: ServiceHost
    channels: Channels
    face: FaceVerification
    #: The providers, so tests (and a developer) can reach the sandboxes.
    wechat: WeChatOAuth
    face_verifier: FaceVerifier

    def migrate(self) -> None:
        migrations.upgrade(self.db, MIGRATIONS)

    async def reseal(self, batch: int = 500) -> list[ResealReport]:
        """Every sealed value re-sealed under the newest key (key rotation)."""
        return await reseal(self.db, self.cipher, orm.SEALED, batch=batch)


def build(settings: IdentitySettings, *, clock: Clock = utc_now) -> Identity:
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    cipher = settings.pii_cipher()
    token_key = (
        settings.token_secret.get_secret_value()
        if settings.token_secret
        else dev_secret(settings.data_dir, "token-secret")
    )
    uow = TransactionFactory(db, lambda conn: SqlStore(conn, cipher, clock))
    auth = Auth(
        uow,
        cipher,
        NotifyCodeSender(settings.grpc_target("notify")),
        JwtTokens(token_key, dt.timedelta(minutes=settings.access_token_minutes)),
        clock=clock,
        policy=OtpPolicy(
            resend_after=dt.timedelta(seconds=settings.otp_resend_seconds),
            per_number_per_hour=settings.otp_per_number_per_hour,
            per_address_per_hour=settings.otp_per_address_per_hour,
        ),
    )

    channel_uow = TransactionFactory(db, lambda conn: SqlChannelStore(conn, cipher, clock))
    wechat: WeChatOAuth = (
        HttpWeChatOAuth(parse_apps(settings.wechat_apps.get_secret_value()))
        if settings.wechat_oauth == "http" and settings.wechat_apps
        else SandboxWeChatOAuth()
    )
    face_verifier: FaceVerifier = SandboxFaceVerifier()
    channels = Channels(
        channel_uow,
        auth,
        cipher,
        wechat,
        Ed25519Keys(),
        clock=clock,
        challenge_lifetime=dt.timedelta(seconds=settings.device_challenge_seconds),
    )
    face = FaceVerification(
        channel_uow,
        auth,
        face_verifier,
        clock=clock,
        policy=FacePolicy(
            lasts=dt.timedelta(minutes=settings.face_assurance_minutes),
            failures_per_day=settings.face_failures_per_day,
        ),
    )

    def register(server: grpc.aio.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(auth, uow, clock, assurance=face.assurance), server
        )
        bindings, faces = ChannelBindingServicer(channels), FaceVerificationServicer(face)
        channels_pb2_grpc.add_ChannelBindingServiceServicer_to_server(bindings, server)
        channels_pb2_grpc.add_FaceVerificationServiceServicer_to_server(faces, server)
        identity_pb2_grpc.add_IdentityAdminServiceServicer_to_server(
            IdentityAdminServicer(uow, cipher, clock), server
        )

    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[
            s.full_name
            for file in (identity_pb2, channels_pb2)
            for s in file.DESCRIPTOR.services_by_name.values()
        ],
        db=db,
    )
    host.workers.append(PruneWorker(uow, clock, settings.identity_prune_interval))
    return Identity(
        settings,
        db,
        cipher,
        uow,
        auth,
        host,
        channels=channels,
        face=face,
        wechat=wechat,
        face_verifier=face_verifier,
    )
