"""Alembic environment: runs against the engine handed in by ``knowledge.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from knowledge.models import Base

target_metadata = [Base.metadata]
# Conversation, dossier, ticket and user tables share bot.store.Base; importing their modules
# registers them so autogenerate sees every table.
import bot.dossiers  # noqa: E402,F401
import bot.web.rest  # noqa: E402,F401
import console.auth  # noqa: E402,F401
import console.editor  # noqa: E402,F401
import console.learning  # noqa: E402,F401
import console.tickets  # noqa: E402,F401
from bot.store import Base as BotBase  # noqa: E402

target_metadata.append(BotBase.metadata)


def run_migrations_online() -> None:
    """Migrate with the engine given in the config attributes, or one built from its URL."""
    connectable = context.config.attributes.get("engine")
    if connectable is None:
        connectable = engine_from_config(
            context.config.get_section(context.config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
