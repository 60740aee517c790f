"""What an analytics report holds and the figures computed in Python; the SQL is in
:mod:`console.analytics.queries`, the report is put together by :mod:`console.analytics.service`.

Definitions (the dashboard and the CSV repeat them in plain Vietnamese):

* **conversation**: a chat (channel + chat id) counted on a day when the citizen wrote at least once
  that day; over the range, when they wrote at least once in the range.
* **turn**: a citizen message the bot interpreted (it has an intent; messages sent while an officer
  handles the chat have none).
* **question**: a turn the bot had to answer, read from what the turn came to (``turn_outcomes``,
  :mod:`bot.handoff.outcomes`), not from the intent the NLU guessed: a procedure answer, an FAQ answer,
  a completed dossier look-up, a choice asked back ("which procedure?"), a refusal (out of scope) or a
  fallback. Greetings, thanks, ratings, asking for an officer and the steps of a look-up are not
  questions. The turn right after a choice that gets answered is the same question, not a new one.
* **understood** (answered): a question answered with a procedure answer, an FAQ answer or a completed
  look-up, or a choice the citizen then picked and got answered. Every question is exactly one of:
  understood, **fallback** (not understood), **out of scope** (refused), **choice left unanswered**
  (asked back, and the next turn did not answer it). The rates are shares of questions. Before this,
  understood meant "intent not ``nlu_fallback``", so FAQ answers (intent ``out_of_scope``) and
  refusals counted as understood.
* **contained**: a conversation of the range for which no ticket was opened in the range.
* **escalation**: a ticket opened in the range. **Waiting time**: ``first_reply_at - created_at`` of
  those an officer answered; median (mean of the two middle values for an even count) and p90 by the
  nearest-rank method (the ``ceil(0.9 n)``-th smallest value).
* **ratings** (1-5): ratings filed on tickets (``tickets.rating``, counted on the day the ticket was
  closed) and ratings of the bot. The latter are not stored on their own: they are the citizen's
  ``give_feedback`` messages carrying a rating, a ``/give_feedback{"rating":"4"}`` button payload or
  the number of the button typed on a channel without buttons (then logged as read from the buttons,
  with confidence 1). A rating message that :meth:`bot.handoff.service.TicketService.record_rating` filed
  on a ticket (same chat, same value, within ``RATING_WINDOW`` after the close) counts once, as the
  ticket's rating.
* **unanswered messages**: turns that fell back or whose confidence is below ``low_confidence``,
  grouped by text (already redacted in the log), ignoring case and repeated spaces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from bot.core.errors import ValidationFailed
from bot.core.responses import parse_payload
from bot.handoff.outcomes import ANSWER, CHOICE, FALLBACK, FAQ, FLOW, OUT_OF_SCOPE

FALLBACK_INTENT = "nlu_fallback"
FEEDBACK_INTENT = "give_feedback"
DEFAULT_DAYS = 7
"""The dashboard's default range: the last seven days, today included."""
MAX_DAYS = 366
"""The longest range one report covers (one statement buckets rows into days)."""
RATINGS = (1, 2, 3, 4, 5)

_NUMBER_REPLY = re.compile(r"(?:số\s*)?([1-5])")


class AnalyticsRangeError(ValidationFailed):
    """A date range the report cannot cover; the message is plain Vietnamese, shown as is."""


# --- What a report holds -------------------------------------------------------------------------------


