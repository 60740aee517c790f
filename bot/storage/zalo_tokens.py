"""SQL adapter of :class:`bot.channels.zalo_oa.TokenStore`: the ``zalo_oa_tokens`` table (migration 0012).

Zalo OA's refresh tokens are single-use: a refresh returns a new access token and a new refresh token,
and the old refresh token stops working. So the pair lives in the database every server process shares
(one row per Zalo app), not in each process's memory:

* the refresh is done by one process at a time: :meth:`SqlZaloTokenStore.refreshing` holds the
  deployment's lock ``zalo-oa-tokens:<app id>`` (:class:`bot.core.ports.Locks`: a PostgreSQL advisory
  lock across processes and machines, an asyncio lock on SQLite, which is one process). Inside it the
  channel re-reads the row: a process that finds a newer access token than the one Zalo refused takes
  it instead of refreshing again;
* the settings' tokens seed the row when there is none (an insert that ignores a conflict: two
  processes, or two sends, seeding at once make one row and no error), and again only when the settings
  carry a pair the table has never seen (an operator who issued new tokens in Zalo's console). The
  table keeps the digests of every pair and every settings it has seen (``seen_digests``, migration
  0013): a restart with the same settings keeps the refreshed tokens, and a process still running with
  older settings during a rolling deploy does not put its old pair back over the newer one;
* a refused refresh is written down (``refused_at``): no process asks Zalo again with the same dead
  refresh token; new settings clear it (a new pair, or the same pair with another app secret key: the
  settings' digest covers a hash of the key, since a wrong key may be why Zalo refused);
* a refreshed pair is saved again a few times when the database write fails (Zalo has already spent the
  old refresh token); if it still fails the pair stays in this process's memory, used and saved again
  at the next load, and an error naming the app only is logged.

The tokens are stored as the settings store them (plain text: the project keeps no secrets encrypted at
rest, see docs/deployment.md) and are never logged; the seed is remembered as a SHA-256 digest only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.ports import Locks
from bot.core.timeutil import as_utc, utcnow
from bot.core.zalo import ZaloTokens
from knowledge.db import Base

__all__ = ["SqlZaloTokenStore", "ZaloTokenRow"]

log = logging.getLogger(__name__)

_SEEN_KEPT = 64
"""How many digests ``seen_digests`` keeps (the newest; two per settings)."""


class ZaloTokenRow(Base):
    """The current token pair of one Zalo app."""

    __tablename__ = "zalo_oa_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    seed_digest: Mapped[str] = mapped_column(String(64))
    seen_digests: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Space-separated digests of every pair and every settings (pair and app key) the row has seen."""
    refused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pair_digest(tokens: ZaloTokens) -> str:
    """The digest of a token pair (what migration 0012's ``seed_digest`` held)."""
    return _sha256(f"{tokens.access_token}\0{tokens.refresh_token}")


