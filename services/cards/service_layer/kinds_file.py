"""The kinds file (services/cards/kinds.yaml, or MINTONG_CARDS_KINDS_FILE): each
city's kinds of application as data, validated here so that a wrong file stops the
service at start with the field named, never a citizen's request later."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.cards.domain.kinds import CityKinds, Delivery, KindDefinition, Rule

_CODE = r"^[a-z][a-z0-9_]{0,63}$"


class _Kind(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    rule: Rule
    required_assurance: Literal["otp", "face"]
    fee_cents: int = Field(ge=0)
    materials: list[str] = []
    delivery_options: list[Delivery] = Field(min_length=1)
    allowed_card_statuses: list[Literal["valid", "reported_lost", "damaged", "expired", "invalidated"]] = []
    needs_review: bool = False
    reports_card_lost: bool = False
    renewal: bool | None = None


class _City(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city_code: str = Field(min_length=1, max_length=64)
    capture_max_years: int = Field(default=5, ge=1, le=20)
    renewal_window_days: int = Field(default=90, ge=0, le=366)
    residence_min_months: int = Field(default=6, ge=0, le=60)
    window_business_code: str = Field(min_length=1, max_length=64)
    returns_office_id: str = Field(default="", max_length=64)
    kinds: list[_Kind] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> _City:
        codes = [k.code for k in self.kinds]
        if len(codes) != len(set(codes)):
            raise ValueError("kind codes must be unique within a city")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cities: list[_City] = Field(min_length=1)


class KindsFileError(ValueError):
    pass


def parse(content: str) -> dict[str, CityKinds]:
    """The cities' kinds, by city code; ``KindsFileError`` naming the field at fault."""
    try:
        data = _File.model_validate(yaml.safe_load(content))
    except yaml.YAMLError as error:
        raise KindsFileError(f"the kinds file is not YAML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KindsFileError(f"kinds file: {where}: {first['msg']}") from None
    return {
        city.city_code: CityKinds(
            city_code=city.city_code,
            capture_max_years=city.capture_max_years,
            renewal_window_days=city.renewal_window_days,
            residence_min_months=city.residence_min_months,
            window_business_code=city.window_business_code,
            returns_office_id=city.returns_office_id,
            kinds={
                k.code: KindDefinition(
                    code=k.code,
                    name=k.name,
                    name_en=k.name_en,
                    rule=k.rule,
                    required_assurance=k.required_assurance,
                    fee_cents=k.fee_cents,
                    materials=tuple(k.materials),
                    delivery_options=tuple(k.delivery_options),
                    allowed_card_statuses=frozenset(k.allowed_card_statuses),
                    needs_review=k.needs_review,
                    reports_card_lost=k.reports_card_lost,
                    renewal=k.renewal,
                )
                for k in city.kinds
            },
        )
        for city in data.cities
    }


def load(path: Path) -> dict[str, CityKinds]:
    return parse(path.read_text(encoding="utf-8"))
