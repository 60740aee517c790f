"""The message that flows through the NLU pipeline, and what components see while training.

A :class:`Message` starts as the user's text; the normalizer adds tokens and the aligned folded text,
the featurizers sparse rows, the classifier the intent, the extractors entities and the linker the
procedure. :meth:`Pipeline.result <nlu.pipeline.Pipeline.result>` turns it into the parse dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge.text import MAX_CHARS
from nlu.training_data import Example, TrainingData

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Token:
    """One normalized word and the span of the original text it came from.

    An abbreviation expands to several tokens that share the span of the typed abbreviation
    (``"gplx"`` -> giấy, phép, lái, xe, each covering characters 0-4).

    Attributes:
        text: the characters typed (a slice of the original text).
        start: offset of the span in the original text.
        end: offset just past the span.
        norm: the normalized word, diacritics kept (``"không"``).
        folded: the same word without diacritics (``"khong"``).
    """

    text: str
    start: int
    end: int
    norm: str
    folded: str


@dataclass
class SparseFeatures:
    """A sparse feature row: column indices, their values and the row length."""

    indices: np.ndarray
    values: np.ndarray
    size: int


@dataclass
class Message:
    """What one user text becomes as it passes through the pipeline.

    Attributes:
        text: the text as received, cut to :data:`knowledge.text.MAX_CHARS` characters.
        tokens: normalized words with their spans in ``text`` (set by the normalizer).
        normalized: the normalized words joined by spaces, diacritics kept.
        folded: the normalized words without diacritics.
        match_text: ``text`` lower-cased and folded, aligned to it character by character through
            ``match_offsets`` (for extractors that must report offsets into ``text``).
        match_offsets: ``match_offsets[i]`` is the offset in ``text`` of ``match_text[i]``; one extra
            entry holds ``len(text)``.
        features: featurizer name -> sparse row.
        intent: ``{"name", "confidence"}`` or None before classification.
        intent_ranking: intents with confidences, best first.
        entities: Rasa-shaped entity dicts with offsets into ``text``.
        procedure: ``{"code", "name", "score"}`` or None.
        procedure_ranking: procedure candidates, best first.
        example: the training example this message was built from (training only).
        diagnostics: free-form notes components leave for debugging (not part of the parse output).
    """

    text: str
    tokens: list[Token] = field(default_factory=list)
    normalized: str = ""
    folded: str = ""
    match_text: str = ""
    match_offsets: list[int] = field(default_factory=list)
    features: dict[str, SparseFeatures] = field(default_factory=dict)
    intent: dict[str, Any] | None = None
    intent_ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    procedure: dict[str, Any] | None = None
    procedure_ranking: list[dict[str, Any]] = field(default_factory=list)
    example: Example | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, text: Any) -> Message:
        """A message for any input: non-strings become ``""``, long text is cut at ``MAX_CHARS``."""
        if not isinstance(text, str):
            text = ""
        return cls(text=text[:MAX_CHARS])

    @classmethod
    def from_example(cls, example: Example) -> Message:
        """A training message carrying its example (the gold intent and entities)."""
        msg = cls.build(example.text)
        msg.example = example
        return msg

    def original_span(self, match_start: int, match_end: int) -> tuple[int, int]:
        """Offsets in ``text`` of the ``match_text`` slice ``[match_start, match_end)``."""
        if match_end <= match_start:
            return self.match_offsets[match_start], self.match_offsets[match_start]
        return self.match_offsets[match_start], self.match_offsets[match_end - 1] + 1

    def set_fallback(self, confidence: float) -> None:
        """Replace the intent by ``nlu_fallback`` with ``confidence``, keeping the ranking below it."""
        self.intent = {"name": FALLBACK_INTENT, "confidence": round(float(confidence), 4)}
        ranking = [r for r in self.intent_ranking if r["name"] != FALLBACK_INTENT]
        self.intent_ranking = [dict(self.intent), *ranking]


@dataclass
class TrainingSet:
    """What components see while training: the data and the messages processed so far."""

    data: TrainingData
    messages: list[Message]
