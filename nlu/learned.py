"""Examples editors taught the bot (console "Câu chưa trả lời được"), as NLU training data.

The learned examples live in the ``training_examples`` table (:mod:`console.learning`); the server
trains on ``data/nlu.yml`` merged with :func:`learned_training_data` of them (``nlu.models.train_model``'s
``extra``). An example assigned to a procedure is annotated as a ``procedure`` mention whose value is the
national code, on the words of the text that are the procedure's name or one of its aliases (compared
without diacritics, longest first), so the mention extractor learns that those words name that
procedure::

    - intent: ask_documents
      examples: |
        - làm [bằng lái]{"entity": "procedure", "value": "1.002809"} cần giấy tờ gì

When no name or alias occurs in the text, the example teaches only its intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from knowledge.text import fold
from nlu.training_data import EntitySpan, Example, TrainingData

PROCEDURE_ENTITY = "procedure"
SOURCE_METADATA = {"source": "learned"}


@dataclass(frozen=True)
class LearnedExample:
    """One example an editor assigned: the text, its intent and, optionally, the procedure it asks about.

    Attributes:
        text: the citizen's words (as logged, ID and phone numbers redacted).
        intent: the intent it is an example of.
        procedure_code: the national code of the procedure it names, when the editor chose one.
    """

    text: str
    intent: str
    procedure_code: str | None = None


def _fold_keeping_offsets(text: str) -> str:
    """Lower-cased, diacritics removed, one character for each character of ``text``."""
    out = []
    for ch in text.lower():
        folded = fold(ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def find_mention(text: str, phrases: Iterable[str]) -> tuple[int, int] | None:
    """Offsets of the longest of ``phrases`` found as whole words in ``text`` (diacritics and case
    ignored; the first occurrence), or None."""
    haystack = _fold_keeping_offsets(text)
    best: tuple[int, int] | None = None
    for phrase in phrases:
        needle = " ".join(_fold_keeping_offsets(phrase).split())
        if not needle:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in needle.split(" ")) + r"(?!\w)"
        match = re.search(pattern, haystack)
        if match and (best is None or match.end() - match.start() > best[1] - best[0]):
            best = (match.start(), match.end())
    return best


def to_example(example: LearnedExample, phrases: Sequence[str] = ()) -> Example:
    """The training :class:`~nlu.training_data.Example` of one learned example (see the module doc)."""
    text = " ".join(example.text.split())
    entities: tuple[EntitySpan, ...] = ()
    if example.procedure_code:
        span = find_mention(text, phrases)
        if span is not None:
            entities = (EntitySpan(span[0], span[1], PROCEDURE_ENTITY, example.procedure_code),)
    return Example(text, example.intent, entities, dict(SOURCE_METADATA))


def learned_training_data(
    examples: Iterable[LearnedExample], phrases_of: Callable[[str], Sequence[str]]
) -> TrainingData:
    """The learned examples as training data, ready to merge with ``data/nlu.yml``.

    Args:
        examples: the examples (normally read from the ``training_examples`` table).
        phrases_of: a procedure code -> its name and aliases (empty for an unknown code).
    """
    data = TrainingData()
    cache: dict[str, Sequence[str]] = {}
    for item in examples:
        code = item.procedure_code
        if code and code not in cache:
            cache[code] = tuple(phrases_of(code))
        ex = to_example(item, cache.get(code or "", ()))
        if not ex.text:
            continue
        for span in ex.entities:
            data.add_synonym(span.value, ex.text[span.start : span.end])
        data.examples.append(ex)
    return data
