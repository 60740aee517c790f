"""Personal data is kept only as long as config.yml's ``privacy:`` says: ``helpline purge`` and the daily job.

What citizens wrote is stored masked (:func:`bot.core.redact.redact`), but a masked conversation is still
a record of who asked what. :class:`Retention` deletes, in one transaction per table:

===================  =====================================================================  ======================
what                 deleted when                                                           setting
===================  =====================================================================  ======================
conversations        no message for ``conversations_days`` and no open ticket (state and    ``conversations_days``
                     the message log with it)
messages             logged more than ``conversations_days`` ago                            ``conversations_days``
tickets              closed more than ``tickets_days`` ago, with their messages and note    ``tickets_days``
ticket notes         the officers' private notes of those tickets                           ``tickets_days``
turn outcomes        recorded more than ``conversations_days`` ago (question and reply of   ``conversations_days``
                     each turn, for the analytics)
dossier access       untouched for ``dossier_access_days`` and no lock or grant running     ``dossier_access_days``
web outbox           queued more than ``web_outbox_days`` ago                               ``web_outbox_days``
console events       logins, locks, logouts older than ``security_events_days`` (user       ``security_events_days``
                     names and addresses)
log files            ``*.log`` / ``*.log.N`` in the log folder not written for ``logs_days``  ``logs_days``
===================  =====================================================================  ======================

Open tickets and their conversations are never purged, however old. It lives in the composition root
because it reads the tables of several layers (conversations, tickets, dossiers, the web outbox, the
console's events), as :mod:`bot.app.migrations` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Delete, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ColumnElement

from bot.channels.rest import WebOutboxRow
from bot.core.config import PrivacyConfig
from bot.core.redact import redact
from bot.core.timeutil import utcnow
from bot.dossiers.tables import DossierAccessRow
from bot.handoff.tables import TicketMessageRow, TicketNoteRow, TicketRow, TurnOutcomeRow
from bot.storage.button_memory import KEEP as BUTTON_MEMORY_KEEP
from bot.storage.button_memory import ButtonMemoryRow
from bot.storage.sql import ConversationRow, MessageRow
from console.auth.tables import AuthEventRow

log = logging.getLogger(__name__)

OPEN_TICKET_STATUSES = ("waiting", "claimed")
LOG_PATTERNS = ("*.log", "*.log.*")

LABELS = {
    "messages": "tin nhắn",
    "conversations": "cuộc trò chuyện",
    "ticket_messages": "tin nhắn của yêu cầu hỗ trợ",
    "ticket_notes": "ghi chú nội bộ của yêu cầu hỗ trợ",
    "tickets": "yêu cầu hỗ trợ đã đóng",
    "turn_outcomes": "bản ghi kết quả lượt trả lời",
    "dossier_access": "bản ghi xác minh hồ sơ",
    "web_outbox": "tin chờ gửi lên web chat",
    "auth_events": "sự kiện đăng nhập hộp thư",
    "log_files": "tệp nhật ký",
}
"""How each count is named to the operator (the order of the report)."""
REMASK_LABELS = {
    "messages": "tin nhắn",
    "ticket_messages": "tin nhắn của yêu cầu hỗ trợ",
    "tickets": "ghi chú của cán bộ",
}
"""The same for :meth:`Retention.remask`."""


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete), per table."""

    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    remasked: bool = False
    """A report of :meth:`Retention.remask` (rows masked again) instead of a purge (rows deleted)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One line per table, in Vietnamese, for the command line."""
        if self.remasked:
            verb, labels = ("Sẽ che số trong" if self.dry_run else "Đã che số trong"), REMASK_LABELS
        else:
            verb, labels = ("Sẽ xoá" if self.dry_run else "Đã xoá"), LABELS
        lines = [f"{verb} {self.counts.get(k, 0)} {label}" for k, label in labels.items()]
        if self.dry_run:
            lines.append("(chạy thử: chưa xoá gì)")
        return "\n".join(lines)


