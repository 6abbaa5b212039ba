"""Cards service settings (MINTONG_* environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from services.runtime.config import REPO_ROOT
from services.runtime.pii import PiiSettings


class CardsSettings(PiiSettings):
    #: Each city's kinds of application (eligibility parameters, fees, delivery).
    cards_kinds_file: Path = REPO_ROOT / "services" / "cards" / "kinds.yaml"
    #: The card production centre: "sandbox" (makes cards on a schedule, on this
    #: machine) or "http" (the real centre, docs/card-production.md).
    cards_production: Literal["sandbox", "http"] = "sandbox"
    #: The courier: "sandbox" or "http" (docs/courier.md).
    cards_courier: Literal["sandbox", "http"] = "sandbox"
    #: The courier's name citizens are told when their card is shipped (zh-CN, en).
    cards_courier_name: str = "中国邮政EMS"
    cards_courier_name_en: str = "China Post EMS"
    #: Key of the HMAC on courier callbacks, shared with the courier; a dev file in dev.
    courier_secret: SecretStr | None = None
    #: Seconds between passes of the journey worker (batches, shipments, pickups).
    cards_journey_seconds: float = Field(default=2.0, gt=0)
    #: Applications per production batch at most.
    cards_batch_size: int = Field(default=100, ge=1, le=1000)
    #: The sandbox centre reports a batch's cards made this many seconds after it.
    cards_sandbox_production_seconds: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> CardsSettings:
        if self.env != "dev" and self.courier_secret is None:
            raise ValueError("MINTONG_COURIER_SECRET must be set when MINTONG_ENV is not dev")
        return self

    def sandboxes(self) -> frozenset[str]:
        chosen = set()
        if self.cards_production == "sandbox":
            chosen.add("card_production")
        if self.cards_courier == "sandbox":
            chosen.add("courier")
        return frozenset(chosen)
