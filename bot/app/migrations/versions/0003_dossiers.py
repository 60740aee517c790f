"""dossiers, dossier subscriptions and dossier access

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00

Hand-written, generic types only, so it runs on SQLite and PostgreSQL alike. Tables of bot/dossiers/tables.py:
``dossiers`` (DossierRow: the local one-stop shop's dossiers; identity numbers only as salted hashes of
their last 4 digits), ``dossier_subscriptions`` (DossierSubscriptionRow) and ``dossier_access``
(DossierAccessRow: failed verifications, locks and grants).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=32), nullable=False),
        sa.Column("procedure_name", sa.String(length=500), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("secret_salt", sa.String(length=32), nullable=False),
        sa.Column("phone_last4_hash", sa.String(length=64), nullable=True),
        sa.Column("id_last4_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_step", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "dossier_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("last_seen", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_code", "channel", "chat_id", name="uq_dossier_subscriptions"),
    )
    op.create_index(
        "ix_dossier_subscriptions_dossier_code", "dossier_subscriptions", ["dossier_code"], unique=False
    )
    op.create_table(
        "dossier_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject"),
    )


def downgrade() -> None:
    op.drop_table("dossier_access")
    op.drop_index("ix_dossier_subscriptions_dossier_code", table_name="dossier_subscriptions")
    op.drop_table("dossier_subscriptions")
    op.drop_table("dossiers")
