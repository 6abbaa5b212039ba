"""Channel bindings and face verifications

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bindings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("city_code", sa.String(length=64), nullable=False),
        sa.Column("subject_lookup", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bindings")),
        sa.UniqueConstraint(
            "kind", "city_code", "subject_lookup", name=op.f("uq_bindings_kind_city_code_subject_lookup")
        ),
    )
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bindings_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "binding_sessions",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("binding_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_binding_sessions")),
    )
    with op.batch_alter_table("binding_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_binding_sessions_binding_id"), ["binding_id"], unique=False)

    op.create_table(
        "device_challenges",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("device_lookup", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_device_challenges")),
    )

    op.create_table(
        "face_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_attempts")),
    )
    with op.batch_alter_table("face_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_face_attempts_citizen_at", ["citizen_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_attempts_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("face_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_attempts_session_id"))
        batch_op.drop_index("ix_face_attempts_citizen_at")
    op.drop_table("face_attempts")
    op.drop_table("device_challenges")
    with op.batch_alter_table("binding_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_sessions_binding_id"))
    op.drop_table("binding_sessions")
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bindings_citizen_id"))
    op.drop_table("bindings")
