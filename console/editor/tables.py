"""The editor console's table (migration 0006): the audit log of every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.timeutil import utcnow
from knowledge.db import Base


class AuditLogRow(Base):
    """One change made by an editor: who, when, what, the snapshots before and after, and their diff."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_audit_log_user", ondelete="SET NULL"), nullable=True
    )
    user_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    snapshot_before: Mapped[Any] = mapped_column(JSON, nullable=True)
    snapshot_after: Mapped[Any] = mapped_column(JSON, nullable=True)
    diff: Mapped[str] = mapped_column(Text, default="")
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
