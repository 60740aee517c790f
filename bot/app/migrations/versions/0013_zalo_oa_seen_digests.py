"""Zalo OA tokens: the digests of every pair and settings the row has seen

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00

Hand-written, generic types only (SQLite and PostgreSQL). ``zalo_oa_tokens.seen_digests`` keeps the
SHA-256 digests (space-separated) of every token pair and every settings (pair and a hash of the app
secret key) that seeded the row: the settings' pair replaces the row only when the table has never seen
it, so a process with older settings during a rolling deploy no longer puts its spent pair back. An
existing row has seen the pair of its ``seed_digest`` (0012's digest covers the pair only).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zalo_oa_tokens") as batch:
        batch.add_column(sa.Column("seen_digests", sa.Text(), nullable=False, server_default=""))
    op.execute("UPDATE zalo_oa_tokens SET seen_digests = seed_digest")


def downgrade() -> None:
    with op.batch_alter_table("zalo_oa_tokens") as batch:
        batch.drop_column("seen_digests")