@dataclass
class QuestionCounts:
    """What the citizens' questions came to (see the module's definitions).

    ``questions == understood + fallbacks + out_of_scope + choices_unanswered`` and
    ``understood == procedure_answers + faq + flows + choices_answered``.

    Attributes:
        questions: questions asked.
        understood: of them, answered.
        procedure_answers: answered with a procedure answer (documents, fee, where ...).
        faq: answered from the FAQ.
        flows: dossier look-ups completed.
        choices_answered: choices asked back that the next turn answered.
        fallbacks: not understood.
        out_of_scope: refused as out of the bot's scope.
        choices_unanswered: choices asked back that the next turn did not answer.
    """

    questions: int = 0
    understood: int = 0
    procedure_answers: int = 0
    faq: int = 0
    flows: int = 0
    choices_answered: int = 0
    fallbacks: int = 0
    out_of_scope: int = 0
    choices_unanswered: int = 0

    def add(self, other: QuestionCounts) -> None:
        """Add ``other``'s counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


_ANSWERED_BY = {ANSWER: "procedure_answers", FAQ: "faq", FLOW: "flows"}


def tally_questions(kinds: Sequence[str]) -> list[QuestionCounts | None]:
    """For one conversation's turns in order (their kinds, :mod:`bot.handoff.outcomes`): what each turn
    counts for, None for a turn that is no question (``other``) or that answers the choice before it.

    A choice is answered when the turn right after it is answered; otherwise it is left unanswered and
    the next turn counts on its own.
    """
    out: list[QuestionCounts | None] = []
    i = 0
    while i < len(kinds):
        kind = kinds[i]
        counts = QuestionCounts(questions=1)
        if kind in _ANSWERED_BY:
            counts.understood = 1
            setattr(counts, _ANSWERED_BY[kind], 1)
        elif kind == CHOICE:
            follow = kinds[i + 1] if i + 1 < len(kinds) else None
            if follow in _ANSWERED_BY:
                counts.understood = counts.choices_answered = 1
                out.extend([counts, None])
                i += 2
                continue
            counts.choices_unanswered = 1
        elif kind == FALLBACK:
            counts.fallbacks = 1
        elif kind == OUT_OF_SCOPE:
            counts.out_of_scope = 1
        else:
            out.append(None)
            i += 1
            continue
        out.append(counts)
        i += 1
    return out


@dataclass(frozen=True)
class DayChannel:
    """The figures of one day on one channel (days and channels without activity are left out).

    Attributes:
        conversations: chats in which the citizen wrote that day.
        messages_in: messages from citizens.
        messages_out: messages to citizens (bot and officers).
        turns: citizen messages the bot interpreted.
        understood: questions answered (see the module's definitions).
        fallbacks: questions not understood.
        escalations: tickets opened that day.
        questions, faq, out_of_scope, choices_unanswered: see :class:`QuestionCounts`.
    """

    day: date
    channel: str
    conversations: int = 0
    messages_in: int = 0
    messages_out: int = 0
    turns: int = 0
    understood: int = 0
    fallbacks: int = 0
    escalations: int = 0
    questions: int = 0
    faq: int = 0
    out_of_scope: int = 0
    choices_unanswered: int = 0


@dataclass(frozen=True)
class DayTotal:
    """One day over every channel (every day of the range is listed, quiet days with zeros)."""

    day: date
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalations: int
    questions: int = 0
    faq: int = 0
    out_of_scope: int = 0
    choices_unanswered: int = 0


@dataclass(frozen=True)
class ChannelTotal:
    """One channel over the whole range.

    Attributes:
        escalated: conversations of the range with a ticket opened in the range.
        contained: conversations of the range without one.
    """

    channel: str
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalated: int
    contained: int
    questions: int = 0
    faq: int = 0
    out_of_scope: int = 0
    choices_unanswered: int = 0


@dataclass(frozen=True)
class Totals:
    """The whole range over every channel; rates are fractions (0-1), None when there is nothing to divide."""

    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    understood_rate: float | None
    fallback_rate: float | None
    contained: int
    escalated: int
    containment_rate: float | None
    questions: QuestionCounts = field(default_factory=lambda: QuestionCounts())


@dataclass(frozen=True)
class Escalations:
    """Tickets opened in the range and how long citizens waited for an officer's first reply.

    Attributes:
        tickets: tickets opened.
        by_reason: tickets per reason (every reason listed).
        answered: tickets an officer has replied to.
        unanswered: tickets without an officer reply yet.
        median_wait_seconds: median of ``first_reply_at - created_at`` over the answered tickets.
        p90_wait_seconds: its 90th percentile (nearest rank).
    """

    tickets: int
    by_reason: dict[str, int]
    answered: int
    unanswered: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None


@dataclass(frozen=True)
class RatingCount:
    """How many ratings gave ``rating`` points."""

    rating: int
    count: int


@dataclass(frozen=True)
class Satisfaction:
    """Ratings 1-5 given in the range: all of them, and split by what was rated.

    Attributes:
        count: ratings given.
        average: their mean, None without ratings.
        distribution: count per rating 1 to 5.
        ticket_count, ticket_average: ratings of an officer's help (filed on tickets).
        bot_count, bot_average: ratings of the bot.
    """

    count: int
    average: float | None
    distribution: list[RatingCount]
    ticket_count: int
    ticket_average: float | None
    bot_count: int
    bot_average: float | None


@dataclass(frozen=True)
class RankedItem:
    """One line of a top list: a procedure code or an intent.

    Attributes:
        key: the procedure code or the intent name.
        label: the procedure's name ("" for intents and unknown codes).
        turns: citizen messages about it.
        conversations: conversations with at least one of them.
    """

    key: str
    label: str
    turns: int
    conversations: int


@dataclass(frozen=True)
class UnansweredMessage:
    """A message the bot did not understand (or barely), with how often it was sent.

    Attributes:
        text: the text as logged (ID and phone numbers redacted), the most frequent spelling.
        count: times sent in the range.
        fallbacks: of those, how many fell back (the others had a low confidence).
        last_seen: the latest time it was sent (UTC).
    """

    text: str
    count: int
    fallbacks: int
    last_seen: datetime


@dataclass(frozen=True)
class AnalyticsReport:
    """Every figure of the dashboard for the days ``start`` to ``end`` (both included) in ``timezone``."""

    start: date
    end: date
    timezone: str
    totals: Totals
    days: list[DayTotal]
    daily: list[DayChannel]
    channels: list[ChannelTotal]
    escalations: Escalations
    satisfaction: Satisfaction
    top_procedures: list[RankedItem]
    top_intents: list[RankedItem]
    top_unanswered: list[UnansweredMessage]


# --- Helpers ------------------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, None when ``whole`` is 0."""
    return part / whole if whole else None


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (mean of the two middle ones for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile by the nearest-rank method (``ceil(p/100 * n)``-th smallest); None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def rating_of(text: str, confidence: float | None) -> int | None:
    """The 1-5 rating a logged ``give_feedback`` message carries, or None (a comment, or a typed number
    the bot read as a comment because no rating buttons were showing)."""
    payload = parse_payload(text)
    if payload is not None:
        intent, entities = payload
        value = entities.get("rating", "").strip()
        if intent == FEEDBACK_INTENT and value.isdigit() and 1 <= int(value) <= 5:
            return int(value)
        return None
    # A number replying to the rating buttons is read from the buttons, with confidence 1.
    match = _NUMBER_REPLY.fullmatch(text.strip().casefold())
    if match and confidence is not None and confidence >= 1.0:
        return int(match.group(1))
    return None


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def text_key(text: str) -> str:
    """What unanswered messages are grouped by: the text ignoring case and repeated spaces."""
    return _normal(text)
