"""The ports the handlers use: a catalogue repository and a unit of work whose
write transaction also records the domain events it emits (the outbox)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from services.booking.domain import model
from services.booking.domain.bookings import Booking, BookingStatus, WaitlistEntry, WaitStatus
from services.booking.domain.events import Event
from services.booking.domain.hall import HallOffice, Place, Ticket, TicketStatus
from services.booking.domain.policies import Kind, Policy, State
from services.booking.domain.preapplications import (
    Attachment,
    Change,
    Entitlement,
    Form,
    PreApplication,
    Status,
)


class CatalogueRepository(Protocol):
    async def list_cities(self) -> list[model.City]: ...
    async def get_city(self, code: str) -> model.City | None: ...
    async def save_city(self, city: model.City) -> None: ...

    async def list_businesses(self, city_code: str) -> list[model.Business]: ...
    async def get_business(self, city_code: str, code: str) -> model.Business | None: ...
    async def save_business(self, business: model.Business) -> None: ...
    async def claim_suspension(self, city_code: str, code: str) -> bool:
        """Mark an active business suspended; False if it was suspended already (by
        an earlier call, or a concurrent one that committed first)."""
        ...

    async def list_offices(self, city_code: str, business_code: str | None = None) -> list[model.Office]: ...
    async def get_office(self, office_id: str) -> model.Office | None: ...
    async def save_office(self, office: model.Office) -> None: ...

    async def save_office_policy_fields(self, office: model.Office) -> None:
        """Store what policies change of an office: visit requirements, closed days."""
        ...

    async def close_slots(self, office_id: str, days: list[dt.date], closed: bool) -> int:
        """Close (or reopen) every slot of an office on those days: no place is taken
        or held in a closed slot, and none is listed."""
        ...

    async def find_group(self, office_id: str, business_code: str) -> tuple[str, str, bool] | None:
        """The slot group of a business at an office, the time zone of its city and
        whether the business is suspended, in one look-up (the vacancy read's hot
        path); None if any of them is unknown."""
        ...

    async def upsert_slots(self, slots: list[model.Slot]) -> tuple[int, int]:
        """Add new slots; for existing ones set the new capacity, never below what is
        booked. Returns (created, updated)."""
        ...

    async def list_slots(
        self, office_id: str, group: str, first: dt.date, last: dt.date, after: dt.datetime
    ) -> list[model.Slot]:
        """Slots of a group between two dates that start at or after ``after`` (local)."""
        ...

    async def earliest_available(
        self, office_id: str, group: str, after: dt.datetime
    ) -> model.Slot | None: ...


@dataclass(frozen=True)
class SlotContext:
    """A slot with everything a booking in it is checked against and snapshots, and
    what the citizen asking has that bears on it, read together in one statement."""

    slot: model.Slot
    office: model.Office
    city: model.City
    business: model.Business
    #: Whether the citizen ever missed an appointment: only then are the dates read.
    has_no_shows: bool
    #: The citizen's open waitlist entry for the business (at most one), if any.
    waiting: WaitlistEntry | None
    #: (request fingerprint, stored answer) of the Idempotency-Key asked about, if used.
    earlier: tuple[str, bytes] | None


@dataclass(frozen=True)
class Claimed:
    """What :meth:`BookingRepository.claim_and_add` did, each step only if the one
    before it succeeded."""

    #: The Idempotency-Key was free and is now this request's (False: a twin has it).
    key: bool
    #: The booking was inserted (False: its one-active-booking or code collided).
    booking: bool
    #: Its place was taken (False: the slot is full); None when not asked or not reached.
    place: bool | None


class BookingRepository(Protocol):
    async def slot_context(
        self, slot_id: int, business_code: str, citizen_id: str, idempotency_key: str = ""
    ) -> SlotContext | None:
        """The slot with its office, city and business, if the office handles the
        business in the slot's group (None otherwise), and the citizen's facts."""
        ...

    async def no_shows(self, citizen_id: str, since: dt.datetime) -> list[dt.datetime]: ...
    async def find_idempotent(self, citizen_id: str, key: str) -> tuple[str, bytes] | None:
        """(request fingerprint, stored answer) of a key already used."""
        ...

    async def claim_idempotency_key(
        self, citizen_id: str, key: str, fingerprint: str, response: bytes, now: dt.datetime
    ) -> bool: ...
    async def claim_and_add(
        self,
        citizen_id: str,
        key: str,
        fingerprint: str,
        response: bytes,
        now: dt.datetime,
        booking: Booking,
        *,
        take_place: bool,
    ) -> Claimed:
        """``claim_idempotency_key``, then ``add_booking`` if the key was claimed, then
        ``take_place`` of its slot if the booking went in and ``take_place`` is asked:
        a booking's writes as one step (one round trip where the database allows)."""
        ...

    async def book_at_once(
        self,
        key: str,
        fingerprint: str,
        response: bytes,
        now: dt.datetime,
        booking: Booking,
        confirmed: Event,
    ) -> bool:
        """The writes of ``claim_and_add`` with the place taken, and ``confirmed``
        recorded, all committed at once by one statement, or nothing written (False:
        not possible here, or a step was refused). Only on the read of
        ``read_then_write``: it commits by itself, where the database allows."""
        ...

    async def set_idempotent_response(self, citizen_id: str, key: str, response: bytes) -> None: ...
    async def prune_idempotency_keys(self, before: dt.datetime) -> int: ...

    async def take_place(self, slot_id: int) -> bool: ...
    async def hold_place(self, slot_id: int) -> bool: ...
    async def release_place(self, slot_id: int) -> None: ...
    async def release_hold(self, slot_id: int) -> None: ...
    async def convert_hold(self, slot_id: int) -> None: ...
    async def get_slot(self, slot_id: int) -> model.Slot | None: ...
    async def slots_with_vacancy(self, office_id: str, after: dt.datetime) -> list[model.Slot]: ...

    async def add_booking(self, booking: Booking) -> bool: ...
    async def active_booking(self, citizen_id: str, city_code: str, business_code: str) -> Booking | None: ...
    async def active_bookings_for(self, city_code: str, business_code: str) -> list[Booking]:
        """Every confirmed booking for a business of a city (one per citizen)."""
        ...

    async def get_booking(self, booking_id: str, citizen_id: str | None = None) -> Booking | None: ...
    async def list_bookings(self, citizen_id: str, statuses: list[BookingStatus]) -> list[Booking]: ...
    async def office_bookings(self, office_id: str, date: dt.date) -> list[Booking]: ...
    async def change_status(
        self, booking_id: str, old: BookingStatus, new: BookingStatus, now: dt.datetime
    ) -> bool: ...
    async def move_booking(self, old: Booking, new: Booking, now: dt.datetime) -> bool: ...

    async def add_entry(self, entry: WaitlistEntry) -> bool: ...
    async def get_entry(self, entry_id: str, citizen_id: str | None = None) -> WaitlistEntry | None: ...
    async def list_entries(self, citizen_id: str) -> list[tuple[WaitlistEntry, int]]: ...
    async def position(self, entry_id: str) -> int: ...
    async def next_waiting(self, slot: model.Slot) -> WaitlistEntry | None: ...
    async def has_waiting(self, office_id: str) -> bool: ...
    async def offer(self, entry_id: str, slot_id: int, expires_at: dt.datetime) -> bool: ...
    async def close_entry(
        self, entry_id: str, old: WaitStatus, new: WaitStatus, booking_id: str | None = None
    ) -> bool: ...
    async def expired_holds(self, now: dt.datetime, limit: int) -> list[str]: ...
    async def confirmed_on_days(self, office_id: str, days: list[dt.date], limit: int) -> list[Booking]: ...
    async def holds_on_days(self, office_id: str, days: list[dt.date]) -> list[str]: ...


