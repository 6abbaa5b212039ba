"""The booking service's gRPC servicers: proto ↔ domain at the edge, nothing more."""

from __future__ import annotations

from typing import Literal

from mintong.booking.v1 import catalogue_pb2 as pb
from mintong.booking.v1 import catalogue_pb2_grpc as pb_grpc
from mintong.common.v1 import common_pb2
from services.booking.domain import model
from services.booking.domain.rules import ENTRY_EXIT_CATEGORY, BookingRules
from services.booking.service_layer import handlers
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.context import Role, require_role
from services.runtime.errors import InvalidArgument
from services.runtime.proto_values import CHANNEL_PROTO, date_from_proto, date_to_proto, time_to_proto
from services.runtime.text import LONG, check_text

ADMIN = Role.ADMINISTRATOR

CHANNELS = {c: CHANNEL_PROTO[c.value] for c in model.Channel}
_HANDLING = {
    model.Handling.ONLINE: pb.HANDLING_ONLINE,
    model.Handling.WINDOW: pb.HANDLING_WINDOW,
    model.Handling.ONLINE_OR_WINDOW: pb.HANDLING_ONLINE_OR_WINDOW,
}
_STATUS = {
    model.BusinessStatus.ACTIVE: pb.BUSINESS_STATUS_ACTIVE,
    model.BusinessStatus.SUSPENDED: pb.BUSINESS_STATUS_SUSPENDED,
}


def reasons_to_proto(rules: BookingRules) -> list[pb.EntryExitReason]:
    return [
        pb.EntryExitReason(
            code=code,
            name=zh,
            name_en=en,
            evidence=[e[0] for e in evidence],
            evidence_en=[e[1] for e in evidence] if any(e[1] for e in evidence) else [],
        )
        for code in rules.entry_exit_reasons
        for zh, en in [rules.reason_name(code)]
        for evidence in [rules.entry_exit_reason_evidence.get(code, ())]
    ]


