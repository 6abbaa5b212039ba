"""pre-applications, their documents and the booking entitlements approvals issue

Approvals recorded by the earlier approval step (``pre_application_approvals``)
become entitlements that have not been used, valid for 30 days from this upgrade
(the default period), so no citizen told "you can now book" loses the right;
bookings made with them before this release keep them as they are.

Revision ID: 0005_pre_applications
Revises: 0004
Create Date: 2026-12-06 16:00:00

"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005_pre_applications'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('pre_application_forms',
    sa.Column('city_code', sa.String(length=64), nullable=False),
    sa.Column('business_code', sa.String(length=64), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('city_code', 'business_code', name=op.f('pk_pre_application_forms'))
    )
    op.create_table('pre_applications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('citizen_id', sa.String(length=64), nullable=False),
    sa.Column('city_code', sa.String(length=64), nullable=False),
    sa.Column('business_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('answers_sealed', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pre_applications'))
    )
    with op.batch_alter_table('pre_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pre_applications_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index('ix_pre_applications_queue', ['city_code', 'status', 'submitted_at'], unique=False)
    op.create_table('pre_application_changes',
    sa.Column('seq', _ID, autoincrement=True, nullable=False),
    sa.Column('pre_application_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('old_status', sa.String(length=32), nullable=True),
    sa.Column('new_status', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['pre_application_id'], ['pre_applications.id'], name=op.f('fk_pre_application_changes_pre_application_id_pre_applications')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_pre_application_changes'))
    )
    with op.batch_alter_table('pre_application_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pre_application_changes_pre_application_id'), ['pre_application_id'], unique=False)
    op.create_table('pre_application_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('pre_application_id', sa.String(length=36), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), server_default='', nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pre_application_id'], ['pre_applications.id'], name=op.f('fk_pre_application_attachments_pre_application_id_pre_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pre_application_attachments')),
    sa.UniqueConstraint('object_key', name=op.f('uq_pre_application_attachments_object_key'))
    )
    with op.batch_alter_table('pre_application_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pre_application_attachments_pre_application_id'), ['pre_application_id'], unique=False)
    entitlements = op.create_table('booking_entitlements',
    sa.Column('pre_application_id', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', sa.String(length=64), nullable=False),
    sa.Column('city_code', sa.String(length=64), nullable=False),
    sa.Column('business_code', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booking_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('pre_application_id', name=op.f('pk_booking_entitlements')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_booking_entitlements_booking_id'))
    )
    with op.batch_alter_table('booking_entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_entitlements_citizen_id'), ['citizen_id'], unique=False)

    conn = op.get_bind()
    approvals = sa.table(
        'pre_application_approvals',
        sa.column('id', sa.String), sa.column('citizen_id', sa.String), sa.column('city_code', sa.String),
        sa.column('business_code', sa.String), sa.column('approved_at', sa.DateTime(timezone=True)),
    )
    bookings = sa.table(
        'bookings', sa.column('id', sa.String), sa.column('pre_application_id', sa.String),
        sa.column('status', sa.String),
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    for row in conn.execute(sa.select(approvals)).fetchall():
        used = conn.execute(
            sa.select(bookings.c.id).where(
                bookings.c.pre_application_id == row.id, bookings.c.status != 'cancelled'
            ).limit(1)
        ).scalar()
        conn.execute(entitlements.insert().values(
            pre_application_id=row.id, citizen_id=row.citizen_id, city_code=row.city_code,
            business_code=row.business_code, issued_at=row.approved_at, expires_at=expires, booking_id=used,
        ))
    op.drop_table('pre_application_approvals')


def downgrade() -> None:
    op.create_table('pre_application_approvals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', sa.String(length=64), nullable=False),
    sa.Column('city_code', sa.String(length=64), nullable=False),
    sa.Column('business_code', sa.String(length=64), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pre_application_approvals'))
    )
    op.execute(
        'INSERT INTO pre_application_approvals (id, citizen_id, city_code, business_code, approved_at) '
        'SELECT pre_application_id, citizen_id, city_code, business_code, issued_at FROM booking_entitlements'
    )
    op.drop_table('booking_entitlements')
    op.drop_table('pre_application_attachments')
    op.drop_table('pre_application_changes')
    op.drop_table('pre_applications')
    op.drop_table('pre_application_forms')
