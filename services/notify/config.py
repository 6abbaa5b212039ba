"""Notify settings (MINTONG_* environment variables)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.runtime.pii import PiiSettings

HERE = Path(__file__).parent


class NotifySettings(PiiSettings):
    """Notify's own settings; the MINTONG_PII_* keys sealing citizens' addresses
    come with :class:`PiiSettings` (identity reads the same names from its own
    environment: one key set per deployment, or one per service)."""

    notify_templates_file: Path = HERE / "templates.yaml"
    notify_subscriptions_file: Path = HERE / "subscriptions.yaml"
    #: Time zone of quiet hours and reminder times.
    notify_time_zone: str = "Asia/Shanghai"
    #: Non-urgent messages wait from quiet_start to quiet_end (city time); equal: no quiet hours.
    notify_quiet_start: dt.time = dt.time(22, 0)
    notify_quiet_end: dt.time = dt.time(8, 0)
    notify_max_attempts: int = Field(default=6, ge=1)
    notify_retry_first_delay: float = Field(default=2.0, gt=0)
    notify_retry_max_delay: float = Field(default=300.0, gt=0)
    #: "sandbox" records what it would send; "http" posts to an SMS gateway.
    notify_sms_provider: Literal["sandbox", "http"] = "sandbox"
    notify_sms_url: str | None = None
    notify_sms_key_id: str | None = None
    notify_sms_secret: SecretStr | None = None
    #: WeChat template messages and APP push have no real adapter yet: "sandbox"
    #: records what it would send; "off" leaves the channel out of every route
    #: (citizens get SMS and the inbox instead).
    notify_wechat_provider: Literal["sandbox", "off"] = "sandbox"
    notify_app_push_provider: Literal["sandbox", "off"] = "sandbox"

    def sandboxes(self) -> frozenset[str]:
        chosen = {
            "sms": self.notify_sms_provider,
            "wechat": self.notify_wechat_provider,
            "app_push": self.notify_app_push_provider,
        }
        return frozenset(name for name, provider in chosen.items() if provider == "sandbox")

    @model_validator(mode="after")
    def _http_sms_is_configured(self) -> NotifySettings:
        if self.notify_sms_provider == "http" and not (
            self.notify_sms_url and self.notify_sms_key_id and self.notify_sms_secret
        ):
            raise ValueError(
                "MINTONG_NOTIFY_SMS_PROVIDER=http needs MINTONG_NOTIFY_SMS_URL, _KEY_ID and _SECRET"
            )
        return self
