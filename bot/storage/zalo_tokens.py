"""SQL adapter of :class:`bot.channels.zalo_oa.TokenStore`: the ``zalo_oa_tokens`` table (migration 0012).

Zalo OA's refresh tokens are single-use: a refresh returns a new access token and a new refresh token,
and the old refresh token stops working. So the pair lives in the database every server process shares
(one row per Zalo app), not in each process's memory:

* the refresh is done by one process at a time: :meth:`SqlZaloTokenStore.refreshing` holds the
  deployment's lock ``zalo-oa-tokens:<app id>`` (:class:`bot.core.ports.Locks`: a PostgreSQL advisory
  lock across processes and machines, an asyncio lock on SQLite, which is one process). Inside it the
  channel re-reads the row: a process that finds a newer access token than the one Zalo refused takes
  it instead of refreshing again;
* the settings' tokens seed the row when there is none, and again only when the settings carry another
  pair than the one that seeded it (an operator who issued new tokens in Zalo's console): a restart with
  the same settings keeps the refreshed tokens;
* a refused refresh is written down (``refused_at``): no process asks Zalo again with the same dead
  refresh token; new tokens in the settings clear it.

The tokens are stored as the settings store them (plain text: the project keeps no secrets encrypted at
rest, see docs/deployment.md) and are never logged; the seed is remembered as a SHA-256 digest only.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.ports import Locks
from bot.core.timeutil import as_utc, utcnow
from bot.core.zalo import ZaloTokens
from knowledge.db import Base

__all__ = ["SqlZaloTokenStore", "ZaloTokenRow"]


class ZaloTokenRow(Base):
    """The current token pair of one Zalo app."""

    __tablename__ = "zalo_oa_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    seed_digest: Mapped[str] = mapped_column(String(64))
    refused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _digest(tokens: ZaloTokens) -> str:
    return hashlib.sha256(f"{tokens.access_token}\0{tokens.refresh_token}".encode()).hexdigest()


def _tokens(row: ZaloTokenRow) -> ZaloTokens:
    return ZaloTokens(
        access_token=row.access_token,
        refresh_token=row.refresh_token,
        expires_at=as_utc(row.expires_at),
        refused_at=as_utc(row.refused_at),
    )


class SqlZaloTokenStore:
    """The Zalo OA tokens of ``app_id`` in the shared database (see the module doc).

    Args:
        sessions: sessions on the deployment's database.
        locks: the deployment's locks (the refresh is held by one process at a time).
        app_id: the Zalo app (the row's key).
        seed: the settings' tokens.
        clock: current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        locks: Locks,
        app_id: str,
        seed: ZaloTokens,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._locks = locks
        self._app_id = app_id
        self._seed = seed
        self._seed_digest = _digest(seed)
        self._clock = clock
        self._seeded = False

    def refreshing(self) -> AbstractAsyncContextManager[None]:
        """Hold the right to refresh the tokens (one process of the deployment at a time)."""
        return self._locks.hold(f"zalo-oa-tokens:{self._app_id}")

    async def load(self) -> ZaloTokens:
        """The current tokens (the row seeded from the settings first if needed)."""
        return await asyncio.to_thread(self._load)

    async def save(self, tokens: ZaloTokens) -> None:
        """Replace the current tokens (after a refresh; call it inside :meth:`refreshing`)."""
        await asyncio.to_thread(self._save, tokens)

    async def refused(self, tokens: ZaloTokens) -> None:
        """Note that Zalo refused to refresh ``tokens`` (if they are still the current ones)."""
        await asyncio.to_thread(self._refused, tokens)

    # --- blocking parts, in a worker thread

    def _load(self) -> ZaloTokens:
        with self._sessions() as session:
            row = session.get(ZaloTokenRow, self._app_id)
            if row is not None and (self._seeded or row.seed_digest == self._seed_digest):
                self._seeded = True
                return _tokens(row)
        self._seed_row()
        return self._load()

    def _seed_row(self) -> None:
        """Seed the row from the settings when there is none or the settings carry a new pair (under a
        row lock on PostgreSQL, so two processes starting at once seed it once)."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._locked_row(session)
            if row is None:
                session.add(
                    ZaloTokenRow(
                        app_id=self._app_id,
                        access_token=self._seed.access_token,
                        refresh_token=self._seed.refresh_token,
                        expires_at=self._seed.expires_at,
                        generation=1,
                        seed_digest=self._seed_digest,
                        refused_at=None,
                        updated_at=now,
                    )
                )
            elif row.seed_digest != self._seed_digest:
                row.access_token = self._seed.access_token
                row.refresh_token = self._seed.refresh_token
                row.expires_at = self._seed.expires_at
                row.generation += 1
                row.seed_digest = self._seed_digest
                row.refused_at = None
                row.updated_at = now
        self._seeded = True

    def _locked_row(self, session: Session) -> ZaloTokenRow | None:
        """The app's row, locked until the transaction ends (``FOR UPDATE``; SQLite has one writer)."""
        return session.scalars(
            select(ZaloTokenRow).where(ZaloTokenRow.app_id == self._app_id).with_for_update()
        ).first()

    def _save(self, tokens: ZaloTokens) -> None:
        with self._sessions.begin() as session:
            row = self._locked_row(session)
            if row is None:  # load() seeds it before any refresh
                raise RuntimeError("the Zalo OA token row is missing")
            row.access_token = tokens.access_token
            row.refresh_token = tokens.refresh_token
            row.expires_at = tokens.expires_at
            row.generation += 1
            row.refused_at = None
            row.updated_at = self._clock()

    def _refused(self, tokens: ZaloTokens) -> None:
        with self._sessions.begin() as session:
            row = self._locked_row(session)
            if row is not None and row.refresh_token == tokens.refresh_token:
                row.refused_at = self._clock()
                row.updated_at = row.refused_at
