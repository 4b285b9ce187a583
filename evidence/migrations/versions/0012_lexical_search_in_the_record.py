"""The lexical index moves into the record's own full-text search (SQLite FTS5, PostgreSQL tsvector + GIN),
updated as chunks are added; snapshots are claimed for embedding; the record gets an identity that keeps
its collections apart from other records' on a shared Chroma server.

The indexed text is the chunk's ICU tokens joined by spaces, so the engine must split on spaces only:
FTS5's `ascii` tokenizer with every ASCII punctuation mark a token character (non-ASCII characters always
are), and on PostgreSQL the tsvector is made straight from the tokens (`array_to_tsvector`), never by a
text-search parser, which would cut `1.3` or `covid-19` differently from ICU. Existing chunks get their rows
from the next `evidence index` (tokenising needs the vectorstore, which a migration cannot import).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00
"""
import string
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_TOKENCHARS = string.punctuation.replace("'", "''")
_FTS5 = ("CREATE VIRTUAL TABLE lexical_fts USING fts5(terms, city, content='lexical_chunks', content_rowid='id', "
         "tokenize='ascii tokenchars ''{}''')").format(_TOKENCHARS.replace("'", "''"))
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER lexical_chunks_ai AFTER INSERT ON lexical_chunks BEGIN "
    "INSERT INTO lexical_fts(rowid, terms, city) VALUES (new.id, new.terms, new.city); END",
    "CREATE TRIGGER lexical_chunks_ad AFTER DELETE ON lexical_chunks BEGIN "
    "INSERT INTO lexical_fts(lexical_fts, rowid, terms, city) VALUES ('delete', old.id, old.terms, old.city); END",
    "CREATE TRIGGER lexical_chunks_au AFTER UPDATE OF terms, city ON lexical_chunks BEGIN "
    "INSERT INTO lexical_fts(lexical_fts, rowid, terms, city) VALUES ('delete', old.id, old.terms, old.city); "
    "INSERT INTO lexical_fts(rowid, terms, city) VALUES (new.id, new.terms, new.city); END",
)


def upgrade() -> None:
    op.create_table('lexical_chunks',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('chunk_id', sa.String(length=80), nullable=False),
                    sa.Column('snapshot_id', sa.Integer(), nullable=False),
                    sa.Column('document_id', sa.Integer(), nullable=False),
                    sa.Column('city', sa.String(length=80), nullable=False),
                    sa.Column('language', sa.String(length=10), nullable=False),
                    sa.Column('date', sa.Integer(), nullable=False),
                    sa.Column('latest', sa.Boolean(), nullable=False),
                    sa.Column('length', sa.Integer(), nullable=False),
                    sa.Column('terms', sa.Text(), nullable=False),
                    sa.ForeignKeyConstraint(['chunk_id'], ['chunks.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('chunk_id'))
    op.create_index('ix_lexical_chunks_city_latest', 'lexical_chunks', ['city', 'latest'])
    op.create_index('ix_lexical_chunks_document_id', 'lexical_chunks', ['document_id'])
    op.create_table('lexical_terms',
                    sa.Column('term', sa.String(length=100), nullable=False),
                    sa.Column('chunks', sa.BigInteger(), nullable=False),
                    sa.Column('tokens', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('term'))
    op.create_table('indexed_snapshots',
                    sa.Column('snapshot_id', sa.Integer(), nullable=False),
                    sa.Column('model', sa.String(length=120), nullable=False),
                    sa.Column('claimant', sa.String(length=120), nullable=False),
                    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
                    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshots.id']),
                    sa.PrimaryKeyConstraint('snapshot_id', 'model'))
    identity = op.create_table('record_identity', sa.Column('id', sa.String(length=32), nullable=False),
                               sa.PrimaryKeyConstraint('id'))
    op.bulk_insert(identity, [{"id": uuid.uuid4().hex}])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_FTS5)
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
    else:
        op.execute("ALTER TABLE lexical_chunks ADD COLUMN tsv tsvector "
                   "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED")
        op.execute("CREATE INDEX ix_lexical_chunks_tsv ON lexical_chunks USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("lexical_chunks_ai", "lexical_chunks_ad", "lexical_chunks_au"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE lexical_fts")
    op.drop_table('record_identity')
    op.drop_table('indexed_snapshots')
    op.drop_table('lexical_terms')
    op.drop_index('ix_lexical_chunks_document_id', table_name='lexical_chunks')
    op.drop_index('ix_lexical_chunks_city_latest', table_name='lexical_chunks')
    op.drop_table('lexical_chunks')
