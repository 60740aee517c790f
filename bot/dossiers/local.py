""":class:`LocalDossierGateway`: dossiers in our own ``dossiers`` table (the default, and the demo).

The applicant's phone and ID numbers are never stored: only salted hashes of their last 4 digits, which
is all a verification compares.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.dossier import last4_of
from bot.core.ports import DossierStatus
from bot.core.timeutil import as_utc, utcnow
from bot.dossiers.tables import Clock, DossierRow, off_loop


def _digest(salt: str, last4: str) -> str:
    return hashlib.sha256(f"{salt}:{last4}".encode()).hexdigest()


def _matches(salt: str, stored: str | None, last4: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, _digest(salt, last4))


def _status_of(row: DossierRow) -> DossierStatus:
    return DossierStatus(
        code=row.code,
        status=row.status,
        procedure_name=row.procedure_name,
        procedure_code=row.procedure_code,
        current_step=row.current_step,
        received_at=as_utc(row.received_at),
        due_at=as_utc(row.due_at),
        done=row.finished_at is not None,
        updated_at=as_utc(row.updated_at),
    )


@dataclass(frozen=True)
class NewDossier:
    """A dossier to add to the local table. The phone and ID numbers are reduced to hashed last 4 digits.

    Attributes:
        code: the dossier code.
        procedure_code: national procedure code.
        procedure_name: the procedure's name as the receipt states it.
        applicant_name: who filed it (for officers; never shown to citizens).
        phone: the applicant's phone number (or just its last 4 digits).
        id_number: the applicant's ID number (or just its last 4 digits).
        received_at: when it was received.
        due_at: when the result is promised.
        current_step: the step it is at.
        status: its published status.
        finished_at: when the result was ready (None: in progress).
    """

    code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    phone: str
    id_number: str
    received_at: datetime
    due_at: datetime | None
    current_step: str
    status: str
    finished_at: datetime | None = None


class LocalDossierGateway:
    """:class:`bot.core.ports.DossierGateway` over the local ``dossiers`` table.

    Args:
        sessions: a session factory bound to the database (the composition root's).
        clock: current time, for ``updated_at``.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def _get(self, code: str) -> tuple[DossierStatus, str, str | None, str | None] | None:
        with self._sessions() as session:
            row = session.scalars(select(DossierRow).where(DossierRow.code == code.strip().upper())).first()
            if row is None:
                return None
            return _status_of(row), row.secret_salt, row.phone_last4_hash, row.id_last4_hash

    async def lookup(self, code: str) -> DossierStatus | None:
        found = await off_loop("local dossier table", self._get, code)
        return found[0] if found else None

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        found = await off_loop("local dossier table", self._get, code)
        if found is None:
            # Same hashing work as a wrong answer, so timing tells no more than the reply.
            _matches("", None, _digest("", last4) + _digest("", last4))
            return None
        status, salt, phone_hash, id_hash = found
        phone_ok = _matches(salt, phone_hash, last4)
        id_ok = _matches(salt, id_hash, last4)
        return status if phone_ok or id_ok else None

    def add(self, dossier: NewDossier) -> None:
        """Insert one dossier (its code upper-cased)."""
        salt = secrets.token_hex(16)
        phone4, id4 = last4_of(dossier.phone), last4_of(dossier.id_number)
        with self._sessions.begin() as session:
            session.add(
                DossierRow(
                    code=dossier.code.strip().upper(),
                    procedure_code=dossier.procedure_code,
                    procedure_name=dossier.procedure_name,
                    applicant_name=dossier.applicant_name,
                    secret_salt=salt,
                    phone_last4_hash=_digest(salt, phone4) if phone4 else None,
                    id_last4_hash=_digest(salt, id4) if id4 else None,
                    received_at=dossier.received_at,
                    due_at=dossier.due_at,
                    finished_at=dossier.finished_at,
                    current_step=dossier.current_step,
                    status=dossier.status,
                    updated_at=self._clock(),
                )
            )

    def update_status(
        self, code: str, *, status: str, current_step: str | None = None, done: bool | None = None
    ) -> DossierStatus:
        """Change a dossier's status (an officer's update); subscribers hear of it at the next poll.

        Args:
            code: the dossier code.
            status: the new published status.
            current_step: the new step (unchanged when None).
            done: True marks the result ready, False in progress again (unchanged when None).

        Raises:
            KeyError: no dossier has this code.
        """
        with self._sessions.begin() as session:
            row = session.scalars(select(DossierRow).where(DossierRow.code == code.strip().upper())).first()
            if row is None:
                raise KeyError(code)
            now = self._clock()
            row.status = status
            if current_step is not None:
                row.current_step = current_step
            if done is not None:
                row.finished_at = (row.finished_at or now) if done else None
            row.updated_at = now
            return _status_of(row)

    def count(self) -> int:
        """How many dossiers the table holds."""
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(DossierRow)) or 0)
