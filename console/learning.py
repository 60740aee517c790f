"""The learning loop: what the bot could not answer, what editors teach it, and moving that data in and out.

**The inbox** ("Câu chưa trả lời được") groups, by text (ignoring case and repeated spaces; texts are
already redacted in the log), three kinds of citizen messages from the ``messages`` table:

* *unanswered* ones, as :mod:`console.analytics` defines them (:func:`console.analytics.unanswered_condition`:
  a fallback, or a confidence below ``learning.low_confidence`` of config.yml);
* *negatively rated* answers: a rating of the bot of 1 or 2 (read as the dashboard reads bot ratings,
  :func:`console.analytics.rating_of`; a rating filed on an officer's ticket is about the officer, not the
  bot, and is left out) marks the citizen's last question before it.

An editor **assigns** a group to an intent, a procedure (national code, checked against the knowledge base)
and/or an FAQ entry, or **dismisses** it. Either way a ``review_items`` row remembers the decision, so the
group leaves the open inbox (and shows under the "Đã gán" / "Đã bỏ qua" filters). An assignment with an
intent (a procedure alone means "tell me about this procedure", ``ask_procedure_overview``) stores a
``training_examples`` row (source ``learned``); with an FAQ entry the text becomes one more way to ask
that entry. Then the live reload runs (``went_live``): FAQ matcher, index, and the NLU retrained on
``data/nlu.yml`` plus these examples (:mod:`nlu.learned`), so the running bot answers the message.

**Import and export**: FAQ entries as CSV (``id, questions, answer, procedure_codes, tags, enabled``;
lists separated by `` | ``) or YAML (the ``faq:`` format of ``data/faq.yml``, with ids); training
examples as Rasa ``nlu.yml`` or CSV (``text, intent, procedure_code``). An import checks the whole file
first and writes nothing when anything is wrong (:class:`ImportRefused` lists each problem with its line);
otherwise it writes everything in one transaction. Records are matched (FAQ: by id, else by a shared
question; examples: by text), so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.responses import parse_payload
from bot.core.timeutil import as_utc, utcnow
from bot.handoff.model import RATING_WINDOW
from bot.handoff.tables import TicketRow
from bot.storage.sql import ConversationRow, MessageRow
from console.analytics.queries import unanswered_condition
from console.analytics.report import FEEDBACK_INTENT, rating_of, text_key
from console.auth.users import User
from knowledge.db import Base
from knowledge.domain import FaqEntry
from knowledge.importers.parsing import CODE_RE
from knowledge.models import FaqRow
from knowledge.ports import KnowledgeRepository
from nlu.learned import LearnedExample, learned_training_data, to_example
from nlu.training_data import TrainingData, TrainingDataError, dump_training_data, parse_training_data

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
OVERVIEW_INTENT = "ask_procedure_overview"
"""The intent of a message assigned to a procedure only."""
MAX_EXAMPLE_CHARS = 500
"""Longest text kept as a training example or an FAQ question."""
MAX_FILE_BYTES = 2_000_000
MAX_PROBLEMS = 20
"""Problems listed when a file is refused (the rest are counted)."""
Status = Literal["open", "assigned", "dismissed", "all"]
STATUS_LABELS = {"open": "Chưa xử lý", "assigned": "Đã gán", "dismissed": "Đã bỏ qua", "all": "Tất cả"}
SOURCE_LABELS = {"learned": "Học từ hộp thư", "import": "Nhập từ tệp"}
FAQ_CSV_COLUMNS = ("id", "questions", "answer", "procedure_codes", "tags", "enabled")
TRAINING_CSV_COLUMNS = ("text", "intent", "procedure_code")
LIST_SEPARATOR = " | "


def key_of(text: str) -> str:
    """The stored key of a message group: a hash of :func:`console.analytics.text_key` (fixed length,
    so long messages can be keyed and indexed on every database)."""
    return hashlib.sha256(text_key(text).encode()).hexdigest()


class LearningConfig(BaseModel):
    """The ``learning:`` section of config.yml.

    Attributes:
        low_confidence: a message the NLU understood with a confidence below this counts as unanswered
            (the inbox and the analytics dashboard both use it).
    """

    model_config = ConfigDict(extra="forbid")

    low_confidence: float = Field(0.5, ge=0.0, le=1.0)


# --- tables (migration 0007) ------------------------------------------------------------------------------


class TrainingExampleRow(Base):
    """One example the NLU trains on besides data/nlu.yml (one row per text, whatever its spelling)."""

    __tablename__ = "training_examples"
    __table_args__ = (UniqueConstraint("text_key", name="uq_training_examples_text_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(String(64))
    intent: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entities: Mapped[Any] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="learned")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewItemRow(Base):
    """An editor's decision on one inbox group: assigned (to what) or dismissed."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("text_key", name="uq_review_items_text_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    faq_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    example_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(128), default="")
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- errors and views -----------------------------------------------------------------------------------


