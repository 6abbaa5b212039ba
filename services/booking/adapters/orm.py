"""The booking database: SQLAlchemy Core tables (the domain stays unmapped)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)

from services.runtime.audit import audit_table
from services.runtime.consumer import processed_events_table
from services.runtime.db import NAMING_CONVENTION
from services.runtime.outbox import outbox_table

metadata = MetaData(naming_convention=NAMING_CONVENTION)

cities = Table(
    "cities",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    # The city's booking rules (domain.bookings.BookingRules.to_json); NULL = defaults.
    Column("rules", JSON, nullable=True),
    # Texts are Chinese first; each `_en` column is the English twin ("" or []:
    # none written, the Chinese serves).
    Column("name_en", String(200), nullable=False, server_default=""),
)

businesses = Table(
    "businesses",
    metadata,
    Column("city_code", String(64), ForeignKey("cities.code"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("category", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("service_guide", Text, nullable=False),
    Column("materials", JSON, nullable=False),
    Column("phone", String(64), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("handling", String(32), nullable=False),
    Column("requires_pre_application", Boolean, nullable=False),
    Column("channels", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("announcement", Text, nullable=False),
    Column("name_en", String(200), nullable=False, server_default=""),
    Column("service_guide_en", Text, nullable=False, server_default=""),
    Column("materials_en", JSON, nullable=False, server_default="[]"),
    Column("announcement_en", Text, nullable=False, server_default=""),
)

offices = Table(
    "offices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("city_code", String(64), ForeignKey("cities.code"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("address", Text, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("phone", String(64), nullable=False),
    # [[weekday, "HH:MM", "HH:MM"], ...]: read whole with the office, never queried into.
    Column("opening_hours", JSON, nullable=False),
    Column("walk_in_allowed", Boolean, nullable=False),
    Column("visit_requirements", JSON, nullable=False),
    Column("closed_dates", JSON, nullable=False),
    Column("name_en", String(200), nullable=False, server_default=""),
    Column("address_en", Text, nullable=False, server_default=""),
    Column("visit_requirements_en", JSON, nullable=False, server_default="[]"),
)

slot_groups = Table(
    "slot_groups",
    metadata,
    Column("office_id", String(64), ForeignKey("offices.id"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("position", Integer, nullable=False),
)

# Which office handles which business, and in which group's slots: the table the
# "offices for this business" search reads.
office_businesses = Table(
    "office_businesses",
    metadata,
    Column("office_id", String(64), primary_key=True),
    Column("business_code", String(64), primary_key=True, index=True),
    Column("group_code", String(64), nullable=False),
    ForeignKeyConstraint(["office_id", "group_code"], ["slot_groups.office_id", "slot_groups.code"]),
)

slots = Table(
    "slots",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("office_id", String(64), ForeignKey("offices.id"), nullable=False),
    Column("group_code", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
    Column("capacity", Integer, nullable=False),
    # Places taken by active bookings…
    Column("booked", Integer, nullable=False, server_default="0"),
    # …and places held for a citizen from the waitlist until they confirm.
    Column("held", Integer, nullable=False, server_default="0"),
    # Closed by an office closure (a policy): no place is taken or held in it, whatever
    # the counts say; the conditional updates that take and hold places check it.
    Column("closed", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("office_id", "group_code", "date", "start_time"),
    # The second guard against overbooking (the first is the conditional update):
    # the database itself refuses it.
    CheckConstraint("booked >= 0 AND held >= 0 AND booked + held <= capacity", name="booked_within_capacity"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(64), nullable=False, index=True),
    Column("city_code", String(64), nullable=False),
    Column("business_code", String(64), nullable=False),
    Column("office_id", String(64), nullable=False),
    Column("slot_id", BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("slots.id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("confirmation_code", String(16), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("reason_code", String(64), nullable=False, server_default=""),
    Column("destination", String(64), nullable=False, server_default=""),
    Column("pre_application_id", String(64), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=True),
    # One active booking per citizen per business, guarded by the database: two
    # concurrent requests for different slots cannot both pass.
    Index(
        "uq_bookings_one_active",
        "citizen_id",
        "city_code",
        "business_code",
        unique=True,
        sqlite_where=text("status = 'confirmed'"),
        postgresql_where=text("status = 'confirmed'"),
    ),
    Index("ix_bookings_office_id_date", "office_id", "date"),
    Index("ix_bookings_slot_id", "slot_id"),
)

# A request's idempotency key, written in the booking's own transaction: a retry
# finds it and replays the answer; a concurrent twin waits on it, then replays.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("citizen_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    # The order of joining: first come, first offered (timestamps can tie).
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("citizen_id", String(64), nullable=False, index=True),
    Column("city_code", String(64), nullable=False),
    Column("business_code", String(64), nullable=False),
    Column("office_id", String(64), nullable=False),
    Column("group_code", String(64), nullable=False),
    # NULL: the earliest place at the office.
    Column("slot_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    # reason_code / destination / pre_application_id, checked when joining.
    Column("request", JSON, nullable=False),
    Column("held_slot_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=True),
    Column("hold_expires_at", DateTime(timezone=True), nullable=True),
    Column("booking_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # One open entry per citizen per business: a waitlist is no way round the
    # one-active-booking rule.
    Index(
        "uq_waitlist_entries_one_open",
        "citizen_id",
        "city_code",
        "business_code",
        unique=True,
        sqlite_where=text("status IN ('waiting', 'offered')"),
        postgresql_where=text("status IN ('waiting', 'offered')"),
    ),
    Index("ix_waitlist_entries_office_id_group_code_status", "office_id", "group_code", "status"),
    Index("ix_waitlist_entries_status_hold_expires_at", "status", "hold_expires_at"),
)

# The form each business's pre-application asks (catalogue data, per city):
# domain.preapplications.Form.to_json.
pre_application_forms = Table(
    "pre_application_forms",
    metadata,
    Column("city_code", String(64), primary_key=True),
    Column("business_code", String(64), primary_key=True),
    Column("form", JSON, nullable=False),
)

# Citizens' online pre-applications. The answers are personal data: one sealed
# JSON object (the service's cipher), never queried into.
pre_applications = Table(
    "pre_applications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(64), nullable=False, index=True),
    Column("city_code", String(64), nullable=False),
    Column("business_code", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("answers_sealed", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    # The reviewers' queue: a city's submitted ones, oldest first.
    Index("ix_pre_applications_queue", "city_code", "status", "submitted_at"),
)

# Every state change of a pre-application: when, from what, to what, by whom, why.
pre_application_changes = Table(
    "pre_application_changes",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("pre_application_id", String(36), ForeignKey("pre_applications.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("old_status", String(32), nullable=True),
    Column("new_status", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
)

# Documents attached to a pre-application. The bytes are in the object store,
# sealed; this row says where and what they are.
pre_application_attachments = Table(
    "pre_application_attachments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pre_application_id", String(36), ForeignKey("pre_applications.id"), nullable=False, index=True),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("object_key", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What an approval issues: one booking of the business by the citizen until it
# expires. booking_id: the booking that consumed it (NULL: unused, or given back).
booking_entitlements = Table(
    "booking_entitlements",
    metadata,
    Column("pre_application_id", String(64), primary_key=True),
    Column("citizen_id", String(64), nullable=False, index=True),
    Column("city_code", String(64), nullable=False),
    Column("business_code", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("booking_id", String(36), nullable=True, unique=True),
)

# The hall's ticket numbers (decision 49): one row per office, day and prefix,
# advanced by one atomic upsert, so two check-ins never read the same last number.
hall_sequences = Table(
    "hall_sequences",
    metadata,
    Column("office_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("prefix", String(2), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

hall_tickets = Table(
    "hall_tickets",
    metadata,
    # Ties in the queue order (same priority, same appointment) go by issue order.
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("office_id", String(64), nullable=False),
    Column("city_code", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("prefix", String(2), nullable=False),
    Column("number", Integer, nullable=False),
    Column("business_code", String(64), nullable=False),
    # NULL for a walk-in; one ticket per booking (a second check-in finds it).
    Column("booking_id", String(36), nullable=True, unique=True),
    Column("citizen_id", String(64), nullable=True, index=True),
    Column("priority_group", String(64), nullable=False, server_default=""),
    Column("priority_rank", Integer, nullable=False),
    Column("order_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    # Who issued it (the caller, as audit logs spell it): a record of the clerk's
    # check-in that needs no place in the audit chain, whose lock serialises writers.
    Column("issued_by", String(200), nullable=False, server_default=""),
    Column("counter", Integer, nullable=True),
    Column("clerk_id", String(64), nullable=True),
    Column("calls", Integer, nullable=False, server_default="0"),
    Column("called_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # "Your number is coming up" is sent once.
    Column("coming_up_sent", Boolean, nullable=False, server_default=text("false")),
    # The second guard on numbering: no two tickets share a number.
    UniqueConstraint("office_id", "day", "prefix", "number"),
    CheckConstraint("calls >= 0", name="calls_not_negative"),
    # A clerk serves one ticket at a time; a counter shows one.
    Index(
        "uq_hall_tickets_one_called_per_clerk",
        "clerk_id",
        unique=True,
        sqlite_where=text("status = 'called'"),
        postgresql_where=text("status = 'called'"),
    ),
    Index(
        "uq_hall_tickets_one_called_per_counter",
        "office_id",
        "counter",
        unique=True,
        sqlite_where=text("status = 'called'"),
        postgresql_where=text("status = 'called'"),
    ),
    # The queue's order, the next ticket to call at its head.
    Index("ix_hall_tickets_queue", "office_id", "day", "status", "priority_rank", "order_at", "seq"),
)

# The bureau's policies with effective dates (decision 59): suspensions, entry-exit
# reasons, visit requirements and office closures, applied to the catalogue rows when
# they come into force and undone when they lapse. No personal data.
policies = Table(
    "policies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("city_code", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    # What it is about: a business code, a destination, a reason code, an office id.
    Column("subject", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("effective_until", DateTime(timezone=True), nullable=True),
    # scheduled → in_force → lapsed (or scheduled → lapsed when ended before it began)
    Column("state", String(16), nullable=False),
    # What the policy replaced when it came into force: restored when it lapses.
    Column("previous", JSON, nullable=True),
    # A closure's cancellations are all done (they run in batches, resumably).
    Column("closure_done", Boolean, nullable=False, server_default=text("false")),
    Column("cancelled_count", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("effective_until IS NULL OR effective_until > effective_from", name="period_forwards"),
    # The keeper's question: which policies are due to come into force or lapse.
    Index("ix_policies_due", "state", "effective_from"),
    Index("ix_policies_subject", "city_code", "kind", "subject"),
)

outbox = outbox_table(metadata)
# Staff actions: catalogue changes, clerks' views of bookings, no-shows.
audit = audit_table(metadata)
processed_events = processed_events_table(metadata)
