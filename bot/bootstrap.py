"""The one composition root: builds the real adapters from settings; tests pass fakes instead.

Every command and the server get their objects here, never from module globals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from knowledge.db import make_engine, make_session_factory, migrate
from knowledge.domain import ImportReport
from knowledge.ports import KnowledgeRepository
from knowledge.repository import SqlKnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import SEED_PATH, load_abbreviations, load_aliases, read_records, with_aliases

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Lazily built adapters for one process. Pass ``knowledge`` to use a fake repository."""

    settings: Settings = field(default_factory=Settings)
    knowledge_override: KnowledgeRepository | None = None

    @cached_property
    def db_engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.db_engine)

    @cached_property
    def knowledge(self) -> KnowledgeRepository:
        if self.knowledge_override is not None:
            return self.knowledge_override
        return SqlKnowledgeRepository(self.sessions)

    @cached_property
    def abbreviations(self) -> dict[str, str]:
        return load_abbreviations(self.settings.data_dir / "abbreviations.yml")

    @cached_property
    def aliases(self) -> dict[str, list[str]]:
        return load_aliases(self.settings.data_dir / "aliases.yml")

    def build_search_index(self) -> SearchIndex:
        """A fresh search index over the current knowledge base (aliases are in the records)."""
        return SearchIndex.build(self.knowledge.all_procedures(), abbreviations=self.abbreviations)

    @cached_property
    def search_index(self) -> SearchIndex:
        return self.build_search_index()

    def migrate(self) -> None:
        """Create or upgrade the schema."""
        if self.knowledge_override is None:
            migrate(self.db_engine)

    def seed_if_empty(self) -> ImportReport | None:
        """Import the shipped seed when the knowledge base has no procedure yet."""
        if self.knowledge.count():
            return None
        records, errors = read_records(SEED_PATH)
        report = self.knowledge.upsert(with_aliases(records, self.aliases))
        report.errors.extend(errors)
        log.info("seeded knowledge base: %s created", report.created)
        return report
