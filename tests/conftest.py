"""Shared fixtures: databases (SQLite always, PostgreSQL when HELPLINE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
