"""A source's own link depth and page budget are recorded with it, so a watch pass re-crawls a seed as one
document (depth 0) instead of at the run's default depth.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('depth', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('pages')
        batch_op.drop_column('depth')
