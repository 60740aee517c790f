"""What each of the bot's turns came to: answered, FAQ, out of scope, not understood, a choice asked.

The message log keeps the intent the NLU read, not what the bot did with it, so a question answered from
the FAQ (whose intent is often ``out_of_scope``) looked understood and a refusal looked like an answer.
After every turn the engine hands its events to :class:`bot.handoff.sink.TicketEventSink`, the last of
them the turn itself (:class:`bot.core.events.TurnCompleted`), and the sink asks :class:`TurnOutcomes` to
file one ``turn_outcomes`` row: the kind (:func:`kind_of`), the action that answered, the citizen's
question and the bot's replies (redacted). The analytics count the kinds
apart and the learning inbox lists the out-of-scope and FAQ-answered questions with the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from bot.core.domain import ActionName
from bot.core.events import Event, FallbackCounted, SlotSet, TurnCompleted
from bot.core.messages import ConversationKey
from bot.core.redact import redact
from bot.core.state import ConversationState, Mode
from bot.handoff.tables import TurnOutcomeRow

log = logging.getLogger(__name__)

ANSWER, FAQ, FLOW = "answer", "faq", "flow"
"""The kinds that count as answered: a procedure answer, an FAQ answer, a dossier look-up completed."""
CHOICE, OUT_OF_SCOPE, FALLBACK, OTHER = "choice", "out_of_scope", "fallback", "other"
"""A choice asked back (which procedure?), a refusal, not understood, and everything else (greetings,
thanks, ratings, asking for an officer, a step of the dossier look-up)."""
KINDS = (ANSWER, FAQ, FLOW, CHOICE, OUT_OF_SCOPE, FALLBACK, OTHER)
ANSWERED = frozenset({ANSWER, FAQ, FLOW})

_ANSWERS = frozenset(
    {
        ActionName.DOCUMENTS,
        ActionName.FORMS,
        ActionName.STEPS,
        ActionName.FEE,
        ActionName.PROCESSING_TIME,
        ActionName.WHERE,
        ActionName.CHANNELS,
        ActionName.CONDITIONS,
        ActionName.LEGAL_BASIS,
        ActionName.RESULT,
        ActionName.OVERVIEW,
        ActionName.NOTES,
        ActionName.MORE,
    }
)
_KIND_OF_ACTION: dict[str, str] = {
    ActionName.FAQ_ANSWER: FAQ,
    ActionName.CHOOSE_PROCEDURE: CHOICE,
    ActionName.ASK_PROCEDURE: CHOICE,
    ActionName.OUT_OF_SCOPE: OUT_OF_SCOPE,
    ActionName.CLARIFY: FALLBACK,
    ActionName.OFFER_OFFICER: FALLBACK,
}


def kind_of(action: str | None, state: ConversationState, events: Sequence[Event]) -> str:
    """The kind of a turn from the action that answered it last, the state after it and its events.

    A dossier look-up counts as a completed flow when it ended with the dossier found (its code kept,
    back to answering); its other steps (asking the code, a code not found) are ``other``.
    """
    if action in _ANSWERS:
        return ANSWER
    if action is not None and action in _KIND_OF_ACTION:
        return _KIND_OF_ACTION[action]
    if action == ActionName.DOSSIER_STATUS:
        found = any(isinstance(e, SlotSet) and e.name == "dossier_code" and e.value for e in events)
        return FLOW if found and state.mode == Mode.ANSWERING else OTHER
    if any(isinstance(e, FallbackCounted) for e in events):  # an action of another server that missed
        return FALLBACK
    return OTHER


class TurnOutcomes:
    """Files one ``turn_outcomes`` row per turn the bot answered.

    The row is made from the turn's own :class:`bot.core.events.TurnCompleted` (the state after it, the
    question, every reply): nothing is read back, so a turn of many replies keeps its question and all
    its replies (reading back the last 12 logged messages lost the question behind 12 replies).

    Args:
        sessions: the database.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, key: ConversationKey, events: Sequence[Event]) -> str | None:
        """File the turn the engine just saved for ``key`` (the engine publishes no turn while an officer
        has the chat); its kind, or None when the events hold no :class:`TurnCompleted`."""
        turn = next((e for e in reversed(events) if isinstance(e, TurnCompleted)), None)
        if turn is None:
            return None
        state = turn.state
        kind = kind_of(state.last_action, state, events)
        with self._sessions.begin() as session:
            session.add(
                TurnOutcomeRow(
                    channel=key.channel,
                    chat_id=key.chat_id,
                    created_at=turn.at,
                    kind=kind,
                    action=(state.last_action or "")[:64],
                    intent=turn.intent,
                    confidence=turn.confidence,
                    procedure_code=state.procedure,
                    question=redact(turn.question),
                    reply=redact("\n\n".join(turn.replies)),
                )
            )
        return kind
