"""What the cards service needs of the register: the card's number and a residence
registered away from the household place on each resident (sealed where personal),
and the cards service's requests, one per application and action (idempotency)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_number_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("residence_city_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("residence_address_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("residence_registered_on", sa.Date(), nullable=True))

    op.create_table(
        "card_requests",
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("card_status", sa.String(length=16), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "action", name=op.f("pk_card_requests")),
    )


def downgrade() -> None:
    op.drop_table("card_requests")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("residence_registered_on")
        batch_op.drop_column("residence_address_sealed")
        batch_op.drop_column("residence_city_code")
        batch_op.drop_column("card_number_sealed")
