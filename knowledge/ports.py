"""The knowledge base's port: what the rest of the project may ask of it.

One real adapter (:class:`knowledge.repository.SqlKnowledgeRepository`) and one fake
(:class:`InMemoryKnowledgeRepository`) implement it; tests pass the fake to the same composition root.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from knowledge.domain import FaqEntry, ImportReport, Procedure


@dataclass(frozen=True)
class SearchHit:
    """One ranked search result.

    Attributes:
        code: national procedure code.
        name: official name.
        score: relevance in [0, 1]; comparable across queries (1 = exact alias or name).
        matched: the alias or name text that matched best, for explanations.
        words: how many of the query's distinct words the procedure's name, aliases or fields hold
            (0: not counted, as for a code typed in the query).
    """

    code: str
    name: str
    score: float
    matched: str = ""
    words: int = 0


@dataclass(frozen=True)
class ProcedureSummary:
    """A procedure in a list of search results of the editor console."""

    code: str
    name: str
    field: str
    updated_at: datetime | None


class KnowledgeRepository(Protocol):
    """Stores procedures and FAQ entries."""

    def get(self, code: str) -> Procedure | None:
        """The procedure with this national code, or None."""

    def all_procedures(self) -> Iterator[Procedure]:
        """Every procedure, ordered by code."""

    def upsert(self, procedures: Iterable[Procedure]) -> ImportReport:
        """Create new records, update changed ones in place, leave identical ones untouched."""

    def save_procedure(self, proc: Procedure) -> Procedure:
        """Create or replace one record (an editor's save); returns it with its new timestamp."""

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        """Procedures whose code starts with, or whose name or an alias contains, ``query`` (any case),
        by code; without a query the latest changed first."""

    def count(self) -> int:
        """Number of procedures."""

    def list_faqs(self, enabled_only: bool = True) -> list[FaqEntry]:
        """FAQ entries, enabled ones only by default."""

    def save_faq(self, entry: FaqEntry) -> FaqEntry:
        """Create (id None) or update an FAQ entry; returns it with its id."""


class InMemoryKnowledgeRepository:
    """Fake repository for tests: a dict, with the same upsert semantics as the real one."""

    def __init__(self, procedures: Iterable[Procedure] = ()) -> None:
        self._procedures: dict[str, Procedure] = {}
        self._faqs: dict[int, FaqEntry] = {}
        self.upsert(procedures)

    def get(self, code: str) -> Procedure | None:
        return self._procedures.get(code)

    def all_procedures(self) -> Iterator[Procedure]:
        return iter([self._procedures[c] for c in sorted(self._procedures)])

    def upsert(self, procedures: Iterable[Procedure]) -> ImportReport:
        report = ImportReport()
        now = datetime.now(UTC)
        for proc in procedures:
            old = self._procedures.get(proc.code)
            if old is None:
                report.created += 1
            elif old.content_key() == proc.content_key():
                report.unchanged += 1
                continue
            else:
                report.updated += 1
            self._procedures[proc.code] = replace(proc, updated_at=now)
        return report

    def save_procedure(self, proc: Procedure) -> Procedure:
        self.upsert([proc])
        return self._procedures[proc.code]

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        q = " ".join(query.split()).lower()
        found = [
            p
            for p in self._procedures.values()
            if not q
            or p.code.startswith(q)
            or q in p.name.lower()
            or any(q in alias.lower() for alias in p.aliases)
        ]
        found.sort(key=lambda p: p.code)
        if not q:  # the latest changed first, then by code (sorts are stable)
            found.sort(key=lambda p: p.updated_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return [ProcedureSummary(p.code, p.name, p.field, p.updated_at) for p in found[:limit]]

    def count(self) -> int:
        return len(self._procedures)

    def list_faqs(self, enabled_only: bool = True) -> list[FaqEntry]:
        return [f for _, f in sorted(self._faqs.items()) if f.enabled or not enabled_only]

    def save_faq(self, entry: FaqEntry) -> FaqEntry:
        entry_id = entry.id if entry.id is not None else max(self._faqs, default=0) + 1
        saved = replace(entry, id=entry_id, updated_at=datetime.now(UTC))
        self._faqs[entry_id] = saved
        return saved
