"""The public catalogue: cities, businesses, offices and slot vacancy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from gateway import schemas
from gateway.deps import AnonymousCall, Channel, Services, anonymous, edge_of, services_of
from gateway.language import Language
from gateway.problems import Problem, declare
from mintong.booking.v1 import catalogue_pb2 as pb
from mintong.common.v1 import common_pb2
from services.runtime.proto_values import date_to_proto

router = APIRouter(
    tags=["catalogue"],
    responses=declare(
        {
            400: ["incomplete_location", "invalid_date", "date_range_too_long"],
            404: ["city_not_found", "office_not_found", "business_not_found", "business_at_office_not_found"],
        }
    ),
)

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
BusinessCode = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A business code.")]


@router.get("/cities", response_model=schemas.Cities)
async def list_cities(call: AnonymousCall, services: Services, language: Language) -> schemas.Cities:
    answer = await services.catalogue.ListCities(pb.ListCitiesRequest(), **call.options)
    return schemas.Cities(cities=[schemas.City.of(c, language) for c in answer.cities])


@router.get("/cities/{city}/businesses", response_model=schemas.Businesses)
async def list_businesses(
    city: Code, channel: Channel, call: AnonymousCall, services: Services, language: Language
) -> schemas.Businesses:
    answer = await services.catalogue.ListBusinesses(pb.ListBusinessesRequest(city_code=city), **call.options)
    return schemas.Businesses(
        businesses=[schemas.Business.of(b, channel, language) for b in answer.businesses]
    )


@router.get(
    "/cities/{city}/offices",
    response_model=schemas.Offices,
    summary="Offices of a city, nearest first when lat/lng are given",
    description=(
        "Give `lat` and `lng` together (your position, WGS 84) to have the offices "
        "nearest first with their distance, or neither; one without the other is "
        "`400 incomplete_location` naming the missing one."
    ),
)
async def list_offices(
    city: Code,
    call: AnonymousCall,
    services: Services,
    language: Language,
    business: BusinessCode = None,
    lat: Annotated[
        float | None,
        Query(ge=-90, le=90, description="Your latitude (WGS 84, degrees); given with `lng` or not at all."),
    ] = None,
    lng: Annotated[
        float | None,
        Query(ge=-180, le=180, description="Your longitude (WGS 84); given with `lat` or not at all."),
    ] = None,
) -> schemas.Offices:
    if (lat is None) != (lng is None):
        missing = "lng" if lng is None else "lat"
        raise Problem(400, "incomplete_location", "Give both lat and lng, or neither.", field=missing)
    request = pb.ListOfficesRequest(city_code=city, business_code=business or "")
    if lat is not None and lng is not None:
        request.origin.CopyFrom(common_pb2.GeoPoint(latitude=lat, longitude=lng))
    answer = await services.catalogue.ListOffices(request, **call.options)
    return schemas.Offices(
        offices=[
            schemas.OfficeEntry(
                office=schemas.Office.of(e.office, language),
                distance_km=round(e.distance_km, 2) if e.HasField("distance_km") else None,
                earliest_available_slot=schemas.Slot.of(e.earliest_available_slot)
                if e.HasField("earliest_available_slot")
                else None,
            )
            for e in answer.entries
        ]
    )


@router.get(
    "/offices/{office_id}/slots",
    response_model=schemas.Slots,
    summary="Slots of an office for a business, each with its vacancy",
)
async def list_slots(
    office_id: Code,
    request: Request,
    business: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A business code.")],
    date: Annotated[schemas.Day | None, Query(description="One day only (instead of from and to).")] = None,
    from_: Annotated[
        schemas.Day | None, Query(alias="from", description="First day (default today).")
    ] = None,
    to: Annotated[schemas.Day | None, Query(description="Last day, at most 31 days after from.")] = None,
    free: Annotated[bool, Query(description="true: only slots with a free place.")] = False,
) -> schemas.Slots | Response:
    """A suspended business lists no slots. Without dates: today and the six days after.
    The vacancy shown may lag a booking or a cancellation by up to about a second; a
    booking itself is always decided on the current count."""
    # The services from the app's state, not a dependency: a solve of its own on the
    # citizens' most frequent request (decision 109).
    services = services_of(request)
    if date is not None:
        if from_ is not None or to is not None:
            raise Problem(400, "date_and_range", "Give either date, or from and to, not both.", field="date")
        from_ = to = date
    asked = pb.ListSlotsRequest(office_id=office_id, business_code=business, free_only=free)
    if from_:
        asked.from_date.CopyFrom(date_to_proto(from_))
    if to:
        asked.to_date.CopyFrom(date_to_proto(to))
    edge = edge_of(request)
    if edge.enabled:
        # Every slot from booking (kept a moment), which are free decided at the edge.
        asked.free_only = False
        key = (office_id, business, str(from_ or ""), str(to or ""))
        body = await edge.slots(
            key, lambda: services.catalogue.ListSlots(asked, **anonymous(request).options), free=free
        )
        return Response(body, media_type="application/json")
    answer = await services.catalogue.ListSlots(asked, **anonymous(request).options)
    return schemas.Slots(slots=[schemas.Slot.of(s) for s in answer.slots])