class LearningError(Exception):
    """A request the service refused; the message is for the editor. ``status`` is the HTTP status."""

    status = 400


class InvalidAssignment(LearningError):
    """The assignment names an unknown intent, procedure or FAQ entry (``problems``: field -> message)."""

    status = 422

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("Chưa gán được: " + " ".join(self.problems.values()))


class ImportRefused(LearningError):
    """A file that cannot be imported; nothing was written. ``problems`` are "Dòng N: ..." messages."""

    status = 422

    def __init__(self, problems: Sequence[str], total: int | None = None) -> None:
        self.problems = list(problems)[:MAX_PROBLEMS]
        total = len(problems) if total is None else total
        more = f" (và {total - len(self.problems)} lỗi khác)" if total > len(self.problems) else ""
        super().__init__("Tệp chưa được nhập, không có gì thay đổi. " + " ".join(self.problems) + more)


@dataclass(frozen=True)
class InboxItem:
    """One group of the inbox.

    Attributes:
        key: the group's key (:func:`key_of`), used to assign or dismiss it.
        text: the most frequent spelling as logged.
        count: messages in the group (unanswered plus negatively rated).
        fallbacks: of them, how many fell back.
        low_confidence: how many were understood with a low confidence.
        negative_ratings: how many answers the citizen then rated 1 or 2.
        last_seen: the latest of them (UTC).
        guessed_intent: what the NLU thought most often (not a fallback), to pre-fill the form.
        guessed_procedure: the procedure it linked most often.
        status: ``open``, ``assigned`` or ``dismissed``.
        intent, procedure_code, faq_id: what it was assigned to.
        resolved_by, resolved_at: who decided, when.
    """

    key: str
    text: str
    count: int
    fallbacks: int
    low_confidence: int
    negative_ratings: int
    last_seen: datetime
    guessed_intent: str | None = None
    guessed_procedure: str | None = None
    status: str = "open"
    intent: str | None = None
    procedure_code: str | None = None
    faq_id: int | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class TrainingExample:
    """A stored training example."""

    id: int
    text: str
    intent: str
    procedure_code: str | None
    entities: list[dict[str, Any]]
    source: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class AssignResult:
    """What an assignment did.

    Attributes:
        key: the group's key.
        example: the training example stored (None: FAQ only).
        faq_id: the FAQ entry the text was added to (None: none chosen).
        faq_changed: False when the entry already had the question.
    """

    key: str
    example: TrainingExample | None
    faq_id: int | None
    faq_changed: bool


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        """The result in one Vietnamese sentence."""
        what = "câu hỏi thường gặp" if self.kind == "faqs" else "câu mẫu huấn luyện"
        return f"Đã nhập {what}: {self.created} mới, {self.updated} cập nhật, {self.unchanged} không đổi."


# --- the service ----------------------------------------------------------------------------------------


@dataclass
class _Group:
    spellings: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    low: int = 0
    negative: int = 0
    last: datetime | None = None
    intents: Counter[str] = field(default_factory=Counter)
    procedures: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, n: int, at: datetime, intent: str | None, code: str | None) -> None:
        self.spellings[text] += n
        self.last = at if self.last is None else max(self.last, at)
        if intent and intent not in (FALLBACK_INTENT, FEEDBACK_INTENT):
            self.intents[intent] += n
        if code:
            self.procedures[code] += n


@dataclass
class _FaqDraft:
    line: int
    id: int | None
    questions: tuple[str, ...]
    answer: str
    procedure_codes: tuple[str, ...]
    tags: tuple[str, ...]
    enabled: bool


