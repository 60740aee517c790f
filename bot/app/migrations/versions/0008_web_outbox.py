"""web chat outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:45:00

Hand-written, generic types only (SQLite and PostgreSQL). Messages that reach a web-chat page outside a
request (officer replies, dossier notifications) wait here for the page's poll, so a server restart
loses none of them (bot/web/rest.py SqlRestOutbox).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_web_outbox_chat_id_id", ["chat_id", "id"], unique=False)
        batch_op.create_index("ix_web_outbox_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_web_outbox_created_at")
        batch_op.drop_index("ix_web_outbox_chat_id_id")
    op.drop_table("web_outbox")
