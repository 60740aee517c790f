"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app.migrations import all_tables


def test_migrated_schema_matches_the_models(db_engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True, "compare_type": False})
        assert compare_metadata(context, all_tables()) == []
