"""The learning service the editors' pages and API use: the inbox and its decisions, the learned
examples, and import and export (see :mod:`console.learning`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.timeutil import utcnow
from console.analytics.report import FALLBACK_INTENT, text_key
from console.auth.users import User
from console.learning.errors import InboxItemNotFound, InvalidAssignment, LearningRefused
from console.learning.examples import (
    MAX_EXAMPLE_CHARS,
    TrainingExample,
    TrainingExamples,
    code_problem,
    example_of,
)
from console.learning.inbox import Inbox, InboxItem, Status
from console.learning.tables import ReviewItemRow, key_of
from console.learning.transfer import DataTransfer, TransferReport
from knowledge.domain import FaqEntry
from knowledge.ports import KnowledgeRepository
from nlu.learned import LearnedExample
from nlu.training_data import TrainingData

OVERVIEW_INTENT = "ask_procedure_overview"
"""The intent of a message assigned to a procedure only."""


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


class LearningService:
    """The inbox, assignments, learned examples, and FAQ / example import and export (see
    :mod:`console.learning`).

    Args:
        sessions: the database.
        knowledge: the knowledge repository (procedure codes are checked against it; FAQ entries saved).
        intents: the intents an editor may assign (those of data/nlu.yml; ``nlu_fallback`` is refused).
        low_confidence: below this confidence an understood message counts as unanswered.
        negative_rating_at_most: a rating of the bot at or below this marks the answer before it as
            badly answered (``escalation.negative_rating_at_most`` of config.yml, the same threshold
            that opens a ``negative_rating`` ticket).
        went_live: called after a change the bot must pick up (the live reload of bot/engine/live.py); None: none.
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
        self._inbox = Inbox(
            sessions, low_confidence=low_confidence, negative_rating_at_most=negative_rating_at_most
        )
        self._examples = TrainingExamples(sessions, knowledge, clock)
        self._transfer = DataTransfer(sessions, knowledge, self._examples, self.intents)

    # --- inbox -------------------------------------------------------------------------------------

    def inbox(self, status: Status = "open", limit: int = 200) -> list[InboxItem]:
        """Groups of unanswered and negatively rated messages, most frequent first (then latest).

        ``status``: ``open`` (not decided yet), ``assigned``, ``dismissed`` or ``all``.

        Raises:
            LearningRefused: an unknown ``status``.
        """
        return self._inbox.items(status, limit)

    def item(self, key: str) -> InboxItem:
        """One group, whatever its status.

        Raises:
            InboxItemNotFound: no such group.
        """
        for found in self.inbox("all", limit=100_000):
            if found.key == key:
                return found
        raise InboxItemNotFound("Không tìm thấy câu này trong hộp thư (có thể đã bị xóa khỏi nhật ký).")

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
            problem = code_problem(self.knowledge, procedure_code)
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
                row = self._examples.put(session, text, intent, procedure_code, "learned", name)
                session.flush()
                example = example_of(row)
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
        """Take a group out of the inbox without teaching anything; returns its key.

        Raises:
            InvalidAssignment: an empty text.
            LearningRefused: the group is already assigned.
        """
        text = " ".join((text or "").split())
        if not text:
            raise InvalidAssignment({"text": "Câu cần bỏ qua đang trống."})
        key = key_of(text)
        with self._sessions.begin() as session:
            review = session.scalars(select(ReviewItemRow).where(ReviewItemRow.text_key == key)).first()
            if review is not None and review.status == "assigned":
                raise LearningRefused("Câu này đã được gán; không bỏ qua được nữa.")
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
            LearningRefused: the group is not dismissed.
        """
        with self._sessions.begin() as session:
            review = session.scalars(select(ReviewItemRow).where(ReviewItemRow.text_key == key)).first()
            if review is None or review.status != "dismissed":
                raise LearningRefused("Chỉ đưa lại vào hộp thư được những câu đã bỏ qua.")
            session.delete(review)

    def _live(self) -> None:
        if self.went_live is not None:
            self.went_live()

    # --- examples ----------------------------------------------------------------------------------

    def examples(self) -> list[TrainingExample]:
        """Every stored example, oldest first."""
        return self._examples.all()

    def learned(self) -> list[LearnedExample]:
        """The stored examples as :class:`nlu.learned.LearnedExample`."""
        return self._examples.learned()

    def phrases_of(self, code: str) -> list[str]:
        """A procedure's name and aliases (what a citizen may call it); empty for an unknown code."""
        return self._examples.phrases_of(code)

    def training_data(self) -> TrainingData:
        """The learned examples as NLU training data (merged with data/nlu.yml when the server trains)."""
        return self._examples.training_data()

    # --- export and import --------------------------------------------------------------------------

    def export_training_yaml(self) -> str:
        """The stored examples as a Rasa 3 ``nlu.yml``."""
        return self._transfer.export_training_yaml()

    def export_training_csv(self) -> str:
        """The stored examples as CSV: ``text, intent, procedure_code``."""
        return self._transfer.export_training_csv()

    def export_faq_csv(self) -> str:
        """Every FAQ entry as CSV: ``id, questions, answer, procedure_codes, tags, enabled``."""
        return self._transfer.export_faq_csv()

    def export_faq_yaml(self) -> str:
        """Every FAQ entry in the ``faq:`` format of data/faq.yml, with its id."""
        return self._transfer.export_faq_yaml()

    def import_faqs(self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User) -> TransferReport:
        """Create or update FAQ entries from a CSV or YAML file (see :mod:`console.learning`); goes live.

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        report = self._transfer.import_faqs(content, fmt, user)
        if report.changed:
            self._live()
        return report

    def import_training(
        self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User
    ) -> TransferReport:
        """Create or update training examples from a Rasa ``nlu.yml`` or a CSV file; goes live.

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        report = self._transfer.import_training(content, fmt, user)
        if report.changed:
            self._live()
        return report
