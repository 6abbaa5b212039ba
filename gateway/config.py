"""Gateway settings (MINTONG_* environment variables)."""

from __future__ import annotations

import logging
import os
import secrets

from pydantic import Field, SecretStr, model_validator

from services.runtime.config import ServiceSettings

log = logging.getLogger(__name__)


class GatewaySettings(ServiceSettings):
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    #: Bearer token of the administrator routes until staff sign-in exists. No
    #: built-in default: outside dev mode it must be set; in dev mode a random one
    #: is made at start and written to <data dir>/admin-token.
    admin_token: SecretStr | None = None
    #: Seconds the gateway waits for a service before answering 504.
    grpc_timeout: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _admin_token_outside_dev(self) -> GatewaySettings:
        if self.env != "dev" and not self.admin_token:
            raise ValueError("MINTONG_ADMIN_TOKEN must be set when MINTONG_ENV is not dev")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 16:
            raise ValueError("MINTONG_ADMIN_TOKEN must be at least 16 characters")
        return self

    def ensure_admin_token(self) -> str:
        """The configured token, or in dev mode a fresh random one shared with the
        person running the platform through a file only they can read."""
        if self.admin_token is not None:
            return self.admin_token.get_secret_value()
        token = secrets.token_urlsafe(24)
        path = self.data_dir / "admin-token"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when an older file had a wider mode
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        self.admin_token = SecretStr(token)
        log.warning("dev mode: no MINTONG_ADMIN_TOKEN set; a random one is in %s", path)
        return token
