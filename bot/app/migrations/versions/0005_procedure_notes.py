"""procedure-level notes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00

Hand-written, generic types only, so it runs on SQLite and PostgreSQL alike. Adds ``procedures.notes``
(ProcedureRow.notes): the remarks the portal publishes in the documents table that concern the whole
dossier (a "Lưu ý" group), as a JSON list of strings. Existing rows get an empty list; a re-import of the
seed fills it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.drop_column("notes")
