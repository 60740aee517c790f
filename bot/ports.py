"""The engine's ports: everything it needs from the outside world, each with a fake for tests.

=======================  ==========================================  =====================================
Port                     Real adapter                                Fake (records what happened)
=======================  ==========================================  =====================================
:class:`Interpreter`     ``nlu`` pipeline (wired by the composition  ``tests/fakes/interpreter.py``
                         root)
:class:`ConversationStore`  :class:`bot.store.SqlConversationStore`  :class:`InMemoryConversationStore`
:class:`EventSink`       ticket queue (to come)                      :class:`RecordingEventSink`
:class:`DossierGateway`  provincial dossier system (to come)         :class:`NotConfiguredDossierGateway`,
                                                                     :class:`InMemoryDossierGateway`
=======================  ==========================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.messages import ConversationKey
from bot.state import ConversationState

if TYPE_CHECKING:
    from actions.base import Event


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
    ``nlu_fallback`` and ``procedure_ranking`` still holds the closest candidates.
    """

    def parse(self, text: str) -> dict[str, Any]:
        """Understand one message."""
        ...


Direction = Literal["in", "out"]


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

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        mine = [r for r in self.records if r.key == key]
        return mine[-limit:] if limit > 0 else []


class EventSink(Protocol):
    """Receives the events of each handled turn after its state was saved (e.g. a ticket queue)."""

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


class DossierLookupUnavailable(Exception):
    """The dossier system cannot be asked (not configured, or down). Not a citizen's mistake."""


@dataclass(frozen=True)
class DossierStatus:
    """What the dossier system says about one dossier.

    Attributes:
        code: the dossier code (mã hồ sơ).
        status: its status as published ("Đang giải quyết", "Đã có kết quả", ...).
        procedure_name: the procedure it was filed for, if known.
        due: promised return date as text ("15/03/2025"), if known.
    """

    code: str
    status: str
    procedure_name: str = ""
    due: str = ""


class DossierGateway(Protocol):
    """Looks up a dossier's status in the provincial dossier system (hệ thống một cửa điện tử)."""

    async def lookup(self, code: str) -> DossierStatus | None:
        """The status, None when no dossier has this code.

        Raises:
            DossierLookupUnavailable: the system cannot be asked right now.
        """
        ...


class NotConfiguredDossierGateway:
    """The default until a real dossier system is wired: every lookup is unavailable.

    The dossier action then acknowledges the code and points to the national portal and an officer.
    """

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def lookup(self, code: str) -> DossierStatus | None:
        self.asked.append(code)
        raise DossierLookupUnavailable("no dossier system is configured")


class InMemoryDossierGateway:
    """Fake gateway answering from a dict; records the codes it was asked for."""

    def __init__(self, statuses: Iterable[DossierStatus] = ()) -> None:
        self.statuses = {s.code.upper(): s for s in statuses}
        self.asked: list[str] = []

    async def lookup(self, code: str) -> DossierStatus | None:
        self.asked.append(code)
        return self.statuses.get(code.upper())
