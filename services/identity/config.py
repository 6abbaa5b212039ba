"""Identity settings (MINTONG_* environment variables)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.runtime.pii import PiiSettings


class IdentitySettings(PiiSettings):
    """Identity's settings; MINTONG_PII_KEYS and MINTONG_PII_LOOKUP_KEY, the keys sealing
    personal data (rotation: put a new key first, run ``python -m services.identity
    reseal``, then drop the old key), come with :class:`PiiSettings`."""

    #: Ed25519 private keys (PKCS#8 PEM) access tokens are signed with, newest first,
    #: comma-separated, each a PEM value or a PEM file's path. The first signs; the
    #: others stay published (and accepted) for the tokens they signed: rotate by
    #: putting a new key first, and drop the old one after the longest token
    #: lifetime. Dev mode: one made in <data dir>/token-signing-key.pem.
    token_signing_keys: SecretStr | None = None
    access_token_minutes: int = Field(default=10, ge=1, le=60)
    otp_per_number_per_hour: int = Field(default=5, ge=1)
    otp_per_address_per_hour: int = Field(default=20, ge=1)
    otp_resend_seconds: int = Field(default=60, ge=1)
    #: Seconds between two prunings of spent rate events, challenges and sessions.
    identity_prune_interval: float = Field(default=3600.0, gt=0)
    #: Staff tokens have no refresh: a staff member signs in again after this.
    staff_token_minutes: int = Field(default=30, ge=1, le=720)
    #: Failed staff sign-ins of one username from one client address within the
    #: window that cost nothing; after them each try waits twice as long as the one
    #: before (1 s, 2 s, 4 s, … at most the window). Never a lock of the username.
    staff_signin_max_failures: int = Field(default=5, ge=1)
    #: The same for failures from one client address whatever the username.
    staff_signin_max_failures_per_address: int = Field(default=20, ge=1)
    #: At most an hour: pruning keeps rate events for an hour (housekeeping.RATE_WINDOW).
    staff_signin_window_minutes: int = Field(default=15, ge=1, le=60)
    #: The first administrator, made at start when no staff member has this
    #: username. There is no default password: both or neither are set.
    bootstrap_admin_user: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    #: "sandbox" makes up openids (``sandbox-…``) for development; "http" asks WeChat.
    wechat_oauth: Literal["sandbox", "http"] = "sandbox"
    #: For "http": each city's official account, JSON
    #: ``{"haikou": {"appid": "wx…", "secret": "…"}}``.
    wechat_apps: SecretStr | None = None
    #: Only the sandbox so far (it matches any liveness token): the real provider's
    #: adapter follows its contract. "off" answers every face verification with
    #: ``face_verification_off`` (production's choice, docs/decisions.md).
    face_provider: Literal["sandbox", "off"] = "sandbox"
    #: How long a face match holds a session at assurance level "face".
    face_assurance_minutes: int = Field(default=15, ge=1, le=120)
    #: Failed face comparisons per citizen per 24 hours before face verification is refused.
    face_failures_per_day: int = Field(default=3, ge=1)
    device_challenge_seconds: int = Field(default=60, ge=10, le=600)
    #: Processes that check and seal register rows during an import (0: a thread of
    #: the service itself). Sealing is what limits an import's rate: one per core.
    import_workers: int = Field(default=2, ge=0, le=64)
    #: Rows per committed batch of a register import.
    import_batch: int = Field(default=2000, ge=1, le=50_000)
    #: Seconds between looks for import jobs whose process stopped mid-job.
    import_poll_interval: float = Field(default=10.0, gt=0)
    #: Days a finished import (done or failed) stays readable, with its rejected
    #: lines; the prune worker then deletes it.
    import_retention_days: int = Field(default=30, ge=1, le=3650)

    @property
    def longest_token_lifetime(self) -> dt.timedelta:
        """How long a revoked session's tokens may still be presented: the
        revocation bucket keeps its entries this long (and a minute for clocks)."""
        return dt.timedelta(minutes=max(self.access_token_minutes, self.staff_token_minutes) + 1)

    def sandboxes(self) -> frozenset[str]:
        chosen = {"face": self.face_provider, "wechat_oauth": self.wechat_oauth}
        return frozenset(name for name, provider in chosen.items() if provider == "sandbox")

    @model_validator(mode="after")
    def _wechat_configured(self) -> IdentitySettings:
        if self.wechat_oauth == "http" and self.wechat_apps is None:
            raise ValueError("MINTONG_WECHAT_OAUTH=http needs MINTONG_WECHAT_APPS")
        return self

    @model_validator(mode="after")
    def _keys_outside_dev(self) -> IdentitySettings:
        if self.env != "dev":
            for name in ("token_signing_keys", "pii_keys", "pii_lookup_key"):
                if getattr(self, name) is None:
                    raise ValueError(f"MINTONG_{name.upper()} must be set when MINTONG_ENV is not dev")
        if (self.bootstrap_admin_user is None) != (self.bootstrap_admin_password is None):
            raise ValueError(
                "set both MINTONG_BOOTSTRAP_ADMIN_USER and MINTONG_BOOTSTRAP_ADMIN_PASSWORD, or neither"
            )
        return self
