"""Bureau administrators: load the catalogue, publish slots, suspend and resume
businesses. An administrator's staff token; the booking service checks the
caller's role again."""

from __future__ import annotations

import json
import pathlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway import schemas
from gateway.deps import Administrator, Channel, Services
from gateway.language import Language
from gateway.problems import Problem, declare
from mintong.booking.v1 import catalogue_pb2 as pb
from services.runtime.proto_values import date_to_proto

router = APIRouter(
    prefix="/admin",
    tags=["administration"],
    responses=declare(
        {
            400: [
                "invalid_catalogue",
                "malformed_catalogue",
                "date_required",
                "invalid_date",
                "announcement_required",
            ],
            404: ["city_not_found", "office_not_found", "business_not_found"],
            415: ["unsupported_media_type"],
        }
    ),
)

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_FORMATS = {
    "application/json": pb.CATALOGUE_FORMAT_JSON,
    "application/yaml": pb.CATALOGUE_FORMAT_YAML,
    "application/x-yaml": pb.CATALOGUE_FORMAT_YAML,
    "text/yaml": pb.CATALOGUE_FORMAT_YAML,
}
MAX_CATALOGUE_BYTES = 2_000_000
#: The catalogue file's schema, part of booking's contract beside its protos
#: (``make openapi`` writes it from booking's own model).
CATALOGUE_SCHEMA = (
    pathlib.Path(__file__).resolve().parents[2] / "protos/mintong/booking/v1/catalogue.schema.json"
)


def _catalogue_schema() -> dict[str, Any]:
    try:
        schema: dict[str, Any] = json.loads(CATALOGUE_SCHEMA.read_text(encoding="utf-8"))
    except FileNotFoundError:  # an image without the protos: still a valid document
        return {"type": "object"}
    return schema


class CatalogueLoaded(BaseModel):
    cities: list[str]
    office_count: int
    business_count: int


@router.put(
    "/catalogue",
    response_model=CatalogueLoaded,
    summary="Load or refresh the catalogue (YAML or JSON, see deploy/demo/catalogue.yaml)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": _catalogue_schema()} for media in _FORMATS},
        }
    },
)
async def load_catalogue(request: Request, admin: Administrator, services: Services) -> CatalogueLoaded:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _FORMATS:
        raise Problem(
            415,
            "unsupported_media_type",
            f"Send the catalogue as one of {', '.join(_FORMATS)}, not {media or 'nothing'}.",
            field="Content-Type",
        )
    content = await request.body()  # at most MAX_CATALOGUE_BYTES (middleware.BodyLimit)
    answer = await services.catalogue_admin.LoadCatalogue(
        pb.LoadCatalogueRequest(content=content, format=_FORMATS[media]), **admin.call.options
    )
    return CatalogueLoaded(
        cities=list(answer.city_codes), office_count=answer.office_count, business_count=answer.business_count
    )


class PublishSlots(BaseModel):
    # Either city or office_id: stated in the schema, checked by _one_place.
    model_config = ConfigDict(json_schema_extra=schemas.either(("city", "string"), ("office_id", "string")))
    city: schemas.CodeText | None = Field(None, description="Every office of this city …")
    office_id: schemas.CodeText | None = Field(None, description="… or this one office.")
    from_: schemas.Day = Field(alias="from")
    to: schemas.Day

    @model_validator(mode="after")
    def _one_place(self) -> PublishSlots:
        if bool(self.city) == bool(self.office_id):
            raise ValueError("give either city or office_id")
        return self


class SlotsPublished(BaseModel):
    created: int
    updated: int


@router.post("/slots/publish", response_model=SlotsPublished, summary="Open slots from opening hours")
async def publish_slots(body: PublishSlots, admin: Administrator, services: Services) -> SlotsPublished:
    answer = await services.catalogue_admin.PublishSlots(
        pb.PublishSlotsRequest(
            city_code=body.city or "",
            office_id=body.office_id or "",
            from_date=date_to_proto(body.from_),
            to_date=date_to_proto(body.to),
        ),
        **admin.call.options,
    )
    return SlotsPublished(created=answer.created_count, updated=answer.updated_count)


class Suspension(BaseModel):
    announcement: Annotated[str, schemas.Stored(2000, min_length=1, multiline=True)] = Field(
        description="Shown to every citizen, in Chinese (zh-CN)."
    )
    announcement_en: Annotated[str, schemas.Stored(2000, multiline=True)] = Field(
        default="", description="The announcement in English, if any (else the Chinese)."
    )


@router.post(
    "/cities/{city}/businesses/{code}/suspend",
    response_model=schemas.Business,
    summary="Suspend a business online and at the windows, with an announcement",
)
async def suspend(
    city: Code,
    code: Code,
    body: Suspension,
    channel: Channel,
    admin: Administrator,
    services: Services,
    language: Language,
) -> schemas.Business:
    answer = await services.catalogue_admin.SuspendBusiness(
        pb.SuspendBusinessRequest(
            city_code=city,
            business_code=code,
            announcement=body.announcement,
            announcement_en=body.announcement_en,
        ),
        **admin.call.options,
    )
    return schemas.Business.of(answer.business, channel, language)


@router.post("/cities/{city}/businesses/{code}/resume", response_model=schemas.Business)
async def resume(
    city: Code, code: Code, channel: Channel, admin: Administrator, services: Services, language: Language
) -> schemas.Business:
    answer = await services.catalogue_admin.ResumeBusiness(
        pb.ResumeBusinessRequest(city_code=city, business_code=code), **admin.call.options
    )
    return schemas.Business.of(answer.business, channel, language)
