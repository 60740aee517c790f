"""Alembic environment: runs against the engine handed in by ``knowledge.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from knowledge.models import Base

target_metadata = [Base.metadata]
try:  # conversation tables live with the engine; imported when present
    from bot.store import Base as BotBase

    target_metadata.append(BotBase.metadata)
except ImportError:  # pragma: no cover - bot.store not written yet
    pass


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
