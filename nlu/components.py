"""The NLU component interface, the message that flows through a pipeline, and the core components.

Every step of the pipeline listed in ``config.yml`` is a :class:`Component` with the same four
methods (principle 6, after Rasa's graph components):

* ``train(training, context)`` fits whatever the component learns from the training messages,
* ``process(message)`` adds the component's output to one :class:`Message`,
* ``persist() -> dict`` returns the learned state (plain picklable values),
* ``load(state)`` restores it.

A component's ``defaults`` are merged under the user's settings from ``config.yml`` and validated by
its pydantic ``Settings`` model, so an unknown setting or a threshold outside [0, 1] stops the load.

This module holds the message, the base class, the registry, and the components that do not need the
knowledge base: the normalizer, the featurizers, the intent classifier and the fallback classifier.
Entity extractors and the procedure linker are in :mod:`nlu.extractors`.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from knowledge.text import MAX_CHARS, fix_tone_marks, fold
from nlu.training_data import Example, TrainingData

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
_TOKEN_RE = re.compile(r"[^\W_]+(?:[.\-/][^\W_]+)*")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_I_Y_RE = re.compile(r"^([bcdhklmnpstv])y$")


class ConfigError(ValueError):
    """A pipeline configuration that cannot be used (unknown component, bad setting, missing file)."""


# ------------------------------------------------------------------------------------------- message


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


# ----------------------------------------------------------------------------------------- component


class ComponentSettings(BaseModel):
    """Base of every component's settings model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Component:
    """One step of the NLU pipeline (the interface every component implements).

    Attributes:
        name: the name used in ``config.yml``.
        defaults: default settings, merged under the user's.
        settings: the validated, merged settings.
    """

    name: ClassVar[str] = "Component"
    Settings: ClassVar[type[ComponentSettings]] = ComponentSettings
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        self.settings = self.validate_settings(settings or {})
        self.context: dict[str, Any] = dict(context or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.defaults = cls.Settings().model_dump()

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> ComponentSettings:
        """Merge ``settings`` over :attr:`defaults` and validate them.

        Raises:
            ConfigError: unknown keys or bad values, naming the component and the setting.
        """
        merged = {**cls.defaults, **{k: v for k, v in settings.items() if k != "name"}}
        try:
            return cls.Settings.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{cls.name}: {problems}") from None

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Learn from the training messages (processed by the earlier components). Default: nothing."""

    def process_training(self, messages: list[Message]) -> list[Message]:
        """Process the training messages after :meth:`train`; may add or drop messages."""
        for msg in messages:
            self.process(msg)
        return messages

    def process(self, message: Message) -> None:
        """Add this component's output to ``message``."""
        raise NotImplementedError

    def persist(self) -> dict[str, Any]:
        """The learned state as plain picklable values. Default: nothing learned."""
        return {}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore the state returned by :meth:`persist`."""


REGISTRY: dict[str, type[Component]] = {}


def register(cls: type[Component]) -> type[Component]:
    """Class decorator: make a component available to ``config.yml`` under its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


def component_class(name: str) -> type[Component]:
    """The registered component class called ``name``.

    Raises:
        ConfigError: no such component (the message lists the known ones).
    """
    if name not in REGISTRY:
        raise ConfigError(f"unknown NLU component {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def resolve_path(path: str | None, context: Mapping[str, Any]) -> Path | None:
    """A setting's path, relative to ``context["base_dir"]`` (the config file's folder) when relative."""
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute() and context.get("base_dir"):
        p = Path(context["base_dir"]) / p
    return p


# ---------------------------------------------------------------------------------------- normalizer


def load_abbreviations(path: Path) -> dict[str, str]:
    """Read ``abbreviations:`` (folded token -> expansion) from a YAML file.

    Raises:
        ConfigError: missing file or wrong shape.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read abbreviations file {path}: {exc}") from None
    table = raw.get("abbreviations", raw) if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a mapping 'abbreviations: {{token: expansion}}'")
    return {fold(str(k)).lower().strip(): str(v).strip() for k, v in table.items() if str(k).strip() and v}


def align_folded(text: str) -> tuple[str, list[int]]:
    """Lower-case, fold and blank control characters, keeping a map back to ``text`` offsets.

    Returns:
        ``(folded, offsets)`` where ``offsets[i]`` is the offset in ``text`` of ``folded[i]`` and
        ``offsets[len(folded)] == len(text)``.
    """
    quick = _CONTROL_RE.sub(" ", fold(text).lower())
    if len(quick) == len(text) and (text.isascii() or unicodedata.is_normalized("NFC", text)):
        return quick, [*range(len(text)), len(text)]
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.combining(ch):
            continue
        out = " " if _CONTROL_RE.match(ch) else fold(unicodedata.normalize("NFC", ch)).lower()
        for c in out:
            if not unicodedata.combining(c):
                chars.append(c)
                offsets.append(i)
    offsets.append(len(text))
    return "".join(chars), offsets


class NormalizerSettings(ComponentSettings):
    """Settings of :class:`VietnameseNormalizer`.

    Attributes:
        abbreviations_path: YAML file with ``abbreviations: {folded token: expansion}``; relative to
            the config file. None to use only ``abbreviations``.
        abbreviations: extra entries, applied over the file's.
        augment_without_diacritics: while training, add a copy without diacritics of every example
            that has them (citizens often type without).
    """

    abbreviations_path: str | None = "data/abbreviations.yml"
    abbreviations: dict[str, str] = Field(default_factory=dict)
    augment_without_diacritics: bool = True


@register
class VietnameseNormalizer(Component):
    """Turns raw text into normalized tokens: NFC, lower case, new-style tone marks, abbreviations.

    Sets ``tokens``, ``normalized``, ``folded``, ``match_text`` and ``match_offsets`` on the message.
    Every token remembers the span of the original text it came from, so later extractors report
    offsets into what the citizen typed even when an abbreviation expanded into several words.
    """

    name = "VietnameseNormalizer"
    Settings = NormalizerSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.abbreviations: dict[str, str] = {}

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Read the abbreviation table (it is stored in the model, so parsing is reproducible)."""
        table: dict[str, str] = {}
        path = resolve_path(self.settings.abbreviations_path, context)
        if path is not None:
            if not path.exists():
                raise ConfigError(f"{self.name}: abbreviations file not found: {path}")
            table.update(load_abbreviations(path))
        table.update({fold(k).lower(): v for k, v in self.settings.abbreviations.items()})
        self.abbreviations = table
        self._expansions: dict[str, list[tuple[str, str]]] = {}

    def _expand(self, key: str) -> list[tuple[str, str]] | None:
        cache = self.__dict__.setdefault("_expansions", {})
        if key in cache:
            return cache[key]
        expansion = self.abbreviations.get(key)
        result = None
        if expansion:
            norm = fix_tone_marks(unicodedata.normalize("NFC", expansion).lower())
            result = [(w, _fold_word(w)) for w in norm.split()]
        cache[key] = result
        return result

    def process(self, message: Message) -> None:
        """Normalize ``message.text`` into tokens, normalized text and folded text."""
        text = message.text
        match_text, offsets = align_folded(text)
        message.match_text, message.match_offsets = match_text, offsets
        tokens: list[Token] = []
        for m in _TOKEN_RE.finditer(match_text):
            start, end = message.original_span(m.start(), m.end())
            typed = text[start:end]
            folded_key = m.group()
            words = self._expand(typed.lower()) or self._expand(folded_key)
            if words is None:
                norm = fix_tone_marks(unicodedata.normalize("NFC", typed).lower())
                words = [(norm, _fold_word(norm))]
            tokens.extend(Token(typed, start, end, n, f) for n, f in words)
        message.tokens = tokens
        message.normalized = " ".join(t.norm for t in tokens)
        message.folded = " ".join(t.folded for t in tokens)

    def process_training(self, messages: list[Message]) -> list[Message]:
        """Normalize, then add diacritic-free copies when ``augment_without_diacritics`` is set."""
        out = []
        for msg in messages:
            self.process(msg)
            out.append(msg)
            if self.settings.augment_without_diacritics and msg.example is not None:
                plain = fold(msg.text)
                if plain != msg.text and len(plain) == len(msg.text):
                    ex = msg.example
                    copy = Message.from_example(Example(plain, ex.intent, ex.entities, ex.metadata, ex.line))
                    copy.diagnostics["augmented"] = True
                    self.process(copy)
                    out.append(copy)
        return out

    def persist(self) -> dict[str, Any]:
        """The abbreviation table."""
        return {"abbreviations": dict(self.abbreviations)}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore the abbreviation table."""
        self.abbreviations = dict(state.get("abbreviations", {}))
        self._expansions = {}


def _fold_word(word: str) -> str:
    folded = fold(word)
    return _I_Y_RE.sub(r"\1i", folded) if len(folded) == 2 else folded


# --------------------------------------------------------------------------------------- featurizers


class _SparseFeaturizer(Component):
    """Shared TF-IDF machinery: subclasses say which strings (n-grams) a message yields."""

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
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
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

    def analyze(self, message: Message) -> list[str]:
        """Word n-grams, prefixed ``f:`` (folded) or ``n:`` (normalized)."""
        out: list[str] = []
        lo, hi = self.settings.ngram_range
        words = self.words(message)
        views = []
        if self.settings.use_folded:
            views.append(("f:", [w[1] for w in words]))
        if self.settings.use_normalized:
            views.append(("n:", [w[0] for w in words]))
        for prefix, words in views:
            for n in range(lo, hi + 1):
                out.extend(prefix + " ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return out


# ----------------------------------------------------------------------------------------- classifier


class IntentClassifierSettings(ComponentSettings):
    """Settings of :class:`IntentClassifier`.

    Attributes:
        features: featurizer names to use, in order; null for every featurizer before it.
        C: inverse regularization strength of the logistic regression.
        class_weight: ``balanced`` to weigh rare intents up, or null.
        max_iter: optimizer iterations.
        ranking_length: how many intents ``intent_ranking`` lists.
    """

    features: list[str] | None = None
    C: float = Field(10.0, gt=0)
    class_weight: str | None = "balanced"
    max_iter: int = Field(300, ge=10)
    ranking_length: int = Field(10, ge=1)


@register
class IntentClassifier(Component):
    """Multinomial logistic regression on the sparse features; softmax confidences.

    Training uses scikit-learn; at parse time the learned weights are applied directly with numpy
    (a parse touches only the weight rows of the features present, well under a millisecond).
    """

    name = "IntentClassifier"
    Settings = IntentClassifierSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.intents: list[str] = []
        self.feature_names: list[str] = []
        self.sizes: list[int] = []
        self.weights = np.zeros((0, 0), dtype=np.float32)  # (features, intents)
        self.bias = np.zeros(0, dtype=np.float32)

    def _stack(self, message: Message) -> tuple[np.ndarray, np.ndarray]:
        idx_parts, val_parts = [], []
        offset = 0
        for name, size in zip(self.feature_names, self.sizes, strict=True):
            feats = message.features.get(name)
            if feats is not None and feats.indices.size:
                idx_parts.append(feats.indices + offset)
                val_parts.append(feats.values)
            offset += size
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Fit the logistic regression on the training messages' features and gold intents."""
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        messages = [m for m in training.messages if m.example is not None]
        if not messages:
            raise ConfigError(f"{self.name}: no training examples")
        first = messages[0].features
        self.feature_names = list(self.settings.features or first)
        missing = [n for n in self.feature_names if n not in first]
        if missing:
            raise ConfigError(f"{self.name}: features {missing} are not produced by an earlier component")
        self.sizes = [first[n].size for n in self.feature_names]
        labels = [m.example.intent for m in messages]  # type: ignore[union-attr]
        self.intents = sorted(set(labels))
        n_features = sum(self.sizes)
        if len(self.intents) == 1:
            self.weights = np.zeros((n_features, 1), dtype=np.float32)
            self.bias = np.zeros(1, dtype=np.float32)
            return
        rows, cols, vals = [], [], []
        for i, msg in enumerate(messages):
            idx, val = self._stack(msg)
            rows.append(np.full(idx.size, i, dtype=np.int64))
            cols.append(idx)
            vals.append(val)
        x = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(messages), n_features),
        )
        y = np.array([self.intents.index(label) for label in labels])
        model = LogisticRegression(
            C=self.settings.C, class_weight=self.settings.class_weight, max_iter=self.settings.max_iter
        )
        model.fit(x, y)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([0, w.x + b])
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        self.weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.bias = intercept.astype(np.float32)

    def process(self, message: Message) -> None:
        """Set ``intent`` and ``intent_ranking`` (top ``ranking_length``)."""
        if not self.intents:
            return
        idx, val = self._stack(message)
        scores = self.bias.astype(np.float64)
        if idx.size:
            scores = scores + val @ self.weights[idx]
        scores = scores - scores.max()
        probs = np.exp(scores)
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")[: self.settings.ranking_length]
        message.intent_ranking = [
            {"name": self.intents[i], "confidence": round(float(probs[i]), 4)} for i in order
        ]
        message.intent = dict(message.intent_ranking[0])

    def persist(self) -> dict[str, Any]:
        """Intent names, feature layout and weights."""
        return {
            "intents": list(self.intents),
            "feature_names": list(self.feature_names),
            "sizes": list(self.sizes),
            "weights": self.weights,
            "bias": self.bias,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore intents, feature layout and weights."""
        self.intents = list(state["intents"])
        self.feature_names = list(state["feature_names"])
        self.sizes = list(state["sizes"])
        self.weights = np.asarray(state["weights"], dtype=np.float32)
        self.bias = np.asarray(state["bias"], dtype=np.float32)


# ------------------------------------------------------------------------------------------- fallback


class FallbackSettings(ComponentSettings):
    """Settings of :class:`FallbackClassifier`.

    Attributes:
        threshold: below this top-intent confidence the intent becomes ``nlu_fallback``.
        ambiguity_threshold: when the top two intents are closer than this, ``nlu_fallback`` too.
        procedure_threshold: a linked procedure scoring below this is dropped (``procedure: null``),
            its candidates stay in ``procedure_ranking`` for "did you mean …?".
        procedure_ambiguity_threshold: when the top two procedures are closer than this, the
            procedure is dropped as well (0 disables).
        fallback_intent_threshold: the confidence reported for ``nlu_fallback``; null reports
            ``threshold`` as Rasa does.
    """

    threshold: float = Field(0.5, ge=0.0, le=1.0)
    ambiguity_threshold: float = Field(0.1, ge=0.0, le=1.0)
    procedure_threshold: float = Field(0.5, ge=0.0, le=1.0)
    procedure_ambiguity_threshold: float = Field(0.0, ge=0.0, le=1.0)
    fallback_intent_threshold: float | None = Field(None, ge=0.0, le=1.0)


@register
class FallbackClassifier(Component):
    """Turns low or ambiguous confidence into explicit uncertainty (principle 7).

    Two bands on the intent, as Rasa's FallbackClassifier: top confidence below ``threshold``, or a
    margin to the runner-up below ``ambiguity_threshold`` -> ``nlu_fallback`` (the original ranking
    stays below it, so the dialogue can ask "did you mean …?"). And one band on the procedure: a weak
    best match yields ``procedure: null`` rather than a confident wrong procedure; the candidates stay
    in ``procedure_ranking``. Which band fired is left in ``diagnostics["fallback"]``.
    """

    name = "FallbackClassifier"
    Settings = FallbackSettings

    def process(self, message: Message) -> None:
        """Apply the intent and procedure bands."""
        s = self.settings
        reasons = []
        ranking = message.intent_ranking
        if message.intent is None:
            reasons.append("no_intent")
        elif message.intent["confidence"] < s.threshold:
            reasons.append("low_confidence")
        elif len(ranking) > 1 and ranking[0]["confidence"] - ranking[1]["confidence"] < s.ambiguity_threshold:
            reasons.append("ambiguous_intent")
        if reasons:
            message.set_fallback(
                s.threshold if s.fallback_intent_threshold is None else s.fallback_intent_threshold
            )
        if message.procedure is not None:
            procs = message.procedure_ranking
            if message.procedure["score"] < s.procedure_threshold:
                reasons.append("weak_procedure")
                message.procedure = None
            elif (
                s.procedure_ambiguity_threshold > 0
                and len(procs) > 1
                and procs[0]["score"] - procs[1]["score"] < s.procedure_ambiguity_threshold
            ):
                reasons.append("ambiguous_procedure")
                message.procedure = None
        if reasons:
            message.diagnostics["fallback"] = reasons


def make_component(spec: Mapping[str, Any], context: Mapping[str, Any]) -> Component:
    """Instantiate the component a ``config.yml`` pipeline entry describes."""
    cls = component_class(str(spec.get("name")))
    return cls(spec, context)
