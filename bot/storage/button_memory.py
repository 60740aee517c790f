"""SQL adapter of :class:`bot.channels.base.ButtonMemory`: the ``button_memory`` table (migration 0014).

A channel sends a message with choices from one server process, and the citizen's answer (a Telegram
button press, a "2" typed on Zalo) arrives through a webhook at whichever process the proxy picks. What
the answer refers to therefore lives in the database every process shares, one row per key:

* ``telegram:~<digest>``: the payload of a button too long for Telegram's 64-byte ``callback_data``;
* ``<channel>:buttons:<chat id>``: the buttons last offered in a text-only chat (JSON), for numbered
  replies.

A write is one upsert (two processes writing one key at once do not collide); rows untouched for
:data:`KEEP` are deleted by the privacy purge (``bot.app.retention``). A press on an older Telegram
button falls back to the button's title, a numbered reply to an older list is read as typed text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.timeutil import utcnow
from knowledge.db import Base

__all__ = ["KEEP", "ButtonMemoryRow", "SqlButtonMemory"]

KEEP = timedelta(days=7)
"""How long a row is kept after its last write."""


class ButtonMemoryRow(Base):
    """One remembered value (see the module doc for the keys)."""

    __tablename__ = "button_memory"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SqlButtonMemory:
    """The shared :class:`bot.channels.base.ButtonMemory` (see the module doc).

    Args:
        sessions: sessions on the deployment's database.
        clock: current UTC time.
    """

    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def put(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key`` (one upsert)."""
        row = {"key": key, "value": value, "updated_at": self._clock()}
        with self._sessions.begin() as session:
            insert: Any = (
                postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            )
            stmt = insert(ButtonMemoryRow).values(**row)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[ButtonMemoryRow.key],
                    set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
                )
            )

    def get(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        with self._sessions() as session:
            return session.scalar(select(ButtonMemoryRow.value).where(ButtonMemoryRow.key == key))

    def forget(self, key: str) -> None:
        """Drop ``key``."""
        with self._sessions.begin() as session:
            session.execute(delete(ButtonMemoryRow).where(ButtonMemoryRow.key == key))
