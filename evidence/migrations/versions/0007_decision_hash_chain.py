"""Decisions carry a hash chain (evidence.chain); the chain's head has a table of its own. The decisions made
before are chained here, in id order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:00:00
"""
import sqlalchemy as sa
from alembic import op

from evidence.chain import GENESIS, HEAD, decision_digest

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DECISIONS = sa.table('decisions', sa.column('id', sa.Integer), sa.column('proposal_id', sa.Integer),
                     sa.column('reviewer_id', sa.Integer), sa.column('round', sa.Integer),
                     sa.column('action', sa.String), sa.column('level', sa.Integer), sa.column('reason', sa.Text),
                     sa.column('created_at', sa.DateTime(timezone=True)), sa.column('sequence', sa.Integer),
                     sa.column('digest', sa.String))
ATTACHMENTS = sa.table('attachments', sa.column('decision_id', sa.Integer), sa.column('kind', sa.String),
                       sa.column('url', sa.String), sa.column('filename', sa.String), sa.column('sha256', sa.String),
                       sa.column('size', sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
    head = op.create_table('decision_chain',
                           sa.Column('name', sa.String(length=40), nullable=False),
                           sa.Column('last_id', sa.Integer(), nullable=True),
                           sa.Column('digest', sa.String(length=64), nullable=False),
                           sa.Column('length', sa.Integer(), nullable=False),
                           sa.PrimaryKeyConstraint('name'))
    bind = op.get_bind()
    evidence: dict[int, list[dict]] = {}
    for a in bind.execute(sa.select(ATTACHMENTS)).mappings():
        evidence.setdefault(a['decision_id'], []).append(dict(a))
    digest, last, length = GENESIS, None, 0
    for d in bind.execute(sa.select(DECISIONS).order_by(DECISIONS.c.id)).mappings().all():
        digest, last, length = decision_digest(digest, dict(d), evidence.get(d['id'], [])), d['id'], length + 1
        bind.execute(DECISIONS.update().where(DECISIONS.c.id == d['id']).values(digest=digest))
    op.bulk_insert(head, [{'name': HEAD, 'last_id': last, 'digest': digest, 'length': length}])


def downgrade() -> None:
    op.drop_table('decision_chain')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('digest')