def city_to_proto(c: model.City) -> pb.City:
    rules = c.rules
    return pb.City(
        code=c.code,
        name=c.name,
        time_zone=c.time_zone,
        booking_policy=pb.BookingPolicy(
            horizon_days=rules.horizon_days,
            release_time=time_to_proto(rules.release_time),
            cancel_cutoff_minutes=int(rules.cancel_cutoff.total_seconds() // 60),
            hold_minutes=int(rules.hold.total_seconds() // 60),
            entry_exit_reasons=reasons_to_proto(rules),
            suspended_destinations=rules.suspended_destinations,
        ),
        name_en=c.name_en,
    )


def business_to_proto(b: model.Business, rules: BookingRules | None = None) -> pb.Business:
    """With the city's ``rules``, an entry-exit business carries its policy too."""
    entry_exit = rules is not None and b.category == ENTRY_EXIT_CATEGORY
    return pb.Business(
        city_code=b.city_code,
        code=b.code,
        category=b.category,
        name=b.name,
        service_guide=b.service_guide,
        materials=b.materials,
        phone=b.phone,
        duration_minutes=b.duration_minutes,
        handling=_HANDLING[b.handling],
        requires_pre_application=b.requires_pre_application,
        channels=sorted(CHANNELS[c] for c in b.channels),
        status=_STATUS[b.status],
        announcement=b.announcement,
        name_en=b.name_en,
        service_guide_en=b.service_guide_en,
        materials_en=b.materials_en,
        announcement_en=b.announcement_en,
        entry_exit_reasons=reasons_to_proto(rules) if rules and entry_exit else (),
        suspended_destinations=rules.suspended_destinations if rules and entry_exit else (),
    )


def office_to_proto(o: model.Office) -> pb.Office:
    return pb.Office(
        id=o.id,
        city_code=o.city_code,
        name=o.name,
        kind=o.kind,
        address=o.address,
        location=common_pb2.GeoPoint(latitude=o.location.latitude, longitude=o.location.longitude),
        phone=o.phone,
        opening_hours=[
            pb.OpeningHours(weekday=p.weekday, opens=time_to_proto(p.opens), closes=time_to_proto(p.closes))
            for p in sorted(o.opening_hours, key=lambda p: (p.weekday, p.opens))
        ],
        walk_in_allowed=o.walk_in_allowed,
        visit_requirements=o.visit_requirements,
        business_codes=o.business_codes,
        name_en=o.name_en,
        address_en=o.address_en,
        visit_requirements_en=o.visit_requirements_en,
    )


def slot_to_proto(s: model.Slot) -> pb.Slot:
    return pb.Slot(
        id=s.id or 0,
        office_id=s.office_id,
        group=s.group,
        date=date_to_proto(s.date),
        start=time_to_proto(s.start),
        end=time_to_proto(s.end),
        capacity=s.capacity,
        booked=s.booked,
        remaining=s.remaining,
    )


class CatalogueServicer(pb_grpc.CatalogueServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def ListCities(self, request: pb.ListCitiesRequest, context) -> pb.ListCitiesResponse:
        cities = await handlers.list_cities(self.uow)
        return pb.ListCitiesResponse(cities=[city_to_proto(c) for c in cities])

    async def ListBusinesses(self, request: pb.ListBusinessesRequest, context) -> pb.ListBusinessesResponse:
        city, found = await handlers.list_businesses(self.uow, request.city_code)
        return pb.ListBusinessesResponse(businesses=[business_to_proto(b, city.rules) for b in found])

    async def ListOffices(self, request: pb.ListOfficesRequest, context) -> pb.ListOfficesResponse:
        origin = (
            model.GeoPoint(request.origin.latitude, request.origin.longitude)
            if request.HasField("origin")
            else None
        )
        entries = await handlers.list_offices(
            self.uow, self.clock, request.city_code, request.business_code or None, origin
        )
        response = pb.ListOfficesResponse()
        for entry in entries:
            item = response.entries.add(office=office_to_proto(entry.office))
            if entry.distance_km is not None:
                item.distance_km = entry.distance_km
            if entry.earliest_available is not None:
                item.earliest_available_slot.CopyFrom(slot_to_proto(entry.earliest_available))
        return response

    async def ListSlots(self, request: pb.ListSlotsRequest, context) -> pb.ListSlotsResponse:
        slots = await handlers.list_slots(
            self.uow,
            self.clock,
            request.office_id,
            request.business_code,
            date_from_proto(request.from_date, "from"),
            date_from_proto(request.to_date, "to"),
            free_only=request.free_only,
        )
        return pb.ListSlotsResponse(slots=[slot_to_proto(s) for s in slots])


class CatalogueAdminServicer(pb_grpc.CatalogueAdminServiceServicer):
    """Every call re-checks that the caller is an administrator."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def LoadCatalogue(self, request: pb.LoadCatalogueRequest, context) -> pb.LoadCatalogueResponse:
        require_role(ADMIN)
        fmt: Literal["yaml", "json"] = "json" if request.format == pb.CATALOGUE_FORMAT_JSON else "yaml"
        result = await handlers.load_catalogue(self.uow, request.content, fmt)
        return pb.LoadCatalogueResponse(
            city_codes=result.city_codes,
            office_count=result.office_count,
            business_count=result.business_count,
        )

    async def PublishSlots(self, request: pb.PublishSlotsRequest, context) -> pb.PublishSlotsResponse:
        require_role(ADMIN)
        first = date_from_proto(request.from_date, "from")
        last = date_from_proto(request.to_date, "to")
        if first is None or last is None:
            raise InvalidArgument(
                "date_required", "Give both from and to.", field="from" if first is None else "to"
            )
        created, updated = await handlers.publish_slots(
            self.uow,
            first=first,
            last=last,
            office_id=check_text(request.office_id, "office_id") or None,
            city_code=check_text(request.city_code, "city") or None,
            clock=self.clock,
        )
        return pb.PublishSlotsResponse(created_count=created, updated_count=updated)

    async def SuspendBusiness(
        self, request: pb.SuspendBusinessRequest, context
    ) -> pb.SuspendBusinessResponse:
        require_role(ADMIN)
        business = await handlers.suspend_business(
            self.uow,
            check_text(request.city_code, "city"),
            check_text(request.business_code, "business"),
            check_text(request.announcement, "announcement", multiline=True, max_length=LONG),
            check_text(request.announcement_en, "announcement_en", multiline=True, max_length=LONG),
        )
        return pb.SuspendBusinessResponse(business=business_to_proto(business))

    async def ResumeBusiness(self, request: pb.ResumeBusinessRequest, context) -> pb.ResumeBusinessResponse:
        require_role(ADMIN)
        business = await handlers.resume_business(self.uow, request.city_code, request.business_code)
        return pb.ResumeBusinessResponse(business=business_to_proto(business))
