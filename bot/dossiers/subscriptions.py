""":class:`SqlDossierSubscriptions`: the chats to notify when a dossier changes, in the
``dossier_subscriptions`` table (read by :class:`bot.dossiers.watcher.DossierWatcher`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.messages import ConversationKey
from bot.core.ports import DossierSubscription
from bot.core.timeutil import utcnow
from bot.dossiers.tables import Clock, DossierSubscriptionRow, off_loop

_TABLE = "dossier subscriptions table"


class SqlDossierSubscriptions:
    """:class:`bot.core.ports.DossierSubscriptions` in the ``dossier_subscriptions`` table.

    Args:
        sessions: a session factory bound to the database.
        clock: current time, for ``created_at`` and ``updated_at``.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    @staticmethod
    def _where(code: str, key: ConversationKey) -> Any:
        return (
            (DossierSubscriptionRow.dossier_code == code)
            & (DossierSubscriptionRow.channel == key.channel)
            & (DossierSubscriptionRow.chat_id == key.chat_id)
        )

    async def subscribe(self, code: str, key: ConversationKey, last_seen: str | None) -> bool:
        def write() -> bool:
            try:
                with self._sessions.begin() as session:
                    if session.scalars(
                        select(DossierSubscriptionRow.id).where(self._where(code, key))
                    ).first():
                        return False
                    now = self._clock()
                    session.add(
                        DossierSubscriptionRow(
                            dossier_code=code,
                            channel=key.channel,
                            chat_id=key.chat_id,
                            last_seen=last_seen,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                return True
            except IntegrityError:  # a double click raced us: it exists
                return False

        return bool(await off_loop(_TABLE, write))

    async def active(self) -> list[DossierSubscription]:
        def read() -> list[DossierSubscription]:
            with self._sessions() as session:
                rows = session.scalars(select(DossierSubscriptionRow).order_by(DossierSubscriptionRow.id))
                return [
                    DossierSubscription(r.dossier_code, ConversationKey(r.channel, r.chat_id), r.last_seen)
                    for r in rows
                ]

        return list(await off_loop(_TABLE, read))

    async def mark_seen(self, code: str, key: ConversationKey, last_seen: str) -> None:
        def write() -> None:
            with self._sessions.begin() as session:
                row = session.scalars(select(DossierSubscriptionRow).where(self._where(code, key))).first()
                if row is not None:
                    row.last_seen, row.updated_at = last_seen, self._clock()

        await off_loop(_TABLE, write)

    async def unsubscribe(self, code: str, key: ConversationKey) -> None:
        def write() -> None:
            with self._sessions.begin() as session:
                session.execute(delete(DossierSubscriptionRow).where(self._where(code, key)))

        await off_loop(_TABLE, write)
