"""The training examples editors taught the bot (``training_examples``), which the NLU trains on with
``data/nlu.yml`` (:mod:`nlu.learned`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.timeutil import as_utc
from console.learning.tables import TrainingExampleRow, key_of
from knowledge.importers.parsing import CODE_RE
from knowledge.ports import KnowledgeRepository
from nlu.learned import LearnedExample, learned_training_data, to_example
from nlu.training_data import TrainingData

MAX_EXAMPLE_CHARS = 500
"""Longest text kept as a training example or an FAQ question."""
SOURCE_LABELS = {"learned": "Học từ hộp thư", "import": "Nhập từ tệp"}


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


def code_problem(knowledge: KnowledgeRepository, code: str) -> str | None:
    """What is wrong with a procedure code an editor gave (its form, or no such procedure), or None."""
    if not CODE_RE.match(code):
        return f"Mã thủ tục «{code}» không đúng dạng (cần như 1.001193)."
    if knowledge.get(code) is None:
        return f"Chưa có thủ tục mang mã {code} trong cơ sở dữ liệu."
    return None


class TrainingExamples:
    """The stored training examples, one per text (whatever its spelling).

    Args:
        sessions: the database.
        knowledge: the knowledge repository (a procedure's name and aliases mark it in an example).
        clock: the current UTC time (when an example is first stored).
    """

    def __init__(
        self, sessions: sessionmaker[Session], knowledge: KnowledgeRepository, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self.knowledge = knowledge
        self.clock = clock

    def all(self) -> list[TrainingExample]:
        """Every stored example, oldest first."""
        with self._sessions() as session:
            return [
                example_of(r)
                for r in session.scalars(select(TrainingExampleRow).order_by(TrainingExampleRow.id))
            ]

    def learned(self) -> list[LearnedExample]:
        """The stored examples as :class:`nlu.learned.LearnedExample`."""
        return [LearnedExample(e.text, e.intent, e.procedure_code) for e in self.all()]

    def phrases_of(self, code: str) -> list[str]:
        """A procedure's name and aliases (what a citizen may call it); empty for an unknown code."""
        proc = self.knowledge.get(code)
        return [proc.name, *proc.aliases] if proc is not None else []

    def training_data(self) -> TrainingData:
        """The learned examples as NLU training data (merged with data/nlu.yml when the server trains)."""
        return learned_training_data(self.learned(), self.phrases_of)

    def put(
        self, session: Session, text: str, intent: str, code: str | None, source: str, by: str
    ) -> TrainingExampleRow:
        """Create or update the example of ``text`` in ``session`` (the caller's transaction)."""
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


def example_of(row: TrainingExampleRow) -> TrainingExample:
    """The record of a stored example."""
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
