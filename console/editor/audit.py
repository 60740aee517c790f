"""The audit log of the editor console: who changed what, when, the snapshots before and after (JSON)
and their unified diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.timeutil import utcnow
from console.auth.users import User
from console.editor.tables import AuditLogRow
from knowledge.domain import FaqEntry, Procedure

ENTITY_LABELS = {"procedure": "Thủ tục", "faq": "Câu hỏi thường gặp", "response": "Câu trả lời mẫu"}
ACTION_LABELS = {"create": "Tạo mới", "update": "Sửa", "rollback": "Khôi phục", "reset": "Về bản gốc"}


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    entity: str
    entity_key: str
    action: str
    user_id: int | None
    user_name: str
    created_at: datetime
    before: Any
    after: Any
    diff: str
    restored_from: int | None = None

    @property
    def summary(self) -> str:
        """One line: "Sửa Thủ tục 1.001193"."""
        return f"{ACTION_LABELS.get(self.action, self.action)} {ENTITY_LABELS.get(self.entity, self.entity)} {self.entity_key}"


def snapshot_json(snapshot: Any) -> str:
    """The JSON the diffs compare: sorted keys, indented, Vietnamese kept readable."""
    return json.dumps(snapshot, ensure_ascii=False, sort_keys=True, indent=2, default=str)


def make_diff(before: Any, after: Any) -> str:
    """Unified diff of the JSON of two snapshots (None: the record did not exist)."""
    a = snapshot_json(before).splitlines() if before is not None else []
    b = snapshot_json(after).splitlines() if after is not None else []
    return "\n".join(difflib.unified_diff(a, b, "trước", "sau", lineterm="", n=2))


def procedure_snapshot(proc: Procedure) -> dict[str, Any]:
    """What the audit log keeps of a procedure: everything but the timestamp, as JSON has it."""
    snapshot: dict[str, Any] = json.loads(json.dumps(proc.content_key(), ensure_ascii=False))
    return snapshot


def faq_snapshot(entry: FaqEntry) -> dict[str, Any]:
    """What the audit log keeps of an FAQ entry."""
    return {
        "id": entry.id,
        "questions": list(entry.questions),
        "answer": entry.answer,
        "procedure_codes": list(entry.procedure_codes),
        "tags": list(entry.tags),
        "enabled": entry.enabled,
    }


class AuditLog:
    """The ``audit_log`` table: one row per change, written in its own transaction.

    Args:
        sessions: the database session factory.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def write(
        self,
        entity: str,
        key: str,
        action: str,
        user: User,
        before: Any,
        after: Any,
        restored_from: int | None = None,
    ) -> int:
        """Record one change (with the diff of ``before`` and ``after``); returns its id."""
        row = AuditLogRow(
            entity=entity,
            entity_key=key,
            action=action,
            user_id=user.id,
            user_name=user.display_name or user.username,
            created_at=utcnow(),
            snapshot_before=before,
            snapshot_after=after,
            diff=make_diff(before, after),
            restored_from=restored_from,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return int(row.id)

    def entries(
        self, entity: str | None = None, key: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Changes, newest first; only those of one record when ``entity`` and ``key`` are given."""
        stmt = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
        if entity:
            stmt = stmt.where(AuditLogRow.entity == entity)
        if key:
            stmt = stmt.where(AuditLogRow.entity_key == key)
        with self._sessions() as session:
            return [_entry(r) for r in session.scalars(stmt)]

    def get(self, entry_id: int) -> AuditEntry | None:
        """One change, or None."""
        with self._sessions() as session:
            row = session.get(AuditLogRow, entry_id)
            return _entry(row) if row is not None else None


def _entry(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        entity=row.entity,
        entity_key=row.entity_key,
        action=row.action,
        user_id=row.user_id,
        user_name=row.user_name,
        created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
        before=row.snapshot_before,
        after=row.snapshot_after,
        diff=row.diff,
        restored_from=row.restored_from,
    )
