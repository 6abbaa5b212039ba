"""The cards service's partners, chosen by settings: the card production centre and
the courier, each a SANDBOX (the default in dev; refused in production unless named
in MINTONG_ALLOW_SANDBOX, decision 43) or its HTTP adapter.

:class:`PartnerSettings` holds their MINTONG_* settings; the cards service's own
settings class derives from it. :func:`build_partners` is what the composition root
calls: the two ports, and the workers the host must start and stop (the sandbox
courier sends its callbacks as one; the HTTP clients are closed by another)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.cards.adapters.http_courier import HttpCourier
from services.cards.adapters.http_production import HttpProductionCentre
from services.cards.adapters.sandbox_courier import SandboxCourier
from services.cards.adapters.sandbox_production import SandboxProductionCentre
from services.cards.service_layer.ports import Courier, ProductionCentre
from services.runtime.clock import Clock, utc_now
from services.runtime.config import ServiceSettings
from services.runtime.dev_secrets import dev_secret
from services.runtime.host import Worker


class PartnerSettings(ServiceSettings):
    #: "sandbox" records batches and reports them produced after
    #: ``cards_sandbox_production_seconds``; "http" talks to the centre
    #: (docs/card-production.md) at ``cards_production_url``.
    cards_production_provider: Literal["sandbox", "http"] = "sandbox"
    cards_sandbox_production_seconds: float = Field(default=20.0, ge=0)
    cards_production_url: str | None = None
    cards_production_key_id: str | None = None
    cards_production_secret: SecretStr | None = None
    #: "sandbox" books nothing and posts signed callbacks to the gateway, picked up
    #: and delivered ``cards_sandbox_courier_seconds`` apart; "http" books with the
    #: courier (docs/courier.md) at ``cards_courier_url``.
    cards_courier_provider: Literal["sandbox", "http"] = "sandbox"
    cards_sandbox_courier_seconds: float = Field(default=15.0, ge=0)
    cards_courier_url: str | None = None
    cards_courier_key_id: str | None = None
    cards_courier_secret: SecretStr | None = None
    #: The HMAC key of courier status callbacks, shared with the courier and read by
    #: the gateway too (the same variable); in dev made up once under the data dir
    #: as ``courier-callback-secret``.
    courier_callback_secret: SecretStr | None = None
    #: Where the sandbox courier posts its callbacks; unset: this machine's gateway,
    #: ``http://127.0.0.1:{MINTONG_HTTP_PORT}/v1/callbacks/courier``.
    courier_callback_url: str | None = None
    #: The gateway's port (MINTONG_HTTP_PORT, as the gateway reads it).
    http_port: int = Field(default=8080, ge=0, le=65535)

    def sandboxes(self) -> frozenset[str]:
        chosen = {"card_production": self.cards_production_provider, "courier": self.cards_courier_provider}
        return super().sandboxes() | {name for name, provider in chosen.items() if provider == "sandbox"}

    @model_validator(mode="after")
    def _partners_configured(self) -> PartnerSettings:
        for partner in ("production", "courier"):
            if getattr(self, f"cards_{partner}_provider") == "http" and not all(
                getattr(self, f"cards_{partner}_{part}") for part in ("url", "key_id", "secret")
            ):
                name = f"MINTONG_CARDS_{partner.upper()}"
                raise ValueError(f"{name}_PROVIDER=http needs {name}_URL, _KEY_ID and _SECRET")
        secret = self.courier_callback_secret
        if self.env != "dev" and self.cards_courier_provider == "sandbox" and secret is None:
            raise ValueError("the sandbox courier outside dev needs MINTONG_COURIER_CALLBACK_SECRET")
        if secret is not None and len(secret.get_secret_value()) < 16:
            raise ValueError("MINTONG_COURIER_CALLBACK_SECRET must be at least 16 characters")
        return self

    def courier_callback_key(self) -> bytes:
        """The callback HMAC key; in dev, made up once under the data dir."""
        if self.courier_callback_secret is not None:
            return self.courier_callback_secret.get_secret_value().encode()
        return dev_secret(self.data_dir, "courier-callback-secret").encode()

    def courier_callback_target(self) -> str:
        return self.courier_callback_url or f"http://127.0.0.1:{self.http_port}/v1/callbacks/courier"


class _Closer:
    """A worker that closes the HTTP adapters' clients when the host stops."""

    def __init__(self, *adapters: HttpProductionCentre | HttpCourier) -> None:
        self.adapters = adapters

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for adapter in self.adapters:
            await adapter.aclose()


@dataclass
class Partners:
    production: ProductionCentre
    courier: Courier
    #: Append to the host's workers.
    workers: list[Worker] = field(default_factory=list)


def build_partners(settings: PartnerSettings, *, clock: Clock = utc_now) -> Partners:
    production: ProductionCentre
    courier: Courier
    workers: list[Worker] = []
    closing: list[HttpProductionCentre | HttpCourier] = []
    if settings.cards_production_provider == "http":
        assert settings.cards_production_url and settings.cards_production_key_id
        assert settings.cards_production_secret is not None
        production = http_production = HttpProductionCentre(
            url=settings.cards_production_url,
            key_id=settings.cards_production_key_id,
            secret=settings.cards_production_secret.get_secret_value().encode(),
        )
        closing.append(http_production)
    else:
        production = SandboxProductionCentre(
            delay=dt.timedelta(seconds=settings.cards_sandbox_production_seconds),
            data_dir=settings.data_dir,
            clock=clock,
        )
    if settings.cards_courier_provider == "http":
        assert settings.cards_courier_url and settings.cards_courier_key_id
        assert settings.cards_courier_secret is not None
        courier = http_courier = HttpCourier(
            url=settings.cards_courier_url,
            key_id=settings.cards_courier_key_id,
            secret=settings.cards_courier_secret.get_secret_value().encode(),
        )
        closing.append(http_courier)
    else:
        courier = sandbox_courier = SandboxCourier(
            callback_url=settings.courier_callback_target(),
            secret=settings.courier_callback_key(),
            step=dt.timedelta(seconds=settings.cards_sandbox_courier_seconds),
            data_dir=settings.data_dir,
            clock=clock,
        )
        workers.append(sandbox_courier)
    if closing:
        workers.append(_Closer(*closing))
    return Partners(production, courier, workers)
