"""The one composition root: builds the real adapters from settings; tests pass fakes instead.

Every command and the server get their objects here, never from module globals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import httpx
import yaml
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from actions.escalation import EscalateAction
from bot.app.migrations import migrate
from bot.channels.base import Deduplicator, InMemoryDeduplicator
from bot.core.ports import (
    ConversationStore,
    DossierAccessGuard,
    DossierGateway,
    DossierSubscriptions,
    InMemoryDossierAccessGuard,
    InMemoryDossierGateway,
    InMemoryDossierSubscriptions,
    Interpreter,
)
from bot.core.responses import ResponseCatalogue, load_responses
from bot.core.settings import Settings
from bot.dossiers.config import DossierConfig
from bot.dossiers.demo import seed_demo_dossiers
from bot.dossiers.guard import SqlDossierAccessGuard
from bot.dossiers.http import HttpDossierGateway
from bot.dossiers.local import LocalDossierGateway
from bot.dossiers.subscriptions import SqlDossierSubscriptions
from bot.dossiers.watcher import DossierWatcher
from bot.engine.engine import Engine, build_actions
from bot.engine.live import InterpreterHolder, LiveReloader, LiveResponses
from bot.engine.policy import Policy, PolicyConfig
from bot.handoff.hours import EscalationConfig
from bot.handoff.service import TicketService
from bot.handoff.sink import TicketEventSink
from bot.storage.overrides import SqlResponseOverrides
from bot.storage.sql import SqlConversationStore, SqlDeduplicator
from console.analytics.service import AnalyticsService
from console.auth.sessions import ConsoleAuth, resolve_secret
from console.auth.users import UserService
from knowledge.cache import CachedKnowledgeRepository
from knowledge.db import make_engine, make_session_factory
from knowledge.domain import ImportReport
from knowledge.faq import FaqMatcher, seed_faqs
from knowledge.ports import KnowledgeRepository
from knowledge.repository import SqlKnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import SEED_PATH, read_records, with_aliases
from knowledge.text import load_abbreviations, load_aliases

if TYPE_CHECKING:
    from console.editor.service import EditorService
    from console.learning.config import LearningConfig
    from console.learning.service import LearningService
    from nlu.training_data import TrainingData

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Lazily built adapters for one process; the ``*_override`` fields put fakes in their place."""

    settings: Settings = field(default_factory=Settings)
    knowledge_override: KnowledgeRepository | None = None
    conversations_override: ConversationStore | None = None
    interpreter_override: Interpreter | None = None
    http_transport: httpx.AsyncBaseTransport | None = None
    """Transport of outbound platform clients (Zalo); tests give an ``httpx.MockTransport``."""

    @cached_property
    def db_engine(self) -> DbEngine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.db_engine)

    @cached_property
    def knowledge(self) -> KnowledgeRepository:
        if self.knowledge_override is not None:
            return self.knowledge_override
        # answers read a procedure on most turns: serve reads from a snapshot, writes invalidate it
        return CachedKnowledgeRepository(SqlKnowledgeRepository(self.sessions))

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

    @cached_property
    def responses(self) -> ResponseCatalogue:
        """data/responses.yml with the editors' texts over it (bot/core/responses.py), swappable live."""
        overrides = SqlResponseOverrides(self.sessions) if self.officers_enabled else None
        return LiveResponses(load_responses(self.settings.data_dir / "responses.yml", overrides))

    @cached_property
    def conversations(self) -> ConversationStore:
        if self.conversations_override is not None:
            return self.conversations_override
        return SqlConversationStore(self.sessions)

    @cached_property
    def deduplicator(self) -> Deduplicator:
        if self.conversations_override is not None:
            return InMemoryDeduplicator()
        return SqlDeduplicator(self.sessions)

    @cached_property
    def interpreter(self) -> InterpreterHolder:
        """The NLU: the latest trained model, trained now when there is none, in a holder that
        :attr:`live_reloader` swaps after an editor's change."""
        if self.interpreter_override is not None:
            return InterpreterHolder(self.interpreter_override)
        from nlu.models import load_model, train_model

        model_dir = self.settings.model_dir
        if not (model_dir / "latest").exists():
            log.warning("no NLU model in %s: training one now", model_dir)
            train_model(
                self.settings.config_path,
                (self.settings.data_dir / "nlu.yml",),
                model_dir,
                extra=self._learned_if_migrated(),
            )
        return InterpreterHolder(load_model(model_dir, lambda: self.search_index))

    @cached_property
    def live_reloader(self) -> LiveReloader:
        """Rebuilds the search index and retrains the NLU in the background after an editor's change,
        then swaps them in (bot/live.py). With a fake NLU only the index is rebuilt."""
        from nlu.models import nlu_loader, nlu_trainer

        s, real_nlu = self.settings, self.interpreter_override is None

        def use_index(index: SearchIndex) -> None:
            self.__dict__["search_index"] = index  # replaces the cached one for later readers

        return LiveReloader(
            self.interpreter,
            self.build_search_index,
            train=nlu_trainer(
                s.config_path, (s.data_dir / "nlu.yml",), s.model_dir, extra=self.learned_training_data
            )
            if real_nlu
            else None,
            load=nlu_loader(s.model_dir) if real_nlu else None,
            on_index=use_index,
            reload_faqs=lambda: self.faq_matcher.reload(self.knowledge.list_faqs()),
        )

    @cached_property
    def editor(self) -> EditorService:
        """The editor console's service; its "try it" box runs the real engine on a scratch store."""
        from actions.dossier import DossierStatusAction
        from bot.storage.memory import ScratchConversationStore
        from console.editor.service import EditorService

        scratch = ScratchConversationStore()
        # The real engine's actions; dossier lookups without the shared lockouts and subscriptions.
        actions = {
            **self.engine.actions,
            "action_dossier_status": DossierStatusAction(
                self.dossiers, InMemoryDossierAccessGuard(), InMemoryDossierSubscriptions(), self.knowledge
            ),
        }
        try_engine = Engine(
            self.interpreter, self.knowledge, scratch, self.responses, policy=self.policy, actions=actions
        )
        return EditorService(
            self.sessions,
            self.knowledge,
            cast("LiveResponses", self.responses),
            self.settings.data_dir / "responses.yml",
            SqlResponseOverrides(self.sessions),
            reloader=self.live_reloader,
            try_engine=try_engine,
            scratch=scratch,
        )

    @cached_property
    def config(self) -> dict[str, Any]:
        """config.yml as a mapping (the NLU validates its ``pipeline:``, each part its own section)."""
        data = yaml.safe_load(self.settings.config_path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.settings.config_path}: expected a mapping at the top level")
        return data

    @cached_property
    def policy(self) -> Policy:
        """The dialogue policy with the ``policy:`` section of config.yml (bad values stop start-up)."""
        section = self.config.get("policy") or {}
        try:
            return Policy(PolicyConfig(**section), faq=self.faq_matcher)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.settings.config_path}: policy: {exc}") from exc

    @cached_property
    def faq_matcher(self) -> FaqMatcher:
        """FAQ questions the policy can answer; filled after seeding, reloaded when editors change FAQs."""
        return FaqMatcher([], self.abbreviations)

    @cached_property
    def dossier_config(self) -> DossierConfig:
        """The ``dossier:`` section of config.yml (bad values stop start-up)."""
        return DossierConfig.model_validate(self.config.get("dossier") or {})

    @cached_property
    def dossiers(self) -> DossierGateway:
        """The provincial system when ``HELPLINE_DOSSIER_API_URL`` is set, else the local table."""
        s, cfg = self.settings, self.dossier_config
        if s.dossier_api_url:
            client = httpx.AsyncClient(transport=self.http_transport)
            return HttpDossierGateway(
                client,
                s.dossier_api_url,
                token=s.dossier_api_token,
                api_key=s.dossier_api_key,
                timeout=cfg.http_timeout_seconds,
                retries=cfg.http_retries,
                backoff=cfg.http_backoff_seconds,
            )
        if self.knowledge_override is not None:  # fakes: no database was migrated
            return InMemoryDossierGateway()
        return LocalDossierGateway(self.sessions)

    @cached_property
    def dossier_guard(self) -> DossierAccessGuard:
        """Failed verifications, locks and grants of the dossier action, shared by every worker."""
        if self.knowledge_override is not None:
            return InMemoryDossierAccessGuard()
        return SqlDossierAccessGuard(self.sessions, self.dossier_config)

    @cached_property
    def dossier_subscriptions(self) -> DossierSubscriptions:
        """Who the dossier watcher tells about changes."""
        if self.knowledge_override is not None:
            return InMemoryDossierSubscriptions()
        return SqlDossierSubscriptions(self.sessions)

    @cached_property
    def dossier_watcher(self) -> DossierWatcher:
        """Run ``poll_once(container.dossiers, registry)`` every ``dossier_config.poll_interval_seconds``."""
        return DossierWatcher(self.dossier_subscriptions, self.responses)

    @property
    def officers_enabled(self) -> bool:
        """Tickets and the officer console need the database, which fakes (``knowledge_override``) skip."""
        return self.knowledge_override is None

    @cached_property
    def escalation(self) -> EscalationConfig:
        """The ``escalation:`` section of config.yml: working hours, holidays, retries (checked at start-up)."""
        try:
            return EscalationConfig.model_validate(self.config.get("escalation") or {})
        except ValueError as exc:
            raise ValueError(f"{self.settings.config_path}: escalation: {exc}") from exc

    @cached_property
    def tickets(self) -> TicketService:
        """The officer ticket queue; the server attaches the channels with ``use_delivery``."""
        cfg = self.escalation
        return TicketService(
            self.sessions,
            self.conversations,
            self.responses,
            release=lambda key: self.engine.release_to_bot(key),
            hold=lambda key: self.engine.hold_for_officer(key),
            backoff=cfg.retry_backoff_seconds,
        )

    @cached_property
    def analytics(self) -> AnalyticsService:
        """Figures of the analytics dashboard, counted in days of the escalation time zone."""
        return AnalyticsService(
            self.sessions,
            timezone=self.escalation.timezone,
            low_confidence=self.learning_config.low_confidence,
        )

    @cached_property
    def learning_config(self) -> LearningConfig:
        """The ``learning:`` section of config.yml (checked at start-up)."""
        from console.learning.config import LearningConfig

        try:
            return LearningConfig.model_validate(self.config.get("learning") or {})
        except ValueError as exc:
            raise ValueError(f"{self.settings.config_path}: learning: {exc}") from exc

    @cached_property
    def learning(self) -> LearningService:
        """The editors' inbox of unanswered messages, learned examples, FAQ/example import and export;
        an assignment or an import goes live through :attr:`live_reloader`."""
        from console.learning.service import LearningService
        from nlu.training_data import load_training_data

        intents = load_training_data(self.settings.data_dir / "nlu.yml").intents
        return LearningService(
            self.sessions,
            self.knowledge,
            intents,
            low_confidence=self.learning_config.low_confidence,
            negative_rating_at_most=self.escalation.negative_rating_at_most,
            went_live=lambda: self.live_reloader.request(),  # late: the reloader trains with self.learning
        )

    def learned_training_data(self) -> TrainingData | None:
        """The editors' learned examples to train on with data/nlu.yml (None without a database)."""
        return self.learning.training_data() if self.officers_enabled else None

    def _learned_if_migrated(self) -> TrainingData | None:
        """:meth:`learned_training_data`, or None when the database has no such table yet (a first
        training before the schema exists)."""
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            return self.learned_training_data()
        except (OperationalError, ProgrammingError):
            log.warning("no learned examples table yet: training on data/nlu.yml only")
            return None

    @cached_property
    def users(self) -> UserService:
        """Console accounts."""
        return UserService(self.sessions)

    @cached_property
    def console_auth(self) -> ConsoleAuth:
        """Sessions and role checks of the officer console (one secret per process when unset)."""
        return ConsoleAuth(
            self.users,
            resolve_secret(self.settings.session_secret),
            secure_cookie=self.settings.public_url.startswith("https://"),
        )

    def _with_officers(self, actions: dict[str, Any]) -> dict[str, Any]:
        """The escalation action told about the queue and the working hours."""
        if self.officers_enabled:
            actions["action_escalate"] = EscalateAction(self.tickets, self.escalation.hours())
        return actions

    @cached_property
    def engine(self) -> Engine:
        return Engine(
            self.interpreter,
            self.knowledge,
            self.conversations,
            self.responses,
            policy=self.policy,
            actions=self._with_officers(build_actions(dossiers=self.dossier_desk)),
            events=TicketEventSink(self.tickets, self.escalation.negative_rating_at_most)
            if self.officers_enabled
            else None,
        )

    def prepare(self) -> None:
        """Everything the server needs before it answers: schema, seed, NLU model, engine."""
        _ = self.policy  # a bad config.yml stops start-up before any slow work
        _ = self.dossier_config
        _ = self.learning_config
        self.migrate()
        self.seed_if_empty()
        self.faq_matcher.reload(self.knowledge.list_faqs())
        if isinstance(self.dossiers, LocalDossierGateway) and seed_demo_dossiers(self.dossiers):
            log.info("seeded demo dossiers")
        _ = self.engine

    def migrate(self) -> None:
        """Create or upgrade the schema."""
        if self.knowledge_override is None:
            migrate(self.db_engine)

    def seed_if_empty(self) -> ImportReport | None:
        """Import the shipped seed (and the FAQ file) when the knowledge base has none yet."""
        if seed_faqs(self.knowledge):
            log.info("seeded FAQ entries")
        if self.knowledge.count():
            return None
        records, errors = read_records(SEED_PATH)
        report = self.knowledge.upsert(with_aliases(records, self.aliases))
        report.errors.extend(errors)
        log.info("seeded knowledge base: %s created", report.created)
        return report
