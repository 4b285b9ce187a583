"""A decision can undo the one before it (decisions.undoes); a decision typed when the session had ended
is kept as a draft (decision_drafts) and finished after sign-in; the offline proposer's reasons are kept
as facts (proposals.rationale_facts) so the review app words them in the reviewer's language.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rationale_facts', sa.JSON(), nullable=True))
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undoes', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_decisions_undoes', 'decisions', ['undoes'], ['id'])
    op.create_table('decision_drafts',
                    sa.Column('id', sa.String(length=64), nullable=False),
                    sa.Column('reviewer_id', sa.Integer(), nullable=False),
                    sa.Column('proposal_id', sa.Integer(), nullable=False),
                    sa.Column('fields', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewers.id']),
                    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id']),
                    sa.PrimaryKeyConstraint('id'))


def downgrade() -> None:
    op.drop_table('decision_drafts')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_decisions_undoes', type_='foreignkey')
        batch_op.drop_column('undoes')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_column('rationale_facts')
