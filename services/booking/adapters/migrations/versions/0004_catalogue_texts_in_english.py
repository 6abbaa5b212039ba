"""catalogue texts in English beside the Chinese

The catalogue's texts became Chinese first, each with an English twin in an
``_en`` column. Catalogues loaded before this were written in English only, so
their texts are copied into the twins: an English reader keeps reading them, and
the next load of a bilingual catalogue file puts the Chinese in place.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 11:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_TWINS = {
    'cities': [('name', sa.String(length=200), '')],
    'businesses': [
        ('name', sa.String(length=200), ''),
        ('service_guide', sa.Text(), ''),
        ('materials', sa.JSON(), '[]'),
        ('announcement', sa.Text(), ''),
    ],
    'offices': [
        ('name', sa.String(length=200), ''),
        ('address', sa.Text(), ''),
        ('visit_requirements', sa.JSON(), '[]'),
    ],
}


def upgrade() -> None:
    """Upgrade schema."""
    for table, columns in _TWINS.items():
        with op.batch_alter_table(table) as batch:
            for name, type_, default in columns:
                batch.add_column(sa.Column(f'{name}_en', type_, nullable=False, server_default=default))
        op.execute(f"UPDATE {table} SET " + ", ".join(f"{name}_en = {name}" for name, _, _ in columns))


def downgrade() -> None:
    """Downgrade schema."""
    for table, columns in _TWINS.items():
        with op.batch_alter_table(table) as batch:
            for name, _, _ in columns:
                batch.drop_column(f'{name}_en')
