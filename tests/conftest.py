"""Shared fixtures: databases (SQLite always, PostgreSQL when HELPLINE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from knowledge.db import make_engine, migrate

PG_URL = os.environ.get("HELPLINE_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PostgreSQL tests need HELPLINE_TEST_DATABASE_URL (CI sets it to the local server, "
    "postgresql://postgres@127.0.0.1:5432/test)"
)


def _drop_everything(engine: Engine) -> None:
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        engine = make_engine(PG_URL)
        _drop_everything(engine)
    migrate(engine)
    yield engine
    if request.param == "postgresql":
        _drop_everything(engine)
    engine.dispose()


# --- the real system: a trained NLU model and a seeded database, built once per test session ---------

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def nlu_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's NLU trained once on data/nlu.yml into a temporary folder (about 15 s)."""
    from nlu.cli import train_model

    out = tmp_path_factory.mktemp("nlu-model")
    train_model(ROOT / "config.yml", [ROOT / "data" / "nlu.yml"], out)
    return out


@pytest.fixture(scope="session")
def seeded_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and loaded with the shipped seed, copied by each test that needs one."""
    from bot.bootstrap import Container
    from bot.settings import Settings

    path = tmp_path_factory.mktemp("seeded") / "template.sqlite3"
    container = Container(settings=Settings(database_url=f"sqlite:///{path}"))
    container.migrate()
    container.seed_if_empty()
    container.db_engine.dispose()
    return path


@pytest.fixture
def real_settings(tmp_path: Path, nlu_model_dir: Path, seeded_db_template: Path):
    """Settings for a real server on a private copy of the seeded database and the trained model."""
    from bot.settings import Settings

    db = tmp_path / "helpline.sqlite3"
    shutil.copyfile(seeded_db_template, db)
    return Settings(database_url=f"sqlite:///{db}", model_dir=nlu_model_dir)
