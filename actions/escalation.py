"""Hand the conversation to an officer, telling the citizen when to expect an answer.

The action tells the citizen an officer will answer here, moves the conversation to ``with_officer`` (the
bot then stays silent and only records messages) and emits :class:`EscalationRequested`, which the
engine publishes to its event sink after the turn; the ticket queue (``console.tickets``) opens the
ticket from it.

What the citizen is told depends on two read-only inputs the composition root passes in:

* a :class:`TicketQueue` (how many citizens are waiting) gives the place in the queue;
* :class:`WorkingHours` (from the ``escalation:`` section of ``config.yml``) says whether officers are
  at work now and, when not, when they will be.

Without them (unit tests, a bot without a console) the action says the plain ``utter_escalate``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.events import ContinuationSet, EscalationRequested, Event, ModeChanged
from bot.core.responses import parse_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Keys of ``escalation.working_hours`` in config.yml, Monday first (``date.weekday()`` order)."""

_SPAN_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


# --- Configuration ----------------------------------------------------------------------------------


class EscalationConfig(BaseModel):
    """The ``escalation:`` section of config.yml, validated at start-up.

    Attributes:
        timezone: IANA name of the officers' time zone.
        working_hours: per weekday (``mon`` ... ``sun``) a list of ``"HH:MM-HH:MM"`` spans; a missing or
            empty day is a day off.
        holidays: dates (``YYYY-MM-DD``) with no officer at work.
        negative_rating_at_most: a rating of the bot at or below this opens a ``negative_rating``
            ticket (0 turns that off).
        retry_backoff_seconds: waits between delivery attempts of an officer reply that could not be
            delivered; the last one repeats until it is delivered.
        retry_interval_seconds: how often the background task looks for replies due for a retry.
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Ho_Chi_Minh"
    working_hours: dict[str, list[str]] = Field(
        default_factory=lambda: {
            **{d: ["07:30-11:30", "13:30-17:00"] for d in WEEKDAYS[:5]},
            "sat": ["07:30-11:30"],
        }
    )
    holidays: list[date] = Field(default_factory=list)
    negative_rating_at_most: int = Field(default=2, ge=0, le=5)
    retry_backoff_seconds: list[float] = Field(
        default_factory=lambda: [10.0, 30.0, 120.0, 600.0], min_length=1
    )
    retry_interval_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("working_hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekdays {unknown}; use {', '.join(WEEKDAYS)}")
        for day, spans in value.items():
            for span in spans or ():
                start, end = _parse_span(span, day)
                if start >= end:
                    raise ValueError(f"{day}: span {span!r} ends before it starts")
        return value

    @field_validator("retry_backoff_seconds")
    @classmethod
    def _positive_backoff(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError("every backoff must be positive")
        return value

    def hours(self) -> WorkingHours:
        """The :class:`WorkingHours` this section describes."""
        spans = {
            WEEKDAYS.index(day): tuple(_parse_span(s, day) for s in spans or ())
            for day, spans in self.working_hours.items()
        }
        return WorkingHours(ZoneInfo(self.timezone), spans, frozenset(self.holidays))


def _parse_span(span: str, day: str) -> tuple[time, time]:
    match = _SPAN_RE.match(span)
    if not match:
        raise ValueError(f"{day}: {span!r} is not like '07:30-11:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"{day}: {span!r} is not a valid time span") from exc


def load_escalation_config(path: str | Path) -> EscalationConfig:
    """Read the ``escalation:`` section of ``config.yml`` (defaults when the section is absent).

    Raises:
        ValueError: the section is invalid (pydantic's message says which field).
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    section = data.get("escalation") if isinstance(data, Mapping) else None
    return EscalationConfig.model_validate(section or {})


class WorkingHours:
    """When officers are at work: spans per weekday in one time zone, minus holidays.

    Args:
        zone: the officers' time zone.
        spans: ``date.weekday()`` -> (start, end) local times.
        holidays: local dates with nobody at work.
    """

    def __init__(
        self,
        zone: ZoneInfo,
        spans: Mapping[int, tuple[tuple[time, time], ...]],
        holidays: frozenset[date] = frozenset(),
    ) -> None:
        self.zone = zone
        self.spans = {day: tuple(sorted(s)) for day, s in spans.items()}
        self.holidays = holidays

    def local(self, now: datetime) -> datetime:
        """``now`` in the officers' time zone (naive datetimes are taken as UTC)."""
        return (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(self.zone)

    def _day_spans(self, day: date) -> tuple[tuple[time, time], ...]:
        return () if day in self.holidays else self.spans.get(day.weekday(), ())

    def is_open(self, now: datetime) -> bool:
        """True when ``now`` falls in a working span of a working day."""
        local = self.local(now)
        moment = local.time().replace(tzinfo=None)
        return any(start <= moment < end for start, end in self._day_spans(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """The start of the next working span after ``now`` (local, aware); None when there is none."""
        local = self.local(now)
        for offset in range(0, 400):
            day = local.date() + timedelta(days=offset)
            for start, _end in self._day_spans(day):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


# --- Ports ---------------------------------------------------------------------------------------------


class TicketQueue(Protocol):
    """What the action may read from the ticket queue (``console.tickets.TicketService`` implements it)."""

    async def waiting_count(self) -> int:
        """How many tickets wait for an officer now."""
        ...


class FixedTicketQueue:
    """Fake queue for tests: always ``waiting`` tickets ahead; ``asked`` counts the questions."""

    def __init__(self, waiting: int = 0) -> None:
        self.waiting = waiting
        self.asked = 0

    async def waiting_count(self) -> int:
        self.asked += 1
        return self.waiting


# --- Action --------------------------------------------------------------------------------------------


class EscalateAction:
    """``request_human`` (or "yes" to the officer offer): promise an officer and hand over.

    ``tracker.args["reason"]`` names why (default ``"requested"``).

    Args:
        queue: read for the citizen's place in the queue; None leaves the place out.
        hours: officers' working hours; None means "always at work".
        clock: the current time (UTC aware); injectable for tests.
    """

    name = "action_escalate"

    def __init__(
        self,
        queue: TicketQueue | None = None,
        hours: WorkingHours | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.queue = queue
        self.hours = hours
        self.clock = clock or (lambda: datetime.now(UTC))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        position = await self._position()
        now = self.clock()
        opening = None
        if self.hours is not None and not self.hours.is_open(now):
            opening = self.hours.next_opening(now)
        if opening is not None:
            queue = dispatcher.text("part_queue_position", position=position) if position else ""
            dispatcher.utter(
                "utter_escalate_after_hours", opens_at=self._when(dispatcher, opening), queue=queue
            )
        elif position:
            dispatcher.utter("utter_escalate_queued", position=position)
        else:
            dispatcher.utter("utter_escalate")
        # A button payload tells the officer nothing; the citizen's own words do.
        text = "" if parse_payload(tracker.text) else tracker.text
        return [
            ModeChanged(Mode.WITH_OFFICER),
            ContinuationSet(None),
            EscalationRequested(
                reason=str(tracker.args.get("reason") or "requested"),
                procedure=tracker.state.procedure,
                text=text,
                dossier_code=tracker.state.dossier_code,
            ),
        ]

    async def _position(self) -> int | None:
        """The citizen's place once their ticket is opened (after the ones already waiting)."""
        if self.queue is None:
            return None
        try:
            return int(await self.queue.waiting_count()) + 1
        except Exception:  # the promise of an officer matters more than the number
            log.exception("could not count the waiting tickets")
            return None

    @staticmethod
    def _when(dispatcher: CollectingDispatcher, opening: datetime) -> str:
        weekdays = dispatcher.text("part_weekdays").split("|")
        weekday = weekdays[opening.weekday()] if len(weekdays) == 7 else ""
        return dispatcher.text(
            "part_opens_at",
            time=f"{opening.hour}:{opening.minute:02d}",
            weekday=weekday,
            date=opening.strftime("%d/%m/%Y"),
        )
