"""watch: passes, the pass lock, classified changes, items sent back to review

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:58:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('watch_passes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('crawls', sa.JSON(), nullable=False),
    sa.Column('flagged', sa.JSON(), nullable=False),
    sa.Column('notified', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('watch_locks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('watch_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('old_snapshot_id', sa.Integer(), nullable=True),
    sa.Column('new_snapshot_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('added', sa.JSON(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('cosmetic', sa.JSON(), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['new_snapshot_id'], ['snapshots.id'], ),
    sa.ForeignKeyConstraint(['old_snapshot_id'], ['snapshots.id'], ),
    sa.ForeignKeyConstraint(['pass_id'], ['watch_passes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pass_id', 'new_snapshot_id', 'url')
    )
    with op.batch_alter_table('watch_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_changes_city'), ['city'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_changes_pass_id'), ['pass_id'], unique=False)

    op.create_table('watch_requeues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.String(length=40), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('indicator', sa.String(length=80), nullable=False),
    sa.Column('old_proposal_id', sa.Integer(), nullable=True),
    sa.Column('new_proposal_id', sa.Integer(), nullable=True),
    sa.Column('old_level', sa.Integer(), nullable=True),
    sa.Column('new_level', sa.Integer(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['new_proposal_id'], ['proposals.id'], ),
    sa.ForeignKeyConstraint(['old_proposal_id'], ['proposals.id'], ),
    sa.ForeignKeyConstraint(['pass_id'], ['watch_passes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pass_id', 'edition', 'city', 'indicator')
    )
    with op.batch_alter_table('watch_requeues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_requeues_new_proposal_id'), ['new_proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_requeues_pass_id'), ['pass_id'], unique=False)


def downgrade() -> None:
    op.drop_table('watch_requeues')
    op.drop_table('watch_changes')
    op.drop_table('watch_locks')
    op.drop_table('watch_passes')
