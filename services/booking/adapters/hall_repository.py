"""The hall's tickets on SQL (decision 49).

Numbering is one upsert that returns the new number (atomic on both databases); the
unique (office, day, prefix, number) constraint is its second guard. Calling picks
the head of the queue in a sub-select of the UPDATE that takes it: on PostgreSQL the
sub-select locks its rows and skips rows other clerks hold (``FOR UPDATE SKIP
LOCKED``), a batch of calls of one office taking one row each (decision 131), and
``status = 'waiting'`` in the UPDATE's own WHERE re-checks after any wait; SQLite
has one writer. A call whose counter or clerk has a called ticket takes nothing;
the partial unique indexes (one called ticket per clerk and per counter) are the
second guard, against a call committed meanwhile: the calls are their
transaction's first write, so the whole transaction rolls back.

Check-in and calling are the hot paths (docs/performance.md, "The hall"): most of
booking's CPU there is spent per statement (SQLAlchemy's execution, the tracing
span, asyncpg), so each use case asks as few statements as its guarantees allow,
and those statements are built once, with bound parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    Row,
    Text,
    TextClause,
    and_,
    bindparam,
    cast,
    exists,
    extract,
    func,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from mintong.booking.v1 import events_pb2
from services.booking.adapters import event_mapper, orm
from services.booking.adapters.bookings_repository import _booking, _Prefixed
from services.booking.domain.bookings import Booking, BookingStatus
from services.booking.domain.hall import RECENT_SERVED, HallOffice, Place, Ticket, TicketStatus
from services.booking.domain.rules import BookingRules
from services.booking.service_layer.unit_of_work import Called, Occupied, OfficeChanged
from services.runtime import outbox
from services.runtime.db import AUTOCOMMIT, as_utc, dialect_insert, insert_built_once

t, seqs, b = orm.hall_tickets, orm.hall_sequences, orm.bookings

_QUEUE_ORDER = (t.c.priority_rank, t.c.order_at, t.c.seq)
_WAITING, _CALLED, _SERVED = TicketStatus.WAITING.value, TicketStatus.CALLED.value, TicketStatus.SERVED.value

# The statements of check-in and calling, built once with bound parameters: a
# statement built per call cost its construction, its coercions and its cache key
# (a tenth of booking's CPU on these paths, by py-spy; docs/performance.md).
_INSERT_TICKET = t.insert()


def _xmin(table: Any) -> ColumnElement[str]:
    return cast(literal_column(f"{table.name}.xmin"), Text)


#: PostgreSQL: an office's version, its row's and its city's row's xmin: every
#: change of either row, by any process and by whatever code path (a catalogue
#: load, a policy coming into force or ending), writes a new row version with the
#: writing transaction's id (decision 120).
_VERSION = _xmin(orm.offices) + "." + _xmin(orm.cities)
_OFFICE_VERSION = (
    select(_VERSION)
    .select_from(orm.offices.join(orm.cities, orm.cities.c.code == orm.offices.c.city_code))
    .where(orm.offices.c.id == bindparam("p_office_id"))
    .correlate(None)
    .scalar_subquery()
    .label("office_version")
)
_HALL_OFFICE = (
    select(
        orm.offices.c.id,
        orm.offices.c.city_code,
        orm.offices.c.walk_in_allowed,
        orm.offices.c.name,
        orm.offices.c.name_en,
        orm.offices.c.closed_dates,
        orm.cities.c.time_zone,
        orm.cities.c.rules,
    )
    .join(orm.cities, orm.cities.c.code == orm.offices.c.city_code)
    .where(orm.offices.c.id == bindparam("p_office_id"))
)
_BUSY = (
    select(t.c.id)
    .where(
        t.c.status == _CALLED,
        and_(t.c.office_id == bindparam("p_office_id"), t.c.counter == bindparam("p_counter"))
        | (t.c.clerk_id == bindparam("p_clerk_id")),
    )
    .limit(1)
)
_TODAY_WAITING = and_(
    t.c.office_id == bindparam("p_office_id"), t.c.day == bindparam("p_day"), t.c.status == _WAITING
)
_TICKET_FOR_BOOKING = select(t).where(t.c.booking_id == bindparam("p_booking_id"))
_OFFICE_AND_BOOKING = _HALL_OFFICE.add_columns(*(c.label(f"bk_{c.name}") for c in b.c)).outerjoin(
    b, and_(b.c.office_id == orm.offices.c.id, b.c.confirmation_code == bindparam("p_code"))
)
# On PostgreSQL with the office's version (a row's xmin is PostgreSQL's alone).
_HALL_OFFICE_PG = _HALL_OFFICE.add_columns(_VERSION.label("office_version"))
_OFFICE_AND_BOOKING_PG = _OFFICE_AND_BOOKING.add_columns(_VERSION.label("office_version"))


def _proto_text(field: str, value: str) -> str:
    """PostgreSQL: the text expression ``value`` encoded as QueueChanged's string
    ``field`` (its tag, its length as a varint of one or two bytes, its UTF-8 bytes).
    Protobuf reads messages written one after the other as one message with the
    fields of both, so a payload encoded in Python without a ticket's city and code
    (event_mapper.queue_changed) followed by these two is the whole event."""
    number = events_pb2.QueueChanged.DESCRIPTOR.fields_by_name[field].number
    data = f"convert_to({value}, 'UTF8')"
    size = f"octet_length({data})"
    return (
        f"decode('{number << 3 | 2:02x}', 'hex') || CASE WHEN {size} < 128 "
        f"THEN set_byte(decode('00', 'hex'), 0, {size}) "
        f"ELSE set_byte(set_byte(decode('0000', 'hex'), 0, {size} % 128 + 128), 1, {size} / 128) END "
        f"|| {data}"
    )


def _code(row: str) -> str:
    """PostgreSQL: ``Ticket.code`` of the ticket ``row`` (``A012``: the prefix and the
    number in three digits or more; a test holds the two equal)."""
    number = f"CAST({row}.number AS text)"
    return f"{row}.prefix || CASE WHEN {row}.number < 1000 THEN lpad({number}, 3, '0') ELSE {number} END"


def _announced(row: str, asked: str, join: str) -> str:
    """PostgreSQL: the outbox's rows of the ``QueueChanged``s of the tickets ``row``
    (a CTE of the statement that changes them), each joined (``join``) to its
    ``asked`` row (a CTE of the statement's arrays, with ``o_id`` and ``o_head``):
    its ``o_head`` (event_mapper.queue_changed) completed with the
    ticket's city and code, so the changes and their events are written, and
    committed, by one statement (decisions 129, 131)."""
    payload = (
        f"{asked}.o_head || {_proto_text('city_code', f'{row}.city_code')} "
        f"|| {_proto_text('ticket_code', _code(row))}"
    )
    return (
        f"INSERT INTO {orm.outbox.name} (id, subject, event_type, payload, headers, created_at) "
        f"SELECT {asked}.o_id, :o_subject, :o_event_type, {payload}, :o_headers, "
        f"CAST(:o_created_at AS timestamptz) FROM {row} JOIN {asked} {join}"
    )


_ANNOUNCED_PARAMS = (bindparam("o_created_at", type_=DateTime(timezone=True)),)
#: The arrays of _announced's ``asked``.
_ANNOUNCED_ARRAYS = "CAST(:o_ids AS text[]), CAST(:o_heads AS bytea[])"


def _add_numbered() -> TextClause:
    """PostgreSQL: the office's next number for the day and prefix (an upsert of its
    sequence row, which stays locked to the commit) and the ticket's INSERT with it,
    in one statement; the unique (office, day, prefix, number) stays the second guard."""
    columns = [c for c in t.c if c.name != "seq"]
    values = ["(SELECT last_number FROM numbered)" if c.name == "number" else f":{c.name}" for c in columns]
    numbered = (
        f"WITH numbered AS ("
        f"INSERT INTO {seqs.name} (office_id, day, prefix, last_number) "
        f"VALUES (:office_id, :day, :prefix, 1) "
        f"ON CONFLICT (office_id, day, prefix) DO UPDATE SET last_number = {seqs.name}.last_number + 1 "
        f"RETURNING last_number"
        f")"
    )
    names = ", ".join(c.name for c in columns)
    insert = f"INSERT INTO {t.name} ({names}) SELECT {', '.join(values)} RETURNING number"
    params = [bindparam(c.name, type_=c.type) for c in columns if c.name != "number"]
    return text(f"{numbered} {insert}").bindparams(*params)


def _add_walk_ins() -> TextClause:
    """PostgreSQL: a batch of walk-ins' tickets (decision 131), each column an array
    parameter, in the batch's order (``n``), and each one's ``QueueChanged``, in one
    statement that commits by itself: the sequence row of each prefix moved on by its
    tickets' count (one upsert a prefix, in the prefixes' order, so that two batches
    lock them in one order; each row locked for this statement alone), each ticket
    numbered after it in the batch's order, inserted in that order (``seq``, the
    queue's order among equals, follows the numbers), and announced (_announced).
    The unique (office, day, prefix, number) stays the second guard."""
    columns = [c for c in t.c if c.name not in ("seq", "number")]
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=postgresql.dialect())}[])" for c in columns
    )
    names = ", ".join(c.name for c in columns)
    statement = (
        f"WITH asked AS (SELECT * FROM unnest({arrays}, {_ANNOUNCED_ARRAYS}) "
        f"WITH ORDINALITY AS a({names}, o_id, o_head, n)), "
        f"counts AS (SELECT office_id, day, prefix, count(*) AS k FROM asked "
        f"GROUP BY office_id, day, prefix), "
        f"numbered AS (INSERT INTO {seqs.name} (office_id, day, prefix, last_number) "
        f"SELECT office_id, day, prefix, k FROM counts ORDER BY office_id, day, prefix "
        f"ON CONFLICT (office_id, day, prefix) DO UPDATE "
        f"SET last_number = {seqs.name}.last_number + excluded.last_number "
        f"RETURNING office_id, day, prefix, last_number), "
        f"ticket AS (INSERT INTO {t.name} ({names}, number) "
        f"SELECT {', '.join(f'a.{c.name}' for c in columns)}, "
        f"numbered.last_number - counts.k + row_number() OVER (PARTITION BY a.prefix ORDER BY a.n) "
        f"FROM asked a JOIN counts USING (office_id, day, prefix) "
        f"JOIN numbered USING (office_id, day, prefix) ORDER BY a.n "
        f"RETURNING id, number, city_code, prefix), "
        f"announced AS ({_announced('ticket', 'asked', 'USING (id)')}) "
        f"SELECT id, number FROM ticket"
    )
    return text(statement).bindparams(*_ANNOUNCED_PARAMS)


_ADD_NUMBERED = _add_numbered()
_ADD_WALK_INS = _add_walk_ins()


def _call_next() -> Any:
    """SQLite (one writer): the head of the queue called to a counter."""
    head = select(t.c.id).where(_TODAY_WAITING).order_by(*_QUEUE_ORDER).limit(1)
    return (
        update(t)
        .where(t.c.id == head.scalar_subquery(), t.c.status == _WAITING)
        .values(
            status=TicketStatus.CALLED.value,
            counter=bindparam("p_to_counter"),
            clerk_id=bindparam("p_by_clerk"),
            calls=1,
            called_at=bindparam("p_now"),
        )
        .returning(*t.c)
    )


def _mark_coming_up(postgres: bool) -> Any:
    pick = select(t.c.id).where(
        t.c.id == bindparam("p_ticket_id"), t.c.status == _WAITING, t.c.coming_up_sent.is_(False)
    )
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(t)
        .where(t.c.id == pick.scalar_subquery(), t.c.coming_up_sent.is_(False))
        .values(coming_up_sent=True)
    )


def _next_number(dialect: str) -> Any:
    return (
        insert_built_once(seqs, dialect)
        .values(
            office_id=bindparam("p_office"),
            day=bindparam("p_on_day"),
            prefix=bindparam("p_of_prefix"),
            last_number=1,
        )
        .on_conflict_do_update(
            index_elements=[seqs.c.office_id, seqs.c.day, seqs.c.prefix],
            set_={"last_number": seqs.c.last_number + 1},
        )
        .returning(seqs.c.last_number)
    )


_CALL_NEXT = _call_next()
_MARK_COMING_UP = {True: _mark_coming_up(True), False: _mark_coming_up(False)}
_NEXT_NUMBER = {True: _next_number("postgresql"), False: _next_number("sqlite")}
_FINISH_AT_COUNTER = (
    update(t)
    .where(
        t.c.office_id == bindparam("p_office_id"),
        t.c.counter == bindparam("p_at_counter"),
        t.c.status == _CALLED,
    )
    .values(status=bindparam("p_to_status"), finished_at=bindparam("p_now"))
    .returning(*t.c)
)
# PostgreSQL: _FINISH_AT_COUNTER for each counter of ``p_counters``, with each ticket's
# QueueChanged (_announced), one statement that commits by itself (decisions 129, 131).
_FINISH_AT_COUNTERS_ANNOUNCED = (
    text(
        f"WITH asked AS (SELECT * FROM unnest(CAST(:p_counters AS integer[]), {_ANNOUNCED_ARRAYS}) "
        f"AS a(at_counter, o_id, o_head)), "
        f"done AS (UPDATE {t.name} SET status = :p_to_status, finished_at = :p_now FROM asked "
        f"WHERE office_id = :p_office_id AND counter = asked.at_counter AND status = '{_CALLED}' "
        f"RETURNING {t.name}.*), "
        f"announced AS ({_announced('done', 'asked', 'ON done.counter = asked.at_counter')}) "
        f"SELECT {', '.join(c.name for c in t.c)} FROM done"
    )
    .bindparams(bindparam("p_now", type_=t.c.finished_at.type), *_ANNOUNCED_PARAMS)
    .columns(*t.c)
)
_HEAD = select(t).where(_TODAY_WAITING).order_by(*_QUEUE_ORDER).limit(bindparam("p_limit", type_=Integer))


def _call_many() -> Any:
    """PostgreSQL: the calls of a batch (decision 131), ``p_counters`` with
    ``p_clerks`` (distinct counters, distinct clerks), and the head of the queue
    after them, in one statement. Each call (``n``: its place in the batch, from 1)
    whose counter or clerk has a called ticket is a row 'busy' and takes nothing
    (what decides between ``ticket_in_service`` and "nobody waits", whether or not
    anyone waits); the others take the first waiting tickets, in the queue's order,
    one each in the batch's order, as they would one after the other: rows
    'called' (fewer than the free calls when fewer wait). The tickets are locked
    as they are picked, skipping those another transaction holds (``FOR UPDATE
    SKIP LOCKED``), and ``status = 'waiting'`` in the UPDATE's own WHERE re-checks.
    Then the first ``p_limit`` waiting tickets but those called ('head'), in the
    queue's order; last, always, a row 'office' with the office's version
    (``office_version``, _OFFICE_VERSION), which checks the office this process
    kept in memory. The head is read in the calls' snapshot, as the next statement
    would have read it save for calls committed meanwhile, which "coming up" does
    not need: it is marked once by a conditional UPDATE."""
    unnest = func.unnest(
        bindparam("p_counters", type_=postgresql.ARRAY(Integer)),
        bindparam("p_clerks", type_=postgresql.ARRAY(Text)),
    ).table_valued("counter", "clerk_id", with_ordinality="n")
    asked = select(unnest.render_derived(name="asked")).cte("asked")
    other = t.alias("other")
    busy = (
        select(asked.c.n)
        .where(
            exists(
                select(other.c.id).where(
                    other.c.status == _CALLED,
                    and_(other.c.office_id == bindparam("p_office_id"), other.c.counter == asked.c.counter)
                    | (other.c.clerk_id == asked.c.clerk_id),
                )
            )
        )
        .cte("busy")
    )
    free = (
        select(*asked.c, func.row_number().over(order_by=asked.c.n).label("k"))
        .where(asked.c.n.not_in(select(busy.c.n)))
        .cte("free")
    )
    waiting = (
        select(t.c.id, *_QUEUE_ORDER)
        .where(_TODAY_WAITING)
        .order_by(*_QUEUE_ORDER)
        .limit(select(func.count()).select_from(free).scalar_subquery())
        .with_for_update(skip_locked=True)
        .subquery("waiting")
    )
    order = [waiting.c[c.name] for c in _QUEUE_ORDER]
    picked = select(waiting.c.id, func.row_number().over(order_by=order).label("k")).cte("picked")
    called = (
        update(t)
        .where(t.c.id == picked.c.id, picked.c.k == free.c.k, t.c.status == _WAITING)
        .values(
            status=_CALLED,
            counter=free.c.counter,
            clerk_id=free.c.clerk_id,
            calls=1,
            called_at=bindparam("p_now", type_=t.c.called_at.type),
        )
        .returning(free.c.n, *t.c)
        .cte("called")
    )
    head = (
        select(t)
        .where(_TODAY_WAITING, t.c.id.not_in(select(called.c.id)))
        .order_by(*_QUEUE_ORDER)
        .limit(bindparam("p_limit", type_=Integer))
        .subquery("head")
    )
    no_version = cast(null(), Text).label("office_version")
    no_n = cast(null(), Integer).label("n")
    nothing = [null().label(c.name) for c in t.c]
    parts = union_all(
        select(literal_column("'busy'").label("part"), busy.c.n, *nothing, no_version),
        select(
            literal_column("'called'").label("part"), called.c.n, *(called.c[c.name] for c in t.c), no_version
        ),
        select(literal_column("'head'").label("part"), no_n, *(head.c[c.name] for c in t.c), no_version),
        select(literal_column("'office'").label("part"), no_n, *nothing, _OFFICE_VERSION),
    ).subquery("parts")
    # 'busy', 'called', 'head', 'office': the head in the queue's order, the office last.
    return select(parts).order_by(parts.c.part, *(parts.c[c.name] for c in _QUEUE_ORDER))


def _average_service(postgres: bool) -> Any:
    """The mean service time, in seconds, of the office's last RECENT_SERVED tickets
    served today (NULL before the first), computed where the rows are."""
    seconds: ColumnElement[Any]
    if postgres:
        seconds = extract("epoch", t.c.finished_at - t.c.called_at)
    else:
        # SQLite keeps times as text, which julianday reads as days: a double that
        # far from its epoch is good to ~50 µs, so the seconds are rounded to the ms.
        days = func.julianday(t.c.finished_at) - func.julianday(t.c.called_at)
        seconds = func.round(days * 86400.0, 3)
    recent = (
        select(seconds.label("seconds"))
        .where(
            t.c.office_id == bindparam("p_office_id"),
            t.c.day == bindparam("p_day"),
            t.c.status == _SERVED,
            t.c.called_at.is_not(None),
        )
        .order_by(t.c.finished_at.desc())
        .limit(RECENT_SERVED)
        .subquery()
    )
    return select(func.avg(recent.c.seconds).cast(Float)).scalar_subquery()


def _standing(issued: bool, postgres: bool, asked: Any = None) -> Any:
    """Where a ticket stands (a Place); for one not yet issued also the category of
    its business at its office (its prefix; NULL where the office does not handle
    it): what a check-in reads, in one statement. ``asked`` (not issued): a table
    of tickets (``rank``, ``order_at``, ``business_code``, ``n``), a row for each,
    instead of the one ticket's parameters."""
    rank: ColumnElement[Any] = bindparam("p_rank", type_=Integer) if asked is None else asked.c.rank
    at: ColumnElement[Any] = (
        bindparam("p_order_at", type_=t.c.order_at.type) if asked is None else asked.c.order_at
    )
    if issued:
        own = select(t.c.seq).where(t.c.id == bindparam("p_ticket_id")).scalar_subquery()
        tie = and_(t.c.priority_rank == rank, t.c.order_at == at, t.c.seq < own)
    else:
        tie = and_(t.c.priority_rank == rank, t.c.order_at == at)
    ahead = (
        select(func.count())
        .where(
            _TODAY_WAITING,
            (t.c.priority_rank < rank) | and_(t.c.priority_rank == rank, t.c.order_at < at) | tie,
        )
        .scalar_subquery()
    )
    counters = (
        select(func.count())
        .where(
            t.c.office_id == bindparam("p_office_id"), t.c.day == bindparam("p_day"), t.c.status == _CALLED
        )
        .scalar_subquery()
    )
    place = [ahead.label("ahead"), counters.label("counters"), _average_service(postgres).label("average")]
    if issued:
        return select(*place)
    business = bindparam("p_business_code") if asked is None else asked.c.business_code
    category = (
        select(orm.businesses.c.category)
        .join(orm.office_businesses, orm.office_businesses.c.business_code == orm.businesses.c.code)
        .where(
            orm.businesses.c.city_code == bindparam("p_city_code"),
            orm.businesses.c.code == business,
            orm.office_businesses.c.office_id == bindparam("p_office_id"),
        )
        .scalar_subquery()
    )
    if asked is None:
        return select(*place, category.label("category"))
    return select(asked.c.n, *place, category.label("category")).order_by(asked.c.n)


