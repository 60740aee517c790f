"""Frequently asked questions: the shipped file, and matching a citizen's message to an entry.

Entries live in the knowledge repository (``save_faq`` / ``list_faqs``); ``data/faq.yml`` is the
shipped set, imported once into an empty repository by :func:`seed_faqs`. :class:`FaqMatcher` is built
from the enabled entries and compares a message with every question of every entry, both folded the
way the search index folds text (:func:`knowledge.text.fold_normalized`: no diacritics, abbreviations
expanded), with rapidfuzz's ``token_set_ratio``.

``token_set_ratio`` gives 100 whenever one side's words are all in the other ("làm việc" against "giờ
làm việc của bộ phận một cửa"), so the score is scaled down when the message carries less than
:data:`MIN_COVERAGE` of the question's words: a word or two in common is not the same question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from knowledge.domain import FaqEntry
from knowledge.ports import KnowledgeRepository
from knowledge.seed import PROJECT_ROOT
from knowledge.text import fold_normalized

FAQ_PATH = PROJECT_ROOT / "data" / "faq.yml"
"""The shipped FAQ entries."""

MIN_COVERAGE = 0.6
"""Share of a question's words a message must carry for its similarity to count in full."""

_FILLER = frozenset(
    {"a", "ah", "ad", "nhe", "nha", "oi", "cho", "toi", "minh", "em", "hoi", "giup", "voi", "vay"}
)
"""Folded words that say nothing about the question (politeness, "cho tôi hỏi")."""


def _words(text: str, abbreviations: Mapping[str, str] | None) -> tuple[str, frozenset[str]]:
    folded = fold_normalized(text, abbreviations)
    words = [w for w in folded.split() if w not in _FILLER]
    return " ".join(words), frozenset(words)


@dataclass(frozen=True)
class _Question:
    entry: FaqEntry
    text: str
    words: frozenset[str]


class FaqMatcher:
    """Finds the FAQ entry a message asks, with a similarity score in [0, 1].

    Args:
        entries: the entries to match; disabled ones are left out.
        abbreviations: the abbreviation map of the NLU (``data/abbreviations.yml``), so "dvc" and
            "dịch vụ công" compare equal.
    """

    def __init__(
        self, entries: Iterable[FaqEntry] = (), abbreviations: Mapping[str, str] | None = None
    ) -> None:
        self._abbreviations = dict(abbreviations or {})
        self._questions: tuple[_Question, ...] = ()
        self.reload(entries)

    def reload(self, entries: Iterable[FaqEntry]) -> None:
        """Replace the entries (after an editor changed them); disabled entries are dropped."""
        questions = []
        for entry in entries:
            if not entry.enabled:
                continue
            for question in entry.questions:
                text, words = _words(question, self._abbreviations)
                if words:
                    questions.append(_Question(entry, text, words))
        self._questions = tuple(questions)

    def __len__(self) -> int:
        """Number of questions matched against (all entries together)."""
        return len(self._questions)

    def score(self, text: str, question: str) -> float:
        """Similarity of a message to one question, in [0, 1] (see the module docstring)."""
        message, said = _words(text, self._abbreviations)
        asked_text, asked = _words(question, self._abbreviations)
        return self._score(message, said, asked_text, asked)

    @staticmethod
    def _score(message: str, said: frozenset[str], question: str, asked: frozenset[str]) -> float:
        if not said or not asked:
            return 0.0
        similarity = fuzz.token_set_ratio(message, question) / 100.0
        coverage = len(said & asked) / len(asked)
        return similarity * min(1.0, coverage / MIN_COVERAGE)

    def match(self, text: str, threshold: float = 0.0) -> tuple[FaqEntry, float] | None:
        """The best entry for ``text`` and its score, or None when none reaches ``threshold``.

        Ties keep the entry listed first.
        """
        message, said = _words(text, self._abbreviations)
        best: tuple[FaqEntry, float] | None = None
        for q in self._questions:
            value = self._score(message, said, q.text, q.words)
            if value >= threshold and (best is None or value > best[1]):
                best = (q.entry, value)
        return best


def load_faq_file(path: Path = FAQ_PATH) -> list[FaqEntry]:
    """The entries of a FAQ file (``faq:`` list of ``questions``, ``answer``, optional
    ``procedure_codes``, ``tags``, ``enabled``); ids are None until saved.

    Raises:
        ValueError: an entry without a question or an answer.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for number, item in enumerate(data.get("faq") or (), 1):
        questions = tuple(str(q).strip() for q in item.get("questions") or () if str(q).strip())
        answer = str(item.get("answer") or "").strip()
        if not questions or not answer:
            raise ValueError(f"{path.name}: entry {number} needs at least one question and an answer")
        entries.append(
            FaqEntry(
                id=None,
                questions=questions,
                answer=answer,
                procedure_codes=tuple(str(c) for c in item.get("procedure_codes") or ()),
                tags=tuple(str(t) for t in item.get("tags") or ()),
                enabled=bool(item.get("enabled", True)),
            )
        )
    return entries


def seed_faqs(repository: KnowledgeRepository, path: Path = FAQ_PATH) -> int:
    """Import the FAQ file into a repository that has no FAQ entry yet; returns how many were saved.

    A repository with entries (even disabled ones, an editor's choice) is left as it is.
    """
    if repository.list_faqs(enabled_only=False):
        return 0
    entries = load_faq_file(path)
    for entry in entries:
        repository.save_faq(entry)
    return len(entries)