class PolicyRepository(Protocol):
    """Policies with effective dates (decision 59)."""

    async def add(self, policy: Policy) -> None: ...
    async def get(self, policy_id: str) -> Policy | None: ...
    async def list_for(self, city_code: str, states: list[State]) -> list[Policy]: ...
    async def due(self, now: dt.datetime, limit: int) -> list[str]: ...
    async def expired(self, now: dt.datetime, limit: int) -> list[str]: ...
    async def in_force(
        self, city_code: str | None = None, kind: Kind | None = None, subject: str | None = None
    ) -> list[Policy]: ...
    async def unfinished_closures(self) -> list[str]: ...
    async def move(
        self,
        policy_id: str,
        old: State,
        new: State,
        now: dt.datetime,
        *,
        previous: dict[str, object] | None = None,
        effective_until: dt.datetime | None = None,
    ) -> bool: ...
    async def set_previous(self, policy_id: str, previous: dict[str, object]) -> None: ...
    async def closure_progress(self, policy_id: str, cancelled: int, *, done: bool) -> None: ...


class PreApplicationRepository(Protocol):
    """Pre-applications (answers sealed by the adapter), their history and
    documents, the forms of the catalogue, and the entitlements approvals issue."""

    async def save_form(self, city_code: str, business_code: str, form: Form | None) -> None: ...
    async def get_form(self, city_code: str, business_code: str) -> Form | None: ...

    async def add(self, pre: PreApplication) -> None: ...
    async def get(
        self, pre_application_id: str, *, citizen_id: str | None = None, for_update: bool = False
    ) -> PreApplication | None: ...
    async def list_own(self, citizen_id: str) -> list[PreApplication]: ...
    async def queue(
        self, city_codes: list[str] | None, statuses: list[Status], business_code: str, limit: int
    ) -> list[PreApplication]: ...
    async def save_answers(self, pre: PreApplication, at_: dt.datetime) -> bool: ...
    async def move(self, old: PreApplication, new: PreApplication, change: Change) -> bool: ...

    async def add_attachment(self, attachment: Attachment, object_key: str) -> None: ...
    async def count_attachments(self, pre_application_id: str) -> int: ...
    async def attachments(self, pre_application_id: str) -> list[Attachment]: ...
    async def attachment(
        self, pre_application_id: str, attachment_id: str
    ) -> tuple[Attachment, str] | None: ...

    async def issue_entitlement(self, entitlement: Entitlement) -> None: ...
    async def entitlement(self, pre_application_id: str) -> Entitlement | None: ...
    async def consume_entitlement(
        self, pre_application_id: str, citizen_id: str, booking_id: str, now: dt.datetime
    ) -> bool: ...
    async def give_back_entitlement(self, booking_id: str) -> bool: ...