def _new_ticket_places() -> Any:
    """PostgreSQL: :meth:`SqlHallRepository.new_ticket_places`' statement: the place
    and category of each ticket of ``p_ranks``, ``p_order_ats`` and
    ``p_businesses``, in their order, each row with the office's version."""
    asked = (
        func.unnest(
            bindparam("p_ranks", type_=postgresql.ARRAY(Integer)),
            bindparam("p_order_ats", type_=postgresql.ARRAY(t.c.order_at.type)),
            bindparam("p_businesses", type_=postgresql.ARRAY(Text)),
        )
        .table_valued("rank", "order_at", "business_code", with_ordinality="n")
        .render_derived(name="asked")
    )
    return _standing(False, True, asked).add_columns(_OFFICE_VERSION)


_STANDING = {(issued, pg): _standing(issued, pg) for issued in (True, False) for pg in (True, False)}
_NEW_TICKET_PLACES_PG = _new_ticket_places()
# A booking checked in: only from confirmed. On PostgreSQL with the place of its
# ticket to be, in one statement.
_CHECK_IN = (
    update(b)
    .where(b.c.id == bindparam("p_booking_id"), b.c.status == BookingStatus.CONFIRMED.value)
    .values(status=BookingStatus.CHECKED_IN.value, changed_at=bindparam("p_now"))
)
_CHECKED_IN = _CHECK_IN.returning(b.c.id).cte("checked_in")
_CHECK_IN_PLACE = _STANDING[False, True].add_columns(exists(select(_CHECKED_IN.c.id)).label("checked_in"))


