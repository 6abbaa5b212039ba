"""The booking database: SQLAlchemy Core tables (the domain stays unmapped)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)

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
    Column("booked", Integer, nullable=False, server_default="0"),
    UniqueConstraint("office_id", "group_code", "date", "start_time"),
    # The second guard against overbooking: the database itself refuses it.
    CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
