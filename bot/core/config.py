"""config.yml, typed: every section validated once at start-up, so a bad value stops the server at boot.

:func:`load_config` reads the file into :class:`HelplineConfig`; the composition root hands each part its
section (the policy its ``policy:``, the hand-off its ``escalation:`` ...). The NLU's ``pipeline:`` is kept
as written and validated by the NLU package when it trains (Rasa's pipeline format).

Sections:

====================  =============================  =======================================================
section               model                          read by
====================  =============================  =======================================================
``policy:``           :class:`PolicyConfig`          the dialogue policy (bot/engine/policy.py)
``escalation:``       :class:`EscalationConfig`      the hand-off (tickets, working hours, retries)
``dossier:``          :class:`DossierConfig`         dossier look-up, verification and the watcher
``learning:``         :class:`LearningConfig`        the learning inbox and the analytics dashboard
``action_endpoint:``  :class:`ActionEndpointConfig`  actions run on a Rasa action server (actions/remote.py)
``privacy:``          :class:`PrivacyConfig`         how long personal data is kept (bot/app/retention.py)
====================  =============================  =======================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.domain import Topic
from bot.core.errors import ConfigurationError

# --- policy: ----------------------------------------------------------------------------------------


class PolicyConfig(BaseModel):
    """Tunable behaviour of the policy: the ``policy:`` section of config.yml (the composition root
    reads it); these defaults apply to keys it leaves out, and to tests (config.yml offers 5 choices).

    Attributes:
        ambiguity_margin: procedure candidates scoring within this of the top one are "close": the bot
            asks which one is meant.
        min_candidate_score: candidates below this are never offered.
        max_choices: most procedure buttons offered at once.
        officer_after_misses: misses in a row after which the officer is offered (2 = second miss).
        faq_threshold: an FAQ match scoring at least this answers the message (config key
            ``policy.faq_threshold``).
        out_of_scope_candidate_score: an out-of-scope message whose procedure candidates score at least
            this is asked "có phải bạn hỏi …" with them instead of told what the bot cannot answer.
        dominant_coverage: among close candidates, one whose name the message covers at least this much
            (and names what sets it apart from the others) is answered without a choice (0: off).
        answer_every_part: a message asking several parts ("ở đâu, hồ sơ gồm những gì") gets them all
            in one reply.
        max_parts: most parts answered in one reply.
        answer_alike_variants: close candidates that give the same answer to the part asked (the same
            fee for a passport at province or central level) are answered, the variants named in one
            line, instead of a choice, when the part asked is one of ``alike_topics`` and the best
            candidate scores at least ``answer_min_score``.
        alike_topics: the parts whose equal answers tell variants of one procedure apart from unrelated
            procedures that happen to share a text (conditions and legal basis are often one law cited
            for a whole field, so they are left out).
        answer_min_score: ``answer_alike_variants`` and ``answer_top_step`` answer only when the best
            candidate scores at least this (as strong as the candidates an out-of-scope message is
            offered): a weak link stays a choice.
        offer_other_levels: one procedure at several levels, answered for the nearest level, offers
            the other levels as buttons under the answer (a button pressed answers the same part).
        answer_unsure_link: a message not understood (or out of scope) that clearly asks a part, whose
            best candidate scores at least ``unsure_answer_score``, gets that part answered for the
            best candidate with the others as buttons ("Nếu bạn hỏi thủ tục khác, chọn ở đây") instead
            of "có phải bạn hỏi …".
        answer_top_step: among a procedure and its later steps ("cấp mới", "gia hạn", "cấp lại"), the
            step the message asks for (the first issue when it names none) is answered when it is also
            the best candidate, strictly above the others (and at least ``answer_min_score``).
        offer_unlinked_candidates: a question that asks a part but names no procedure the linker is
            sure of gets its closest candidates as buttons ("có phải bạn hỏi …", the part remembered)
            instead of the bare "bạn hỏi về thủ tục nào?" (which stays for a message with no candidate).
        answer_top_sibling: close candidates that are variants of one procedure (names sharing more than
            ``sibling_overlap`` of their word pairs, no later step or deletion among them) get the part asked answered for the best one, strictly
            above the others and at least ``answer_min_score``, the others as buttons under it.
        sibling_overlap: see ``answer_top_sibling``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ambiguity_margin: float = Field(default=0.05, ge=0, le=1)
    min_candidate_score: float = Field(default=0.3, ge=0, le=1)
    max_choices: int = Field(default=4, ge=2)
    officer_after_misses: int = Field(default=2, ge=1)
    faq_threshold: float = Field(default=0.85, gt=0, le=1)
    out_of_scope_candidate_score: float = Field(default=0.6, ge=0, le=1)
    dominant_coverage: float = Field(default=0.8, ge=0, le=1)
    answer_every_part: bool = True
    max_parts: int = Field(default=3, ge=1)
    answer_alike_variants: bool = True
    alike_topics: tuple[Topic, ...] = (
        Topic.DOCUMENTS,
        Topic.FORMS,
        Topic.STEPS,
        Topic.FEE,
        Topic.PROCESSING_TIME,
        Topic.WHERE,
        Topic.CHANNELS,
    )
    answer_min_score: float = Field(default=0.6, ge=0, le=1)
    offer_other_levels: bool = True
    answer_unsure_link: bool = False
    unsure_answer_score: float = Field(default=0.6, ge=0, le=1)
    answer_top_step: bool = True
    offer_unlinked_candidates: bool = True
    answer_top_sibling: bool = False
    sibling_overlap: float = Field(default=0.5, gt=0, lt=1)


# --- dossier: ---------------------------------------------------------------------------------------