def _queue_today(postgres: bool) -> Any:
    """The office's waiting and called tickets of the day, in the queue's order, each
    row with the recent average service time: the display's whole queue in one
    statement (it was three), read once per change for the boards (decision 61).
    With no ticket, one row: the average, the ticket's columns null."""
    version = [_OFFICE_VERSION] if postgres else []
    recent = select(_average_service(postgres).label("average"), *version).subquery("recent")
    today = and_(
        t.c.office_id == bindparam("p_office_id"),
        t.c.day == bindparam("p_day"),
        t.c.status.in_([_WAITING, _CALLED]),
    )
    return select(*recent.c, t).select_from(recent.outerjoin(t, today)).order_by(*_QUEUE_ORDER)


_QUEUE_TODAY = {pg: _queue_today(pg) for pg in (True, False)}
_CALL_MANY = _call_many()


#: A process's hall offices as it last read them, by id: (version, office).
KnownOffices = dict[str, tuple[str, HallOffice]]


class SqlHallRepository:
    """``offices``: the process's offices as last read (its unit of work's), used on
    PostgreSQL, where each is checked by its version (_OFFICE_VERSION) in a statement
    the use case makes anyway, so a change made by any process is seen by the next
    statement of every other, with no round trip of its own (decision 120). SQLite
    (one machine) reads the office at each use."""

    def __init__(self, conn: AsyncConnection, offices: KnownOffices | None = None) -> None:
        self.conn = conn
        self._insert = dialect_insert(conn.dialect.name)
        self._postgres = conn.dialect.name == "postgresql"
        self._offices = offices if self._postgres and offices is not None else None
        #: (office id, version) of the office known_office gave from memory, until
        #: a statement has checked it.
        self._assumed: tuple[str, str] | None = None
        #: A statement of this repository wrote an outbox row (the relay's wake-up).
        self.announced = False

    @property
    def writes_alone(self) -> bool:
        """A statement here commits by itself: PostgreSQL outside a transaction (the
        read of ``read_then_write``), where a change and its ``QueueChanged`` are
        written by one statement (``announce``)."""
        sync = self.conn.sync_connection
        outside = sync is not None and sync.get_execution_options().get("isolation_level") == AUTOCOMMIT
        return self._postgres and outside

    def _announce(self, office_id: str, counters: list[int], change: str) -> dict[str, Any]:
        """The parameters of _announced, a row for each ticket changed at (or by a
        walk-in, 0) ``counters``: the event's fields but the ticket's city and code
        (occurred now, as SqlUnitOfWork.write dates the events it writes), and the
        outbox row's own (its id, the trace context to carry on)."""
        assert self.writes_alone, "only a statement that commits by itself writes its own event"
        now = dt.datetime.now(dt.UTC)
        heads = [event_mapper.queue_changed(office_id, counter, change, now) for counter in counters]
        records = outbox.outbox_records(heads)
        _, subject, event_type, _, headers, created_at = records[0]
        self.announced = True
        return {
            "o_ids": [r[0] for r in records],
            "o_heads": [r[3] for r in records],
            "o_subject": subject,
            "o_event_type": event_type,
            "o_headers": headers,
            "o_created_at": created_at,
        }

    async def hall_office(self, office_id: str) -> HallOffice | None:
        if self._offices is None:
            row = (await self.conn.execute(_HALL_OFFICE, {"p_office_id": office_id})).first()
            return None if row is None else _hall_office(row)
        row = (await self.conn.execute(_HALL_OFFICE_PG, {"p_office_id": office_id})).first()
        return None if row is None else self._office_of(row)

    async def known_office(self, office_id: str) -> HallOffice | None:
        if self._offices is not None and (known := self._offices.get(office_id)) is not None:
            self._assumed = (office_id, known[0])
            return known[1]
        return await self.hall_office(office_id)

    def _office_of(self, row: Row[Any]) -> HallOffice:
        """The office of a row with its version (PostgreSQL), kept for known_office;
        the one kept already if the version is the same (the rules' conversion saved)."""
        assert self._offices is not None
        known = self._offices.get(row.id)
        if known is not None and known[0] == row.office_version:
            return known[1]
        office = _hall_office(row)
        self._offices[row.id] = (row.office_version, office)
        return office

    def _check_office(self, version: str | None) -> None:
        """The version of the office known_office gave from memory, read by this
        transaction's statement now: OfficeChanged (and the office forgotten) if the
        office or its city changed since it was read, or it is gone."""
        if self._assumed is None:
            return
        (office_id, assumed), self._assumed = self._assumed, None
        if version != assumed:
            assert self._offices is not None
            self._offices.pop(office_id, None)
            raise OfficeChanged(office_id)

    async def _busy(self, office_id: str, counter: int, clerk_id: str) -> bool:
        """Whether the counter or the clerk has a called ticket."""
        params = {"p_office_id": office_id, "p_counter": counter, "p_clerk_id": clerk_id}
        row = (await self.conn.execute(_BUSY, params)).first()
        return row is not None

    async def next_number(self, office_id: str, day: dt.date, prefix: str) -> int:
        params = {"p_office": office_id, "p_on_day": day, "p_of_prefix": prefix}
        return int((await self.conn.execute(_NEXT_NUMBER[self._postgres], params)).scalar_one())

    async def add_ticket(self, ticket: Ticket, *, coming_up_sent: bool = False) -> None:
        await self.conn.execute(_INSERT_TICKET, {**_row(ticket), "coming_up_sent": coming_up_sent})

    async def add_numbered_ticket(self, ticket: Ticket, *, coming_up_sent: bool = False) -> Ticket:
        """Number the ticket (the next of its office, day and prefix) and insert it:
        on PostgreSQL one statement (_ADD_NUMBERED: one round trip, not two, and
        its text compiled once, where the upsert's ON CONFLICT was compiled at every
        call: SQLAlchemy does not cache it); on SQLite the two statements."""
        if not self._postgres:
            number = await self.next_number(ticket.office_id, ticket.day, ticket.prefix)
            numbered = dataclasses.replace(ticket, number=number)
            await self.add_ticket(numbered, coming_up_sent=coming_up_sent)
            return numbered
        params = {**_row(ticket), "coming_up_sent": coming_up_sent}
        del params["number"]
        number = (await self.conn.execute(_ADD_NUMBERED, params)).scalar_one()
        return dataclasses.replace(ticket, number=int(number))

    async def add_walk_ins(self, tickets: list[Ticket], *, announce: bool = False) -> list[Ticket]:
        """Number the tickets, in their order (each the next of its office, day and
        prefix), and insert them. ``announce`` (only where :attr:`writes_alone`):
        each with its ``QueueChanged`` ("issued"), all in one statement
        (_ADD_WALK_INS); otherwise one :meth:`add_numbered_ticket` each."""
        if not announce:
            return [await self.add_numbered_ticket(ticket) for ticket in tickets]
        rows = [{**_row(x), "coming_up_sent": False} for x in tickets]
        params = {name: [row[name] for row in rows] for name in rows[0] if name != "number"}
        params |= self._announce(tickets[0].office_id, [0] * len(tickets), "issued")
        numbers = dict((await self.conn.execute(_ADD_WALK_INS, params)).tuples().all())
        return [dataclasses.replace(x, number=int(numbers[x.id])) for x in tickets]

    async def office_and_booking(self, office_id: str, code: str) -> tuple[HallOffice | None, Booking | None]:
        """The office (as :meth:`hall_office`) and the booking of that confirmation
        code there, whatever its day (codes are unique), in one statement: a
        check-in's first two reads in one round trip."""
        statement = _OFFICE_AND_BOOKING if self._offices is None else _OFFICE_AND_BOOKING_PG
        row = (await self.conn.execute(statement, {"p_office_id": office_id, "p_code": code})).first()
        if row is None:
            return None, None
        office = _hall_office(row) if self._offices is None else self._office_of(row)
        if row.bk_id is None:
            return office, None
        # The booking's columns, unprefixed, read by name as a Row's are.
        columns: Any = _Prefixed(
            {key[3:]: value for key, value in row._mapping.items() if key.startswith("bk_")}
        )
        return office, _booking(columns)

    async def ticket_for_booking(self, booking_id: str) -> Ticket | None:
        row = (await self.conn.execute(_TICKET_FOR_BOOKING, {"p_booking_id": booking_id})).first()
        return None if row is None else _ticket(row)

    async def get_ticket(self, ticket_id: str, citizen_id: str | None = None) -> Ticket | None:
        query = select(t).where(t.c.id == ticket_id)
        if citizen_id is not None:
            query = query.where(t.c.citizen_id == citizen_id)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _ticket(row)

    async def called_at_counter(self, office_id: str, counter: int) -> Ticket | None:
        row = (
            await self.conn.execute(
                select(t).where(
                    t.c.office_id == office_id,
                    t.c.counter == counter,
                    t.c.status == TicketStatus.CALLED.value,
                )
            )
        ).first()
        return None if row is None else _ticket(row)

    async def call_many(
        self, office_id: str, day: dt.date, calls: list[tuple[int, str]], now: dt.datetime, *, head: int
    ) -> Called:
        """Each of ``calls`` ((counter, clerk), distinct counters and clerks) takes the
        next waiting ticket, in the batch's order, unless its counter or clerk has a
        called ticket; with what :meth:`head_to_tell` answers after them for
        ``head`` (when a ticket was called). One statement on PostgreSQL
        (_CALL_MANY), whatever the batch's size; raises Occupied when a call
        committed meanwhile elsewhere (another process) collided with one of the
        batch's on the partial unique indexes: the statement, the call's
        transaction's first write, rolled back whole. On SQLite (one writer) each
        call asks whether it is busy, then calls."""
        if not self._postgres:
            return await self._call_each(office_id, day, calls, now, head=head)
        params = {
            "p_office_id": office_id,
            "p_day": day,
            "p_counters": [counter for counter, _ in calls],
            "p_clerks": [clerk_id for _, clerk_id in calls],
            "p_now": now,
            "p_limit": head,
        }
        # No savepoint (two round trips more a batch): the calls are the
        # transaction's first write, so a collision rolls the whole of it back.
        try:
            rows = (await self.conn.execute(_CALL_MANY, params)).all()
        except IntegrityError as exc:
            raise Occupied from exc
        *rows, office = rows
        self._check_office(office.office_version)
        tickets: list[Ticket | None] = [None] * len(calls)
        busy: set[int] = set()
        waiting: list[Row[Any]] = []
        for row in rows:
            if row.part == "busy":
                busy.add(row.n - 1)
            elif row.part == "called":
                tickets[row.n - 1] = _ticket(row)
            else:
                waiting.append(row)
        told = _to_tell(enumerate(waiting)) if any(tickets) else []
        return Called(tickets, frozenset(busy), told)

    async def _call_each(
        self, office_id: str, day: dt.date, calls: list[tuple[int, str]], now: dt.datetime, *, head: int
    ) -> Called:
        tickets: list[Ticket | None] = []
        busy: set[int] = set()
        for n, (counter, clerk_id) in enumerate(calls):
            if await self._busy(office_id, counter, clerk_id):
                busy.add(n)
                tickets.append(None)
                continue
            params = {
                "p_office_id": office_id,
                "p_day": day,
                "p_to_counter": counter,
                "p_by_clerk": clerk_id,
                "p_now": now,
            }
            row = (await self.conn.execute(_CALL_NEXT, params)).first()
            tickets.append(None if row is None else _ticket(row))
        told = await self.head_to_tell(office_id, day, head) if any(tickets) else []
        return Called(tickets, frozenset(busy), told)

    async def recall(self, ticket_id: str) -> Ticket | None:
        row = (
            await self.conn.execute(
                update(t)
                .where(t.c.id == ticket_id, t.c.status == TicketStatus.CALLED.value)
                .values(calls=t.c.calls + 1)
                .returning(*t.c)
            )
        ).first()
        return None if row is None else _ticket(row)

    async def finish(self, ticket_id: str, status: TicketStatus, now: dt.datetime) -> Ticket | None:
        """Only a called ticket ends: of two concurrent ends, one wins, one sees None."""
        row = (
            await self.conn.execute(
                update(t)
                .where(t.c.id == ticket_id, t.c.status == TicketStatus.CALLED.value)
                .values(status=status.value, finished_at=now)
                .returning(*t.c)
            )
        ).first()
        return None if row is None else _ticket(row)

    async def finish_at_counter(
        self, office_id: str, counter: int, status: TicketStatus, now: dt.datetime
    ) -> Ticket | None:
        """End the ticket called to the counter in one UPDATE (no read before it);
        None when the counter has none called."""
        params = {
            "p_office_id": office_id,
            "p_at_counter": counter,
            "p_to_status": status.value,
            "p_now": now,
        }
        row = (await self.conn.execute(_FINISH_AT_COUNTER, params)).first()
        return None if row is None else _ticket(row)

    async def finish_at_counters(
        self,
        office_id: str,
        counters: list[int],
        status: TicketStatus,
        now: dt.datetime,
        *,
        announce: bool = False,
    ) -> list[Ticket | None]:
        """:meth:`finish_at_counter` for each of ``counters`` (distinct). ``announce``
        (only where :attr:`writes_alone`): each with its ``QueueChanged``, all in
        one statement (_FINISH_AT_COUNTERS_ANNOUNCED)."""
        if not announce:
            return [await self.finish_at_counter(office_id, counter, status, now) for counter in counters]
        params = {
            "p_office_id": office_id,
            "p_counters": counters,
            "p_to_status": status.value,
            "p_now": now,
        } | self._announce(office_id, counters, status.value)
        done = {
            row.counter: _ticket(row)
            for row in await self.conn.execute(_FINISH_AT_COUNTERS_ANNOUNCED, params)
        }
        return [done.get(counter) for counter in counters]

    async def queue_today(
        self, office_id: str, day: dt.date
    ) -> tuple[list[Ticket], list[Ticket], dt.timedelta | None]:
        """The office's waiting tickets of the day in the queue's order, its called
        ones by counter, and its recent average service time (None before the first
        served), in one statement."""
        params = {"p_office_id": office_id, "p_day": day}
        rows = (await self.conn.execute(_QUEUE_TODAY[self._postgres], params)).all()
        if self._postgres:
            self._check_office(rows[0].office_version)
        tickets = [_ticket(r) for r in rows if r.id is not None]
        average = rows[0].average
        return (
            [x for x in tickets if x.status is TicketStatus.WAITING],
            sorted((x for x in tickets if x.status is TicketStatus.CALLED), key=lambda x: x.counter or 0),
            None if average is None else dt.timedelta(seconds=average),
        )

    async def called(self, office_id: str, day: dt.date | None = None) -> list[Ticket]:
        query = select(t).where(t.c.status == TicketStatus.CALLED.value).order_by(t.c.counter)
        if office_id:
            query = query.where(t.c.office_id == office_id)
        if day is not None:
            query = query.where(t.c.day == day)
        return [_ticket(r) for r in await self.conn.execute(query)]

    async def standing(self, ticket: Ticket) -> Place:
        """Where an issued ticket stands, in one statement."""
        row = (await self.conn.execute(_STANDING[True, self._postgres], _place_params(ticket))).one()
        return _place(row)

    async def new_ticket_places(self, tickets: list[Ticket]) -> list[tuple[Place, str | None]]:
        """Where each ticket, not inserted yet, will stand (every waiting ticket of
        its rank and time is ahead of it; not the others of ``tickets``), and the
        category of its business at its office (None: not handled there): one
        statement on PostgreSQL (tickets of one office and day), one a ticket on
        SQLite."""
        if not self._postgres:
            return [await self._new_ticket_place(ticket) for ticket in tickets]
        first = tickets[0]
        params = {
            "p_office_id": first.office_id,
            "p_day": first.day,
            "p_city_code": first.city_code,
            "p_ranks": [x.priority_rank for x in tickets],
            "p_order_ats": [x.order_at for x in tickets],
            "p_businesses": [x.business_code for x in tickets],
        }
        rows = (await self.conn.execute(_NEW_TICKET_PLACES_PG, params)).all()
        self._check_office(rows[0].office_version)
        return [(_place(row), None if row.category is None else str(row.category)) for row in rows]

    async def _new_ticket_place(self, ticket: Ticket) -> tuple[Place, str | None]:
        params = {
            **_place_params(ticket),
            "p_city_code": ticket.city_code,
            "p_business_code": ticket.business_code,
        }
        row = (await self.conn.execute(_STANDING[False, self._postgres], params)).one()
        return _place(row), None if row.category is None else str(row.category)

    async def check_in_place(self, ticket: Ticket, now: dt.datetime) -> tuple[bool, Place, str | None]:
        """Check the ticket's booking in (only from confirmed: of two concurrent
        check-ins one wins, the other sees False), with what :meth:`new_ticket_places`
        reads: one statement on PostgreSQL, where it was two round trips; two on
        SQLite."""
        assert ticket.booking_id is not None
        if not self._postgres:
            result = await self.conn.execute(_CHECK_IN, {"p_booking_id": ticket.booking_id, "p_now": now})
            return (result.rowcount == 1, *await self._new_ticket_place(ticket))
        params = {
            **_place_params(ticket),
            "p_city_code": ticket.city_code,
            "p_business_code": ticket.business_code,
            "p_booking_id": ticket.booking_id,
            "p_now": now,
        }
        row = (await self.conn.execute(_CHECK_IN_PLACE, params)).one()
        return bool(row.checked_in), _place(row), None if row.category is None else str(row.category)

    async def head_to_tell(self, office_id: str, day: dt.date, limit: int) -> list[tuple[int, Ticket]]:
        """The first ``limit`` waiting tickets, with their places (0: next), of those
        with a booking and no "coming up" sent yet: usually none, and then no UPDATE."""
        rows = await self.conn.execute(_HEAD, {"p_office_id": office_id, "p_day": day, "p_limit": limit})
        return _to_tell(enumerate(rows))

    async def mark_coming_up(self, ticket_id: str) -> bool:
        """Only a waiting ticket nobody else holds: a ticket another clerk is calling
        right now is skipped (PostgreSQL), not waited for, so two clerks telling each
        other's next tickets cannot deadlock; the next call looks again."""
        result = await self.conn.execute(_MARK_COMING_UP[self._postgres], {"p_ticket_id": ticket_id})
        return result.rowcount == 1


