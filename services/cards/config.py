"""Cards service settings (MINTONG_* environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from services.cards.adapters.partners import PartnerSettings
from services.runtime.config import REPO_ROOT
from services.runtime.pii import PiiSettings


class CardsSettings(PiiSettings, PartnerSettings):
    """The partners' settings (providers, URLs, keys, the courier callback secret)
    are :class:`PartnerSettings`'; its validator refuses an http partner without
    its URL and keys, and a sandbox courier outside dev without a callback secret."""

    #: Each city's kinds of application (eligibility parameters, fees, delivery).
    cards_kinds_file: Path = REPO_ROOT / "services" / "cards" / "kinds.yaml"
    #: The courier's name citizens are told when their card is shipped (zh-CN, en).
    cards_courier_name: str = "中国邮政EMS"
    cards_courier_name_en: str = "China Post EMS"
    #: Seconds between passes of the journey worker (batches, shipments, pickups).
    cards_journey_seconds: float = Field(default=2.0, gt=0)
    #: Applications per production batch at most.
    cards_batch_size: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _callback_secret_outside_dev(self) -> CardsSettings:
        # Cards verifies every courier callback the gateway passes on, whichever
        # courier sends them: a made-up dev key would refuse the real courier's.
        if self.env != "dev" and self.courier_callback_secret is None:
            raise ValueError("MINTONG_COURIER_CALLBACK_SECRET must be set when MINTONG_ENV is not dev")
        return self
