"""Database engines, sessions and the declarative base (SQLite file by default, PostgreSQL in production).

The schema migrations live in the composition root (:mod:`bot.app.migrations`), which sees every table."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """The one declarative base of every helpline table (knowledge, conversations, dossiers, tickets,
    console). Table modules of every layer derive from it; the migrations (``bot/app/migrations``)
    import them all so Alembic sees one ``Base.metadata``."""


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for ``url``; SQLite files get their folder created, WAL, foreign keys and a busy timeout.

    ``postgresql://`` URLs are served by psycopg 3. Errors never carry the statement's parameters
    (``hide_parameters``): they can hold secrets (Zalo OA tokens) and citizens' texts, and error
    messages end up in logs.
    """
    kwargs = {"hide_parameters": True, **kwargs}
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(parsed, **{"pool_pre_ping": True, **kwargs})  # the caller may turn the ping off


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the repository returns domain copies)."""
    return sessionmaker(engine, expire_on_commit=False)


def one_statement_engine(sessions: sessionmaker[Session]) -> Engine:
    """The engine of ``sessions`` for work that is one statement: in autocommit on PostgreSQL.

    A single statement is atomic on its own; a ``BEGIN`` and a ``COMMIT`` or ``ROLLBACK`` around it are
    two more round trips (``benchmarks/bench_turn_cost.py`` counts them). ``begin()`` on it sends
    nothing on PostgreSQL, and on SQLite (returned as it is: its driver opens no transaction for a
    ``SELECT``) commits a write, so ``with one_statement_engine(s).begin() as conn`` suits both.
    """
    db = engine_of(sessions)
    return db.execution_options(isolation_level="AUTOCOMMIT") if db.dialect.name == "postgresql" else db


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The Engine ``sessions`` is bound to (the composition root binds it to one; ``get_bind`` may also
    answer a Connection). No connection is opened: this only asks for the bind."""
    with sessions() as session:
        return cast(Engine, session.get_bind())
