""":class:`SqlDossierAccessGuard`: failed verifications per chat and per dossier, locks and recent
grants, in the ``dossier_access`` table, so every worker sees the same counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.config import DossierConfig
from bot.core.timeutil import as_utc, utcnow
from bot.dossiers.tables import Clock, DossierAccessRow, off_loop

_TABLE = "dossier access table"


class SqlDossierAccessGuard:
    """:class:`bot.core.ports.DossierAccessGuard` in the ``dossier_access`` table (shared by every worker).

    Args:
        sessions: a session factory bound to the database.
        config: attempts, lock and grant durations.
        clock: current time.
    """

    def __init__(self, sessions: sessionmaker[Session], config: DossierConfig, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock

    def _rows(self, session: Session, subjects: Sequence[str]) -> dict[str, DossierAccessRow]:
        found = session.scalars(select(DossierAccessRow).where(DossierAccessRow.subject.in_(subjects)))
        rows = {r.subject: r for r in found}
        for subject in subjects:
            if subject not in rows:
                rows[subject] = DossierAccessRow(subject=subject, failures=0)
                session.add(rows[subject])
        return rows

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    return fn(session)
            except IntegrityError:
                # Another worker created a row between our select and insert: read it again.
                if attempt:
                    raise
        return None  # pragma: no cover

    async def locked(self, subjects: Sequence[str]) -> bool:
        def read() -> bool:
            now = self._clock()
            with self._sessions() as session:
                stmt = select(DossierAccessRow.locked_until).where(DossierAccessRow.subject.in_(subjects))
                return any((as_utc(t) or now) > now for t in session.scalars(stmt))

        return await off_loop(_TABLE, read)

    async def failed(self, subjects: Sequence[str]) -> bool:
        def write(session: Session) -> bool:
            now = self._clock()
            locked = False
            for row in self._rows(session, subjects).values():
                start = as_utc(row.window_started_at)
                if start is None or now - start >= self._config.lock_for:
                    row.failures, row.window_started_at = 0, now
                row.failures += 1
                if row.failures >= self._config.verification_attempts:
                    row.locked_until = now + self._config.lock_for
                    row.failures, row.window_started_at = 0, None
                row.updated_at = now
                locked = locked or (as_utc(row.locked_until) or now) > now
            return locked

        return bool(await off_loop(_TABLE, self._write, write))

    async def succeeded(self, subjects: Sequence[str], grant: str) -> None:
        def write(session: Session) -> None:
            now = self._clock()
            for row in self._rows(session, subjects).values():
                row.failures, row.window_started_at, row.updated_at = 0, None, now
            row = self._rows(session, [grant])[grant]
            row.granted_until, row.updated_at = now + self._config.grant_for, now

        await off_loop(_TABLE, self._write, write)

    async def granted(self, grant: str) -> bool:
        def read() -> bool:
            now = self._clock()
            with self._sessions() as session:
                stmt = select(DossierAccessRow.granted_until).where(DossierAccessRow.subject == grant)
                until = as_utc(session.scalars(stmt).first())
                return until is not None and until > now

        return await off_loop(_TABLE, read)

    def prune(self) -> int:
        """Delete rows with neither a running lock, a running grant nor recent failures; how many."""
        now = self._clock()
        old = now - self._config.lock_for
        with self._sessions.begin() as session:
            result = session.execute(
                delete(DossierAccessRow).where(
                    (DossierAccessRow.locked_until.is_(None)) | (DossierAccessRow.locked_until < now),
                    (DossierAccessRow.granted_until.is_(None)) | (DossierAccessRow.granted_until < now),
                    DossierAccessRow.updated_at < old,
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
