"""The composition root: the one module that imports everything and wires it.

Three steps, in the style of cosmicpython's ``bootstrap.py``:

1. :func:`real_adapters` builds one adapter per port from the settings (the only reader of the database
   URL, the model folder and the platform secrets); tests call ``tests/fakes/adapters.fake_adapters``
   instead, which returns the same :class:`Adapters` with fakes in any field they choose.
2. :func:`bootstrap` takes settings, the typed config.yml and the adapters and returns an :class:`App`.
3. :class:`App` builds each service on first use (so ``helpline kb show`` never loads the NLU) and
   :meth:`App.prepare` readies everything the server needs: schema, seed, NLU, engine.

The server (:mod:`bot.app.server`) only mounts what the app holds and starts its jobs; the command line
(:mod:`bot.app.cli`) hands the app to each package's commands. Every port always has an adapter: there
is no "no database" mode that silently switches parts off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import httpx
from fastapi import APIRouter
from sqlalchemy import Engine as DbEngine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

import nlu.rasa_nlu  # noqa: F401 - registers the RasaNLU pipeline component config.yml may name
from actions.procedure.variants import RenderedAnswers
from actions.registry import ActionDeps, build_actions
from actions.remote import remote_actions
from bot.app.leases import LeasedJob
from bot.app.migrations import migrate
from bot.app.rasa_export import app_domain
from bot.app.retention import PurgeJob, Retention
from bot.channels.base import ChannelRegistry, Inbound, MessageHandler, OutputChannel
from bot.channels.durable import DurableInboundQueue, OutboxSender
from bot.channels.media import AttachmentReader
from bot.channels.rasa_http import RasaApi, rasa_router
from bot.channels.rest import RestOutbox, SqlRestOutbox, WebChatSessions, rest_router
from bot.core.config import EscalationConfig, HelplineConfig, WorkingHours, load_config
from bot.core.coordination import LocalChangeFeed, LocalLocks
from bot.core.live import InterpreterHolder, LiveResponses
from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.ports import (
    ChangeFeed,
    ConversationStore,
    DossierAccessGuard,
    DossierGateway,
    DossierSubscriptions,
    Inbox,
    InMemoryDossierAccessGuard,
    InMemoryDossierSubscriptions,
    Interpreter,
    Locks,
    Outbox,
    ResponseOverrides,
)
from bot.core.responses import load_responses
from bot.core.settings import Settings
from bot.core.throttle import Throttle
from bot.core.timeutil import utcnow
from bot.dossiers.demo import seed_demo_dossiers
from bot.dossiers.guard import SqlDossierAccessGuard
from bot.dossiers.http import HttpDossierGateway
from bot.dossiers.local import LocalDossierGateway
from bot.dossiers.subscriptions import SqlDossierSubscriptions
from bot.dossiers.watcher import DossierWatcher
from bot.engine.engine import Engine
from bot.engine.live import ChangeFollower, LiveReloader
from bot.engine.policy import Policy
from bot.engine.routes import RoutedPolicy
from bot.handoff.outcomes import TurnOutcomes
from bot.handoff.retry import DeliveryRetrier
from bot.handoff.service import TicketService
from bot.handoff.sink import InboundRecorder, TicketEventSink
from bot.storage.coordination import AnnouncedOverrides, PgChangeFeed, PgLocks
from bot.storage.inbox import SqlInbox, SqlOutbox
from bot.storage.memory import ScratchConversationStore
from bot.storage.overrides import SqlResponseOverrides
from bot.storage.sql import SqlConversationStore
from bot.storage.throttle import SqlThrottleStore
from console.analytics.service import AnalyticsService
from console.auth.login import LOGIN_RULES
from console.auth.sessions import ConsoleAuth
from console.auth.users import UserService
from console.editor.service import EditorService
from console.learning.service import LearningService
from knowledge.cache import CachedKnowledgeRepository
from knowledge.db import make_engine, make_session_factory
from knowledge.domain import ImportReport
from knowledge.faq import FaqMatcher, seed_faqs
from knowledge.ports import KnowledgeRepository
from knowledge.repository import SqlKnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import SEED_PATH, read_records, with_aliases
from knowledge.text import load_abbreviations, load_aliases
from nlu.models import LATEST, load_model, nlu_loader, nlu_trainer, train_model
from nlu.pipeline import project_version
from nlu.training_data import TrainingData, load_training_data

log = logging.getLogger(__name__)


# --- the NLU port ---------------------------------------------------------------------------------------


class NluModels(Protocol):
    """Where the interpreter comes from: the trained model store, or a fixed fake in tests."""

    def interpreter(
        self, index: Callable[[], SearchIndex], learned: Callable[[], TrainingData | None]
    ) -> Interpreter:
        """The interpreter to answer with now (trained first when there is no model yet)."""
        ...

    def trainer(self, learned: Callable[[], TrainingData | None]) -> Callable[[], Path] | None:
        """Trains a new model for a live reload; None when the interpreter cannot be retrained."""
        ...

    def loader(self) -> Callable[[Path | None, Any], Interpreter] | None:
        """Loads a model file with a search index for a live reload; None with a fixed interpreter."""
        ...


@dataclass(frozen=True)
class TrainedModels:
    """The real :class:`NluModels`: models trained from config.yml and data/nlu.yml into ``model_dir``.

    Args:
        config_path: config.yml (its ``pipeline:``).
        data_paths: the NLU training files.
        model_dir: where model files are kept; ``latest`` names the one in use.
    """

    config_path: Path
    data_paths: tuple[Path, ...]
    model_dir: Path

    def interpreter(
        self, index: Callable[[], SearchIndex], learned: Callable[[], TrainingData | None]
    ) -> Interpreter:
        if not (self.model_dir / "latest").exists():
            log.warning("no NLU model in %s: training one now", self.model_dir)
            train_model(self.config_path, self.data_paths, self.model_dir, extra=learned())
        return load_model(self.model_dir, index)

    def trainer(self, learned: Callable[[], TrainingData | None]) -> Callable[[], Path]:
        return nlu_trainer(self.config_path, self.data_paths, self.model_dir, extra=learned)

    def loader(self) -> Callable[[Path | None, Any], Interpreter]:
        return nlu_loader(self.model_dir)


# --- the adapters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapters:
    """One field per port: everything the app reads or writes outside its own memory.

    :func:`real_adapters` builds production's; ``tests/fakes/adapters.fake_adapters`` builds the same
    with fakes in any field (``dataclasses.replace`` on this works too).

    Attributes:
        db: the database (SQLite file by default, PostgreSQL in production) the SQL adapters share.
        sessions: sessions on ``db``; services that own tables (tickets, accounts, editor, learning,
            analytics) open theirs from it.
        knowledge: procedures, aliases and FAQ entries.
        conversations: conversation states and the message log.
        inbox: every platform update, stored before the webhook answers (drops a redelivery).
        outbox: the bot's replies to platform chats until delivered.
        dossiers: the dossier system (local demo table, or the provincial system over HTTP).
        dossier_guard: failed verifications and locks of the dossier look-up.
        dossier_subscriptions: who is told when a dossier changes.
        overrides: the editors' response texts over data/responses.yml.
        web_outbox: messages waiting for a web-chat page's poll (officers' replies).
        nlu: where the interpreter comes from.
        http_transport: the transport of outbound HTTP clients (Zalo, dossier system); None is the
            network, tests give an ``httpx.MockTransport``.
        clock: the current time (UTC aware) of the actions (office hours, overdue dossiers), the ticket
            service and the dossier watcher; tests give a ``tests.fakes.clock.FakeClock``.
        locks: conversation turns, leases and start-up across the deployment's processes (PostgreSQL
            advisory locks; in-process locks on SQLite, which is one process).
        changes: tells the other processes of an editor's change (PostgreSQL LISTEN/NOTIFY).
    """

    db: DbEngine
    sessions: sessionmaker[Session]
    knowledge: KnowledgeRepository
    conversations: ConversationStore
    inbox: Inbox
    outbox: Outbox
    dossiers: DossierGateway
    dossier_guard: DossierAccessGuard
    dossier_subscriptions: DossierSubscriptions
    overrides: ResponseOverrides
    web_outbox: RestOutbox
    nlu: NluModels
    http_transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], datetime] = utcnow
    locks: Locks = field(default_factory=LocalLocks)
    changes: ChangeFeed = field(default_factory=LocalChangeFeed)


def sql_adapters(db: DbEngine, config: HelplineConfig, nlu: NluModels) -> Adapters:
    """Every port on one database (the local demo dossier table for dossiers)."""
    sessions = make_session_factory(db)
    return Adapters(
        db=db,
        sessions=sessions,
        # answers read a procedure on most turns: serve reads from a snapshot, writes invalidate it
        knowledge=CachedKnowledgeRepository(SqlKnowledgeRepository(sessions)),
        conversations=SqlConversationStore(sessions),
        inbox=SqlInbox(sessions),
        outbox=SqlOutbox(sessions),
        dossiers=LocalDossierGateway(sessions),
        dossier_guard=SqlDossierAccessGuard(sessions, config.dossier, SqlThrottleStore(sessions)),
        dossier_subscriptions=SqlDossierSubscriptions(sessions),
        overrides=SqlResponseOverrides(sessions),
        web_outbox=SqlRestOutbox(sessions),
        nlu=nlu,
        **coordination(db),
    )


def coordination(db: DbEngine) -> dict[str, Any]:
    """The locks and change feed of ``db``: shared by every process on PostgreSQL, this process's on
    SQLite (one process: ``helpline serve --workers`` refuses more)."""
    if db.dialect.name != "postgresql":
        return {"locks": LocalLocks(), "changes": LocalChangeFeed()}
    return {"locks": PgLocks(db), "changes": PgChangeFeed(db)}


def real_adapters(
    settings: Settings, config: HelplineConfig, http_transport: httpx.AsyncBaseTransport | None = None
) -> Adapters:
    """Production's adapters, from the settings: the database URL, the model folder, the dossier system
    (``http_transport``: None is the network; tests give an ``httpx.MockTransport``)."""
    nlu = TrainedModels(settings.config_path, (settings.data_dir / "nlu.yml",), settings.model_dir)
    adapters = replace(
        sql_adapters(make_engine(settings.database_url, **pool_options(settings)), config, nlu),
        http_transport=http_transport,
    )
    keep = timedelta(days=settings.inbox_keep_days)
    adapters = replace(
        adapters,
        inbox=SqlInbox(adapters.sessions, lease=timedelta(seconds=settings.inbox_lease_seconds), keep=keep),
        outbox=SqlOutbox(
            adapters.sessions, lease=timedelta(seconds=settings.outbox_lease_seconds), keep=keep
        ),
    )
    if settings.dossier_api_url:
        cfg = config.dossier
        adapters = replace(
            adapters,
            dossiers=HttpDossierGateway(
                httpx.AsyncClient(transport=adapters.http_transport),
                settings.dossier_api_url,
                token=settings.dossier_api_token,
                api_key=settings.dossier_api_key,
                timeout=cfg.http_timeout_seconds,
                retries=cfg.http_retries,
                backoff=cfg.http_backoff_seconds,
            ),
        )
    return adapters


def pool_options(settings: Settings) -> dict[str, Any]:
    """The PostgreSQL connection pool of ``settings`` (SQLite keeps SQLAlchemy's defaults): its size, and
    whether each checkout first pings the server (one round trip per checkout, about five per turn:
    ``benchmarks/bench_processes.py``)."""
    if not settings.database_url.startswith("postgresql"):
        return {}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_overflow,
        "pool_pre_ping": settings.db_pre_ping,
        "pool_recycle": 1800,  # connections older than 30 min are replaced (idle timeouts of firewalls)
    }


def bootstrap(
    settings: Settings, config: HelplineConfig | None = None, adapters: Adapters | None = None
) -> App:
    """The app for ``settings``: config.yml read and validated now (a bad value stops here), and the
    real adapters unless ``adapters`` are given."""
    config = config if config is not None else load_config(settings.config_path)
    return App(settings, config, adapters if adapters is not None else real_adapters(settings, config))


# --- the app ------------------------------------------------------------------------------------------------


SINGLE_JOBS = frozenset({"telegram polling", "dossier watcher", "officer reply retries", "privacy purge"})
"""Jobs exactly one process of the deployment runs (under a lease, :mod:`bot.app.leases`)."""


@dataclass(frozen=True)
class Job:
    """A background task of the server: started after the app is ready, stopped before it ends."""

    name: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


def retried_job(
    name: str,
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    pauses: tuple[float, ...] = (5, 15, 60, 300),
) -> Job:
    """A :class:`Job` whose start may fail for a while (a platform's API out of reach) without stopping
    the server: the first failure is logged and the start is tried again in the background, after each
    of ``pauses`` seconds and then every last pause, until it succeeds or the server stops. (A failed
    start would otherwise end the whole server: with ``serve --workers`` uvicorn stops every worker when
    one fails to start.)"""
    retry: list[asyncio.Task[None]] = []

    async def again() -> None:
        for attempt in itertools.count(1):
            await asyncio.sleep(pauses[min(attempt - 1, len(pauses) - 1)])
            try:
                await start()
            except Exception as exc:
                log.warning("%s: still failing (attempt %d: %s)", name, attempt + 1, type(exc).__name__)
            else:
                log.warning("%s: started after %d attempts", name, attempt + 1)
                return

    async def first() -> None:
        try:
            await start()
        except Exception as exc:
            log.error("%s failed at start-up (%s); trying again in the background", name, type(exc).__name__)
            retry.append(asyncio.create_task(again(), name=f"retry {name}"))

    async def end() -> None:
        for task in retry:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stop()

    return Job(name, first, end)


@dataclass
class ChannelSet:
    """The chat platforms the settings enable: their channels, webhook routers and start/stop hooks."""

    channels: list[OutputChannel] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    started: list[str] = field(default_factory=list)


class IndexHolder:
    """The knowledge search index in use; the live reloader replaces it after an editor's change."""

    def __init__(self, build: Callable[[], SearchIndex]) -> None:
        self._build = build
        self._index: SearchIndex | None = None

    @property
    def current(self) -> SearchIndex:
        """The index in use (built on first use)."""
        if self._index is None:
            self._index = self._build()
        return self._index

    def use(self, index: SearchIndex) -> None:
        """Answer from ``index`` from now on."""
        self._index = index


class App:
    """Everything one process runs, built from settings, config and adapters.

    Services are built on first use; :meth:`prepare` builds what the server needs before it answers.

    Args:
        settings: environment settings (secrets, URLs, folders).
        config: config.yml, validated.
        adapters: one adapter per port.
    """

    def __init__(self, settings: Settings, config: HelplineConfig, adapters: Adapters) -> None:
        self.settings = settings
        self.config = config
        self.adapters = adapters
        self.knowledge: KnowledgeRepository = adapters.knowledge
        self.search = IndexHolder(self.build_search_index)
        self.leases: list[LeasedJob] = []  # the single jobs' leases, once :meth:`jobs` built them

    # --- knowledge -----------------------------------------------------------------------------------

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
    def faq_matcher(self) -> FaqMatcher:
        """FAQ questions the policy can answer; filled after seeding, reloaded when editors change FAQs."""
        return FaqMatcher([], self.abbreviations)

    def migrate(self) -> None:
        """Create or upgrade the schema."""
        migrate(self.adapters.db)

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

    # --- understanding and answering -------------------------------------------------------------------

    @cached_property
    def responses(self) -> LiveResponses:
        """data/responses.yml with the editors' texts over it, swappable live."""
        return LiveResponses(
            load_responses(self.settings.data_dir / "responses.yml", self.adapters.overrides)
        )

    @cached_property
    def interpreter(self) -> InterpreterHolder:
        """The NLU, in a holder that :attr:`live_reloader` swaps after an editor's change."""
        return InterpreterHolder(
            self.adapters.nlu.interpreter(lambda: self.search.current, self._learned_if_migrated)
        )

    @cached_property
    def policy(self) -> Policy:
        """The dialogue policy with the ``policy:`` section of config.yml (and the intents
        ``action_endpoint:`` routes to an action server's actions tried first)."""
        routes = self.config.action_endpoint.intents
        answers = RenderedAnswers(self.knowledge, self.responses)  # close candidates that answer alike
        if routes:
            return RoutedPolicy(routes, self.config.policy, faq=self.faq_matcher, answers=answers)
        return Policy(self.config.policy, faq=self.faq_matcher, answers=answers)

    @cached_property
    def office_hours(self) -> WorkingHours:
        """When officers are at work (the escalation action promises an answer or says when)."""
        return self.config.escalation.hours()

    def _actions(self, dossier_guard: DossierAccessGuard, subscriptions: DossierSubscriptions) -> Any:
        built = build_actions(
            ActionDeps(
                self.knowledge,
                dossiers=self.adapters.dossiers,
                dossier_guard=dossier_guard,
                dossier_subscriptions=subscriptions,
                tickets=self.tickets,
                office_hours=self.office_hours,
                clock=self.adapters.clock,
            )
        )
        endpoint = self.config.action_endpoint
        if not endpoint.actions:
            return built
        # the action server's actions replace the built-in ones of their name (which answer when it is down)
        return {**built, **remote_actions(endpoint, self.action_client, lambda: self.rasa_domain, built)}

    @cached_property
    def action_client(self) -> httpx.AsyncClient:
        """The HTTP client of the action server (``action_endpoint:``); closed with the server."""
        return httpx.AsyncClient(transport=self.adapters.http_transport)

    @cached_property
    def rasa_domain(self) -> dict[str, Any]:
        """The domain as Rasa has it (``GET /domain``, and sent to the action server), built once."""
        return app_domain(self)

    @cached_property
    def engine(self) -> Engine:
        """The conversation engine, its actions injected, its events going to the hand-off."""
        return Engine(
            self.interpreter,
            self.knowledge,
            self.adapters.conversations,
            self.responses,
            self._actions(self.adapters.dossier_guard, self.adapters.dossier_subscriptions),
            policy=self.policy,
            events=TicketEventSink(
                self.tickets,
                self.config.escalation.negative_rating_at_most,
                TurnOutcomes(self.adapters.sessions),
            ),
            locks=self.adapters.locks,
        )

    # --- officers ------------------------------------------------------------------------------------------

    @cached_property
    def retention(self) -> Retention:
        """The privacy purge of config.yml's ``privacy:`` (``helpline purge``, the daily job); old log
        files are looked for beside the models folder, where ``helpline chat`` writes its log."""
        return Retention(
            self.adapters.sessions,
            self.config.privacy,
            log_dir=self.settings.model_dir.parent,
            clock=self.adapters.clock,
        )

    @cached_property
    def tickets(self) -> TicketService:
        """The officer ticket queue; mode changes go through the engine's per-conversation lock."""
        return TicketService(
            self.adapters.sessions,
            self.adapters.conversations,
            self.responses,
            release=lambda key: self.engine.release_to_bot(key),
            hold=lambda key: self.engine.hold_for_officer(key),
            backoff=self.config.escalation.retry_backoff_seconds,
            clock=self.adapters.clock,
            procedure_names=self._procedure_name,
        )

    def _procedure_name(self, code: str) -> str | None:
        """A procedure's name for the officers' inbox (None: not in the knowledge base)."""
        procedure = self.knowledge.get(code)
        return procedure.name if procedure is not None else None

    @cached_property
    def users(self) -> UserService:
        """Console accounts."""
        return UserService(self.adapters.sessions)

    @cached_property
    def console_auth(self) -> ConsoleAuth:
        """Sessions (in the database), logins throttled on the shared throttle table, role checks."""
        return ConsoleAuth(
            self.users,
            self.settings.resolved_session_secret(),
            secure_cookie=self.settings.public_url.startswith("https://"),
            throttle=Throttle(SqlThrottleStore(self.adapters.sessions), LOGIN_RULES),
        )

    @property
    def escalation(self) -> EscalationConfig:
        """The ``escalation:`` section (the console reads its time zone)."""
        return self.config.escalation

    # --- editors -----------------------------------------------------------------------------------------

    @cached_property
    def learning(self) -> LearningService:
        """The editors' inbox of unanswered messages, learned examples, FAQ/example import and export;
        an assignment or an import goes live through :attr:`live_reloader`."""
        intents = load_training_data(self.settings.data_dir / "nlu.yml").intents
        return LearningService(
            self.adapters.sessions,
            self.knowledge,
            intents,
            low_confidence=self.config.learning.low_confidence,
            negative_rating_at_most=self.config.escalation.negative_rating_at_most,
            went_live=lambda: self.live_reloader.request(),  # late: the reloader trains with self.learning
        )

    def learned_training_data(self) -> TrainingData | None:
        """The editors' learned examples, trained on with data/nlu.yml."""
        return self.learning.training_data()

    def _learned_if_migrated(self) -> TrainingData | None:
        """:meth:`learned_training_data`, or None when the database has no such table yet (a first
        training before the schema exists)."""
        try:
            return self.learned_training_data()
        except (OperationalError, ProgrammingError):
            log.warning("no learned examples table yet: training on data/nlu.yml only")
            return None

    @cached_property
    def live_reloader(self) -> LiveReloader:
        """Rebuilds the search index and retrains the NLU in the background after an editor's change,
        then swaps them in. With a fixed (fake) interpreter only the index is rebuilt."""
        nlu = self.adapters.nlu
        return LiveReloader(
            self.interpreter,
            self.build_search_index,
            train=nlu.trainer(self.learned_training_data),
            load=nlu.loader(),
            on_index=self.search.use,
            reload_faqs=lambda: self.faq_matcher.reload(self.knowledge.list_faqs()),
            publish=self.adapters.changes.publish,
            locate=self._model_file,
        )

    def _model_file(self, name: str) -> Path | None:
        """The model file ``name`` in this machine's model folder, if it is there."""
        path = self.settings.model_dir / Path(name).name
        return path if path.is_file() else None

    @cached_property
    def change_follower(self) -> ChangeFollower:
        """Takes in what an editor changed on another process (the change feed's receiver)."""

        def reload_responses() -> None:
            path = self.settings.data_dir / "responses.yml"
            self.responses.swap(load_responses(path, self.adapters.overrides))

        def forget_knowledge() -> None:
            invalidate = getattr(self.knowledge, "invalidate", None)
            if invalidate is not None:
                invalidate()

        return ChangeFollower(self.live_reloader, reload_responses, forget_knowledge)

    @cached_property
    def editor(self) -> EditorService:
        """The editor console's service; its "try it" box runs the real engine on a scratch store, with
        dossier look-ups that share no lockouts or subscriptions with citizens."""
        scratch = ScratchConversationStore()
        try_engine = Engine(
            self.interpreter,
            self.knowledge,
            scratch,
            self.responses,
            self._actions(InMemoryDossierAccessGuard(), InMemoryDossierSubscriptions()),
            policy=self.policy,
        )
        return EditorService(
            self.adapters.sessions,
            self.knowledge,
            self.responses,
            self.settings.data_dir / "responses.yml",
            AnnouncedOverrides(self.adapters.overrides, self.adapters.changes.publish),
            reloader=self.live_reloader,
            try_engine=try_engine,
            scratch=scratch,
        )

    @cached_property
    def analytics(self) -> AnalyticsService:
        """Figures of the analytics dashboard, counted in days of the escalation time zone."""
        return AnalyticsService(
            self.adapters.sessions,
            timezone=self.config.escalation.timezone,
            low_confidence=self.config.learning.low_confidence,
        )

    # --- the running server ----------------------------------------------------------------------------

    @cached_property
    def dossier_watcher(self) -> DossierWatcher:
        """Tells subscribers when their dossier's status changes."""
        return DossierWatcher(self.adapters.dossier_subscriptions, self.responses, clock=self.adapters.clock)

    @cached_property
    def registry(self) -> ChannelRegistry:
        """Every output channel by name (the web chat's outbox first); replies go out through it."""
        return ChannelRegistry([self.adapters.web_outbox])

    @cached_property
    def handler(self) -> MessageHandler:
        """What every channel calls with a citizen's message: the engine, with photos, stickers and voice
        notes read first (a receipt's code starts the look-up) and messages of open tickets recorded for
        the officer."""
        return AttachmentReader(InboundRecorder(self.tickets, self.engine.handle), self.registry.get)

    @cached_property
    def queue(self) -> DurableInboundQueue:
        """The durable inbound queue the webhooks and pollers store messages in (answered in order per
        chat, by any process on the database); the replies go out through the outbox."""
        apology = self.responses.render("utter_error")

        def error_reply(key: ConversationKey) -> OutboundMessage:
            return OutboundMessage(key=key, text=apology.text, buttons=apology.buttons)

        return DurableInboundQueue(
            self.handler,
            self.adapters.inbox,
            workers=self.settings.inbox_workers,
            error_reply=error_reply,
            on_reply=self.delivery.wake,
            housekeeping=(self.adapters.outbox.prune,),
            outbox_idle=self.outbox_sender.idle,
        )

    @cached_property
    def outbox_sender(self) -> OutboxSender:
        """Delivers the bot's replies and the dossier notices from the outbox, in order per chat,
        retrying with the hand-off's backoff; officers' replies wait behind them."""
        sender = OutboxSender(
            self.adapters.outbox, self.registry.deliver, backoff=self.config.escalation.retry_backoff_seconds
        )
        sender.on_queued = lambda: self.delivery.wake()
        return sender

    @cached_property
    def delivery(self) -> DeliveryRetrier:
        """The retry loop of the outbox in this process: at once after each turn, and every interval for
        replies whose backoff is over (every process runs one: the outbox's leases keep them apart; the
        ticket messages' loop, not safe twice, is a single job)."""
        return DeliveryRetrier(
            None, self.config.escalation.retry_interval_seconds, outbox=self.outbox_sender.send_due
        )

    @cached_property
    def channels(self) -> ChannelSet:
        """The chat platforms whose settings are present, registered for replies."""
        built = build_channels(self.settings, self.queue, self.adapters.http_transport, self.adapters)
        for channel in built.channels:
            self.registry.register(channel)
        return built

    @cached_property
    def rest_router(self) -> APIRouter:
        """The web chat's REST channel (Rasa's REST protocol, plus the poll for officers' replies and the
        page's history): each page speaks in its server-issued session; only a client with the Rasa
        HTTP API's token names its own sender."""
        sessions = WebChatSessions(
            self.settings.rasa_auth_token, secure_cookie=self.settings.public_url.startswith("https://")
        )
        return rest_router(self.handler, self.adapters.web_outbox, sessions)

    @cached_property
    def rasa_router(self) -> APIRouter:
        """Rasa's HTTP API (``/model/parse``, ``/conversations/{id}/tracker`` ...) over the engine."""
        return rasa_router(
            RasaApi(
                parse=self.engine.understand,
                log_message=self.engine.log_message,
                store=self.adapters.conversations,
                domain=lambda: self.rasa_domain,
                status=self.nlu_status,
                channels=self.registry.names,
                auth_token=self.settings.rasa_auth_token,
                version=project_version(),
            )
        )

    def nlu_status(self) -> dict[str, Any]:
        """``model_file`` and ``model_id`` of Rasa's ``/status``: the model ``latest`` names (None with a
        fixed interpreter)."""
        latest = self.settings.model_dir / LATEST
        name = latest.read_text(encoding="utf-8").strip() if latest.exists() else ""
        return {"model_file": name or None, "model_id": Path(name).name.split(".")[0] if name else None}

    def jobs(self) -> list[Job]:
        """The server's background tasks: channels, officer reply retries, the dossier watcher and its
        housekeeping, and the live reloader's shutdown."""
        self.tickets.use_delivery(self.outbox_sender.deliver_in_order)  # never before the bot's replies
        retrier = DeliveryRetrier(self.tickets, self.config.escalation.retry_interval_seconds)
        purge = PurgeJob(self.retention)

        async def stop_delivery() -> None:  # turns in progress finish, then their replies go out
            await self.queue.stop()
            await self.delivery.stop()
            await self.outbox_sender.flush(timeout=10)
            await self.outbox_sender.stop()

        async def finish_reload() -> None:  # a rebuild in progress may finish; it is never cut in half
            await asyncio.to_thread(self.live_reloader.close)

        jobs = [
            *self.channels.jobs,
            Job("officer reply retries", retrier.start, retrier.stop),
            Job("outbox delivery", self.delivery.start, stop_delivery),
            self._dossier_job(),
            Job("live reload", _nothing, finish_reload),
            Job(PurgeJob.name, purge.start, purge.stop),
        ]
        if self.config.action_endpoint.actions:
            jobs.append(Job("action server client", _nothing, self.action_client.aclose))
        return self._across_processes(jobs)

    def _across_processes(self, jobs: list[Job]) -> list[Job]:
        """``jobs`` as several processes run them: each of :data:`SINGLE_JOBS` under a lease (one process
        runs it; it moves when that process dies), and the change feed's listener added."""
        every = self.settings.lease_seconds
        self.leases = [
            LeasedJob(job.name, job.start, job.stop, self.adapters.locks, every)
            for job in jobs
            if job.name in SINGLE_JOBS
        ]
        leased = {lease.name: Job(lease.name, lease.start, lease.stop) for lease in self.leases}
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []

        async def listen() -> None:
            stop.clear()
            feed = self.adapters.changes.run(self.change_follower, stop)
            tasks.append(asyncio.create_task(feed, name="change feed"))

        async def stop_listening() -> None:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, timeout=5)
            tasks.clear()

        return [*(leased.get(job.name, job) for job in jobs), Job("change feed", listen, stop_listening)]

    def _dossier_job(self) -> Job:
        """Tell subscribers when their dossier's status changes, and prune old verification records."""
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        interval = self.config.dossier.poll_interval_seconds
        guard = self.adapters.dossier_guard

        async def prune_loop() -> None:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(guard.prune)
                except Exception:  # pruning is housekeeping: log and try again next round
                    log.exception("could not prune dossier verification records")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=3600)

        async def start() -> None:
            stop.clear()  # started again when its lease comes back to this process
            tasks.clear()
            watcher = self.dossier_watcher.run(self.adapters.dossiers, self.outbox_sender, interval, stop)
            tasks.append(asyncio.create_task(watcher))
            tasks.append(asyncio.create_task(prune_loop()))

        async def shutdown() -> None:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)

        return Job("dossier watcher", start, shutdown)

    def prepare_once(self) -> None:
        """Before several worker processes start: the schema, the seed and a first NLU model (trained
        once here rather than by every worker), then the database connections closed."""
        with self.adapters.locks.exclusive("prepare"):
            self.migrate()
            self.seed_if_empty()
        models = self.adapters.nlu
        if isinstance(models, TrainedModels) and not (models.model_dir / LATEST).exists():
            learned = self._learned_if_migrated()
            train_model(models.config_path, models.data_paths, models.model_dir, extra=learned)
        self.adapters.db.dispose()

    def prepare(self) -> None:
        """Everything the server needs before it answers: schema, seed, FAQ, demo dossiers, NLU, engine."""
        # Several processes starting on an empty database: one migrates and seeds, the others wait,
        # then read the whole catalogue (never a snapshot taken half-way through the seed).
        with self.adapters.locks.exclusive("prepare"):
            self.migrate()
            self.seed_if_empty()
        invalidate = getattr(self.knowledge, "invalidate", None)
        if invalidate is not None:
            invalidate()
        self.knowledge.count()  # the snapshot read now, before the first citizen waits for it
        self.faq_matcher.reload(self.knowledge.list_faqs())
        dossiers = self.adapters.dossiers
        if isinstance(dossiers, LocalDossierGateway) and seed_demo_dossiers(dossiers):
            log.info("seeded demo dossiers")
        _ = self.engine


