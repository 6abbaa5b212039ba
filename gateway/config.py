"""Gateway settings (MINTONG_* environment variables)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from services.runtime.config import ServiceSettings
from services.runtime.dev_secrets import dev_secret


class GatewaySettings(ServiceSettings):
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    #: HMAC key of the delivery receipts providers post to
    #: /v1/providers/{provider}/receipts (scheme: docs/sms-provider.md).
    receipt_secret: SecretStr | None = None
    #: Connections the kernel queues for the gateway before it accepts them (the
    #: listen backlog; Linux caps it at net.core.somaxconn). A crowd arriving at once
    #: past it has connections dropped rather than answered (issue 12).
    http_backlog: int = Field(default=4096, ge=1)
    #: Seconds an idle keep-alive connection stays open. Short, a crowd's clients
    #: coming back after a Retry-After send on a connection the gateway is closing
    #: that moment and get no answer; nginx's default is 75.
    http_keep_alive: int = Field(default=75, ge=1)
    #: Seconds the gateway waits for a service before answering 504.
    grpc_timeout: float = Field(default=5.0, gt=0)
    #: Seconds an administrator's register file may take to upload (streamed to
    #: identity; the import then runs as a job nobody waits on).
    import_upload_timeout: float = Field(default=600.0, gt=0)
    #: API requests one gateway process serves at once; more wait for a turn as many
    #: as get one within ``admission_wait`` seconds, the others get 503 at once with
    #: a Retry-After whose second has room (decisions 117, 121). Half a second: a request
    #: waited for and then served is answered within a second.
    max_in_flight: int = Field(default=64, ge=1)
    admission_wait: float = Field(default=0.5, ge=0)
    #: Seconds between two readings of identity's token keys (a retired key stops
    #: being accepted by then at the latest) ...
    token_keys_refresh_interval: float = Field(default=300.0, gt=0)
    #: ... and the least between two readings asked for by tokens naming a key id
    #: not known yet (made-up key ids cost identity one call per interval).
    token_keys_min_interval: float = Field(default=5.0, ge=0)
    #: Vacancy at the edge (decision 65): slot lists answered with the vacancy the
    #: booking service's bucket tells every gateway process, and bookings of a slot
    #: known full refused without asking booking. Off: every request asks booking.
    edge_vacancy: bool = True
    #: Seconds a slot list's slots (not their vacancy, which comes from the bucket)
    #: are kept before booking is asked again: how late a newly published slot, a
    #: suspension or a slot that started shows in the list.
    slot_list_ttl: float = Field(default=2.0, ge=0)
    #: Largest request body, in bytes, taken on any route without a limit of its
    #: own (the catalogue file and the resident import have theirs): larger ones
    #: get 413 before they are read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    #: Largest pre-application document (the booking service reads the same
    #: variable and refuses larger ones too).
    attachment_max_bytes: int = Field(default=3_145_728, ge=1)
    #: Reverse proxies in front of the gateway: addresses or CIDRs, comma-separated.
    #: Only a request whose direct peer is one of them has its client address taken
    #: from X-Forwarded-For (the per-address one-time-code limit counts it). None by
    #: default: the socket's peer, since anyone can send the header.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for network in value if isinstance(value, list) else []:
            try:  # no "*": trusting every peer would let anyone pick their address
                ipaddress.ip_network(str(network), strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP address or CIDR") from None
        return value

    # Secrets have no built-in default: outside dev mode they must be set; in dev
    # mode a random one is made at start and written to a file under the data dir
    # that only its owner can read (receipt-secret). Staff sign in (identity).
    @model_validator(mode="after")
    def _secrets_outside_dev(self) -> GatewaySettings:
        for name in ("receipt_secret",):
            value: SecretStr | None = getattr(self, name)
            if self.env != "dev" and value is None:
                raise ValueError(f"MINTONG_{name.upper()} must be set when MINTONG_ENV is not dev")
            if value is not None and len(value.get_secret_value()) < 16:
                raise ValueError(f"MINTONG_{name.upper()} must be at least 16 characters")
        return self

    def ensure_secrets(self) -> str:
        """The receipt secret, made up in dev mode when unset."""
        return self._secret("receipt_secret")

    def _secret(self, name: str) -> str:
        value: SecretStr | None = getattr(self, name)
        if value is None:
            value = SecretStr(dev_secret(self.data_dir, name.replace("_", "-")))
            setattr(self, name, value)
        return value.get_secret_value()
