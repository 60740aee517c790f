""":class:`SqlDossierAccessGuard`: the dossier verification's limits (per requester, per code and
overall, :class:`bot.core.throttle.VerificationGuard`) over a shared throttle store, and the recent grants
in the ``dossier_access`` table, so every worker sees the same counts.

The throttle rules are the console login's (one mechanism, :mod:`bot.core.throttle`); the composition
root passes the SQL throttle store (``bot.storage.throttle.SqlThrottleStore``), which this package may
not import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.config import DossierConfig
from bot.core.throttle import ThrottleStore, VerificationGuard, VerificationLimits
from bot.core.timeutil import as_utc, utcnow
from bot.dossiers.tables import Clock, DossierAccessRow, off_loop

_TABLE = "dossier access table"

T = TypeVar("T")


class SqlGrants:
    """:class:`bot.core.throttle.Grants` in the ``dossier_access`` table (``granted_until``)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def grant(self, grant: str, until: datetime) -> None:
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    row = session.scalars(
                        select(DossierAccessRow).where(DossierAccessRow.subject == grant)
                    ).first()
                    if row is None:
                        row = DossierAccessRow(subject=grant, failures=0)
                        session.add(row)
                    row.granted_until, row.updated_at = until, self._clock()
                return
            except IntegrityError:
                # Another worker created the row between our select and insert: write it again.
                if attempt:
                    raise

    def granted_until(self, grant: str) -> datetime | None:
        with self._sessions() as session:
            stmt = select(DossierAccessRow.granted_until).where(DossierAccessRow.subject == grant)
            return as_utc(session.scalars(stmt).first())

    def prune(self, now: datetime) -> int:
        with self._sessions.begin() as session:
            result = session.execute(
                delete(DossierAccessRow).where(
                    (DossierAccessRow.locked_until.is_(None)) | (DossierAccessRow.locked_until < now),
                    (DossierAccessRow.granted_until.is_(None)) | (DossierAccessRow.granted_until < now),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)


async def _off_loop(fn: Callable[[], T]) -> T:
    return await off_loop(_TABLE, fn)


class SqlDossierAccessGuard(VerificationGuard):
    """:class:`bot.core.ports.DossierAccessGuard` shared by every worker: the throttle in ``store``, the
    grants in ``dossier_access``; a database failure reads as "dossier look-up unavailable".

    Args:
        sessions: a session factory bound to the database (the grants).
        config: free attempts, the longest code cool-down and the grant duration.
        store: the throttle states (``bot.storage.throttle.SqlThrottleStore``, given by the composition
            root).
        clock: current time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: DossierConfig,
        store: ThrottleStore,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(
            store,
            SqlGrants(sessions, clock),
            VerificationLimits.of(config.verification_attempts, config.lock_for),
            grant_for=config.grant_for,
            clock=clock,
            offload=_off_loop,
        )
