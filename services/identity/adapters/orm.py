"""The identity database. Personal data (ID numbers, names, phones, addresses) is
stored sealed (adapters/pii.py) and found through keyed hashes, never in clear."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.runtime.audit import audit_table
from services.runtime.db import NAMING_CONVENTION
from services.runtime.outbox import outbox_table
from services.runtime.pii import SealedColumns

metadata = MetaData(naming_convention=NAMING_CONVENTION)

residents = Table(
    "residents",
    metadata,
    Column("citizen_id", String(36), primary_key=True),
    Column("id_lookup", String(64), nullable=False, unique=True),
    Column("id_sealed", Text, nullable=False),
    Column("name_sealed", Text, nullable=False),
    Column("phone_sealed", Text, nullable=False),
    Column("address_sealed", Text, nullable=False),
    Column("city_code", String(64), nullable=False),
    Column("gender", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("photo_captured_on", Date, nullable=True),
    Column("fingerprint_on_file", Boolean, nullable=False),
    Column("card_issued_on", Date, nullable=True),
    Column("card_expires_on", Date, nullable=True),
    Column("card_status", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Keyed hash of everything the register file says of the resident: a re-import
    # of an unchanged row is recognised without opening a sealed value, and skipped.
    Column("row_digest", String(64), nullable=True),
    # The card's number and a residence registered away from the household place
    # (0006): NULL when the register holds none. Number and address sealed; the city
    # and date are what the cards service's rules compare, as city_code is.
    Column("card_number_sealed", Text, nullable=True),
    Column("residence_city_code", String(64), nullable=True),
    Column("residence_address_sealed", Text, nullable=True),
    Column("residence_registered_on", Date, nullable=True),
)

# What the cards service asked of the register, one row per application and action
# (report_lost, new_card): a retried call finds its row and changes nothing twice.
# Written in the transaction of the card's change and its audit entry.
card_requests = Table(
    "card_requests",
    metadata,
    Column("application_id", String(64), primary_key=True),
    Column("action", String(16), primary_key=True),
    Column("citizen_id", String(36), nullable=False),
    Column("card_status", String(16), nullable=False),
    # Keyed hash of what the call carried (the new card's number and dates): the same
    # application id with other values is a fault, not a retry.
    Column("request_digest", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

challenges = Table(
    "challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    # Keyed hash of the ID number asked for, whether or not it matched the register.
    Column("id_lookup", String(64), nullable=False),
    Column("citizen_id", String(36), nullable=True),  # None: no match; never accepted
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_challenges_lookup_created", "id_lookup", "created_at"),
)

# One row per code request, per key: the limits count them. "number:<lookup>" for requests
# that matched the register, "stranger:<lookup>:<ip>" for those that did not (they never
# count against the owner), "address:<ip>" for both; staff sign-in failures too.
rate_events = Table(
    "rate_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_events_key_at", "key", "at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(36), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("refresh_hash", String(64), nullable=False, unique=True),
    # The refresh token before the current one: presented again, it was copied (its
    # owner or a thief used it first), and the session ends (auth.py refresh).
    Column("previous_refresh_hash", String(64), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

audit = audit_table(metadata)

# Events to other services (a citizen's contacts for notify), written in the
# transaction of the change; the runtime's relay publishes them.
outbox = outbox_table(metadata)

# Jobs that walk every resident once (the first: publishing each citizen's contacts
# to notify for residents imported before identity published them), resumable from
# their cursor (the last citizen id done) after a stop.
backfills = Table(
    "backfills",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("cursor", String(36), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=True),
)

# Staff of the bureau. The username is kept normalised (lower case, NFKC); the
# password only as an argon2id hash.
staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("office_id", String(64), nullable=True),  # window clerks only
    Column("active", Boolean, nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per staff sign-in; its token is refused once the row is revoked.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(36), ForeignKey("staff_accounts.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# --- one citizen on every channel (service_layer/channels.py, face.py) --------------

# A WeChat openid (per city official account) or an APP device, bound to a citizen.
# The openid or device id is kept only as a keyed hash: enough to find the binding
# when it signs in, useless to whoever reads the table without the key.
bindings = Table(
    "bindings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(36), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("city_code", String(64), nullable=False),  # "" for devices
    Column("subject_lookup", String(64), nullable=False),
    # The openid or device id itself, sealed: notify needs it as the address to push
    # to. NULL for bindings made before 0004 until their next sign-in or re-binding.
    Column("subject_sealed", Text, nullable=True),
    Column("public_key", LargeBinary, nullable=True),  # devices: the raw Ed25519 key
    Column("label", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("kind", "city_code", "subject_lookup"),
)

# Which sessions a binding opened: removing the binding ends them (a lost phone).
binding_sessions = Table(
    "binding_sessions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("binding_id", String(36), nullable=False, index=True),
)

# Single-use nonces a device signs to sign in.
device_challenges = Table(
    "device_challenges",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("device_lookup", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

# Every comparison a face-verification provider answered: a match raises its
# session's assurance for a while; failures are counted per citizen per day.
face_attempts = Table(
    "face_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("citizen_id", String(36), nullable=False),
    Column("session_id", String(36), nullable=False, index=True),
    Column("matched", Boolean, nullable=False),
    Column("provider_ref", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_face_attempts_citizen_at", "citizen_id", "at"),
)

# --- register imports (service_layer/imports.py) ------------------------------------

# One import of a register file: received, then run in batches by whichever identity
# process holds its lease; its counters advance in the same transaction as each batch.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    # receiving → queued → running → done | failed
    Column("state", String(16), nullable=False),
    Column("format", String(8), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # Who works on the job holds it until then (renewed with every chunk and batch).
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("lease_owner", String(36), nullable=True),
    Column("bytes", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    # Records of the file read so far (good and refused): where a resumed run starts.
    Column("rows_done", BigInteger, nullable=False),
    Column("imported", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("unchanged", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_field", String(64), nullable=True),
    Column("error_detail", String(400), nullable=True),
    Index("ix_import_jobs_state_created_at", "state", "created_at"),
)

# The uploaded file, in pieces of up to a megabyte, sealed like every personal datum;
# deleted when the job ends.
import_chunks = Table(
    "import_chunks",
    metadata,
    Column("id", String(48), primary_key=True),  # "<job id>:<seq, zero-padded>"
    Column("job_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("content_sealed", Text, nullable=False),
    UniqueConstraint("job_id", "seq"),
)

# The first refused rows of a job (the line, the field, why; never the value).
import_rejections = Table(
    "import_rejections",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=False, index=True),
    Column("line", BigInteger, nullable=False),
    Column("field", String(64), nullable=False),
    Column("reason", String(400), nullable=False),
)

#: Every sealed column: what ``python -m services.identity reseal`` walks after a key
#: rotation (a guard test checks that each ``*_sealed`` column is listed).
SEALED = (
    SealedColumns(
        residents,
        (
            "id_sealed",
            "name_sealed",
            "phone_sealed",
            "address_sealed",
            "card_number_sealed",
            "residence_address_sealed",
        ),
    ),
    SealedColumns(bindings, ("subject_sealed",)),
    SealedColumns(import_chunks, ("content_sealed",)),
)
