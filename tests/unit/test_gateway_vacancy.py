"""Vacancy at the edge, without a platform: whatever the bucket says, a slot with
places, a slot asked for with another business, a citizen who must reach booking
and a process that has not read the bucket are never refused at the edge; a slot
list renders as the API model does, with the edge's vacancy."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from nats.js.kv import KeyValue

from gateway import schemas
from gateway.vacancy import EdgeVacancy
from mintong.booking.v1 import catalogue_pb2 as pb
from services.runtime.proto_values import date_to_proto
from services.runtime.vacancy import SlotVacancy, citizen_digest
from services.runtime.vacancy_watch import VacancyWatcher

BUSINESSES = st.sampled_from(["ID_CARD_RENEWAL", "PASSPORT", "HUKOU"])
CITIZENS = st.sampled_from(["c1", "c2", "c3", "c4"])


def watcher(slots: dict[int, SlotVacancy], *, ready: bool = True) -> VacancyWatcher:
    found = VacancyWatcher(bus=None)  # type: ignore[arg-type]  # never started here
    found._slots = slots
    if ready:
        found.ready.set()
    return found


entries = st.builds(
    SlotVacancy.of,
    remaining=st.integers(-1, 3),
    capacity=st.integers(1, 3),
    date=st.dates(dt.date(2030, 1, 1), dt.date(2030, 2, 1)),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    businesses=st.frozensets(BUSINESSES, max_size=2),
    citizens=st.frozensets(CITIZENS, max_size=3),
)


@given(entry=entries, business=BUSINESSES, citizen=CITIZENS, ready=st.booleans())
def test_only_a_full_slot_of_that_business_is_refused_and_never_to_who_must_reach_booking(
    entry: SlotVacancy, business: str, citizen: str, ready: bool
) -> None:
    # As the gateway reads it from the bucket: through its encoding.
    heard = SlotVacancy.decode(entry.encode())
    edge = EdgeVacancy(watcher({7: heard}, ready=ready))
    refused = edge.refusal(7, business, citizen, "a-key")
    expected = (
        ready
        and heard.remaining == 0
        and business in heard.businesses
        and citizen_digest(citizen) not in heard.passes
    )
    assert (refused is not None) == expected
    if refused is not None:
        assert (refused.status, refused.code, refused.field) == (409, "slot_full", "slot_id")
    assert edge.refusal(8, business, citizen, "a-key") is None  # not known
    assert edge.refusal(7, business, citizen, "ключ") is None  # booking names a bad key first
    edge.freed(7)
    assert edge.refusal(7, business, citizen, "a-key") is None


def test_a_slot_list_is_the_models_json_with_the_edges_vacancy() -> None:
    day = dt.date(2030, 1, 9)
    answer = pb.ListSlotsResponse(
        slots=[
            pb.Slot(id=i, office_id="north", date=date_to_proto(day), capacity=2, remaining=2)
            for i in (1, 2, 3)
        ]
    )
    answer.slots[0].start.hours, answer.slots[0].end.hours = 9, 10
    vacancy = watcher({2: SlotVacancy.of(remaining=0, capacity=2, date=day, start=dt.time(9))})
    edge = EdgeVacancy(vacancy, list_ttl=60)
    calls = 0

    async def fetch() -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return answer

    async def read() -> tuple[list[bytes], bytes]:
        together = await asyncio.gather(
            *(edge.slots(("north", "B", "", ""), fetch, free=False) for _ in range(5))
        )
        return list(together), await edge.slots(("north", "B", "", ""), fetch, free=True)

    everything, free = asyncio.run(read())
    assert calls == 1  # five readers at once, one call to booking
    model = schemas.Slots(slots=[schemas.Slot.of(s) for s in answer.slots]).model_dump(mode="json")
    model["slots"][1]["remaining"] = 0
    assert all(json.loads(body) == model for body in everything)
    assert [s["id"] for s in json.loads(free)["slots"]] == [1, 3]


def test_a_list_shows_each_change_the_watcher_hears_and_its_readiness() -> None:
    """A list is looked at again slot by slot only when the watcher has heard of a
    change (or gained or lost its readiness) since: every change still shows."""
    day = dt.date(2030, 1, 9)
    answer = pb.ListSlotsResponse(
        slots=[
            pb.Slot(id=i, office_id="north", date=date_to_proto(day), capacity=2, remaining=2) for i in (1, 2)
        ]
    )
    vacancy = watcher({})
    edge = EdgeVacancy(vacancy, list_ttl=60)

    async def fetch() -> Any:
        return answer

    def shown() -> list[int]:
        body = asyncio.run(edge.slots(("north", "B", "", ""), fetch, free=False))
        return [s["remaining"] for s in json.loads(body)["slots"]]

    def heard(slot_id: int, remaining: int) -> None:
        value = SlotVacancy.of(remaining=remaining, capacity=2, date=day, start=dt.time(9)).encode()
        vacancy.on_entry(KeyValue.Entry("vacancy", str(slot_id), value, 1, 0, 0, None))

    assert shown() == [2, 2]
    heard(2, 0)
    assert shown() == [2, 0]
    assert shown() == [2, 0]  # nothing heard since: the same rendering
    heard(1, 1)
    assert shown() == [1, 0]
    vacancy.lost()  # not ready: booking's answer of the list again
    assert shown() == [2, 2]
