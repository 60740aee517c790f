"""Button payloads and last buttons shared by every server process

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:05:00

Hand-written, generic types only (SQLite and PostgreSQL). Issue 12, several processes:
``button_memory`` (bot.storage.button_memory.ButtonMemoryRow) keeps what a channel must know when the
citizen answers a message: the payload behind a Telegram button whose payload is over the 64 bytes of
``callback_data`` (the button carries a digest), and the buttons last offered in a Zalo chat (for a
numbered reply). In each process's memory, a press or a "2" reaching another process than the sender
failed. Rows untouched for 7 days are deleted by the privacy purge.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "button_memory",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_button_memory_updated_at", "button_memory", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_button_memory_updated_at", table_name="button_memory")
    op.drop_table("button_memory")
