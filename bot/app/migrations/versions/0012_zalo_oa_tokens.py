"""Zalo OA tokens shared by every server process

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:40:00

Hand-written, generic types only (SQLite and PostgreSQL). Issue 12, several processes:
``zalo_oa_tokens`` (bot.storage.zalo_tokens.ZaloTokenRow) keeps the current access and refresh token of
each Zalo app. Zalo's refresh tokens are single-use, so the pair cannot live in each process's memory:
once one process refreshed, the others' refresh was refused, and a restart went back to the settings'
tokens, possibly used up. The settings seed the row; ``seed_digest`` is the SHA-256 of the pair that
seeded it (new tokens in the settings replace the row), ``refused_at`` marks a refresh Zalo refused.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_oa_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("seed_digest", sa.String(length=64), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )


def downgrade() -> None:
    op.drop_table("zalo_oa_tokens")
