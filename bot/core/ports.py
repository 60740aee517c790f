"""The engine's ports: everything it needs from the outside world, each with a fake for tests.

=======================  ==========================================  =====================================
Port                     Real adapter                                Fake (records what happened)
=======================  ==========================================  =====================================
:class:`Interpreter`     ``nlu`` pipeline (wired by the composition  ``tests/fakes/interpreter.py``
                         root)
:class:`ConversationStore`  :class:`bot.storage.sql.SqlConversationStore`  :class:`InMemoryConversationStore`
:class:`EventSink`       :class:`bot.handoff.sink.TicketEventSink`    :class:`RecordingEventSink`
:class:`TicketQueue`     :class:`bot.handoff.service.TicketService`   :class:`FixedTicketQueue`
:class:`OfficeHours`     :class:`bot.core.config.WorkingHours`      (a WorkingHours built in the test)
:class:`DossierGateway`  :class:`bot.dossiers.local.LocalDossierGateway`,  :class:`NotConfiguredDossierGateway`,
                         :class:`bot.dossiers.http.HttpDossierGateway`    :class:`InMemoryDossierGateway`
:class:`DossierAccessGuard` :class:`bot.dossiers.guard.SqlDossierAccessGuard` :class:`InMemoryDossierAccessGuard`
:class:`bot.core.throttle.ThrottleStore`  :class:`bot.storage.throttle.SqlThrottleStore`  :class:`bot.core.throttle.InMemoryThrottleStore`
:class:`DossierSubscriptions` :class:`bot.dossiers.subscriptions.SqlDossierSubscriptions` :class:`InMemoryDossierSubscriptions`
:class:`ResponseOverrides`  :class:`bot.storage.overrides.SqlResponseOverrides`  :class:`bot.storage.memory.InMemoryResponseOverrides`
:class:`Locks`           :class:`bot.storage.coordination.PgLocks`   :class:`bot.core.coordination.LocalLocks`
                         (PostgreSQL advisory locks)                 (one process: SQLite's default)
:class:`ChangeFeed`      :class:`bot.storage.coordination.PgChangeFeed`  :class:`bot.core.coordination.LocalChangeFeed`
                         (PostgreSQL LISTEN/NOTIFY)
=======================  ==========================================  =====================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.state import ConversationState
from bot.core.throttle import (
    InMemoryGrants,
    InMemoryThrottleStore,
    VerificationGuard,
    VerificationLimits,
)
from bot.core.timeutil import as_utc

if TYPE_CHECKING:
    import asyncio

    from bot.core.events import Event


class Interpreter(Protocol):
    """Natural-language understanding: text in, Rasa-shaped parse out.

    The parse is a dict::

        {"text": str,
         "intent": {"name": str, "confidence": float},
         "intent_ranking": [{"name": str, "confidence": float}, ...],
         "entities": [{"entity", "value", "start", "end", "confidence", "extractor"}, ...],
         "procedure": {"code": str, "name": str, "score": float} | None,
         "procedure_ranking": [{"code": str, "name": str, "score": float}, ...]}

    Confidence thresholds are the interpreter's job: when it is unsure the intent name is
    ``nlu_fallback`` and ``procedure_ranking`` still holds the closest candidates. The engine reads the
    dict into a typed :class:`bot.core.parse.Parse` (refusing one it cannot use); nothing after it sees
    the dict.
    """

    def parse(self, text: str) -> dict[str, Any]:
        """Understand one message."""
        ...


Direction = Literal["in", "out"]


class ConversationHandler(Protocol):
    """Whatever answers a citizen's message: the engine (:class:`bot.engine.engine.Engine`), or the
    hand-off's recorder wrapped around it. Channels and the editor's "try it" box hold one of these."""

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """The replies to ``message`` (none while an officer owns the conversation)."""
        ...


@dataclass(frozen=True)
class MessageRecord:
    """One line of the message log, kept for officers and analytics.

    Attributes:
        key: the conversation.
        direction: ``"in"`` from the citizen, ``"out"`` to the citizen.
        text: what was said (stores may redact ID and phone numbers before writing).
        sender: ``"citizen"``, ``"bot"`` or ``"officer"``.
        intent: the understood intent of the turn, if any.
        confidence: its confidence.
        procedure: the procedure code the turn was about.
        created_at: when it happened.
    """

    key: ConversationKey
    direction: Direction
    text: str
    sender: str = "citizen"
    intent: str | None = None
    confidence: float | None = None
    procedure: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ConversationStore(Protocol):
    """Keeps conversation states and the message log."""

    def load(self, key: ConversationKey) -> ConversationState:
        """The saved state, or a fresh :class:`ConversationState` for a new conversation."""
        ...

    def save(self, state: ConversationState) -> None:
        """Create or replace the state of ``state.key``."""
        ...

    def log(self, records: Iterable[MessageRecord]) -> None:
        """Append messages to the log."""
        ...

    def save_turn(
        self,
        state: ConversationState,
        records: Sequence[MessageRecord],
        message: InboundMessage,
        replies: Sequence[OutboundMessage],
    ) -> None:
        """One turn, all or nothing: save ``state`` and log ``records``; when ``message`` was taken from
        the durable inbox (``message.metadata[INBOX_ID]``), also mark its row done and queue ``replies``
        in the outbox, in the same transaction (:mod:`bot.storage.inbox`)."""
        ...

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        """The last ``limit`` logged messages of a conversation, oldest first."""
        ...


class InMemoryConversationStore:
    """Fake store: dicts and a list. ``saved`` counts saves so tests can assert persistence happened."""

    def __init__(self) -> None:
        self.states: dict[ConversationKey, dict[str, Any]] = {}
        self.records: list[MessageRecord] = []
        self.saved = 0

    def load(self, key: ConversationKey) -> ConversationState:
        data = self.states.get(key)
        return ConversationState.from_dict(data) if data is not None else ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        # Kept as the JSON dict, as the real store does, so a state that does not round-trip fails here.
        self.states[state.key] = state.to_dict()
        self.saved += 1

    def log(self, records: Iterable[MessageRecord]) -> None:
        self.records.extend(records)

    def save_turn(
        self,
        state: ConversationState,
        records: Sequence[MessageRecord],
        message: InboundMessage,
        replies: Sequence[OutboundMessage],
    ) -> None:
        self.save(state)
        self.log(records)

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        mine = [r for r in self.records if r.key == key]
        return mine[-limit:] if limit > 0 else []


INBOX_ID = "inbox_id"
"""Key of :attr:`InboundMessage.metadata` holding the durable inbox row a message was taken from: the
store marks that row done in the transaction of the turn (:meth:`ConversationStore.save_turn`)."""

INBOX_TAKE = "inbox_take"
"""Key of :attr:`InboundMessage.metadata` holding which take of its inbox row this is
(:attr:`InboxItem.attempts`): the row is finished only by its latest take, so a process whose lease ran
out while it was still working cannot finish a row another process has taken since."""


class TurnSuperseded(Exception):
    """Raised by :meth:`ConversationStore.save_turn` when the turn's inbox row is another worker's now
    (this one's lease ran out): nothing of the turn was written, and nothing is to be said; the worker
    holding the row answers the message."""


@dataclass(frozen=True)
class InboxItem:
    """An inbound message taken from the durable inbox, leased to this process until it is finished.

    Attributes:
        id: the inbox row.
        message: the message as the channel accepted it.
        attempts: how many times the row was taken (1 the first time; more after a process died).
    """

    id: int
    message: InboundMessage
    attempts: int


class Inbox(Protocol):
    """The durable inbox: every platform update is stored before the webhook answers, then taken by a
    worker, in order per conversation (:class:`bot.storage.inbox.SqlInbox`)."""

    def add(self, message: InboundMessage) -> bool:
        """Store ``message``; False (nothing stored) when ``(channel, message_id)`` is already stored."""
        ...

    def claim(self) -> InboxItem | None:
        """Take the oldest message whose conversation has no earlier unfinished one, for a lease;
        a message leased by a process that died is taken again once its lease ran out."""
        ...

    def finish(self, item: InboxItem, replies: Sequence[OutboundMessage]) -> bool:
        """Mark the row done and queue ``replies`` in the outbox, at once; False (nothing written) when
        this take of the row is over (the turn's own transaction finished it, or another process took
        the row after this one's lease ran out)."""
        ...

    def unfinished(self) -> int:
        """How many messages are stored and not yet finished."""
        ...

    def prune(self) -> int:
        """Delete finished rows past the retention; how many were deleted."""
        ...


@dataclass(frozen=True)
class OutboxItem:
    """A reply taken from the outbox for one delivery attempt.

    Attributes:
        id: the outbox row.
        message: the reply.
        attempts: delivery attempts so far, this one included.
    """

    id: int
    message: OutboundMessage
    attempts: int


class Outbox(Protocol):
    """Replies waiting to be delivered, retried with backoff, in order per chat
    (:class:`bot.storage.inbox.SqlOutbox`)."""

    def put(self, replies: Sequence[OutboundMessage]) -> None:
        """Queue replies that belong to no turn of the inbox (a dossier notice)."""
        ...

    def waiting_for(self, key: ConversationKey) -> int:
        """How many replies to ``key`` wait to be delivered."""
        ...

    def due_chats(self, limit: int = 100) -> list[ConversationKey]:
        """Chats with a reply due now."""
        ...

    def claim_next(self, key: ConversationKey) -> OutboxItem | None:
        """The chat's oldest undelivered reply, leased, if it is due (None while it waits: later replies
        of the chat wait behind it)."""
        ...

    def on_the_wire(self, item_id: int) -> None:
        """The reply is being handed to the platform now: if this process dies before :meth:`sent`, the
        next one knows the reply may have arrived (and says so when it sends it again)."""
        ...

    def sent(self, item_id: int) -> None:
        """The reply was delivered."""
        ...

    def retry_at(self, item_id: int, at: datetime, reason: str) -> None:
        """The delivery failed for now: try again at ``at``."""
        ...

    def failed(self, item_id: int, reason: str) -> None:
        """The delivery failed for good (later replies of the chat go on)."""
        ...

    def undelivered(self) -> int:
        """How many replies wait to be delivered."""
        ...

    def prune(self) -> int:
        """Delete delivered and failed rows past the retention; how many were deleted."""
        ...


class EventSink(Protocol):
    """Receives the events of each handled turn after its state was saved (e.g. a ticket queue).

    The engine calls :meth:`publish` off the event loop (as it does every other blocking call of the
    turn), so a sink may do its database work synchronously.
    """

    def publish(self, key: ConversationKey, events: Sequence[Event]) -> None:
        """Take the events of one turn."""
        ...


class RecordingEventSink:
    """Fake sink: keeps every published ``(key, event)`` pair in ``published``."""

    def __init__(self) -> None:
        self.published: list[tuple[ConversationKey, Event]] = []

    def publish(self, key: ConversationKey, events: Sequence[Event]) -> None:
        self.published.extend((key, e) for e in events)

    def of_type(self, kind: type) -> list[Any]:
        """The published events of one class, in order."""
        return [e for _, e in self.published if isinstance(e, kind)]


class TicketQueue(Protocol):
    """What the escalation action may read from the officers' ticket queue."""

    async def waiting_count(self) -> int:
        """How many tickets wait for an officer now."""
        ...


class FixedTicketQueue:
    """Fake queue: always ``waiting`` tickets ahead; ``asked`` counts the questions."""

    def __init__(self, waiting: int = 0) -> None:
        self.waiting = waiting
        self.asked = 0

    async def waiting_count(self) -> int:
        self.asked += 1
        return self.waiting


class OfficeHours(Protocol):
    """When officers are at work, so the escalation action can say when the citizen will hear back."""

    def is_open(self, now: datetime) -> bool:
        """True when officers are at work at ``now`` (UTC aware)."""
        ...

    def next_opening(self, now: datetime) -> datetime | None:
        """When officers are next at work after ``now`` (in their time zone); None when never."""
        ...


class DossierLookupUnavailable(Exception):
    """The dossier system cannot be asked (not configured, or down). Not a citizen's mistake."""


@dataclass(frozen=True)
class DossierStatus:
    """What the dossier system says about one dossier (never the applicant's identity).

    Attributes:
        code: the dossier code (mã hồ sơ).
        status: its status as published ("Đang giải quyết", "Đã có kết quả", ...).
        procedure_name: the procedure it was filed for, if known.
        due: promised return date as text ("15/03/2025"), if known (kept for older adapters;
            prefer ``due_at``).
        procedure_code: national code of the procedure (``1.000894``), if known.
        current_step: the step the dossier is at ("Thẩm định hồ sơ"), if known.
        received_at: when it was received.
        due_at: when the result is promised.
        done: True once the result is ready (or returned).
        updated_at: when the system last changed it.
    """

    code: str
    status: str
    procedure_name: str = ""
    due: str = ""
    procedure_code: str = ""
    current_step: str = ""
    received_at: datetime | None = None
    due_at: datetime | None = None
    done: bool = False
    updated_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        """True when the promised date has passed and the dossier is not done."""
        return not self.done and self.due_at is not None and as_utc(self.due_at) < as_utc(now)

    @property
    def fingerprint(self) -> str:
        """What a subscriber is told about when it changes: status, step and completion."""
        return f"{self.status}|{self.current_step}|{int(self.done)}"


class DossierGateway(Protocol):
    """Looks up a dossier's status in the provincial dossier system (hệ thống một cửa điện tử)."""

    async def lookup(self, code: str) -> DossierStatus | None:
        """The status, None when no dossier has this code (for server-side use: the watcher).

        Raises:
            DossierLookupUnavailable: the system cannot be asked right now.
        """
        ...

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        """The status when ``last4`` are the last 4 digits of the applicant's phone or ID number.

        None both when no dossier has this code and when the digits do not match, so that a caller
        cannot tell the two apart.

        Raises:
            DossierLookupUnavailable: the system cannot be asked right now.
        """
        ...


class NotConfiguredDossierGateway:
    """Every lookup is unavailable: for deployments without any dossier data."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def lookup(self, code: str) -> DossierStatus | None:
        self.asked.append(code)
        raise DossierLookupUnavailable("no dossier system is configured")

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        return await self.lookup(code)


class InMemoryDossierGateway:
    """Fake gateway answering from a dict; records the codes it was asked for.

    Args:
        statuses: the dossiers.
        secrets: code -> the last 4 digits accepted for it (phone and ID); a dossier without an entry
            accepts no digits.
    """

    def __init__(
        self, statuses: Iterable[DossierStatus] = (), secrets: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        self.statuses = {s.code.upper(): s for s in statuses}
        self.secrets = {code.upper(): set(digits) for code, digits in (secrets or {}).items()}
        self.asked: list[str] = []
        self.unavailable = False

    async def lookup(self, code: str) -> DossierStatus | None:
        self.asked.append(code)
        if self.unavailable:
            raise DossierLookupUnavailable("fake gateway set unavailable")
        return self.statuses.get(code.upper())

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        status = await self.lookup(code)
        return status if status is not None and last4 in self.secrets.get(code.upper(), ()) else None

    def set(self, status: DossierStatus) -> None:
        """Add or replace a dossier (as an officer's update would)."""
        self.statuses[status.code.upper()] = status


class DossierAccessGuard(Protocol):
    """Rate-limits failed verifications per chat, per dossier and overall, and remembers successful ones.

    Subjects are opaque strings (``chat:telegram:42``, ``dossier:H12.22-250301-0001``); failures make a
    subject wait (exponential backoff), whether or not the dossier exists. Both implementations are
    :class:`bot.core.throttle.VerificationGuard` (the console login's throttle mechanism).
    """

    async def locked(self, subjects: Sequence[str]) -> bool:
        """True when any of ``subjects`` is locked now."""
        ...

    async def failed(self, subjects: Sequence[str]) -> bool:
        """Count one failure for each subject; True when one of them is now locked."""
        ...

    async def succeeded(self, subjects: Sequence[str], grant: str) -> None:
        """Clear the subjects' failures and remember ``grant`` (chat + dossier) as verified for a while."""
        ...

    async def granted(self, grant: str) -> bool:
        """True when ``grant`` was verified recently."""
        ...

    def prune(self) -> int:
        """Forget subjects with neither a running lock, a running grant nor recent failures; how many.

        Housekeeping the server runs every hour. Blocking (a database write): call it off the event loop.
        """
        ...


class InMemoryDossierAccessGuard(VerificationGuard):
    """The one verification guard (:class:`bot.core.throttle.VerificationGuard`) over in-memory stores,
    with an injectable clock (fake for tests; fine for one process).

    Args:
        max_failures: free failures per requester and per code before the backoff starts.
        lock_for: the longest cool-down of a dossier code.
        grant_for: how long a successful verification lets the chat subscribe.
        clock: current time.
    """

    def __init__(
        self,
        max_failures: int = 5,
        lock_for: timedelta = timedelta(minutes=30),
        grant_for: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = InMemoryThrottleStore()
        self.memory = InMemoryGrants()
        super().__init__(
            self.store, self.memory, VerificationLimits.of(max_failures, lock_for), grant_for, clock
        )


@dataclass(frozen=True)
class DossierSubscription:
    """A chat that wants to hear when a dossier changes.

    Attributes:
        code: the dossier code.
        key: the conversation to notify (its own channel and chat).
        last_seen: :attr:`DossierStatus.fingerprint` last told (None: not known yet).
    """

    code: str
    key: ConversationKey
    last_seen: str | None = None


class DossierSubscriptions(Protocol):
    """Who is notified of which dossier's changes."""

    async def subscribe(self, code: str, key: ConversationKey, last_seen: str | None) -> bool:
        """Add (or keep) a subscription; True when it is new."""
        ...

    async def active(self) -> list[DossierSubscription]:
        """Every subscription."""
        ...

    async def mark_seen(self, code: str, key: ConversationKey, last_seen: str) -> None:
        """Remember what the subscriber was last told."""
        ...

    async def unsubscribe(self, code: str, key: ConversationKey) -> None:
        """Stop notifying ``key`` about ``code``."""
        ...


class InMemoryDossierSubscriptions:
    """Fake subscriptions in a dict keyed by (code, conversation)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, ConversationKey], DossierSubscription] = {}

    async def subscribe(self, code: str, key: ConversationKey, last_seen: str | None) -> bool:
        if (code, key) in self.rows:
            return False
        self.rows[(code, key)] = DossierSubscription(code, key, last_seen)
        return True

    async def active(self) -> list[DossierSubscription]:
        return list(self.rows.values())

    async def mark_seen(self, code: str, key: ConversationKey, last_seen: str) -> None:
        if (code, key) in self.rows:
            self.rows[(code, key)] = DossierSubscription(code, key, last_seen)

    async def unsubscribe(self, code: str, key: ConversationKey) -> None:
        self.rows.pop((code, key), None)


class ResponseOverrides(Protocol):
    """The editors' versions of response texts, laid over ``data/responses.yml``: one list of variants
    (in the file's shape) per response key an editor changed."""

    def read(self) -> dict[str, Any]:
        """Every stored override, by key.

        Raises:
            UnavailableError: the store cannot be read (database down, or not migrated yet).
        """
        ...

    def put(self, key: str, variants: list[dict[str, Any]], by: str) -> None:
        """Store the variants of ``key`` (replacing the previous ones); ``by`` is the editor's name."""
        ...

    def drop(self, key: str) -> None:
        """Forget the override of ``key``, so the file's texts are used again."""
        ...


class Locks(Protocol):
    """Named locks held across every process of the deployment (several servers on one database).

    Three uses: a conversation's turn (:meth:`hold`: one turn of a chat at a time, whichever process
    took the message), a job exactly one process runs (:meth:`try_lease`: the Telegram poller, the
    dossier watcher, the retry worker; the lease moves when its holder dies) and start-up
    (:meth:`exclusive`: one process migrates and seeds an empty database, the others wait).
    """

    shared: bool
    """True when the locks reach other processes (PostgreSQL); False for one process (SQLite)."""

    def hold(self, name: str) -> AbstractAsyncContextManager[None]:
        """Wait for ``name`` and hold it for the ``async with`` block (one holder at a time)."""
        ...

    async def try_lease(self, name: str) -> bool:
        """Take ``name`` for this process if no process holds it; True when this process holds it now."""
        ...

    async def lease_held(self, name: str) -> bool:
        """Whether this process still holds lease ``name`` (False after its database connection broke)."""
        ...

    async def release_lease(self, name: str) -> None:
        """Give lease ``name`` up (another process may take it)."""
        ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Blocking: hold ``name`` for the ``with`` block (start-up work, before the event loop runs)."""
        ...

    def close(self) -> None:
        """Blocking: free every lock and lease this process holds (at shutdown, so that another process
        takes the leases at once rather than when they run out)."""
        ...


@dataclass(frozen=True)
class Change:
    """Something an editor or a retrain changed that every process must take in.

    Attributes:
        kind: ``responses`` (a response text saved, reset or rolled back) or ``knowledge`` (a procedure,
            an FAQ entry or the learned examples changed: catalogue snapshot, FAQ matcher, search index
            and the NLU model are rebuilt); ``resync`` after a process may have missed changes.
        model: the model file the origin trained and now answers with (``knowledge`` only), or None.
        origin: the process that made the change (it has taken it in already).
    """

    kind: Literal["responses", "knowledge", "resync"]
    model: str | None = None
    origin: str = ""


class ChangeFeed(Protocol):
    """Tells every other process of a :class:`Change` (PostgreSQL ``LISTEN/NOTIFY``; nothing to tell in
    one process)."""

    origin: str
    """This process's name in the changes it publishes."""

    def publish(self, change: Change) -> None:
        """Tell the other processes (blocking, off the event loop; a failure is logged, never raised)."""
        ...

    async def run(self, receive: Callable[[Change], Awaitable[None]], stop: asyncio.Event) -> None:
        """Call ``receive`` with every change another process publishes, until ``stop`` is set."""
        ...
