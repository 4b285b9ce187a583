"""Discovery's candidates: each URL a web search, a sitemap or a feed found for a city, with the query that
found it, until the author accepts it into the city's sources.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discovery_candidates',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('edition', sa.String(length=40), nullable=False),
                    sa.Column('city', sa.String(length=80), nullable=False),
                    sa.Column('indicator', sa.String(length=80), nullable=True),
                    sa.Column('level', sa.Integer(), nullable=True),
                    sa.Column('url', sa.String(length=2000), nullable=False),
                    sa.Column('title', sa.Text(), nullable=True),
                    sa.Column('snippet', sa.Text(), nullable=True),
                    sa.Column('engine', sa.String(length=20), nullable=False),
                    sa.Column('query', sa.Text(), nullable=False),
                    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('state', sa.String(length=20), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('city', 'url'))
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discovery_candidates_city'), ['city'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discovery_candidates_city'))
    op.drop_table('discovery_candidates')
