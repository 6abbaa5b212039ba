"""The identity service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.identity.v1 import (
    cardholders_pb2,
    cardholders_pb2_grpc,
    channels_pb2,
    channels_pb2_grpc,
    citizens_pb2,
    citizens_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    staff_pb2,
    staff_pb2_grpc,
)
from services.identity.adapters import orm
from services.identity.adapters.booking_client import GrpcOfficeDirectory
from services.identity.adapters.channel_store import SqlChannelStore
from services.identity.adapters.device_keys import Ed25519Keys
from services.identity.adapters.face import FaceVerificationOff, SandboxFaceVerifier
from services.identity.adapters.import_store import SqlImportStore
from services.identity.adapters.notify_client import NotifyCodeSender
from services.identity.adapters.passwords import Argon2Passwords
from services.identity.adapters.pii import PiiCipher
from services.identity.adapters.preparer import PoolPreparer, ThreadPreparer
from services.identity.adapters.staff_store import SqlStaffStore
from services.identity.adapters.staff_tokens import JwtStaffTokens
from services.identity.adapters.store import SqlStore
from services.identity.adapters.tokens import JwtTokens, SigningKeys
from services.identity.adapters.wechat import HttpWeChatOAuth, SandboxWeChatOAuth, parse_apps
from services.identity.config import IdentitySettings
from services.identity.domain.channels import FacePolicy
from services.identity.domain.model import OtpPolicy
from services.identity.domain.staff import SignInThrottle
from services.identity.entrypoints.cardholders_servicer import CardHolderServicer
from services.identity.entrypoints.channels_servicer import ChannelBindingServicer, FaceVerificationServicer
from services.identity.entrypoints.citizens_servicer import CitizenDirectoryServicer
from services.identity.entrypoints.grpc_servicer import IdentityServicer
from services.identity.entrypoints.import_servicer import IdentityAdminServicer
from services.identity.entrypoints.staff_servicer import StaffAdminServicer, StaffServicer
from services.identity.service_layer.auth import Auth
from services.identity.service_layer.cardholders import CardHolders
from services.identity.service_layer.channel_ports import FaceVerifier, WeChatOAuth
from services.identity.service_layer.channels import Channels
from services.identity.service_layer.contacts import ContactsBackfill
from services.identity.service_layer.face import FaceVerification
from services.identity.service_layer.housekeeping import PruneWorker
from services.identity.service_layer.imports import ImportPolicy, ImportRunner, ResidentImports
from services.identity.service_layer.ports import Preparer
from services.identity.service_layer.staff import OfficeDirectory, Passwords, StaffAuth
from services.runtime import migrations
from services.runtime.clock import Clock, utc_now
from services.runtime.db import Database, TransactionFactory
from services.runtime.host import ServiceHost
from services.runtime.pii import ResealReport, reseal
from services.runtime.revocations import ensure_bucket

log = logging.getLogger(__name__)
NAME = "identity"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass
class Identity:
    settings: IdentitySettings
    db: Database
    cipher: PiiCipher
    uow: TransactionFactory[SqlStore]
    auth: Auth
    staff: StaffAuth
    host: ServiceHost
    channels: Channels
    face: FaceVerification
    imports: ResidentImports
    #: The providers, so tests (and a developer) can reach the sandboxes.
    wechat: WeChatOAuth
    face_verifier: FaceVerifier

    def migrate(self) -> None:
        migrations.upgrade(self.db, MIGRATIONS)

    async def reseal(self, batch: int = 500) -> list[ResealReport]:
        """Every sealed value re-sealed under the newest key (key rotation)."""
        return await reseal(self.db, self.cipher, orm.SEALED, batch=batch)


class BootstrapAdministrator:
    """At start: the administrator named by MINTONG_BOOTSTRAP_ADMIN_USER/_PASSWORD,
    made if missing; and the dummy password hash warmed up."""

    def __init__(self, staff: StaffAuth, settings: IdentitySettings) -> None:
        self.staff = staff
        self.settings = settings

    async def start(self) -> None:
        await self.staff.prepare()
        user, password = self.settings.bootstrap_admin_user, self.settings.bootstrap_admin_password
        if (
            user
            and password
            and await self.staff.ensure_administrator(username=user, password=password.get_secret_value())
        ):
            log.warning("made the bootstrap administrator %r", user)

    async def stop(self) -> None:
        pass


def build(
    settings: IdentitySettings,
    *,
    clock: Clock = utc_now,
    passwords: Passwords | None = None,
    offices: OfficeDirectory | None = None,
) -> Identity:
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    cipher = settings.pii_cipher()
    token_keys = (
        SigningKeys.parse(settings.token_signing_keys.get_secret_value())
        if settings.token_signing_keys
        else SigningKeys.dev(settings.data_dir)
    )
    uow = TransactionFactory(db, lambda conn: SqlStore(conn, cipher, clock))
    auth = Auth(
        uow,
        cipher,
        NotifyCodeSender(settings.grpc_target("notify")),
        JwtTokens(token_keys, dt.timedelta(minutes=settings.access_token_minutes)),
        clock=clock,
        policy=OtpPolicy(
            resend_after=dt.timedelta(seconds=settings.otp_resend_seconds),
            per_number_per_hour=settings.otp_per_number_per_hour,
            per_address_per_hour=settings.otp_per_address_per_hour,
        ),
    )

    staff_uow = TransactionFactory(db, lambda conn: SqlStaffStore(conn, clock))
    staff = StaffAuth(
        staff_uow,
        cipher,
        passwords or Argon2Passwords(),
        JwtStaffTokens(token_keys, dt.timedelta(minutes=settings.staff_token_minutes)),
        offices or GrpcOfficeDirectory(settings.grpc_target("booking")),
        clock=clock,
        throttle=SignInThrottle(
            free_failures=settings.staff_signin_max_failures,
            free_failures_per_address=settings.staff_signin_max_failures_per_address,
            window=dt.timedelta(minutes=settings.staff_signin_window_minutes),
        ),
    )

    channel_uow = TransactionFactory(db, lambda conn: SqlChannelStore(conn, cipher, clock))
    wechat: WeChatOAuth = (
        HttpWeChatOAuth(parse_apps(settings.wechat_apps.get_secret_value()))
        if settings.wechat_oauth == "http" and settings.wechat_apps
        else SandboxWeChatOAuth()
    )
    face_verifier: FaceVerifier = (
        SandboxFaceVerifier() if settings.face_provider == "sandbox" else FaceVerificationOff()
    )
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

    preparer: Preparer = (
        PoolPreparer(cipher, settings.import_workers) if settings.import_workers else ThreadPreparer(cipher)
    )
    imports = ResidentImports(
        TransactionFactory(db, lambda conn: SqlImportStore(conn, cipher, clock)),
        preparer,
        clock=clock,
        policy=ImportPolicy(batch=settings.import_batch),
    )

    def register(server: grpc.aio.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(auth, uow, clock, assurance=face.assurance, signing_keys=token_keys.public),
            server,
        )
        bindings, faces = ChannelBindingServicer(channels), FaceVerificationServicer(face)
        channels_pb2_grpc.add_ChannelBindingServiceServicer_to_server(bindings, server)
        channels_pb2_grpc.add_FaceVerificationServiceServicer_to_server(faces, server)
        identity_pb2_grpc.add_IdentityAdminServiceServicer_to_server(
            IdentityAdminServicer(imports, clock), server
        )
        staff_pb2_grpc.add_StaffServiceServicer_to_server(StaffServicer(staff), server)
        staff_pb2_grpc.add_StaffAdminServiceServicer_to_server(StaffAdminServicer(staff), server)
        citizens_pb2_grpc.add_CitizenDirectoryServiceServicer_to_server(
            CitizenDirectoryServicer(uow, cipher, clock), server
        )
        cardholders_pb2_grpc.add_CardHolderServiceServicer_to_server(
            CardHolderServicer(CardHolders(uow, cipher, face.level)), server
        )

    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[
            s.full_name
            for file in (identity_pb2, staff_pb2, channels_pb2, citizens_pb2, cardholders_pb2)
            for s in file.DESCRIPTOR.services_by_name.values()
        ],
        db=db,
        outbox=orm.outbox,
    )
    # Revocations leave at the commit (the relay woken), not at its next poll.
    for factory in (uow, staff_uow, channel_uow):
        factory.on_commit = host.wake_relay
    lifetime = settings.longest_token_lifetime
    host.bus.setup.append(lambda js: ensure_bucket(js, lifetime))
    host.workers.append(BootstrapAdministrator(staff, settings))
    host.workers.append(ContactsBackfill(uow))
    host.workers.append(
        PruneWorker(
            uow,
            clock,
            settings.identity_prune_interval,
            import_retention=dt.timedelta(days=settings.import_retention_days),
        )
    )
    host.workers.append(ImportRunner(imports, settings.import_poll_interval))
    return Identity(
        settings,
        db,
        cipher,
        uow,
        auth,
        staff,
        host,
        channels=channels,
        face=face,
        imports=imports,
        wechat=wechat,
        face_verifier=face_verifier,
    )
