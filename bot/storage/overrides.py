"""SQL adapter of :class:`bot.core.ports.ResponseOverrides`: the editors' versions of response texts.

One table (migration 0006), ``response_overrides``: one row per response key of ``data/responses.yml``
an editor changed, holding its list of variants in the file's shape. The bot reads them at start-up
(:func:`bot.core.responses.load_responses`); the editor console writes them
(:class:`console.editor.service.EditorService`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, delete, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.errors import UnavailableError
from bot.core.timeutil import utcnow
from knowledge.db import Base


class ResponseOverrideRow(Base):
    """An editor's version of one response key of ``data/responses.yml`` (its list of variants)."""

    __tablename__ = "response_overrides"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    variants: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


class SqlResponseOverrides:
    """Implements :class:`bot.core.ports.ResponseOverrides` over the ``response_overrides`` table.

    Args:
        sessions: the database session factory.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def read(self) -> dict[str, Any]:
        """Every stored override, by key.

        Raises:
            UnavailableError: the database cannot be read (down, or not migrated yet).
        """
        try:
            with self._sessions() as session:
                return {r.key: r.variants for r in session.scalars(select(ResponseOverrideRow))}
        except (OperationalError, ProgrammingError) as exc:
            raise UnavailableError(str(exc)) from exc

    def put(self, key: str, variants: list[dict[str, Any]], by: str) -> None:
        with self._sessions.begin() as session:
            row = session.get(ResponseOverrideRow, key) or ResponseOverrideRow(key=key)
            row.variants, row.updated_at, row.updated_by = variants, utcnow(), by
            session.add(row)

    def drop(self, key: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(ResponseOverrideRow).where(ResponseOverrideRow.key == key))