def _hall_office(row: Row[Any]) -> HallOffice:
    return HallOffice(
        row.id,
        row.city_code,
        row.time_zone,
        row.walk_in_allowed,
        row.name,
        row.name_en,
        BookingRules.from_json(row.rules).hall,
        frozenset(dt.date.fromisoformat(d) for d in row.closed_dates),
    )


def _to_tell(head: Iterable[tuple[int, Row[Any]]]) -> list[tuple[int, Ticket]]:
    return [(n, _ticket(r)) for n, r in head if r.booking_id is not None and not r.coming_up_sent]


def _place_params(ticket: Ticket) -> dict[str, Any]:
    return {
        "p_office_id": ticket.office_id,
        "p_day": ticket.day,
        "p_rank": ticket.priority_rank,
        "p_order_at": ticket.order_at,
        "p_ticket_id": ticket.id,
    }


def _place(row: Row[Any]) -> Place:
    average = None if row.average is None else dt.timedelta(seconds=row.average)
    return Place(int(row.ahead), int(row.counters), average)


def _row(x: Ticket) -> dict[str, Any]:
    return {
        "id": x.id,
        "office_id": x.office_id,
        "city_code": x.city_code,
        "day": x.day,
        "prefix": x.prefix,
        "number": x.number,
        "business_code": x.business_code,
        "booking_id": x.booking_id,
        "citizen_id": x.citizen_id,
        "priority_group": x.priority_group,
        "priority_rank": x.priority_rank,
        "order_at": x.order_at,
        "status": x.status.value,
        "issued_at": x.issued_at,
        "issued_by": x.issued_by,
        "counter": x.counter,
        "clerk_id": x.clerk_id,
        "calls": x.calls,
        "called_at": x.called_at,
        "finished_at": x.finished_at,
    }


