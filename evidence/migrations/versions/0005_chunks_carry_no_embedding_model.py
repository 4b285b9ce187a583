"""Chunks carry no embedding model: each model has its own Chroma collection, which records it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 23:16:26.680800
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('embedding_model')



def downgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embedding_model', sa.VARCHAR(length=80), nullable=True))

