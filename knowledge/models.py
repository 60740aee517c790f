"""SQLAlchemy 2 tables of the knowledge base.

The same schema runs on SQLite (the default file) and PostgreSQL: only portable column types are used
(JSON is SQLAlchemy's generic type, stored as JSON on PostgreSQL and as text on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from knowledge.db import Base


def _now() -> datetime:
    return datetime.now(UTC)


class ProcedureRow(Base):
    """A procedure, keyed by its national code (mã thủ tục)."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(255), default="", index=True)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    ministry: Mapped[str] = mapped_column(String(255), default="")
    decision: Mapped[str] = mapped_column(String(255), default="")
    procedure_type: Mapped[str] = mapped_column(String(255), default="")
    competent_agency: Mapped[str] = mapped_column(Text, default="")
    executing_agency: Mapped[str] = mapped_column(Text, default="")
    receiving_address: Mapped[str] = mapped_column(Text, default="")
    target_users: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Remarks of the documents table that concern the whole dossier (migration 0005).
    notes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    conditions: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    online_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    url: Mapped[str] = mapped_column(Text, default="")
    catalogue_only: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    channels: Mapped[list[ChannelRow]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan", order_by="ChannelRow.position"
    )
    documents: Mapped[list[DocumentRow]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan", order_by="DocumentRow.position"
    )
    legal_basis: Mapped[list[LegalBasisRow]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan", order_by="LegalBasisRow.position"
    )
    aliases: Mapped[list[AliasRow]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan", order_by="AliasRow.position"
    )


class ChannelRow(Base):
    """A submission channel of a procedure with its published time and fee."""

    __tablename__ = "procedure_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    time_text: Mapped[str] = mapped_column(Text, default="")
    fee_text: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    days: Mapped[float | None] = mapped_column(Float, nullable=True)
    working_days: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    fee_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)

    procedure: Mapped[ProcedureRow] = relationship(back_populates="channels")


class DocumentRow(Base):
    """A paper of the dossier."""

    __tablename__ = "procedure_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    group: Mapped[str] = mapped_column("group_name", Text, default="")
    name: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(Text, default="")
    originals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    copies: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    procedure: Mapped[ProcedureRow] = relationship(back_populates="documents")


class LegalBasisRow(Base):
    """A legal document a procedure rests on."""

    __tablename__ = "procedure_legal_basis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    issued: Mapped[str] = mapped_column(String(64), default="")
    issuer: Mapped[str] = mapped_column(Text, default="")

    procedure: Mapped[ProcedureRow] = relationship(back_populates="legal_basis")


class AliasRow(Base):
    """A word citizens use for a procedure ("sổ đỏ", "gpxd")."""

    __tablename__ = "procedure_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(255))

    procedure: Mapped[ProcedureRow] = relationship(back_populates="aliases")


class FaqRow(Base):
    """A frequently asked question with its answer."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    procedure_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
