"""Chunks carry their section (headings path); citations carry an evidence status and its reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('citations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('citations', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
        batch_op.drop_column('status')
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('section')