def _ticket(r: Row[Any]) -> Ticket:
    # The row's values by name from a dict made once: a Row finds an attribute by
    # __getattr__ after the usual lookup failed (~0.7 µs each here, 20 a ticket), and
    # the display's queue converts every ticket of the day at each read (22 → 13 µs
    # a ticket in process).
    c = dict(zip(r._fields, r, strict=True))
    return Ticket(
        id=c["id"],
        office_id=c["office_id"],
        city_code=c["city_code"],
        day=c["day"],
        prefix=c["prefix"],
        number=c["number"],
        business_code=c["business_code"],
        booking_id=c["booking_id"],
        citizen_id=c["citizen_id"],
        priority_group=c["priority_group"],
        priority_rank=c["priority_rank"],
        order_at=_utc(c["order_at"]),
        status=TicketStatus(c["status"]),
        issued_at=_utc(c["issued_at"]),
        issued_by=c["issued_by"],
        counter=c["counter"],
        clerk_id=c["clerk_id"],
        calls=c["calls"],
        called_at=None if c["called_at"] is None else as_utc(c["called_at"]),
        finished_at=None if c["finished_at"] is None else as_utc(c["finished_at"]),
    )


def _utc(value: dt.datetime | None) -> dt.datetime:
    """A NOT NULL time column (or one the query filtered on), in UTC."""
    found = as_utc(value)
    assert found is not None
    return found
