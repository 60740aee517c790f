"""Tests build the app through production's composition root, with fakes where they choose.

``bootstrap(settings, adapters=fake_adapters(settings, interpreter=FakeInterpreter()))`` gives the same
:class:`bot.app.bootstrap.App` the server runs: the real engine, policy, actions, hand-off, consoles and
channels, wired as in production. By default every port is production's SQL adapter on the test's own
database (``settings.database_url``: a temporary SQLite file, or PostgreSQL) and the NLU is the trained
model store of ``settings.model_dir``; any field can be replaced by keyword. ``db=`` puts every SQL
adapter on a database the test already holds (the ``db_engine`` fixture: SQLite or PostgreSQL).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine as DbEngine

from bot.app.bootstrap import Adapters, FixedModels, real_adapters, sql_adapters
from bot.core.config import HelplineConfig, load_config
from bot.core.ports import Interpreter
from bot.core.settings import Settings


def fake_adapters(
    settings: Settings,
    config: HelplineConfig | None = None,
    *,
    interpreter: Interpreter | None = None,
    db: DbEngine | None = None,
    **fields: Any,
) -> Adapters:
    """Production's adapters for ``settings`` with ``fields`` replaced (``knowledge=``, ``dossiers=``,
    ``http_transport=`` ...); ``interpreter=`` answers every message with that interpreter instead of a
    trained model; ``db=`` builds the SQL adapters on that database instead of ``settings.database_url``."""
    config = config if config is not None else load_config(settings.config_path)
    adapters = real_adapters(settings, config, fields.pop("http_transport", None))
    if db is not None:
        adapters = replace(sql_adapters(db, config, adapters.nlu), http_transport=adapters.http_transport)
    if interpreter is not None:
        fields["nlu"] = FixedModels(interpreter)
    return replace(adapters, **fields)
