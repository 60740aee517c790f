"""The first step of every pipeline: raw text to normalized tokens that remember their spans.

Abbreviations come from :func:`knowledge.text.load_abbreviations` and words are folded with
:func:`knowledge.text.fold_iy`, the same reader and the same folding as the search index's, so the NLU
and the search expand and compare words alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from knowledge.text import VocabularyFileError, fix_tone_marks, fold, fold_iy, load_abbreviations
from nlu.component import Component, ComponentSettings, ConfigError, register, resolve_path
from nlu.message import Message, Token, TrainingSet
from nlu.training_data import Example

_TOKEN_RE = re.compile(r"[^\W_]+(?:[.\-/][^\W_]+)*")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


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
    settings: NormalizerSettings

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
            try:
                table.update(load_abbreviations(path))
            except VocabularyFileError as exc:
                raise ConfigError(str(exc)) from None
        table.update({fold(k).lower(): v for k, v in self.settings.abbreviations.items()})
        self.abbreviations = table
        self._expansions: dict[str, list[tuple[str, str]]] = {}

    def _expand(self, key: str) -> list[tuple[str, str]] | None:
        cache: dict[str, list[tuple[str, str]] | None] = self.__dict__.setdefault("_expansions", {})
        if key in cache:
            return cache[key]
        expansion = self.abbreviations.get(key)
        result = None
        if expansion:
            norm = fix_tone_marks(unicodedata.normalize("NFC", expansion).lower())
            result = [(w, fold_iy(w)) for w in norm.split()]
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
                words = [(norm, fold_iy(norm))]
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
