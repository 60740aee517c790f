"""When officers are at work, and the ``escalation:`` section of config.yml that says so.

:class:`WorkingHours` is the hand-off's :class:`bot.core.ports.OfficeHours`: the escalation action asks
it whether to promise an answer now or tell the citizen when officers are back. :class:`EscalationConfig`
also carries the hand-off's other settings (the low rating that opens a ticket, the delivery retries),
which the composition root passes to the ticket service, its event sink and the retrier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Keys of ``escalation.working_hours`` in config.yml, Monday first (``date.weekday()`` order)."""

_SPAN_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


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