class ObjectStore(Protocol):
    """Where documents' bytes live (files on one machine, an S3 bucket in
    production); what it keeps is sealed by the adapter."""

    async def put(self, key: str, content: bytes) -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...


class Occupied(Exception):
    """The clerk or the counter has a called ticket already (the database said so)."""


@dataclass(frozen=True)
class Called:
    """What :meth:`HallRepository.call_many` did."""

    #: For each call asked, in order, the ticket it took (None: nobody was left
    #: waiting for it, or it is in ``busy``).
    tickets: list[Ticket | None]
    #: The calls (their places in the batch, from 0) whose counter or clerk has a
    #: called ticket: they took nothing.
    busy: frozenset[int]
    #: What :meth:`HallRepository.head_to_tell` answers after the calls (empty when
    #: none took a ticket).
    head: list[tuple[int, Ticket]]


class OfficeChanged(Exception):
    """The office (or its city) given by :meth:`HallRepository.known_office` changed
    in the database since this process read it, as the statement that checks it
    found: the transaction is rolled back, and the use case is run again with the
    office read anew."""


class HallRepository(Protocol):
    """The hall's tickets (decision 49)."""

    async def hall_office(self, office_id: str) -> HallOffice | None:
        """The office and its city's hall rules, read now."""
        ...

    async def known_office(self, office_id: str) -> HallOffice | None:
        """The office as this process last read it, where the next of
        :meth:`new_ticket_places`, :meth:`call_many` or :meth:`queue_today` checks,
        in its own statement, that it is still current (OfficeChanged if not);
        read now (:meth:`hall_office`) where it is not known or cannot be checked."""
        ...

    @property
    def writes_alone(self) -> bool:
        """A statement here commits by itself (PostgreSQL, the read of
        ``read_then_write``): a change may then be made with its ``QueueChanged``
        (``announce``) in one statement, all of it or nothing."""
        ...

    async def add_numbered_ticket(self, ticket: Ticket, *, coming_up_sent: bool = False) -> Ticket:
        """Insert the ticket with the next number of its prefix at its office on its
        day (atomic); the ticket with its number."""
        ...

    async def add_walk_ins(self, tickets: list[Ticket], *, announce: bool = False) -> list[Ticket]:
        """:meth:`add_numbered_ticket` for each ticket, in their order (numbers
        follow each other by prefix); the tickets with their numbers. ``announce``
        (only where :attr:`writes_alone`): each with its ``QueueChanged``
        ("issued"), all of it written by one statement or nothing."""
        ...

    async def check_in_place(self, ticket: Ticket, now: dt.datetime) -> tuple[bool, Place, str | None]:
        """The ticket's booking checked in (False: it was not confirmed any more),
        with what :meth:`new_ticket_places` reads for it."""
        ...

    async def office_and_booking(self, office_id: str, code: str) -> tuple[HallOffice | None, Booking | None]:
        """The office, and the booking of that confirmation code at it (any day)."""
        ...

    async def ticket_for_booking(self, booking_id: str) -> Ticket | None: ...
    async def get_ticket(self, ticket_id: str, citizen_id: str | None = None) -> Ticket | None: ...
    async def called_at_counter(self, office_id: str, counter: int) -> Ticket | None: ...
    async def call_many(
        self, office_id: str, day: dt.date, calls: list[tuple[int, str]], now: dt.datetime, *, head: int
    ) -> Called:
        """Each of ``calls`` ((counter, clerk): distinct counters, distinct clerks)
        calls the head of the queue, in their order, unless its counter or clerk
        has a called ticket (``busy``): as many calls one after the other would.
        Two concurrent calls never get the same ticket. Raises Occupied when a call
        made meanwhile elsewhere collided with one of them (nothing was called).
        With it, what :meth:`head_to_tell` answers after the calls for ``head``."""
        ...

    async def recall(self, ticket_id: str) -> Ticket | None: ...
    async def finish(self, ticket_id: str, status: TicketStatus, now: dt.datetime) -> Ticket | None:
        """End a called ticket; None if it was not called (any more)."""
        ...

    async def finish_at_counter(
        self, office_id: str, counter: int, status: TicketStatus, now: dt.datetime
    ) -> Ticket | None:
        """End the ticket called to the counter; None when it has none called."""
        ...

    async def finish_at_counters(
        self,
        office_id: str,
        counters: list[int],
        status: TicketStatus,
        now: dt.datetime,
        *,
        announce: bool = False,
    ) -> list[Ticket | None]:
        """:meth:`finish_at_counter` for each of ``counters`` (distinct), in order.
        ``announce`` (only where :attr:`writes_alone`): each with its
        ``QueueChanged``, all of it written by one statement or nothing."""
        ...

    async def queue_today(
        self, office_id: str, day: dt.date
    ) -> tuple[list[Ticket], list[Ticket], dt.timedelta | None]:
        """The office's waiting tickets of the day in the queue's order, its called
        ones by counter, and its recent average service time (None before the first)."""
        ...

    async def called(self, office_id: str, day: dt.date | None = None) -> list[Ticket]:
        """Called tickets of an office ("": of every office)."""
        ...

    async def standing(self, ticket: Ticket) -> Place:
        """Where an issued ticket stands."""
        ...

    async def new_ticket_places(self, tickets: list[Ticket]) -> list[tuple[Place, str | None]]:
        """Where each ticket not inserted yet (of one office and day) will stand,
        without counting the others, and the category of its business at its
        office (None: the office does not handle it)."""
        ...

    async def head_to_tell(self, office_id: str, day: dt.date, limit: int) -> list[tuple[int, Ticket]]:
        """Of the first ``limit`` waiting tickets, with their places, those with a
        booking not yet told "coming up"."""
        ...

    async def mark_coming_up(self, ticket_id: str) -> bool:
        """False when "coming up" was sent for it before."""
        ...