def _settings_digest(tokens: ZaloTokens, app_secret_key: str) -> str:
    """The digest of a pair and of a hash of the app secret key it is refreshed with."""
    return _sha256(f"{tokens.access_token}\0{tokens.refresh_token}\0{_sha256(app_secret_key)}")


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
        app_secret_key: the settings' app secret key (only its hash enters the settings' digest).
        clock: current UTC time.
        save_attempts: tries to write a refreshed pair before giving up on the database.
        save_backoff: first wait in seconds between those tries (doubles each time).
        sleep: the sleep function used between them.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        locks: Locks,
        app_id: str,
        seed: ZaloTokens,
        *,
        app_secret_key: str = "",
        clock: Callable[[], datetime] = utcnow,
        save_attempts: int = 4,
        save_backoff: float = 0.2,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._sessions = sessions
        self._locks = locks
        self._app_id = app_id
        self._seed = seed
        self._pair_digest = _pair_digest(seed)
        self._seed_digest = _settings_digest(seed, app_secret_key)
        self._clock = clock
        self._save_attempts = max(1, save_attempts)
        self._save_backoff = save_backoff
        self._sleep = sleep
        self._seeded = False
        self._unsaved: ZaloTokens | None = None
        """A refreshed pair the database did not take (see :meth:`save`)."""

    def refreshing(self) -> AbstractAsyncContextManager[None]:
        """Hold the right to refresh the tokens (one process of the deployment at a time)."""
        return self._locks.hold(f"zalo-oa-tokens:{self._app_id}")

    async def load(self) -> ZaloTokens:
        """The current tokens (the row seeded from the settings first if needed)."""
        if self._unsaved is not None:
            await self.save(self._unsaved)
            if self._unsaved is not None:
                return self._unsaved
        return await asyncio.to_thread(self._load)

    async def save(self, tokens: ZaloTokens) -> None:
        """Replace the current tokens (after a refresh; call it inside :meth:`refreshing`).

        Zalo has already spent the old refresh token, so a failed write is tried again; when every try
        fails the pair is kept in memory (:meth:`load` returns it and saves it again) and an error
        naming the app, never the tokens, is logged.
        """
        for attempt in range(1, self._save_attempts + 1):
            try:
                await asyncio.to_thread(self._save, tokens)
            except SQLAlchemyError as exc:
                if attempt == self._save_attempts:
                    self._unsaved = tokens
                    log.error(
                        "Zalo OA tokens of app %s refreshed but not saved after %d tries (%s); "
                        "kept in this process's memory until the database takes them",
                        self._app_id,
                        attempt,
                        type(exc).__name__,
                    )
                    return
                await self._sleep(self._save_backoff * 2 ** (attempt - 1))
            else:
                self._unsaved = None
                return

    async def refused(self, tokens: ZaloTokens) -> None:
        """Note that Zalo refused to refresh ``tokens`` (if they are still the current ones)."""
        await asyncio.to_thread(self._refused, tokens)

    # --- blocking parts, in a worker thread

    def _load(self) -> ZaloTokens:
        if not self._seeded:
            self._seed_row()
        with self._sessions() as session:
            row = session.get(ZaloTokenRow, self._app_id)
            if row is None:  # deleted by hand since: seed it again
                self._seeded = False
                return self._load()
            return _tokens(row)

    def _seed_row(self) -> None:
        """Seed the row from the settings (once per process).

        No row: an insert that ignores a conflict, so two processes (or two sends) seeding at once make
        one row and raise nothing. A row: under its lock, the settings' pair replaces the row's only
        when the table has never seen it, and new settings (pair or app key) clear a refusal.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            session.execute(
                _insert_ignoring_conflict(session)
                .values(
                    app_id=self._app_id,
                    access_token=self._seed.access_token,
                    refresh_token=self._seed.refresh_token,
                    expires_at=self._seed.expires_at,
                    generation=1,
                    seed_digest=self._seed_digest,
                    seen_digests=f"{self._pair_digest} {self._seed_digest}",
                    refused_at=None,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["app_id"])
            )
            row = self._locked_row(session)
            if row is None:  # pragma: no cover - inserted or already there just above
                raise RuntimeError("the Zalo OA token row is missing")
            seen = row.seen_digests.split()
            if self._pair_digest not in seen:  # a pair issued anew in Zalo's console
                row.access_token = self._seed.access_token
                row.refresh_token = self._seed.refresh_token
                row.expires_at = self._seed.expires_at
                row.generation += 1
                row.refused_at = None
            elif self._seed_digest not in seen:  # the same pair with another app secret key
                row.refused_at = None
            else:
                self._seeded = True
                return
            row.seed_digest = self._seed_digest
            kept = [d for d in seen if d not in (self._pair_digest, self._seed_digest)]
            row.seen_digests = " ".join([*kept, self._pair_digest, self._seed_digest][-_SEEN_KEPT:])
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


def _insert_ignoring_conflict(session: Session) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` into the token table, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(ZaloTokenRow)
    if dialect == "sqlite":
        return sqlite.insert(ZaloTokenRow)
    raise RuntimeError(f"the Zalo OA token table supports SQLite and PostgreSQL, not {dialect}")
