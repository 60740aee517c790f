"""SQL adapter of :class:`bot.core.throttle.ThrottleStore`: the ``throttle`` table (migration 0010).

One row per subject (``login:user:lan``, ``chat:telegram:42``, ``dossier:H12.22-250301-0001`` ...) with
its failure count, window and block, so every worker process sees the same counts. A change reads the
rows ``FOR UPDATE`` and writes them in the same transaction, so two workers counting a failure at once
count two on PostgreSQL; within one process changes also take a lock, which is what keeps SQLite (one
process, worker threads reading before either writes) from losing a count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.throttle import CLEAR, ThrottleState
from bot.core.timeutil import as_utc, utcnow
from knowledge.db import Base

_CHANGES = threading.Lock()
"""One change at a time in this process (SQLite's deferred transactions would otherwise lose counts)."""


class ThrottleRow(Base):
    """The failures and block of one subject."""

    __tablename__ = "throttle"

    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


_STATE_COLUMNS = (
    ThrottleRow.failures,
    ThrottleRow.window_started_at,
    ThrottleRow.blocked_until,
    ThrottleRow.locked,
)
"""What :func:`_state` reads of a row."""


def _state(row: Any) -> ThrottleState:
    """The state of a row (a :class:`ThrottleRow` or a selected row with :data:`_STATE_COLUMNS`)."""
    if row is None:
        return CLEAR
    return ThrottleState(
        failures=row.failures,
        window_started_at=as_utc(row.window_started_at),
        blocked_until=as_utc(row.blocked_until),
        locked=bool(row.locked),
    )


class SqlThrottleStore:
    """:class:`bot.core.throttle.ThrottleStore` in the ``throttle`` table (blocking calls).

    Args:
        sessions: a session factory bound to the database.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, subjects: Sequence[str]) -> dict[str, ThrottleState]:
        with self._sessions() as session:
            rows = session.scalars(select(ThrottleRow).where(ThrottleRow.subject.in_(list(subjects))))
            found = {r.subject: _state(r) for r in rows}
        return {s: found.get(s, CLEAR) for s in subjects}

    def change(
        self, subjects: Sequence[str], step: Callable[[str, ThrottleState], ThrottleState]
    ) -> dict[str, ThrottleState]:
        wanted = sorted(set(subjects))  # one order for every worker: no deadlock between two changes
        for attempt in range(2):
            try:
                with _CHANGES, self._sessions.begin() as session:
                    stmt = select(ThrottleRow).where(ThrottleRow.subject.in_(wanted)).with_for_update()
                    rows = {r.subject: r for r in session.scalars(stmt)}
                    new: dict[str, ThrottleState] = {}
                    for subject in wanted:
                        row = rows.get(subject)
                        state = step(subject, _state(row))
                        if row is None:
                            row = ThrottleRow(subject=subject)
                            session.add(row)
                        row.failures = state.failures
                        row.window_started_at = state.window_started_at
                        row.blocked_until = state.blocked_until
                        row.locked = state.locked
                        row.updated_at = utcnow()
                        new[subject] = state
                return {s: new[s] for s in subjects}
            except IntegrityError:
                # Another worker inserted the same new subject between our select and insert: again.
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def clear(self, subjects: Sequence[str]) -> int:
        with self._sessions.begin() as session:
            result = session.execute(delete(ThrottleRow).where(ThrottleRow.subject.in_(list(subjects))))
            return int(getattr(result, "rowcount", 0) or 0)

    def blocked(self, prefix: str, now: datetime) -> dict[str, ThrottleState]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._sessions() as session:
            stmt = select(ThrottleRow).where(
                ThrottleRow.subject.like(f"{escaped}%", escape="\\"), ThrottleRow.blocked_until.is_not(None)
            )
            states = {r.subject: _state(r) for r in session.scalars(stmt)}
        # Compared here, not in SQL: SQLite keeps times as text without their zone.
        return {s: st for s, st in states.items() if st.blocked_until is not None and st.blocked_until > now}

    def prune(self, keep: Callable[[str, ThrottleState], bool]) -> int:
        # The rows are read in batches of 1,000 (a flood of fresh sender ids can leave hundreds of
        # thousands) and only the subjects to forget are kept in memory; a row changed since the scan
        # began (a new failure) is not deleted.
        started = utcnow()
        with self._sessions() as session:
            rows = session.execute(
                select(ThrottleRow.subject, *_STATE_COLUMNS).execution_options(yield_per=1000)
            )
            gone = [row.subject for row in rows if not keep(row.subject, _state(row))]
        deleted = 0
        with self._sessions.begin() as session:
            for start in range(0, len(gone), 500):
                batch = gone[start : start + 500]
                result = session.execute(
                    delete(ThrottleRow).where(
                        ThrottleRow.subject.in_(batch), ThrottleRow.updated_at < started
                    )
                )
                deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted
