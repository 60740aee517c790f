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
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, literal_column, select, true
from sqlalchemy.orm import Session, sessionmaker

from bot.core.domain import ActionName
from bot.core.events import Event, FallbackCounted, SlotSet, TurnCompleted
from bot.core.messages import ConversationKey
from bot.core.redact import redact
from bot.core.state import ConversationState, Mode
from bot.handoff.tables import TurnOutcomeRow
from knowledge.db import one_statement_engine

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


_OUTCOMES = cast(Table, TurnOutcomeRow.__table__)
_COLUMNS = [c for c in _OUTCOMES.c if c.name != "id"]
_INSERT = insert(_OUTCOMES)
_PG_INSERT_NOT_DURABLE = insert(_OUTCOMES).from_select(
    [c.name for c in _COLUMNS],
    select(*[bindparam(c.name, type_=c.type) for c in _COLUMNS]).where(
        func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true()).is_not(None)
    ),
)
"""PostgreSQL: the row inserted in autocommit, its commit not waiting for the WAL to reach the disk.

``set_config(..., true)`` is ``SET LOCAL synchronous_commit = off`` inside the statement: local to the
statement's own (implicit) transaction, whose commit it governs, and gone after it (the pooled
connection keeps ``on`` for everything else). One round trip, no disk sync waited for. Why that is
acceptable for this table only: :class:`TurnOutcomes`."""


class TurnOutcomes:
    """Files one ``turn_outcomes`` row per turn the bot answered.

    The row is made from the turn's own :class:`bot.core.events.TurnCompleted` (the state after it, the
    question, every reply): nothing is read back, so a turn of many replies keeps its question and all
    its replies (reading back the last 12 logged messages lost the question behind 12 replies).

    On PostgreSQL the row is one statement in autocommit with an asynchronous commit
    (``synchronous_commit = off`` for that statement only, :data:`_PG_INSERT_NOT_DURABLE`): one round
    trip, and no wait for a disk sync (0.4 to 4 ms here), after every turn. A crash of the database
    server may lose the last few rows so written (those of the last ~0.6 s, three times
    ``wal_writer_delay``), never corrupt anything. That is acceptable because these rows are analytics
    only (counts by kind, the learning inbox's examples); nothing a citizen or an officer needs is
    written this way: the conversation, its message log, the inbox and outbox rows and every ticket
    and ticket message keep their durable commits (``docs/deployment.md``).

    Args:
        sessions: the database.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._db = one_statement_engine(sessions)
        self._insert = _PG_INSERT_NOT_DURABLE if self._db.dialect.name == "postgresql" else _INSERT

    def record(self, key: ConversationKey, events: Sequence[Event]) -> str | None:
        """File the turn the engine just saved for ``key`` (the engine publishes no turn while an officer
        has the chat); its kind, or None when the events hold no :class:`TurnCompleted`."""
        turn = next((e for e in reversed(events) if isinstance(e, TurnCompleted)), None)
        if turn is None:
            return None
        state = turn.state
        kind = kind_of(state.last_action, state, events)
        row = {
            "channel": key.channel,
            "chat_id": key.chat_id,
            "created_at": turn.at,
            "kind": kind,
            "action": (state.last_action or "")[:64],
            "intent": turn.intent,
            "confidence": turn.confidence,
            "procedure_code": state.procedure,
            "question": redact(turn.question),
            "reply": redact("\n\n".join(turn.replies)),
        }
        with self._db.begin() as conn:  # autocommit on PostgreSQL: nothing sent but the statement
            conn.execute(self._insert, row)
        return kind
