"""Sign-in sessions are kept in the record (review_sessions), so signing out or revoking ends them; reviewers
can be disabled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_sessions',
                    sa.Column('id', sa.String(length=64), nullable=False),
                    sa.Column('reviewer_id', sa.Integer(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('address', sa.String(length=64), nullable=True),
                    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('ended_why', sa.String(length=40), nullable=True),
                    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewers.id']),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_sessions_reviewer_id'), ['reviewer_id'], unique=False)
    with op.batch_alter_table('reviewers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reviewers', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_sessions_reviewer_id'))
    op.drop_table('review_sessions')
