"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData


def _all_tables() -> MetaData:
    import bot.dossiers  # noqa: F401 - each import registers its tables
    import bot.web.rest  # noqa: F401
    import console.auth  # noqa: F401
    import console.editor  # noqa: F401
    import console.learning  # noqa: F401
    import console.tickets  # noqa: F401
    from bot.store import Base as BotBase
    from knowledge.models import Base as KnowledgeBase

    combined = MetaData()
    for metadata in (KnowledgeBase.metadata, BotBase.metadata):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def test_migrated_schema_matches_the_models(db_engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True, "compare_type": False})
        assert compare_metadata(context, _all_tables()) == []
