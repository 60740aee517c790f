"""Sparse TF-IDF featurizers: character n-grams and word n-grams of the normalized message.

TF-IDF is computed by hand (smooth idf, sublinear tf, L2 norm, as scikit-learn's ``TfidfVectorizer``)
because a per-message sklearn transform costs more than the parse budget (see
:class:`nlu.classifier.IntentClassifier`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from nlu.component import Component, ComponentSettings, register
from nlu.message import Message, SparseFeatures, TrainingSet


class _SparseFeaturizer(Component):
    """Shared TF-IDF machinery: subclasses say which strings (n-grams) a message yields."""

    settings: CharNgramSettings | WordNgramSettings

    def analyze(self, message: Message) -> list[str]:
        raise NotImplementedError

    def words(self, message: Message) -> list[tuple[str, str]]:
        """(normalized, folded) words; words inside a masked entity become one ``__entity__`` word.

        Masking procedure names makes the intent depend on the question ("cần giấy tờ gì"), not on
        which procedure the training examples happened to name.
        """
        masked = self.settings.mask_entities
        spans = [(e["start"], e["end"], e["entity"]) for e in message.entities if e["entity"] in masked]
        if not spans:
            return [(t.norm, t.folded) for t in message.tokens]
        out: list[tuple[str, str]] = []
        last = None
        for t in message.tokens:
            span = next((sp for sp in spans if sp[0] <= t.start and t.end <= sp[1]), None)
            if span is None:
                out.append((t.norm, t.folded))
            elif span is not last:
                out.append((f"__{span[2]}__", f"__{span[2]}__"))
            last = span
        return out

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Build the vocabulary and IDF weights from the training messages."""
        df: dict[str, int] = {}
        for msg in training.messages:
            for gram in set(self.analyze(msg)):
                df[gram] = df.get(gram, 0) + 1
        kept = [g for g, n in df.items() if n >= self.settings.min_df]
        if self.settings.max_features and len(kept) > self.settings.max_features:
            kept = sorted(kept, key=lambda g: (-df[g], g))[: self.settings.max_features]
        kept.sort()
        self.vocabulary = {g: i for i, g in enumerate(kept)}
        n_docs = len(training.messages)
        self.idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in kept], dtype=np.float32)

    def process(self, message: Message) -> None:
        """Add the message's L2-normalized TF-IDF row under this component's name."""
        counts: dict[int, int] = {}
        vocab = self.vocabulary
        for gram in self.analyze(message):
            col = vocab.get(gram)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        if counts:
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf: npt.NDArray[np.floating[Any]] = np.fromiter(
                counts.values(), dtype=np.float32, count=len(counts)
            )
            if self.settings.sublinear_tf:
                tf = 1.0 + np.log(tf)
            vals = tf * self.idf[idx]
            vals /= max(float(np.sqrt(np.dot(vals, vals))), 1e-12)
        else:
            idx = np.zeros(0, dtype=np.int64)
            vals = np.zeros(0, dtype=np.float32)
        message.features[self.name] = SparseFeatures(idx, vals, len(vocab))

    def persist(self) -> dict[str, Any]:
        """Vocabulary and IDF weights."""
        return {"vocabulary": dict(self.vocabulary), "idf": self.idf}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore vocabulary and IDF weights."""
        self.vocabulary = dict(state["vocabulary"])
        self.idf = np.asarray(state["idf"], dtype=np.float32)


def _range(value: list[int] | tuple[int, int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    lo, hi = value
    if not 1 <= lo <= hi <= 10:
        raise ValueError("an n-gram range must be [min, max] with 1 <= min <= max <= 10")
    return (int(lo), int(hi))


class CharNgramSettings(ComponentSettings):
    """Settings of :class:`CharNgramFeaturizer`.

    Attributes:
        normalized_range: [min, max] n-gram lengths on the normalized text (diacritics kept); null
            to skip it.
        folded_range: [min, max] n-gram lengths on the folded text; null to skip it.
        min_df: drop n-grams seen in fewer training messages.
        max_features: keep at most this many n-grams (the most frequent); null for all.
        sublinear_tf: use 1 + log(tf).
        mask_entities: entity types (found by extractors placed before this featurizer) whose words
            are replaced by one ``__type__`` word.
    """

    mask_entities: list[str] = Field(default_factory=list)
    normalized_range: tuple[int, int] | None = (2, 4)
    folded_range: tuple[int, int] | None = (2, 5)
    min_df: int = Field(1, ge=1)
    max_features: int | None = Field(None, ge=1)
    sublinear_tf: bool = True

    @model_validator(mode="after")
    def _check(self) -> CharNgramSettings:
        self.normalized_range = _range(self.normalized_range)
        self.folded_range = _range(self.folded_range)
        if self.normalized_range is None and self.folded_range is None:
            raise ValueError("at least one of normalized_range and folded_range is needed")
        return self


def _char_grams(words: Iterable[str], lo: int, hi: int, prefix: str, out: list[str]) -> None:
    for word in words:
        padded = f" {word} "
        length = len(padded)
        for n in range(lo, hi + 1):
            if length < n:
                if n == lo:
                    out.append(prefix + padded)
                break
            out.extend(prefix + padded[i : i + n] for i in range(length - n + 1))


@register
class CharNgramFeaturizer(_SparseFeaturizer):
    """Character n-grams within word boundaries, on the normalized and on the folded text.

    Character n-grams make the classifier robust to typos ("xay dug"), split or glued words and
    missing diacritics; the folded view makes "giấy phép" and "giay phep" share features.
    """

    name = "CharNgramFeaturizer"
    Settings = CharNgramSettings
    settings: CharNgramSettings

    def analyze(self, message: Message) -> list[str]:
        """The n-grams of the message, prefixed ``n:`` (normalized) or ``f:`` (folded)."""
        out: list[str] = []
        s = self.settings
        words = self.words(message)
        if s.normalized_range:
            _char_grams((w[0] for w in words), *s.normalized_range, "n:", out)
        if s.folded_range:
            _char_grams((w[1] for w in words), *s.folded_range, "f:", out)
        return out


class WordNgramSettings(ComponentSettings):
    """Settings of :class:`WordNgramFeaturizer`.

    Attributes:
        ngram_range: [min, max] word n-gram lengths.
        use_folded: n-grams of folded words.
        use_normalized: n-grams of normalized words (diacritics kept).
        min_df: drop n-grams seen in fewer training messages.
        max_features: keep at most this many; null for all.
        sublinear_tf: use 1 + log(tf).
        mask_entities: entity types whose words are replaced by one ``__type__`` word.
    """

    mask_entities: list[str] = Field(default_factory=list)
    ngram_range: tuple[int, int] = (1, 2)
    use_folded: bool = True
    use_normalized: bool = False
    min_df: int = Field(1, ge=1)
    max_features: int | None = Field(None, ge=1)
    sublinear_tf: bool = True

    @model_validator(mode="after")
    def _check(self) -> WordNgramSettings:
        self.ngram_range = _range(self.ngram_range)  # type: ignore[assignment]
        if not (self.use_folded or self.use_normalized):
            raise ValueError("one of use_folded / use_normalized must be true")
        return self


@register
class WordNgramFeaturizer(_SparseFeaturizer):
    """Word (syllable) n-grams: Vietnamese words are one to three syllables, so bigrams matter."""

    name = "WordNgramFeaturizer"
    Settings = WordNgramSettings
    settings: WordNgramSettings

    def analyze(self, message: Message) -> list[str]:
        """Word n-grams, prefixed ``f:`` (folded) or ``n:`` (normalized)."""
        out: list[str] = []
        lo, hi = self.settings.ngram_range
        words = self.words(message)
        views: list[tuple[str, list[str]]] = []
        if self.settings.use_folded:
            views.append(("f:", [w[1] for w in words]))
        if self.settings.use_normalized:
            views.append(("n:", [w[0] for w in words]))
        for prefix, view in views:
            for n in range(lo, hi + 1):
                out.extend(prefix + " ".join(view[i : i + n]) for i in range(len(view) - n + 1))
        return out