class DossierConfig(BaseModel):
    """The ``dossier:`` section of ``config.yml``.

    Attributes:
        verification_attempts: failed verifications (per chat, and per dossier) before a lock.
        lock_minutes: how long a lock lasts; failures older than this are forgotten.
        grant_minutes: how long a successful verification lets the chat subscribe to that dossier.
        poll_interval_seconds: how often the watcher looks for changes of subscribed dossiers.
        http_timeout_seconds: timeout of one request to the provincial system.
        http_retries: retries after a 5xx answer or a network error.
        http_backoff_seconds: wait before the first retry (doubled each time).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    verification_attempts: int = Field(default=5, ge=1, le=20)
    lock_minutes: int = Field(default=30, ge=1, le=24 * 60)
    grant_minutes: int = Field(default=60, ge=1, le=24 * 60)
    poll_interval_seconds: int = Field(default=300, ge=10, le=24 * 3600)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_retries: int = Field(default=2, ge=0, le=10)
    http_backoff_seconds: float = Field(default=0.5, ge=0, le=60)

    @property
    def lock_for(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)

    @property
    def grant_for(self) -> timedelta:
        return timedelta(minutes=self.grant_minutes)


# --- learning: --------------------------------------------------------------------------------------


class LearningConfig(BaseModel):
    """The ``learning:`` section of config.yml.

    Attributes:
        low_confidence: a message the NLU understood with a confidence below this counts as unanswered
            (the inbox and the analytics dashboard both use it).
    """

    model_config = ConfigDict(extra="forbid")

    low_confidence: float = Field(default=0.5, ge=0.0, le=1.0)


# --- action_endpoint: -------------------------------------------------------------------------------

_ACTION_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ActionEndpointConfig(BaseModel):
    """The ``action_endpoint:`` section: actions run on a Rasa action server (rasa-sdk) instead of here.

    Attributes:
        url: the server's webhook, as in Rasa's endpoints.yml (``http://127.0.0.1:5055/webhook``).
        actions: the action names run there; a built-in name (``action_dossier_status``) replaces the
            built-in action, which still answers when the server is down.
        intents: intent -> action name (one of ``actions``): messages of that intent (or its button
            payload) are answered by that action, before the built-in dialogue rules.
        timeout_seconds: timeout of one call.
        retries: calls repeated after a connection failure or a 502/503/504 answer (never after a
            timeout while the action may be running).
        backoff_seconds: wait before the first retry (doubled each time).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = ""
    actions: list[str] = Field(default_factory=list)
    intents: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=1, ge=0, le=5)
    backoff_seconds: float = Field(default=0.5, ge=0, le=30)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("actions")
    @classmethod
    def _action_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _ACTION_NAME_RE.match(name)]
        if bad:
            raise ValueError(f"not action names: {bad}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ActionEndpointConfig:
        if self.actions and not self.url:
            raise ValueError("actions need the action server's url")
        unknown = sorted(set(self.intents.values()) - set(self.actions))
        if unknown:
            raise ValueError(f"intents name actions not listed in actions: {unknown}")
        return self


# --- escalation: ------------------------------------------------------------------------------------

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


# --- privacy: --------------------------------------------------------------------------------------


class PrivacyConfig(BaseModel):
    """The ``privacy:`` section: how long what citizens wrote is kept (``helpline purge`` and the daily
    purge job of :mod:`bot.app.retention` delete what is older).

    Attributes:
        conversations_days: a conversation (its state and its message log) untouched for this long.
        tickets_days: a ticket closed this long ago, with its messages and the officer's note.
        dossier_access_days: a dossier verification record (failures, lock, grant) untouched this long,
            once no lock or grant is running.
        web_outbox_days: a message queued for a web-chat page.
        logs_days: a log file (``*.log``, ``*.log.N`` in the log folder) not written to for this long.
        security_events_days: a console security event (login, lock, logout: user names and addresses).
        purge_every_hours: how often the server's purge job runs (it also runs at start-up).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversations_days: int = Field(default=180, ge=1, le=3650)
    tickets_days: int = Field(default=365, ge=1, le=3650)
    dossier_access_days: int = Field(default=30, ge=1, le=3650)
    web_outbox_days: int = Field(default=7, ge=1, le=3650)
    logs_days: int = Field(default=30, ge=1, le=3650)
    security_events_days: int = Field(default=365, ge=1, le=3650)
    purge_every_hours: int = Field(default=24, ge=1, le=24 * 7)


# --- the whole file ---------------------------------------------------------------------------------


class HelplineConfig(BaseModel):
    """config.yml as a whole. Unknown top-level keys are refused (a typo must not pass silently).

    Attributes:
        language: the bot's language (``vi``).
        pipeline: the NLU components, as Rasa writes them; validated by :mod:`nlu.pipeline`.
        policy, escalation, dossier, learning, action_endpoint, privacy: the sections above (defaults
            when a section is absent).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = "vi"
    pipeline: list[dict[str, Any]] = Field(default_factory=list)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    dossier: DossierConfig = Field(default_factory=DossierConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    action_endpoint: ActionEndpointConfig = Field(default_factory=ActionEndpointConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)


def load_config(path: str | Path) -> HelplineConfig:
    """Read and validate config.yml; every problem is reported at once, naming the file and the key.

    Raises:
        ConfigurationError: the file is missing, is not YAML, or a value is out of range.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot read the configuration ({exc})") from exc
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{path}: expected a mapping at the top level")
    # a section written but left empty (``policy:``) means its defaults, as an absent one does
    data = {key: ({} if value is None and key != "pipeline" else value) for key, value in data.items()}
    try:
        return HelplineConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"{path}: {problems}") from exc
