"""An in-memory snapshot of the catalogue in front of the SQL repository.

Answers read a procedure on most turns; the catalogue changes only on import or an editor's save. So
reads come from a snapshot loaded once (the same records the search index is built from) and every
write through this wrapper drops the snapshot, which the next read reloads. Within one server process
that is always current (a few changed records are re-read into the snapshot, a big import drops it);
with several worker processes, a write in one is seen by the others after their next reload.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from knowledge.domain import FaqEntry, ImportReport, Procedure
from knowledge.ports import KnowledgeRepository, ProcedureSummary

_REFRESH_AT_MOST = 50
"""Writes of more records than this (imports) drop the snapshot instead of patching it."""


class CachedKnowledgeRepository:
    """Implements ``KnowledgeRepository`` over another one, reading procedures from a snapshot.

    Args:
        inner: the repository that owns the data (``SqlKnowledgeRepository``).
    """

    def __init__(self, inner: KnowledgeRepository) -> None:
        self._inner = inner
        self._snapshot: dict[str, Procedure] | None = None
        self._lock = threading.Lock()

    def _procedures(self) -> dict[str, Procedure]:
        snapshot = self._snapshot
        if snapshot is None:
            with self._lock:
                snapshot = self._snapshot
                if snapshot is None:
                    snapshot = {p.code: p for p in self._inner.all_procedures()}
                    self._snapshot = snapshot
        return snapshot

    def invalidate(self) -> None:
        """Forget the snapshot (after a write that did not go through this wrapper)."""
        with self._lock:
            self._snapshot = None

    def get(self, code: str) -> Procedure | None:
        return self._procedures().get(code)

    def all_procedures(self) -> Iterator[Procedure]:
        return iter(list(self._procedures().values()))

    def count(self) -> int:
        return len(self._procedures())

    def upsert(self, procedures: Iterable[Procedure]) -> ImportReport:
        items = list(procedures)
        try:
            return self._inner.upsert(items)
        finally:
            self._refresh([p.code for p in items])

    def save_procedure(self, proc: Procedure) -> Procedure:
        """Save through the inner repository (editor use); the snapshot gets the saved record."""
        try:
            return self._inner.save_procedure(proc)
        finally:
            self._refresh([proc.code])

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        """Asked of the inner repository: its search also matches aliases and orders by time."""
        return self._inner.find_procedures(query, limit)

    def _refresh(self, codes: list[str]) -> None:
        """After a write: re-read a few changed records into the snapshot, or drop it after a big import."""
        if len(codes) > _REFRESH_AT_MOST:
            self.invalidate()
            return
        with self._lock:
            if self._snapshot is None:
                return
            fresh = {code: self._inner.get(code) for code in codes}
            snapshot = dict(self._snapshot)  # readers keep the old dict; the new one is swapped in whole
            for code, proc in fresh.items():
                if proc is None:
                    snapshot.pop(code, None)
                else:
                    snapshot[code] = proc
            self._snapshot = dict(sorted(snapshot.items()))

    def list_faqs(self, enabled_only: bool = True) -> list[FaqEntry]:
        return self._inner.list_faqs(enabled_only)

    def save_faq(self, entry: FaqEntry) -> FaqEntry:
        return self._inner.save_faq(entry)
