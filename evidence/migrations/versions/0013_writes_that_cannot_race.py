"""Writes that cannot race: one proposal per input hash (unique), claims on inputs being proposed, and the jobs
progress table of distributed runs.

Two `propose` runs at once could each record a proposal for the same input. The later copies are kept (a
reviewer may have decided on one) and re-keyed `duplicate-<id>-of-<first id>`: the first row keeps the hash,
so nothing is lost, and the unique index can be built.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PROPOSALS = sa.table('proposals', sa.column('id', sa.Integer), sa.column('input_hash', sa.String))


def _rekey_duplicates() -> None:
    bind = op.get_bind()
    first: dict[str, int] = {}
    for proposal_id, digest in bind.execute(sa.select(PROPOSALS.c.id, PROPOSALS.c.input_hash)
                                            .order_by(PROPOSALS.c.id)):
        if digest not in first:
            first[digest] = proposal_id
            continue
        bind.execute(PROPOSALS.update().where(PROPOSALS.c.id == proposal_id)
                     .values(input_hash=f"duplicate-{proposal_id}-of-{first[digest]}"))


def upgrade() -> None:
    _rekey_duplicates()
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_input_hash')
        batch_op.create_index('ix_proposals_input_hash', ['input_hash'], unique=True)
    op.create_table('proposal_claims',
                    sa.Column('input_hash', sa.String(length=64), nullable=False),
                    sa.Column('holder', sa.String(length=200), nullable=False),
                    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('input_hash'))
    op.create_table('jobs',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('batch', sa.String(length=40), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('key', sa.String(length=300), nullable=False),
                    sa.Column('state', sa.String(length=12), nullable=False),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('result', sa.JSON(), nullable=False),
                    sa.Column('error', sa.Text(), nullable=True),
                    sa.Column('worker', sa.String(length=200), nullable=True),
                    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('batch', 'key'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_batch'), ['batch'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_batch'))
    op.drop_table('jobs')
    op.drop_table('proposal_claims')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_input_hash')
        batch_op.create_index('ix_proposals_input_hash', ['input_hash'], unique=False)