class LearningService:
    """The inbox, assignments, learned examples, and FAQ / example import and export (see the module doc).

    Args:
        sessions: the database.
        knowledge: the knowledge repository (procedure codes are checked against it; FAQ entries saved).
        intents: the intents an editor may assign (those of data/nlu.yml; ``nlu_fallback`` is refused).
        low_confidence: below this confidence an understood message counts as unanswered.
        negative_rating_at_most: a rating of the bot at or below this marks the answer before it as
            badly answered (``escalation.negative_rating_at_most`` of config.yml, the same threshold
            that opens a ``negative_rating`` ticket).
        went_live: called after a change the bot must pick up (the live reload of bot/live.py); None: none.
        clock: the current UTC time (injectable for tests).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeRepository,
        intents: Sequence[str],
        *,
        low_confidence: float = 0.5,
        negative_rating_at_most: int,
        went_live: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not 0.0 <= low_confidence <= 1.0:
            raise ValueError("low_confidence must be between 0 and 1")
        self._sessions = sessions
        self.knowledge = knowledge
        self.intents = tuple(i for i in dict.fromkeys(intents) if i != FALLBACK_INTENT)
        self.low_confidence = low_confidence
        self.negative_rating_at_most = negative_rating_at_most
        self.went_live = went_live
        self.clock = clock

    # --- inbox -------------------------------------------------------------------------------------

    def inbox(self, status: Status = "open", limit: int = 200) -> list[InboxItem]:
        """Groups of unanswered and negatively rated messages, most frequent first (then latest).

        ``status``: ``open`` (not decided yet), ``assigned``, ``dismissed`` or ``all``.
        """
        if status not in STATUS_LABELS:
            raise LearningError(
                f"Bộ lọc «{status}» không có; hãy chọn một trong: {', '.join(STATUS_LABELS)}."
            )
        with self._sessions() as session:
            groups = self._groups(session)
            decided = {r.text_key: r for r in session.scalars(select(ReviewItemRow))}
        items = []
        for key, g in groups.items():
            row = decided.get(key)
            item_status = row.status if row is not None else "open"
            if status != "all" and item_status != status:
                continue
            assert g.last is not None
            items.append(
                InboxItem(
                    key=key,
                    text=min(g.spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0],
                    count=g.fallbacks + g.low + g.negative,
                    fallbacks=g.fallbacks,
                    low_confidence=g.low,
                    negative_ratings=g.negative,
                    last_seen=g.last,
                    guessed_intent=g.intents.most_common(1)[0][0] if g.intents else None,
                    guessed_procedure=g.procedures.most_common(1)[0][0] if g.procedures else None,
                    status=item_status,
                    intent=row.intent if row else None,
                    procedure_code=row.procedure_code if row else None,
                    faq_id=row.faq_id if row else None,
                    resolved_by=row.resolved_by if row else None,
                    resolved_at=as_utc(row.resolved_at) if row else None,
                )
            )
        items.sort(key=lambda i: (-i.count, -i.last_seen.timestamp(), i.text))
        return items[: max(1, limit)]

    def item(self, key: str) -> InboxItem:
        """One group, whatever its status.

        Raises:
            LearningError: (404) no such group.
        """
        for found in self.inbox("all", limit=100_000):
            if found.key == key:
                return found
        raise _not_found("Không tìm thấy câu này trong hộp thư (có thể đã bị xóa khỏi nhật ký).")

    def _groups(self, session: Session) -> dict[str, _Group]:
        m = MessageRow
        groups: dict[str, _Group] = {}
        stmt = (
            select(m.text, m.intent, m.procedure_code, func.count(), func.max(m.created_at))
            .where(unanswered_condition(self.low_confidence))
            .group_by(m.text, m.intent, m.procedure_code)
        )
        for text, intent, code, n, last in session.execute(stmt):
            if not text_key(text) or parse_payload(text) is not None:
                continue
            g = groups.setdefault(key_of(text), _Group())
            g.add(text, int(n), as_utc(last), intent, code)
            if intent == FALLBACK_INTENT:
                g.fallbacks += int(n)
            else:
                g.low += int(n)
        for text, intent, code, at in self._negatively_rated(session):
            g = groups.setdefault(key_of(text), _Group())
            g.add(text, 1, at, intent, code)
            g.negative += 1
        return groups

    def _negatively_rated(self, session: Session) -> list[tuple[str, str | None, str | None, datetime]]:
        """The question before each low rating of the bot (at or below ``negative_rating_at_most``):
        (text, intent, procedure, time of the rating)."""
        m = MessageRow
        ratings = session.execute(
            select(
                m.id, m.conversation_id, m.text, m.confidence, m.created_at,
                ConversationRow.channel, ConversationRow.chat_id,
            )
            .join(ConversationRow, ConversationRow.id == m.conversation_id)
            .where(m.direction == "in", m.intent == FEEDBACK_INTENT)
        ).all()  # fmt: skip
        negative = [
            r for r in ratings if (rating_of(r.text, r.confidence) or 99) <= self.negative_rating_at_most
        ]
        if not negative:
            return []
        chats = {(r.channel, r.chat_id) for r in negative}
        tickets = session.execute(
            select(TicketRow.channel, TicketRow.chat_id, TicketRow.rating, TicketRow.closed_at).where(
                TicketRow.rating.is_not(None),
                TicketRow.outcome == "closed",
                TicketRow.closed_at.is_not(None),
                TicketRow.rating <= self.negative_rating_at_most,
            )
        ).all()
        filed = [t for t in tickets if (t.channel, t.chat_id) in chats]
        out = []
        for r in negative:
            at, value = as_utc(r.created_at), rating_of(r.text, r.confidence)
            # A rating the ticket service filed on an officer's ticket rates the officer, not the bot.
            if any(
                (t.channel, t.chat_id) == (r.channel, r.chat_id)
                and t.rating == value
                and as_utc(t.closed_at) <= at <= as_utc(t.closed_at) + RATING_WINDOW
                for t in filed
            ):
                continue
            before = session.execute(
                select(m.text, m.intent, m.procedure_code)
                .where(
                    m.conversation_id == r.conversation_id,
                    m.direction == "in",
                    m.intent.is_not(None),
                    m.intent != FEEDBACK_INTENT,
                    m.id < r.id,
                )
                .order_by(m.id.desc())
                .limit(5)
            ).all()
            for text, intent, code in before:
                if parse_payload(text) is None and text_key(text):
                    out.append((text, intent, code, at))
                    break
        return out

    # --- decisions ---------------------------------------------------------------------------------

    def assign(
        self,
        text: str,
        user: User,
        *,
        intent: str | None = None,
        procedure_code: str | None = None,
        faq_id: int | None = None,
    ) -> AssignResult:
        """Teach the bot ``text``: a training example (intent, procedure) and/or a question of an FAQ entry.

        Raises:
            InvalidAssignment: nothing chosen, an unknown intent, a wrong or unknown code or FAQ entry,
                an empty or too long text.
        """
        text = " ".join((text or "").split())
        intent = (intent or "").strip() or None
        procedure_code = (procedure_code or "").strip() or None
        problems: dict[str, str] = {}
        if not text:
            problems["text"] = "Câu cần gán đang trống."
        elif len(text) > MAX_EXAMPLE_CHARS:
            problems["text"] = f"Câu dài quá {MAX_EXAMPLE_CHARS} ký tự, không dùng làm câu mẫu được."
        if intent is None and procedure_code is None and faq_id is None:
            problems["intent"] = "Hãy chọn một ý định, một thủ tục hoặc một câu hỏi thường gặp."
        if intent is not None and intent not in self.intents:
            problems["intent"] = f"Ý định «{intent}» không có trong dữ liệu huấn luyện."
        if procedure_code is not None:
            problem = self._code_problem(procedure_code)
            if problem:
                problems["procedure_code"] = problem
        entry = None
        if faq_id is not None:
            entry = next((f for f in self.knowledge.list_faqs(enabled_only=False) if f.id == faq_id), None)
            if entry is None:
                problems["faq_id"] = f"Không có câu hỏi thường gặp số {faq_id}."
        if problems:
            raise InvalidAssignment(problems)
        if intent is None and procedure_code is not None:
            intent = OVERVIEW_INTENT if OVERVIEW_INTENT in self.intents else None
        key, name = key_of(text), user.display_name or user.username
        faq_changed = False
        if entry is not None:
            known = {text_key(q) for q in entry.questions}
            if text_key(text) not in known:
                self.knowledge.save_faq(
                    FaqEntry(
                        id=entry.id,
                        questions=(*entry.questions, text),
                        answer=entry.answer,
                        procedure_codes=entry.procedure_codes,
                        tags=entry.tags,
                        enabled=entry.enabled,
                    )
                )
                faq_changed = True
        example = None
        with self._sessions.begin() as session:
            if intent is not None:
                row = self._put_example(session, text, intent, procedure_code, "learned", name)
                session.flush()
                example = _example(row)
            review = session.scalars(select(ReviewItemRow).where(ReviewItemRow.text_key == key)).first()
            if review is None:
                review = ReviewItemRow(text_key=key)
                session.add(review)
            review.text, review.status = text, "assigned"
            review.intent, review.procedure_code, review.faq_id = intent, procedure_code, faq_id
            review.example_id = example.id if example else None
            review.resolved_by, review.resolved_at = name, self.clock()
        self._live()
        return AssignResult(key, example, faq_id, faq_changed)

    def dismiss(self, text: str, user: User) -> str:
        """Take a group out of the inbox without teaching anything; returns its key."""
        text = " ".join((text or "").split())
        if not text:
            raise InvalidAssignment({"text": "Câu cần bỏ qua đang trống."})
        key = key_of(text)
        with self._sessions.begin() as session:
            review = session.scalars(select(ReviewItemRow).where(ReviewItemRow.text_key == key)).first()
            if review is not None and review.status == "assigned":
                raise LearningError("Câu này đã được gán; không bỏ qua được nữa.")
            if review is None:
                review = ReviewItemRow(text_key=key)
                session.add(review)
            review.text, review.status = text, "dismissed"
            review.intent = review.procedure_code = None
            review.faq_id = review.example_id = None
            review.resolved_by, review.resolved_at = user.display_name or user.username, self.clock()
        return key

    def reopen(self, key: str) -> None:
        """Put a dismissed group back in the open inbox.

        Raises:
            LearningError: the group is not dismissed.
        """
        with self._sessions.begin() as session:
            review = session.scalars(select(ReviewItemRow).where(ReviewItemRow.text_key == key)).first()
            if review is None or review.status != "dismissed":
                raise LearningError("Chỉ đưa lại vào hộp thư được những câu đã bỏ qua.")
            session.delete(review)

    def _live(self) -> None:
        if self.went_live is not None:
            self.went_live()

    # --- examples ----------------------------------------------------------------------------------

    def examples(self) -> list[TrainingExample]:
        """Every stored example, oldest first."""
        with self._sessions() as session:
            return [
                _example(r)
                for r in session.scalars(select(TrainingExampleRow).order_by(TrainingExampleRow.id))
            ]

    def learned(self) -> list[LearnedExample]:
        """The stored examples as :class:`nlu.learned.LearnedExample`."""
        return [LearnedExample(e.text, e.intent, e.procedure_code) for e in self.examples()]

    def phrases_of(self, code: str) -> list[str]:
        """A procedure's name and aliases (what a citizen may call it); empty for an unknown code."""
        proc = self.knowledge.get(code)
        return [proc.name, *proc.aliases] if proc is not None else []

    def training_data(self) -> TrainingData:
        """The learned examples as NLU training data (merged with data/nlu.yml when the server trains)."""
        return learned_training_data(self.learned(), self.phrases_of)

    def _put_example(
        self, session: Session, text: str, intent: str, code: str | None, source: str, by: str
    ) -> TrainingExampleRow:
        key = key_of(text)
        row = session.scalars(select(TrainingExampleRow).where(TrainingExampleRow.text_key == key)).first()
        entities = [
            {"start": s.start, "end": s.end, "entity": s.entity, "value": s.value}
            for s in to_example(
                LearnedExample(text, intent, code), self.phrases_of(code) if code else ()
            ).entities
        ]
        if row is None:
            row = TrainingExampleRow(text_key=key, source=source, created_by=by, created_at=self.clock())
            session.add(row)
        row.text, row.intent, row.procedure_code, row.entities = text, intent, code, entities
        return row

    def _code_problem(self, code: str) -> str | None:
        if not CODE_RE.match(code):
            return f"Mã thủ tục «{code}» không đúng dạng (cần như 1.001193)."
        if self.knowledge.get(code) is None:
            return f"Chưa có thủ tục mang mã {code} trong cơ sở dữ liệu."
        return None

    # --- export ------------------------------------------------------------------------------------

    def export_training_yaml(self) -> str:
        """The stored examples as a Rasa 3 ``nlu.yml``."""
        return dump_training_data(self.training_data())

    def export_training_csv(self) -> str:
        """The stored examples as CSV: ``text, intent, procedure_code``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRAINING_CSV_COLUMNS)
        for e in self.examples():
            writer.writerow([e.text, e.intent, e.procedure_code or ""])
        return out.getvalue()

    def export_faq_csv(self) -> str:
        """Every FAQ entry as CSV: ``id, questions, answer, procedure_codes, tags, enabled``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FAQ_CSV_COLUMNS)
        for f in self.knowledge.list_faqs(enabled_only=False):
            writer.writerow(
                [
                    f.id,
                    LIST_SEPARATOR.join(f.questions),
                    f.answer,
                    LIST_SEPARATOR.join(f.procedure_codes),
                    LIST_SEPARATOR.join(f.tags),
                    "có" if f.enabled else "không",
                ]
            )
        return out.getvalue()

    def export_faq_yaml(self) -> str:
        """Every FAQ entry in the ``faq:`` format of data/faq.yml, with its id."""
        items = [
            {
                "id": f.id,
                "questions": list(f.questions),
                "answer": f.answer,
                "procedure_codes": list(f.procedure_codes),
                "tags": list(f.tags),
                "enabled": f.enabled,
            }
            for f in self.knowledge.list_faqs(enabled_only=False)
        ]
        return yaml.safe_dump({"faq": items}, allow_unicode=True, sort_keys=False, width=100)

    # --- import ------------------------------------------------------------------------------------

    def import_faqs(self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User) -> ImportReport:
        """Create or update FAQ entries from a CSV or YAML file (see the module doc).

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        text = _decode(content)
        drafts = self._faq_drafts_csv(text) if fmt == "csv" else self._faq_drafts_yaml(text)
        report = ImportReport("faqs")
        with self._sessions.begin() as session:
            rows = list(session.scalars(select(FaqRow).order_by(FaqRow.id)))
            by_id = {r.id: r for r in rows}
            by_question = {text_key(q): r for r in rows for q in r.questions or ()}
            for d in drafts:
                row = by_id.get(d.id) if d.id is not None else None
                if row is None:
                    row = next((by_question[k] for k in map(text_key, d.questions) if k in by_question), None)
                values = {
                    "questions": list(d.questions),
                    "answer": d.answer,
                    "procedure_codes": list(d.procedure_codes),
                    "tags": list(d.tags),
                    "enabled": d.enabled,
                }
                if row is None:
                    row = FaqRow(**values)
                    session.add(row)
                    session.flush()
                    report.created += 1
                elif all(_same(getattr(row, k), v) for k, v in values.items()):
                    report.unchanged += 1
                    continue
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
                    report.updated += 1
                by_id[row.id] = row
                by_question.update({text_key(q): row for q in d.questions})
        log.info("FAQ import by %s: %s", user.username, report)
        if report.changed:
            self._live()
        return report

    def import_training(self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User) -> ImportReport:
        """Create or update training examples from a Rasa ``nlu.yml`` or a CSV file (see the module doc).

        In ``nlu.yml`` a procedure is a ``procedure`` annotation whose value is its code; an example
        without one keeps the procedure already stored for the same text.

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        text = _decode(content)
        items = self._examples_csv(text) if fmt == "csv" else self._examples_yaml(text)
        report = ImportReport("training")
        name = user.display_name or user.username
        with self._sessions.begin() as session:
            existing = {r.text_key: r for r in session.scalars(select(TrainingExampleRow))}
            for _, ex, annotated in items:
                row = existing.get(key_of(ex.text))
                code = ex.procedure_code
                if row is not None and not annotated and code is None and row.intent == ex.intent:
                    code = row.procedure_code
                if row is not None and row.intent == ex.intent and row.procedure_code == code:
                    report.unchanged += 1
                    continue
                if row is None:
                    report.created += 1
                else:
                    report.updated += 1
                existing[key_of(ex.text)] = self._put_example(
                    session, ex.text, ex.intent, code, "import", name
                )
                session.flush()
        log.info("training import by %s: %s", user.username, report)
        if report.changed:
            self._live()
        return report

    # parsing, all checks before any write

    def _faq_drafts_csv(self, text: str) -> list[_FaqDraft]:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ImportRefused(["Tệp trống."])
        columns = [h.strip().lower() for h in header]
        missing = [c for c in ("questions", "answer") if c not in columns]
        unknown = [c for c in columns if c not in FAQ_CSV_COLUMNS]
        if missing or unknown:
            raise ImportRefused(
                [
                    "Dòng 1: tiêu đề cột phải là " + ", ".join(FAQ_CSV_COLUMNS)
                    + (f"; thiếu cột {', '.join(missing)}" if missing else "")
                    + (f"; không biết cột {', '.join(unknown)}" if unknown else "") + "."
                ]
            )  # fmt: skip
        raw = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                raw.append((line, None, f"Dòng {line}: có {len(values)} cột, cần {len(columns)}."))
                continue
            raw.append((line, dict(zip(columns, values, strict=True)), None))
        return self._faq_drafts(raw)

    def _faq_drafts_yaml(self, text: str) -> list[_FaqDraft]:
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            lines = text.splitlines()
            if mark is not None:
                bad = lines[mark.line].strip() if 0 <= mark.line < len(lines) else ""
                shown = f" («{bad}»)" if bad else " (tệp kết thúc giữa chừng)"
                raise ImportRefused([f"Dòng {mark.line + 1}: tệp không phải YAML hợp lệ{shown}."]) from None
            raise ImportRefused(["Tệp không phải YAML hợp lệ."]) from None
        items = None
        if isinstance(root, yaml.MappingNode):
            items = next((v for k, v in root.value if k.value == "faq"), None)
        if not isinstance(items, yaml.SequenceNode):
            raise ImportRefused(["Dòng 1: tệp YAML phải có khóa «faq:» chứa danh sách câu hỏi."])
        raw = []
        for node in items.value:
            line = node.start_mark.line + 1
            value = yaml.safe_load(yaml.serialize(node))
            if not isinstance(value, dict):
                raw.append((line, None, f"Dòng {line}: mỗi mục của «faq» phải có questions, answer …"))
                continue
            unknown = set(value) - set(FAQ_CSV_COLUMNS)
            if unknown:
                raw.append(
                    (line, None, f"Dòng {line}: không biết khóa {', '.join(sorted(map(str, unknown)))}.")
                )
                continue
            raw.append((line, value, None))
        return self._faq_drafts(raw)

    def _faq_drafts(self, raw: list[tuple[int, dict[str, Any] | None, str | None]]) -> list[_FaqDraft]:
        problems: list[str] = []
        drafts = []
        seen_ids: dict[int, int] = {}
        seen_questions: dict[str, int] = {}
        for line, value, problem in raw:
            if problem is not None or value is None:
                problems.append(problem or f"Dòng {line}: không đọc được.")
                continue
            here: list[str] = []
            entry_id: int | None = None
            raw_id = value.get("id")
            if raw_id not in (None, ""):
                try:
                    entry_id = int(str(raw_id).strip())
                    if entry_id < 1:
                        raise ValueError
                except ValueError:
                    here.append(f"số thứ tự (id) «{raw_id}» phải là số nguyên dương")
                else:
                    if entry_id in seen_ids:
                        here.append(f"id {entry_id} đã có ở dòng {seen_ids[entry_id]}")
                    seen_ids.setdefault(entry_id, line)
            questions = tuple(dict.fromkeys(_list(value.get("questions"), r"\|")))
            if not questions:
                here.append("cần ít nhất một câu hỏi (các câu cách nhau bởi « | »)")
            long = [q for q in questions if len(q) > MAX_EXAMPLE_CHARS]
            if long:
                here.append(f"câu hỏi dài quá {MAX_EXAMPLE_CHARS} ký tự")
            for q in questions:
                k = text_key(q)
                if k in seen_questions and seen_questions[k] != line:
                    here.append(f"câu hỏi «{q}» đã có ở dòng {seen_questions[k]}")
                seen_questions.setdefault(k, line)
            answer = str(value.get("answer") or "").strip()
            if not answer:
                here.append("câu trả lời đang trống")
            codes = tuple(dict.fromkeys(_list(value.get("procedure_codes"), r"[|,;\s]")))
            for code in codes:
                problem = self._code_problem(code)
                if problem:
                    here.append(problem[0].lower() + problem[1:].rstrip("."))
            enabled = _yes_no(value.get("enabled"))
            if enabled is None:
                here.append(
                    f"cột enabled phải là có/không (hoặc true/false), không phải «{value.get('enabled')}»"
                )
            if here:
                problems.append(f"Dòng {line}: " + "; ".join(here) + ".")
                continue
            drafts.append(
                _FaqDraft(
                    line, entry_id, questions, answer, codes,
                    tuple(dict.fromkeys(_list(value.get("tags"), r"[|,]"))), bool(enabled),
                )
            )  # fmt: skip
        if problems:
            raise ImportRefused(problems)
        if not drafts:
            raise ImportRefused(["Tệp không có câu hỏi nào."])
        return drafts

    def _check_example(self, line: int, text: str, intent: str, code: str | None) -> list[str]:
        here = []
        if not text:
            here.append("câu mẫu đang trống")
        elif len(text) > MAX_EXAMPLE_CHARS:
            here.append(f"câu mẫu dài quá {MAX_EXAMPLE_CHARS} ký tự")
        if not intent:
            here.append("thiếu ý định (intent)")
        elif intent not in self.intents:
            here.append(f"ý định «{intent}» không có trong dữ liệu huấn luyện")
        if code:
            problem = self._code_problem(code)
            if problem:
                here.append(problem[0].lower() + problem[1:].rstrip("."))
        return here

    def _examples_csv(self, text: str) -> list[tuple[int, LearnedExample, bool]]:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ImportRefused(["Tệp trống."])
        columns = [h.strip().lower() for h in header]
        if (
            "text" not in columns
            or "intent" not in columns
            or any(c not in TRAINING_CSV_COLUMNS for c in columns)
        ):
            raise ImportRefused(
                [f"Dòng 1: tiêu đề cột phải là {', '.join(TRAINING_CSV_COLUMNS)} (procedure_code có thể bỏ)."]
            )
        problems: list[str] = []
        items = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                problems.append(f"Dòng {line}: có {len(values)} cột, cần {len(columns)}.")
                continue
            row = dict(zip(columns, values, strict=True))
            ex = LearnedExample(
                " ".join(row["text"].split()),
                row["intent"].strip(),
                row.get("procedure_code", "").strip() or None,
            )
            items.append((line, ex, True))
        return self._checked(items, problems)

    def _examples_yaml(self, text: str) -> list[tuple[int, LearnedExample, bool]]:
        try:
            data = parse_training_data(text, source="tệp")
        except TrainingDataError as exc:
            raise ImportRefused([_vietnamese(exc)]) from None
        problems: list[str] = []
        for kind, table in (("regex", data.regexes), ("lookup", data.lookups)):
            for name in table:
                problems.append(
                    f"Tệp có mục {kind} «{name}»: chỉ nhập được các mục intent (và synonym) của câu mẫu."
                )
        items = []
        for ex in data.examples:
            line = ex.line or 0
            codes = []
            for span in ex.entities:
                if span.entity != "procedure":
                    problems.append(
                        f"Dòng {line}: chỉ nhận chú thích thủ tục (procedure), không nhận «{span.entity}»."
                    )
                elif not CODE_RE.match(span.value):
                    problems.append(
                        f"Dòng {line}: chú thích thủ tục phải mang mã thủ tục làm giá trị "
                        f'(như [bằng lái]{{"entity": "procedure", "value": "1.002809"}}), không phải «{span.value}».'
                    )
                else:
                    codes.append(span.value)
            if len(set(codes)) > 1:
                problems.append(f"Dòng {line}: một câu mẫu chỉ gán được cho một thủ tục.")
            items.append((line, LearnedExample(ex.text, ex.intent, codes[0] if codes else None), bool(codes)))
        return self._checked(items, problems)

    def _checked(
        self, items: list[tuple[int, LearnedExample, bool]], problems: list[str]
    ) -> list[tuple[int, LearnedExample, bool]]:
        seen: dict[str, tuple[int, str]] = {}
        for line, ex, _ in items:
            here = self._check_example(line, ex.text, ex.intent, ex.procedure_code)
            k = text_key(ex.text)
            if ex.text and k in seen and seen[k][1] != ex.intent:
                here.append(f"câu này đã được gán ý định «{seen[k][1]}» ở dòng {seen[k][0]}")
            seen.setdefault(k, (line, ex.intent))
            if here:
                problems.append(f"Dòng {line}: " + "; ".join(here) + ".")
        if problems:
            raise ImportRefused(problems)
        if not items:
            raise ImportRefused(["Tệp không có câu mẫu nào."])
        # the same text twice with the same intent: keep the last (as the file would be read)
        return list({text_key(ex.text): (line, ex, a) for line, ex, a in items}.values())


