"""learning loop: training examples taught by editors and decisions on the unanswered inbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00

Hand-written, generic types only, so it runs on SQLite and PostgreSQL alike. Tables of
console.learning.tables: ``training_examples`` (TrainingExampleRow: a text the NLU trains on besides
data/nlu.yml, its intent and procedure annotation, source ``learned`` or ``import``, who added it and when;
one row per text, keyed by the hash of the text ignoring case and spaces) and ``review_items``
(ReviewItemRow: an editor's decision, assigned or dismissed, on one group of the "Câu chưa trả lời được"
inbox).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=32), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("text_key", name="uq_training_examples_text_key"),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("procedure_code", sa.String(length=32), nullable=True),
        sa.Column("faq_id", sa.Integer(), nullable=True),
        sa.Column("example_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("text_key", name="uq_review_items_text_key"),
    )


def downgrade() -> None:
    op.drop_table("review_items")
    op.drop_table("training_examples")
