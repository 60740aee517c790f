"""Alembic environment: runs against the engine handed in by ``bot.app.migrations.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from bot.app.migrations import all_tables

target_metadata = all_tables()


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
