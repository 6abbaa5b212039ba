"""The identity service's composition root: everything is built here, from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc

from mintong.identity.v1 import identity_pb2, identity_pb2_grpc
from services.identity.adapters.notify_client import NotifyCodeSender
from services.identity.adapters.pii import PiiCipher
from services.identity.adapters.store import SqlStore
from services.identity.adapters.tokens import JwtTokens
from services.identity.config import IdentitySettings
from services.identity.domain.model import OtpPolicy
from services.identity.entrypoints.grpc_servicer import IdentityAdminServicer, IdentityServicer
from services.identity.service_layer.auth import Auth, Clock
from services.runtime import migrations
from services.runtime.db import Database, TransactionFactory
from services.runtime.dev_secrets import dev_secret
from services.runtime.host import ServiceHost

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

    def migrate(self) -> None:
        migrations.upgrade(self.db, MIGRATIONS)


def build(settings: IdentitySettings, *, clock: Clock = utc_now) -> Identity:
    db = Database(settings.database_url_for(NAME), schema=settings.database_schema_for(NAME))
    if settings.pii_keys and settings.pii_lookup_key:
        keys = [k.strip() for k in settings.pii_keys.get_secret_value().split(",") if k.strip()]
        cipher = PiiCipher(keys, settings.pii_lookup_key.get_secret_value())
    else:  # dev mode only: the settings refuse missing keys elsewhere
        cipher = PiiCipher.for_dev(settings.data_dir)
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

    def register(server: grpc.aio.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(auth, uow, clock), server)
        identity_pb2_grpc.add_IdentityAdminServiceServicer_to_server(
            IdentityAdminServicer(uow, cipher, clock), server
        )

    host = ServiceHost(
        NAME,
        settings,
        register=register,
        service_names=[s.full_name for s in identity_pb2.DESCRIPTOR.services_by_name.values()],
        db=db,
    )
    return Identity(settings, db, cipher, uow, auth, host)
