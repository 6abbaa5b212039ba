"""The notify database: SQLAlchemy Core tables.

Citizens' addresses (phone numbers, WeChat openids, device tokens, the ``to`` of
what a sandbox recorded) are stored sealed (services/runtime/pii.py), never in
clear; ``*_lookup`` columns hold keyed hashes where an address is searched for.
Every ``*_sealed`` column is listed in :data:`SEALED`, which the ``reseal``
command walks after a key rotation."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.runtime.audit import audit_table
from services.runtime.consumer import processed_events_table
from services.runtime.db import NAMING_CONVENTION
from services.runtime.pii import SealedColumns

metadata = MetaData(naming_convention=NAMING_CONVENTION)

contacts = Table(
    "contacts",
    metadata,
    Column("citizen_id", String(64), primary_key=True),
    Column("language", String(8), nullable=False),
    Column("preferred", String(16), nullable=True),
    Column("phone_sealed", Text, nullable=True),
    # The JSON object {city code: openid}, sealed whole; NULL when there is none.
    Column("wechat_openids_sealed", Text, nullable=True),
    Column("app_device_token_sealed", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # When the addresses identity last told were current: an older event (a
    # redelivery overtaken by a newer one) changes nothing.
    Column("addresses_as_of", DateTime(timezone=True), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(64), nullable=False),
    Column("template", String(64), nullable=False),
    Column("city_code", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("variables", JSON, nullable=False),
    Column("urgent", Boolean, nullable=False),
    # What caused it (event id or idempotency key) + template + citizen: the same
    # cause never makes a second message, even after the stream's duplicate window.
    Column("source_key", String(300), nullable=False, unique=True),
    # Cancelling this key (e.g. a booking id) withdraws what has not gone yet.
    Column("cancel_key", String(128), nullable=True, index=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    Index("ix_messages_inbox", "citizen_id", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("message_id", String(36), ForeignKey("messages.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    # 0 the inbox copy, 1 the first channel tried, 2 its fallback, …
    Column("position", Integer, nullable=False),
    # Phone, openid or device token (the citizen id for the inbox copy).
    Column("address_sealed", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("provider", String(32), nullable=True),
    Column("provider_ref", String(128), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("trace_context", JSON, nullable=False),
    # At most one delivery per message and channel: the dedup the issue asks for.
    UniqueConstraint("message_id", "channel"),
    Index("ix_deliveries_due", "status", "due_at"),
    Index("ix_deliveries_provider_ref", "provider", "provider_ref"),
)

sandbox_records = Table(
    "sandbox_records",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("to_sealed", Text, nullable=False),
    # Keyed hash of the address, for "what went to this phone" (sandbox.to_lookup).
    Column("to_lookup", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("delivery_id", String(36), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

processed_events = processed_events_table(metadata)
# Staff actions: reading the sandbox's recorded messages (one-time codes among them)
# and changing a sandbox's behaviour.
audit = audit_table(metadata)

SEALED = (
    SealedColumns(contacts, ("phone_sealed", "wechat_openids_sealed", "app_device_token_sealed")),
    SealedColumns(deliveries, ("address_sealed",)),
    SealedColumns(sandbox_records, ("to_sealed",)),
)
