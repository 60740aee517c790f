"""The app production runs, over the factory procedures and with the rule-based fake NLU.

Wiring tests (the YAML transcripts, the engine, dossier dialogues, the hand-off) talk to the
:class:`bot.app.bootstrap.App` that :func:`bot.app.bootstrap.bootstrap` builds, exactly as the server does:
the config.yml policy with the FAQ matcher, the actions with working hours and the ticket queue, the ticket
sink, the SQL stores. Only what a test chooses is fake: the NLU (:class:`tests.fakes.interpreter.FakeInterpreter`
by default), the knowledge base's contents (the six procedures of :mod:`tests.factories` instead of the
4,259 of the seed), and any adapter passed by keyword (``dossiers=``, ``clock=`` ...).

Usage (``factory_settings`` in tests/conftest.py is a private copy of a prepared database)::

    app = factory_app(factory_settings, clock=FakeClock(...))
    replies = await app.engine.handle(f.inbound("đăng ký kết hôn cần giấy tờ gì"))
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as DbEngine

from bot.app.bootstrap import App, bootstrap
from bot.core.config import HelplineConfig
from bot.core.ports import Interpreter
from bot.core.settings import Settings
from knowledge.domain import Procedure
from tests import factories as f
from tests.fakes.adapters import fake_adapters
from tests.fakes.interpreter import FakeInterpreter

TEST_SESSION_SECRET = "test-only-session-secret-Qm9X2vLr8TzK4pWn7YcJ"
"""A strong, fixed console cookie secret for tests (never used anywhere else), so no test writes a
generated one into the checkout's ``var/``."""


def settings_for(database: Path | str, **fields: Any) -> Settings:
    """Settings on ``database`` (a SQLite file, or a URL), blind to the developer's ``.env``: a test sees
    only what it sets (the environment's ``HELPLINE_*`` variables still apply, as in CI)."""
    url = f"sqlite:///{database}" if isinstance(database, Path) else database
    fields.setdefault("session_secret", TEST_SESSION_SECRET)
    return Settings(_env_file=None, database_url=url, **fields)


def factory_app(
    settings: Settings,
    *,
    interpreter: Interpreter | None = None,
    db: DbEngine | None = None,
    config: HelplineConfig | None = None,
    procedures: Iterable[Procedure] = (),
    **fields: Any,
) -> App:
    """``bootstrap(settings, config, fake_adapters(...))``, prepared as the server prepares it.

    Args:
        settings: where the database is (``factory_settings``: a copy of a database already prepared).
        interpreter: the NLU; a fresh :class:`FakeInterpreter` by default.
        db: a database the test holds (the ``db_engine`` fixture) instead of ``settings.database_url``.
        config: config.yml as typed; the shipped one by default.
        procedures: the knowledge base when it is empty (default: :func:`tests.factories.all_procedures`);
            with procedures there, the seed of 4,259 is never imported.
        fields: adapters to replace (``dossiers=``, ``dossier_guard=``, ``clock=`` ...).
    """
    adapters = fake_adapters(settings, config, interpreter=interpreter or FakeInterpreter(), db=db, **fields)
    app = bootstrap(settings, config, adapters)
    app.migrate()
    if not app.knowledge.count():
        app.knowledge.upsert(list(procedures) or f.all_procedures())
    app.prepare()
    return app
