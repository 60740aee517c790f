"""help desk: ticket notes, canned replies, seen messages, turn outcomes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:20:00

Hand-written, generic types only (SQLite and PostgreSQL). Issue 14: officers' private notes on a
ticket, the canned replies editors keep, the last message seen on a ticket (unread counts), and what
each turn of the bot came to (bot/handoff/outcomes.py) for honest analytics and the learning inbox.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen_message_id", sa.Integer(), nullable=True))
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_notes_ticket", ["ticket_id", "id"], unique=False)
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "turn_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("procedure_code", sa.String(length=32), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("turn_outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_turn_outcomes_created", ["created_at"], unique=False)
        batch_op.create_index("ix_turn_outcomes_kind_created", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("turn_outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_turn_outcomes_kind_created")
        batch_op.drop_index("ix_turn_outcomes_created")
    op.drop_table("turn_outcomes")
    op.drop_table("canned_replies")
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_notes_ticket")
    op.drop_table("ticket_notes")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("seen_message_id")
