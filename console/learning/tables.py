"""The learning loop's tables (migration 0007): learned training examples and the editors' decisions on
inbox groups."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.timeutil import utcnow
from console.analytics.report import text_key
from knowledge.db import Base


def key_of(text: str) -> str:
    """The stored key of a message group: a hash of :func:`console.analytics.report.text_key` (fixed length,
    so long messages can be keyed and indexed on every database)."""
    return hashlib.sha256(text_key(text).encode()).hexdigest()


class TrainingExampleRow(Base):
    """One example the NLU trains on besides data/nlu.yml (one row per text, whatever its spelling)."""

    __tablename__ = "training_examples"
    __table_args__ = (UniqueConstraint("text_key", name="uq_training_examples_text_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(String(64))
    intent: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entities: Mapped[Any] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="learned")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewItemRow(Base):
    """An editor's decision on one inbox group: assigned (to what) or dismissed."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("text_key", name="uq_review_items_text_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    faq_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    example_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(128), default="")
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