# --- helpers ---------------------------------------------------------------------------------------------


def _not_found(message: str) -> LearningError:
    error = LearningError(message)
    error.status = 404
    return error


def _example(row: TrainingExampleRow) -> TrainingExample:
    return TrainingExample(
        id=row.id,
        text=row.text,
        intent=row.intent,
        procedure_code=row.procedure_code,
        entities=list(row.entities or []),
        source=row.source,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    if len(content) > MAX_FILE_BYTES:
        raise ImportRefused([f"Tệp lớn quá {MAX_FILE_BYTES // 1_000_000} MB."])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ImportRefused(
            [f"Dòng {line}: tệp không phải văn bản UTF-8 (hãy lưu lại tệp với bảng mã UTF-8)."]
        ) from None


def _list(value: Any, separator: str) -> list[str]:
    if value is None:
        return []
    parts = [str(v) for v in value] if isinstance(value, list | tuple) else re.split(separator, str(value))
    return [" ".join(p.split()) for p in parts if p.strip()]


def _yes_no(value: Any) -> bool | None:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold()
    if word in ("có", "co", "true", "1", "yes", "x", "bật"):
        return True
    if word in ("không", "khong", "false", "0", "no", "tắt"):
        return False
    return None


def _same(stored: Any, new: Any) -> bool:
    if isinstance(new, list):
        return list(stored or []) == new
    return bool(stored == new)


_YAML_PROBLEMS = (
    ("invalid YAML", "tệp không phải YAML hợp lệ"),
    ("each example must start with", "mỗi câu mẫu phải bắt đầu bằng «- »"),
    ("malformed entity annotation", "chú thích thực thể sai dạng (cần [chữ](procedure) hoặc [chữ]{...})"),
    ("entity annotation is not valid JSON", "chú thích thực thể không phải JSON hợp lệ"),
    ("unsupported training data version", "phiên bản dữ liệu không được hỗ trợ (cần 3.x)"),
    ("has no 'examples'", "mục thiếu «examples»"),
    ("has no examples", "mục không có câu mẫu nào"),
    ("empty example", "có câu mẫu trống"),
    ("unknown key", "có khóa lạ (chỉ dùng intent, synonym, regex, lookup, examples)"),
)


def _vietnamese(exc: TrainingDataError) -> str:
    """A Vietnamese message for a training data error (its line and the line's text kept)."""
    message = str(exc).split("\n", 1)[0]
    problem = next(
        (vi for en, vi in _YAML_PROBLEMS if en in message), "nội dung không đúng định dạng nlu.yml của Rasa"
    )
    where = f"Dòng {exc.line}: " if exc.line else ""
    shown = f" («{exc.context.strip()}»)" if exc.context.strip() else ""
    return f"{where}{problem}{shown}."


def inbox_counts(items: Iterable[InboxItem]) -> dict[str, int]:
    """How many groups per status (for the filter tabs)."""
    counts = Counter(i.status for i in items)
    return {s: counts.get(s, 0) for s in ("open", "assigned", "dismissed")}


__all__ = [
    "AssignResult",
    "ImportRefused",
    "ImportReport",
    "InboxItem",
    "InvalidAssignment",
    "LearningError",
    "LearningService",
    "ReviewItemRow",
    "TrainingExample",
    "TrainingExampleRow",
]
