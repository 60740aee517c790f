"""Shared fixtures: databases (SQLite always, PostgreSQL when HELPLINE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.app.migrations import migrate
from bot.core.settings import Settings
from knowledge.db import make_engine

PG_URL = os.environ.get("HELPLINE_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PostgreSQL tests need HELPLINE_TEST_DATABASE_URL (CI sets it to the local server, "
    "postgresql://postgres@127.0.0.1:5432/test)"
)


PG_SCHEMA = f"helpline_test_{os.getpid()}"


def pg_options() -> str:
    """libpq options putting a connection in this process's private schema."""
    return f"-csearch_path={PG_SCHEMA}"


def pg_engine() -> Engine:
    """An engine on a schema private to this test process, so concurrent runs never collide."""
    return make_engine(PG_URL, connect_args={"options": pg_options()})


def _reset_schema(drop_only: bool = False) -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        if not drop_only:
            conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database on each backend (PostgreSQL in a private schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        _reset_schema()
        engine = pg_engine()
    migrate(engine)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        _reset_schema(drop_only=True)


# --- the real system: a trained NLU model and a seeded database, built once per test session ---------

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the session's trained model (a whole app with the real NLU) is ``slow``, so
    ``-m "not slow"`` trains nothing; ``make test`` runs them all."""
    for item in items:
        if "nlu_model_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def nlu_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's NLU trained once per test session on data/nlu.yml into a temporary folder (about
    15 s). Every test that needs the real model uses this one; unit tests train on tests/data/nlu."""
    from nlu.models import train_model

    out = tmp_path_factory.mktemp("nlu-model")
    train_model(ROOT / "config.yml", [ROOT / "data" / "nlu.yml"], out)
    return out


@pytest.fixture(scope="session")
def seeded_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and loaded with the shipped seed, copied by each test that needs one."""
    from bot.app.bootstrap import bootstrap
    from tests.fakes.app import settings_for

    path = tmp_path_factory.mktemp("seeded") / "template.sqlite3"
    app = bootstrap(settings_for(path))
    app.migrate()
    app.seed_if_empty()
    app.adapters.db.dispose()
    return path


def _seeded_copy(folder: Path, template: Path, model_dir: Path) -> Settings:
    from tests.fakes.app import settings_for

    db = folder / "helpline.sqlite3"
    shutil.copyfile(template, db)
    return settings_for(db, model_dir=model_dir)


@pytest.fixture
def real_settings(tmp_path: Path, nlu_model_dir: Path, seeded_db_template: Path) -> Settings:
    """Settings for a real server on a private copy of the seeded database and the trained model."""
    return _seeded_copy(tmp_path, seeded_db_template, nlu_model_dir)


@pytest.fixture(scope="module")
def module_real_settings(
    tmp_path_factory: pytest.TempPathFactory, nlu_model_dir: Path, seeded_db_template: Path
) -> Settings:
    """:func:`real_settings` once per test module: for tests that share one app, each in conversations
    of its own (building an app indexes 4,259 procedures and loads the model: seconds)."""
    return _seeded_copy(tmp_path_factory.mktemp("module-real"), seeded_db_template, nlu_model_dir)


# --- the factory system: the app as production wires it, over the factory procedures -----------------


@pytest.fixture(scope="session")
def factory_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file prepared once by :func:`tests.fakes.app.factory_app` (schema, the factory procedures,
    the FAQ, the demo dossiers), copied by each test that builds such an app."""
    from tests.fakes.app import factory_app, settings_for

    path = tmp_path_factory.mktemp("factory") / "template.sqlite3"
    factory_app(settings_for(path)).adapters.db.dispose()
    return path


@pytest.fixture
def factory_settings(tmp_path: Path, factory_db_template: Path) -> Settings:
    """Settings on a private copy of :func:`factory_db_template` for :func:`tests.fakes.app.factory_app`."""
    from tests.fakes.app import settings_for

    db = tmp_path / "helpline.sqlite3"
    shutil.copyfile(factory_db_template, db)
    return settings_for(db)