def build_channels(
    settings: Settings,
    queue: Inbound,
    transport: httpx.AsyncBaseTransport | None,
    adapters: Adapters | None = None,
) -> ChannelSet:
    """The Telegram, Zalo OA and Zalo Bot channels whose settings are present (none is required).
    With ``adapters``, the Zalo OA tokens live in their database, shared by every process."""
    built = ChannelSet()
    # Long Telegram payloads and the Zalo chats' last buttons: shared, the answer may reach another process.
    buttons = None
    if adapters is not None:
        from bot.storage.button_memory import SqlButtonMemory

        buttons = SqlButtonMemory(adapters.sessions)
    if settings.telegram_token:
        from bot.channels.shared_ratelimit import send_limiter
        from bot.channels.telegram import (
            TelegramChannel,
            TelegramPolling,
            build_application,
            build_bot,
            telegram_webhook_router,
        )

        # Telegram's limits are per bot: every process of this bot shares them in Redis when it is set.
        limiter = send_limiter(settings.redis_url, scope=f"telegram:{settings.telegram_token.split(':')[0]}")
        if settings.redis_url:
            built.jobs.append(Job("telegram send limit (redis)", _nothing, limiter.aclose))
        if settings.telegram_webhook_url:
            tg = TelegramChannel(
                build_bot(settings.telegram_token, base_url=settings.telegram_base_url),
                limiter=limiter,
                memory=buttons,
            )
            built.channels.append(tg)
            built.routers.append(
                telegram_webhook_router(tg, queue, secret_token=settings.telegram_webhook_secret)
            )
            webhook_url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret

            async def set_webhook() -> None:
                await tg.initialize()
                await tg.set_webhook(webhook_url, secret)

            built.jobs.append(retried_job("telegram webhook", set_webhook, tg.shutdown))
            built.started.append("telegram (webhook)")
        else:
            application = build_application(settings.telegram_token, base_url=settings.telegram_base_url)
            tg = TelegramChannel(application.bot, limiter=limiter, memory=buttons)
            built.channels.append(tg)
            poller = TelegramPolling(application, tg, queue)
            built.jobs.append(Job("telegram polling", poller.start, poller.stop))
            built.started.append("telegram (polling)")

    if settings.zalo_oa_app_id and settings.zalo_oa_secret_key:
        from bot.channels.zalo_oa import (
            InMemoryTokenStore,
            TokenStore,
            ZaloOAChannel,
            ZaloOASettings,
            ZaloTokens,
            zalo_oa_webhook_router,
        )

        seed = ZaloTokens(settings.zalo_oa_access_token, settings.zalo_oa_refresh_token)
        tokens: TokenStore = InMemoryTokenStore(seed)
        if adapters is not None:
            from bot.storage.zalo_tokens import SqlZaloTokenStore

            tokens = SqlZaloTokenStore(
                adapters.sessions,
                adapters.locks,
                settings.zalo_oa_app_id,
                seed,
                app_secret_key=settings.zalo_app_secret_key,
            )
        client = httpx.AsyncClient(timeout=10, transport=transport)
        zalo = ZaloOAChannel(
            client,
            ZaloOASettings(
                app_id=settings.zalo_oa_app_id,
                oa_secret_key=settings.zalo_oa_secret_key,
                app_secret_key=settings.zalo_app_secret_key,
                event_window=timedelta(seconds=settings.zalo_oa_event_window_seconds),
            ),
            tokens,
        )
        if buttons is not None:
            zalo.share_buttons(buttons)
        built.channels.append(zalo)
        built.routers.append(zalo_oa_webhook_router(zalo, queue))
        built.jobs.append(Job("zalo oa client", _nothing, client.aclose))
        built.started.append("zalo")

    if settings.zalo_bot_token:
        from bot.channels.zalo_bot import ZaloBotChannel, zalo_bot_webhook_router

        client = httpx.AsyncClient(timeout=10, transport=transport)
        zbot = ZaloBotChannel(client, settings.zalo_bot_token, base_url=settings.zalo_bot_base_url)
        if buttons is not None:
            zbot.share_buttons(buttons)
        built.channels.append(zbot)
        built.routers.append(
            zalo_bot_webhook_router(zbot, queue, secret_token=settings.zalo_bot_webhook_secret)
        )
        built.jobs.append(Job("zalo bot client", _nothing, client.aclose))
        built.started.append("zalo_bot")
    return built


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class FixedModels:
    """An :class:`NluModels` that always answers with one interpreter and never retrains (tests, and
    evaluations of a given model)."""

    fixed: Interpreter

    def interpreter(
        self, index: Callable[[], SearchIndex], learned: Callable[[], TrainingData | None]
    ) -> Interpreter:
        return self.fixed

    def trainer(self, learned: Callable[[], TrainingData | None]) -> None:
        return None

    def loader(self) -> None:
        return None