class Retention:
    """Deletes what is older than the ``privacy:`` settings allow.

    Args:
        sessions: the database's session factory.
        config: the ``privacy:`` section.
        log_dir: the folder whose old log files are deleted (None: no log files).
        clock: now, aware (tests pass a fake).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: PrivacyConfig,
        log_dir: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.config = config
        self.log_dir = log_dir
        self.clock = clock

    def purge(self, dry_run: bool = False) -> PurgeReport:
        """Delete (or with ``dry_run`` only count) everything past its retention."""
        now = self.clock()
        c = self.config
        conv_cutoff = now - timedelta(days=c.conversations_days)
        ticket_cutoff = now - timedelta(days=c.tickets_days)
        access_cutoff = now - timedelta(days=c.dossier_access_days)
        outbox_cutoff = now - timedelta(days=c.web_outbox_days)
        events_cutoff = now - timedelta(days=c.security_events_days)
        open_conversations = (
            select(ConversationRow.id)
            .join(
                TicketRow,
                and_(
                    TicketRow.channel == ConversationRow.channel, TicketRow.chat_id == ConversationRow.chat_id
                ),
            )
            .where(TicketRow.status.in_(OPEN_TICKET_STATUSES))
        )
        stale_conversations = select(ConversationRow.id).where(
            ConversationRow.updated_at < conv_cutoff, ConversationRow.id.not_in(open_conversations)
        )
        closed_tickets = select(TicketRow.id).where(
            TicketRow.status == "closed", TicketRow.closed_at < ticket_cutoff
        )
        plan: list[tuple[str, type, ColumnElement[bool]]] = [
            (
                "messages",
                MessageRow,
                or_(
                    and_(
                        MessageRow.created_at < conv_cutoff,
                        MessageRow.conversation_id.not_in(open_conversations),
                    ),
                    MessageRow.conversation_id.in_(stale_conversations),
                ),
            ),
            ("conversations", ConversationRow, ConversationRow.id.in_(stale_conversations)),
            ("ticket_messages", TicketMessageRow, TicketMessageRow.ticket_id.in_(closed_tickets)),
            ("ticket_notes", TicketNoteRow, TicketNoteRow.ticket_id.in_(closed_tickets)),
            ("tickets", TicketRow, TicketRow.id.in_(closed_tickets)),
            ("turn_outcomes", TurnOutcomeRow, TurnOutcomeRow.created_at < conv_cutoff),
            (
                "dossier_access",
                DossierAccessRow,
                and_(
                    DossierAccessRow.updated_at < access_cutoff,
                    or_(DossierAccessRow.locked_until.is_(None), DossierAccessRow.locked_until < now),
                    or_(DossierAccessRow.granted_until.is_(None), DossierAccessRow.granted_until < now),
                ),
            ),
            ("web_outbox", WebOutboxRow, WebOutboxRow.created_at < outbox_cutoff),
            ("auth_events", AuthEventRow, AuthEventRow.created_at < events_cutoff),
            ("button_memory", ButtonMemoryRow, ButtonMemoryRow.updated_at < now - BUTTON_MEMORY_KEEP),
        ]
        counts: dict[str, int] = {}
        with self._sessions.begin() as session:
            for name, table, where in plan:
                if dry_run:
                    counts[name] = int(
                        session.scalar(select(func.count()).select_from(table).where(where)) or 0
                    )
                else:
                    stmt: Delete = delete(table).where(where).execution_options(synchronize_session=False)
                    counts[name] = int(getattr(session.execute(stmt), "rowcount", 0) or 0)
        counts["log_files"] = self._purge_logs(now - timedelta(days=c.logs_days), dry_run)
        report = PurgeReport(counts, dry_run)
        if report.total and not dry_run:
            log.warning("privacy purge: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        return report

    def remask(self, dry_run: bool = False, batch: int = 1000) -> PurgeReport:
        """Mask again the texts stored before the masking function knew a spelling (or before it was
        applied to tickets): the conversation log, delivered ticket messages and officers' notes.
        Undelivered ticket messages are left whole (they are still to be sent).

        Returns:
            How many rows were (with ``dry_run``: would be) changed, per table.
        """
        targets: list[tuple[str, Any, Any, ColumnElement[bool] | None]] = [
            ("messages", MessageRow.id, MessageRow.text, None),
            (
                "ticket_messages",
                TicketMessageRow.id,
                TicketMessageRow.text,
                TicketMessageRow.delivered.is_(True),
            ),
            ("tickets", TicketRow.id, TicketRow.close_note, TicketRow.close_note.is_not(None)),
        ]
        counts: dict[str, int] = {}
        for name, id_col, text_col, where in targets:
            changed, last = 0, 0
            while True:
                with self._sessions.begin() as session:
                    stmt = select(id_col, text_col).where(id_col > last).order_by(id_col).limit(batch)
                    if where is not None:
                        stmt = stmt.where(where)
                    rows = session.execute(stmt).all()
                    for row_id, text in rows:
                        masked = redact(text or "")
                        if text and masked != text:
                            changed += 1
                            if not dry_run:
                                session.execute(
                                    update(id_col.table)
                                    .where(id_col == row_id)
                                    .values({text_col.key: masked})
                                )
                if len(rows) < batch:
                    break
                last = rows[-1][0]
            counts[name] = changed
        return PurgeReport(counts, dry_run, remasked=True)

    def _purge_logs(self, cutoff: datetime, dry_run: bool) -> int:
        if self.log_dir is None or not self.log_dir.is_dir():
            return 0
        old = {
            path
            for pattern in LOG_PATTERNS
            for path in self.log_dir.glob(pattern)
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp()
        }
        if not dry_run:
            for path in old:
                with contextlib.suppress(FileNotFoundError):  # another process deleted it first
                    path.unlink()
        return len(old)


class PurgeJob:
    """The server's daily purge: at start-up, then every ``privacy.purge_every_hours``.

    A failed purge is logged and tried again at the next round; it never stops the server.
    """

    name = "privacy purge"

    def __init__(self, retention: Retention) -> None:
        self.retention = retention
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop (again, when its lease comes back to this process)."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop the loop; a purge in progress finishes (it is one transaction)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=30)
            self._task = None

    async def _run(self) -> None:
        every = self.retention.config.purge_every_hours * 3600
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.retention.purge)
            except Exception:  # housekeeping: log, and try again next round
                log.exception("privacy purge failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)
