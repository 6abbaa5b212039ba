"""citizens' addresses sealed: contacts, deliveries, sandbox records

Phones, WeChat openids, device tokens and the sandbox's recipients were kept in
clear; they become Fernet tokens (services/runtime/pii.py), and the sandbox's
recipient gets a keyed hash to be searched by. Rows already there are sealed with
the cipher ``python -m services.notify migrate`` hands over (config attribute
``pii_cipher``); without one, only an empty database can be migrated.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00

"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

contacts = sa.table(
    "contacts",
    sa.column("citizen_id", sa.String),
    sa.column("phone", sa.String),
    sa.column("wechat_openids", sa.JSON),
    sa.column("app_device_token", sa.String),
    sa.column("phone_sealed", sa.Text),
    sa.column("wechat_openids_sealed", sa.Text),
    sa.column("app_device_token_sealed", sa.Text),
)
deliveries = sa.table(
    "deliveries", sa.column("id", sa.String), sa.column("address", sa.String), sa.column("address_sealed", sa.Text)
)
sandbox_records = sa.table(
    "sandbox_records",
    sa.column("seq", sa.Integer),
    sa.column("to", sa.String),
    sa.column("to_sealed", sa.Text),
    sa.column("to_lookup", sa.String),
)


def _cipher(conn: sa.Connection) -> Any:
    """The service's cipher, needed only when there are rows to convert."""
    cipher = context.config.attributes.get("pii_cipher")
    if cipher is None:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (contacts, deliveries, sandbox_records)
        ]
        if any(counts):
            raise RuntimeError(
                "notify migration 0002 seals stored addresses: run it with "
                "`python -m services.notify migrate`, which has the keys"
            )
    return cipher


def _to_lookup(cipher: Any, to: str) -> str:
    # Must stay what services/notify/adapters/sandbox.py:to_lookup computes.
    return str(cipher.lookup(f"notify-address:{to}"))


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("phone_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("wechat_openids_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("app_device_token_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("address_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("sandbox_records") as batch:
        batch.add_column(sa.Column("to_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("to_lookup", sa.String(length=64), nullable=True))

    cipher = _cipher(conn)
    if cipher is not None:

        def seal(value: str | None) -> str | None:
            return cipher.seal(value) if value else None

        for row in conn.execute(sa.select(contacts)).all():
            openids = json.dumps(row.wechat_openids, sort_keys=True) if row.wechat_openids else None
            conn.execute(
                contacts.update()
                .where(contacts.c.citizen_id == row.citizen_id)
                .values(
                    phone_sealed=seal(row.phone),
                    wechat_openids_sealed=seal(openids),
                    app_device_token_sealed=seal(row.app_device_token),
                )
            )
        for row in conn.execute(sa.select(deliveries.c.id, deliveries.c.address)).all():
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == row.id)
                .values(address_sealed=cipher.seal(row.address))
            )
        for row in conn.execute(sa.select(sandbox_records.c.seq, sandbox_records.c.to)).all():
            conn.execute(
                sandbox_records.update()
                .where(sandbox_records.c.seq == row.seq)
                .values(to_sealed=cipher.seal(row.to), to_lookup=_to_lookup(cipher, row.to))
            )

    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("phone")
        batch.drop_column("wechat_openids")
        batch.drop_column("app_device_token")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("address_sealed", existing_type=sa.Text(), nullable=False)
        batch.drop_column("address")
    with op.batch_alter_table("sandbox_records") as batch:
        batch.drop_index("ix_sandbox_records_to")
        batch.drop_column("to")
        batch.alter_column("to_sealed", existing_type=sa.Text(), nullable=False)
        batch.alter_column("to_lookup", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_sandbox_records_to_lookup", ["to_lookup"], unique=False)


def downgrade() -> None:
    """Back to addresses in clear (opened with the service's cipher, if rows exist)."""
    conn = op.get_bind()
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("wechat_openids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("app_device_token", sa.String(length=512), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("address", sa.String(length=512), nullable=True))
    with op.batch_alter_table("sandbox_records") as batch:
        batch.add_column(sa.Column("to", sa.String(length=512), nullable=True))

    cipher = _cipher(conn)
    if cipher is not None:

        def unseal(value: str | None) -> str | None:
            return cipher.open(value) if value else None

        for row in conn.execute(sa.select(contacts)).all():
            conn.execute(
                contacts.update()
                .where(contacts.c.citizen_id == row.citizen_id)
                .values(
                    phone=unseal(row.phone_sealed),
                    wechat_openids=json.loads(unseal(row.wechat_openids_sealed) or "{}"),
                    app_device_token=unseal(row.app_device_token_sealed),
                )
            )
        for row in conn.execute(sa.select(deliveries.c.id, deliveries.c.address_sealed)).all():
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == row.id)
                .values(address=cipher.open(row.address_sealed))
            )
        for row in conn.execute(sa.select(sandbox_records.c.seq, sandbox_records.c.to_sealed)).all():
            conn.execute(
                sandbox_records.update()
                .where(sandbox_records.c.seq == row.seq)
                .values(to=cipher.open(row.to_sealed))
            )

    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("phone_sealed")
        batch.drop_column("wechat_openids_sealed")
        batch.drop_column("app_device_token_sealed")
        batch.alter_column("wechat_openids", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("address_sealed")
        batch.alter_column("address", existing_type=sa.String(length=512), nullable=False)
    with op.batch_alter_table("sandbox_records") as batch:
        batch.drop_index("ix_sandbox_records_to_lookup")
        batch.drop_column("to_lookup")
        batch.drop_column("to_sealed")
        batch.alter_column("to", existing_type=sa.String(length=512), nullable=False)
        batch.create_index("ix_sandbox_records_to", ["to"], unique=False)
