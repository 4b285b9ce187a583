"""A source's own link depth and page budget are recorded with it, so a watch pass re-crawls a seed as one
document (depth 0) instead of at the run's default depth; an attachment records what collecting it gave
(its snapshot, or why it failed) and the item it went back to review as.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('depth', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=True))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('proposal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_attachments_snapshot_id_snapshots', 'snapshots', ['snapshot_id'], ['id'])
        batch_op.create_foreign_key('fk_attachments_proposal_id_proposals', 'proposals', ['proposal_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_proposal_id_proposals', type_='foreignkey')
        batch_op.drop_constraint('fk_attachments_snapshot_id_snapshots', type_='foreignkey')
        batch_op.drop_column('proposal_id')
        batch_op.drop_column('collected_at')
        batch_op.drop_column('reason')
        batch_op.drop_column('snapshot_id')
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('pages')
        batch_op.drop_column('depth')