class Transaction(Protocol):
    @property
    def catalogue(self) -> CatalogueRepository: ...

    @property
    def bookings(self) -> BookingRepository: ...

    @property
    def pre_applications(self) -> PreApplicationRepository: ...
    @property
    def hall(self) -> HallRepository: ...
    @property
    def policies(self) -> PolicyRepository: ...

    def emit(self, event: Event) -> None:
        """Record an event: it is published if, and only if, the transaction commits."""
        ...

    async def audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        """Append a staff action, by the current caller, to the hash-chained audit log."""
        ...


class ReadThenWrite(Protocol):
    """A use case that reads, decides, and only then may write (a booking): ``read``
    first, ``write`` if it decided to. The read's transaction ends before the
    write's begins, as two ``UnitOfWork`` blocks would; where the database allows it
    (PostgreSQL) the read is no transaction at all, each statement seeing what
    committed before it, and a write that is one statement may be made on it
    (``book_at_once``). So nothing read may be relied on at the write as if locked,
    nor two reads on each other: the write's statements must re-check what they
    depend on (the conditional updates do)."""

    async def read(self) -> Transaction: ...
    async def write(self) -> Transaction: ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[Transaction]: ...

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...

    def read_then_write(self) -> AbstractAsyncContextManager[ReadThenWrite]:
        """Commits the write, if one began, when the block ends; an error rolls it back."""
        ...
