"""policies with effective dates; slots closed by an office closure

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('city_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('previous', sa.JSON(), nullable=True),
    sa.Column('closure_done', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('cancelled_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('effective_until IS NULL OR effective_until > effective_from', name=op.f('ck_policies_period_forwards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies'))
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index('ix_policies_due', ['state', 'effective_from'], unique=False)
        batch_op.create_index('ix_policies_subject', ['city_code', 'kind', 'subject'], unique=False)

    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.drop_column('closed')

    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index('ix_policies_subject')
        batch_op.drop_index('ix_policies_due')

    op.drop_table('policies')
