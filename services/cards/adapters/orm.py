"""The cards database: SQLAlchemy Core tables (the domain stays unmapped).

Recipient, phone, address and the new card's number are personal data: only their
sealed tokens are stored (``*_sealed``)."""

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
)

from services.runtime.audit import audit_table
from services.runtime.db import NAMING_CONVENTION
from services.runtime.outbox import outbox_table
from services.runtime.pii import SealedColumns

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_SEQ = BigInteger().with_variant(Integer(), "sqlite")

applications = Table(
    "applications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(64), nullable=False),
    Column("city_code", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    # Applications of one family (ID card, residence permit, …) exclude each other
    # while open: "a pending application exists".
    Column("family", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("delivery_method", String(16), nullable=False),
    Column("recipient_sealed", Text, nullable=True),
    Column("phone_sealed", Text, nullable=True),
    Column("address_sealed", Text, nullable=True),
    # Pickup office, or where a returned card waits.
    Column("office_id", String(64), nullable=False, server_default=""),
    # [[code, message, message_en], …] of failed or human checks.
    Column("reasons", JSON, nullable=False),
    Column("needs_review", Boolean, nullable=False),
    # A lost card still to be reported to identity (retried until it is).
    Column("report_lost_pending", Boolean, nullable=False),
    Column("batch_id", String(64), nullable=True),
    Column("tracking_number", String(64), nullable=True, unique=True),
    Column("card_number_sealed", Text, nullable=True),
    Column("card_issued_on", String(10), nullable=True),
    Column("card_expires_on", String(10), nullable=True),
    # The new card is written to the register (identity's RecordNewCard) .
    Column("card_recorded", Boolean, nullable=False, server_default="0"),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_applications_citizen", "citizen_id", "submitted_at"),
    Index("ix_applications_family_open", "citizen_id", "family", "status"),
    Index("ix_applications_status", "status", "delivery_method"),
    Index("ix_applications_office", "office_id", "status"),
    Index("ix_applications_city", "city_code", "status"),
    Index("ix_applications_batch", "batch_id"),
)

# Every move of an application: from, to, when, why, by whom.
transitions = Table(
    "transitions",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("application_id", String(36), ForeignKey("applications.id"), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("actor", String(200), nullable=False),
    Index("ix_transitions_application", "application_id", "seq"),
)

# A citizen's Idempotency-Key, written in the application's own transaction.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("citizen_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("application_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

# A batch handed to the production centre; its id is the centre's idempotency key.
# state: "claimed" (applications in it, not yet handed over), "submitted", "done".
production_batches = Table(
    "production_batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Index("ix_production_batches_state", "state"),
)

# Courier callbacks taken: the event id's key refuses a replay.
courier_events = Table(
    "courier_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("tracking_number", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

#: Every sealed column, walked by the ``reseal`` command after a key rotation.
SEALED = (
    SealedColumns(applications, ("recipient_sealed", "phone_sealed", "address_sealed", "card_number_sealed")),
)

outbox = outbox_table(metadata)
audit = audit_table(metadata)
