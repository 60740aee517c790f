"""The events an action (or the policy) returns and the engine applies to the conversation state.

Rasa's events (``SlotSet``, ...) in the project's own, typed form: the engine applies them
(:func:`bot.engine.engine.apply_events`), the hand-off to officers consumes them
(:class:`bot.handoff.sink.TicketEventSink`), and nothing else needs to know where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core.domain import TicketReason
from bot.core.state import Continuation, ConversationState, Mode


@dataclass(frozen=True)
class Event:
    """Base class of everything an action (or the policy) says happened."""


@dataclass(frozen=True)
class SlotSet(Event):
    """Remember a value: ``procedure``, ``pending_intent``, ``dossier_code`` or ``case`` (None forgets it)."""

    name: str
    value: str | None


SLOT_NAMES = frozenset({"procedure", "pending_intent", "dossier_code", "case"})


@dataclass(frozen=True)
class ModeChanged(Event):
    """The conversation moves to another :class:`bot.core.state.Mode`."""

    mode: Mode


@dataclass(frozen=True)
class FallbackCounted(Event):
    """The bot did not understand; ``streak`` is the new count of misses in a row.

    ``band`` says which branch answered (``"clarify"`` or ``"officer"``) so each can be counted. A turn
    without this event resets the streak to 0.
    """

    streak: int
    band: str


@dataclass(frozen=True)
class ContinuationSet(Event):
    """Where a long list stopped (None: nothing more to show)."""

    continuation: Continuation | None


@dataclass(frozen=True)
class EscalationRequested(Event):
    """The citizen should be helped by an officer; the hand-off (:mod:`bot.handoff`) opens a ticket.

    Attributes:
        reason: why, in the tickets' own vocabulary (the ticket is opened with this reason).
        procedure: the procedure being discussed, if any.
        text: the citizen's last message, for the officer's context.
        dossier_code: the dossier code given, if any.
    """

    reason: TicketReason
    procedure: str | None = None
    text: str = ""
    dossier_code: str | None = None


@dataclass(frozen=True)
class FeedbackGiven(Event):
    """The citizen commented or rated the service (rating 1-5, or None for a comment only)."""

    rating: int | None
    text: str = ""
    procedure: str | None = None


@dataclass(frozen=True)
class TurnCompleted(Event):
    """The turn the bot just answered, as the engine saved it: published after the turn's other events,
    so a sink files what the turn came to from the turn itself (:mod:`bot.handoff.outcomes`) instead of
    reading the state and the message log back. It changes nothing (the engine never applies it).

    The citizen's words and the replies are left out of the event's ``repr`` (a failing sink logs the
    events it got).

    Attributes:
        state: the state saved after the turn (its last action, its mode).
        question: the citizen's message as the turn logged it (the store masks ID and phone numbers).
        at: when the message was received (the logged message's time).
        intent: the intent the turn understood.
        confidence: its confidence.
        replies: the texts of the bot's replies, in order (all of them, however many).
    """

    state: ConversationState = field(repr=False)
    question: str = field(repr=False)
    at: datetime
    intent: str | None = None
    confidence: float | None = None
    replies: tuple[str, ...] = field(default=(), repr=False)
