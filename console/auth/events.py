"""Security events of the console's accounts (the ``auth_events`` table, and the log).

Kinds: ``login``, ``login_failed``, ``login_refused`` (throttled or locked; at most one a minute per
account and address), ``account_locked``, ``unlocked``,
``logout``, ``password_changed``, ``role_changed``, ``disabled``, ``enabled``, ``account_created``
(``helpline user add``).
Never a password; the address is the client's as the server saw it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.timeutil import as_utc, utcnow
from console.auth.tables import AuthEventRow

log = logging.getLogger("helpline.security")


@dataclass(frozen=True)
class AuthEvent:
    """One security event."""

    id: int
    created_at: datetime
    kind: str
    username: str
    actor: str
    address: str
    detail: str


class AuthEvents:
    """Writes and reads the ``auth_events`` table; each event is also logged (``helpline.security``).

    Args:
        sessions: the database session factory.
        clock: current time.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def record(
        self, kind: str, username: str, *, actor: str = "", address: str = "", detail: str = ""
    ) -> None:
        """Write one event (blocking)."""
        log.warning(
            "console security event %s: account=%r actor=%r address=%s %s",
            kind,
            username,
            actor,
            address,
            detail,
        )
        with self._sessions.begin() as session:
            session.add(
                AuthEventRow(
                    created_at=self._clock(),
                    kind=kind[:32],
                    username=username[:64],
                    actor=actor[:64],
                    address=address[:64],
                    detail=detail[:255],
                )
            )

    def recent(self, limit: int = 100, username: str | None = None) -> list[AuthEvent]:
        """The newest events first (of one account when ``username`` is given)."""
        stmt = select(AuthEventRow).order_by(AuthEventRow.id.desc()).limit(limit)
        if username is not None:
            stmt = stmt.where(AuthEventRow.username == username)
        with self._sessions() as session:
            return [
                AuthEvent(
                    r.id,
                    as_utc(r.created_at) or r.created_at,
                    r.kind,
                    r.username,
                    r.actor,
                    r.address,
                    r.detail,
                )
                for r in session.scalars(stmt)
            ]
