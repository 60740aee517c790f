"""The real knowledge repository: procedures and FAQ entries in SQL (SQLite or PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from knowledge.domain import Document, FaqEntry, ImportReport, LegalBasis, Procedure, SubmissionChannel
from knowledge.models import AliasRow, ChannelRow, DocumentRow, FaqRow, LegalBasisRow, ProcedureRow
from knowledge.ports import ProcedureSummary

_BATCH = 500


def content_hash(proc: Procedure) -> str:
    """A stable digest of a record's content; equal digests mean a re-import changes nothing."""
    payload = json.dumps(proc.content_key(), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _fill(row: ProcedureRow, proc: Procedure, digest: str, now: datetime) -> None:
    row.name = proc.name
    row.field = proc.field
    row.levels = list(proc.levels)
    row.ministry = proc.ministry
    row.decision = proc.decision
    row.procedure_type = proc.procedure_type
    row.competent_agency = proc.competent_agency
    row.executing_agency = proc.executing_agency
    row.receiving_address = proc.receiving_address
    row.target_users = proc.target_users
    row.steps = list(proc.steps)
    row.notes = list(proc.notes)
    row.conditions = proc.conditions
    row.result = proc.result
    row.online_level = proc.online_level
    row.url = proc.url
    row.catalogue_only = proc.catalogue_only
    row.source = proc.source
    row.content_hash = digest
    row.updated_at = now
    row.channels = [ChannelRow(position=i, **vars(c)) for i, c in enumerate(proc.channels)]
    row.documents = [DocumentRow(position=i, **vars(d)) for i, d in enumerate(proc.documents)]
    row.legal_basis = [LegalBasisRow(position=i, **vars(lb)) for i, lb in enumerate(proc.legal_basis)]
    row.aliases = [AliasRow(position=i, alias=a) for i, a in enumerate(proc.aliases)]


def _to_domain(row: ProcedureRow) -> Procedure:
    return Procedure(
        code=row.code,
        name=row.name,
        field=row.field,
        levels=tuple(row.levels or ()),
        ministry=row.ministry,
        decision=row.decision,
        procedure_type=row.procedure_type,
        competent_agency=row.competent_agency,
        executing_agency=row.executing_agency,
        receiving_address=row.receiving_address,
        target_users=row.target_users,
        steps=tuple(row.steps or ()),
        channels=tuple(
            SubmissionChannel(
                kind=c.kind,
                time_text=c.time_text,
                fee_text=c.fee_text,
                description=c.description,
                days=c.days,
                working_days=c.working_days,
                fee_vnd=c.fee_vnd,
            )
            for c in row.channels
        ),
        documents=tuple(
            Document(
                name=d.name,
                group=d.group,
                form=d.form,
                originals=d.originals,
                copies=d.copies,
                note=d.note,
            )
            for d in row.documents
        ),
        notes=tuple(row.notes or ()),
        legal_basis=tuple(
            LegalBasis(number=lb.number, title=lb.title, issued=lb.issued, issuer=lb.issuer)
            for lb in row.legal_basis
        ),
        conditions=row.conditions,
        result=row.result,
        online_level=row.online_level,
        url=row.url,
        aliases=tuple(a.alias for a in row.aliases),
        catalogue_only=row.catalogue_only,
        source=row.source,
        updated_at=row.updated_at,
    )


def _faq_to_domain(row: FaqRow) -> FaqEntry:
    return FaqEntry(
        id=row.id,
        questions=tuple(row.questions or ()),
        answer=row.answer,
        procedure_codes=tuple(row.procedure_codes or ()),
        tags=tuple(row.tags or ()),
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


_LOAD = (
    selectinload(ProcedureRow.channels),
    selectinload(ProcedureRow.documents),
    selectinload(ProcedureRow.legal_basis),
    selectinload(ProcedureRow.aliases),
)


class SqlKnowledgeRepository:
    """Knowledge repository over a SQLAlchemy session factory (implements ``KnowledgeRepository``)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def get(self, code: str) -> Procedure | None:
        with self._sessions() as session:
            row = session.scalars(
                select(ProcedureRow).where(ProcedureRow.code == code).options(*_LOAD)
            ).first()
            return _to_domain(row) if row else None

    def all_procedures(self) -> Iterator[Procedure]:
        with self._sessions() as session:
            rows = session.scalars(select(ProcedureRow).order_by(ProcedureRow.code).options(*_LOAD)).all()
            return iter([_to_domain(r) for r in rows])

    def count(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(ProcedureRow)) or 0)

    def upsert(self, procedures: Iterable[Procedure]) -> ImportReport:
        """Create new records, replace changed ones in place (same code), skip identical ones.

        Work is committed in batches so a huge import does not hold one giant transaction.
        """
        report = ImportReport()
        now = datetime.now(UTC)
        batch: list[Procedure] = []
        for proc in procedures:
            batch.append(proc)
            if len(batch) >= _BATCH:
                self._upsert_batch(batch, report, now)
                batch = []
        if batch:
            self._upsert_batch(batch, report, now)
        return report

    def _upsert_batch(self, batch: list[Procedure], report: ImportReport, now: datetime) -> None:
        codes = [p.code for p in batch]
        with self._sessions() as session, session.begin():
            known = dict(
                session.execute(
                    select(ProcedureRow.code, ProcedureRow.content_hash).where(ProcedureRow.code.in_(codes))
                ).all()
            )
            changed = []
            for proc in batch:
                digest = content_hash(proc)
                if proc.code not in known:
                    row = ProcedureRow(code=proc.code)
                    _fill(row, proc, digest, now)
                    session.add(row)
                    known[proc.code] = digest
                    report.created += 1
                elif known[proc.code] == digest:
                    report.unchanged += 1
                else:
                    changed.append((proc, digest))
            if changed:
                rows = {
                    r.code: r
                    for r in session.scalars(
                        select(ProcedureRow)
                        .where(ProcedureRow.code.in_([p.code for p, _ in changed]))
                        .options(*_LOAD)
                    )
                }
                for proc, digest in changed:
                    _fill(rows[proc.code], proc, digest, now)
                    known[proc.code] = digest
                    report.updated += 1

    def save_procedure(self, proc: Procedure) -> Procedure:
        """Create or replace one record (editor use); returns it with its new timestamp."""
        self.upsert([proc])
        saved = self.get(proc.code)
        return saved if saved else replace(proc)

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        q = " ".join(query.split()).lower()
        stmt = select(ProcedureRow.code, ProcedureRow.name, ProcedureRow.field, ProcedureRow.updated_at)
        if q:
            like = f"%{q}%"
            aliased = select(AliasRow.procedure_code).where(AliasRow.alias.ilike(like))
            stmt = stmt.where(
                ProcedureRow.code.startswith(q)
                | ProcedureRow.name.ilike(like)
                | ProcedureRow.code.in_(aliased)
            )
        else:
            stmt = stmt.order_by(ProcedureRow.updated_at.desc())
        stmt = stmt.order_by(ProcedureRow.code).limit(limit)
        with self._sessions() as session:
            return [ProcedureSummary(*row) for row in session.execute(stmt).all()]

    def list_faqs(self, enabled_only: bool = True) -> list[FaqEntry]:
        with self._sessions() as session:
            query = select(FaqRow).order_by(FaqRow.id)
            if enabled_only:
                query = query.where(FaqRow.enabled.is_(True))
            return [_faq_to_domain(r) for r in session.scalars(query)]

    def save_faq(self, entry: FaqEntry) -> FaqEntry:
        with self._sessions() as session, session.begin():
            row = session.get(FaqRow, entry.id) if entry.id is not None else None
            if row is None:
                row = FaqRow()
                session.add(row)
            row.questions = list(entry.questions)
            row.answer = entry.answer
            row.procedure_codes = list(entry.procedure_codes)
            row.tags = list(entry.tags)
            row.enabled = entry.enabled
            row.updated_at = datetime.now(UTC)
            session.flush()
            return _faq_to_domain(row)
