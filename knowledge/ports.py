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
    """

    code: str
    name: str
    score: float
    matched: str = ""


class KnowledgeRepository(Protocol):
    """Stores procedures and FAQ entries."""

    def get(self, code: str) -> Procedure | None:
        """The procedure with this national code, or None."""

    def all_procedures(self) -> Iterator[Procedure]:
        """Every procedure, ordered by code."""

    def upsert(self, procedures: Iterable[Procedure]) -> ImportReport:
        """Create new records, update changed ones in place, leave identical ones untouched."""

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

    def count(self) -> int:
        return len(self._procedures)

    def list_faqs(self, enabled_only: bool = True) -> list[FaqEntry]:
        return [f for _, f in sorted(self._faqs.items()) if f.enabled or not enabled_only]

    def save_faq(self, entry: FaqEntry) -> FaqEntry:
        entry_id = entry.id if entry.id is not None else max(self._faqs, default=0) + 1
        saved = replace(entry, id=entry_id, updated_at=datetime.now(UTC))
        self._faqs[entry_id] = saved
        return saved
