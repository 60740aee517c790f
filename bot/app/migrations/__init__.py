"""The schema migrations of every helpline table, and the one place that imports every table module.

Tables live with the layer that owns them (knowledge, conversations, dossiers, tickets, console); they
all derive from :class:`knowledge.db.Base`. :func:`migrate` brings a database up to date.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

from knowledge.db import Base

MIGRATIONS = Path(__file__).resolve().parent

TABLE_MODULES = (
    "knowledge.models",
    "bot.storage.sql",
    "bot.storage.inbox",
    "bot.storage.overrides",
    "bot.storage.throttle",
    "bot.storage.zalo_tokens",
    "bot.storage.button_memory",
    "bot.channels.rest",
    "bot.dossiers.tables",
    "console.auth.tables",
    "console.editor.tables",
    "console.learning.tables",
    "bot.handoff.tables",
)
"""Every module that defines tables; importing them registers their tables on ``Base.metadata``."""


def all_tables() -> MetaData:
    """``Base.metadata`` with every table of every layer registered."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at these migrations and at ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)
