"""Procedure mentions: the words citizens use for procedures, tagged as ``procedure`` entities."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import Field

from knowledge.text import (
    VocabularyFileError,
    fix_tone_marks,
    fold_iy,
    has_diacritics,
    load_alias_contexts,
    load_aliases,
)
from nlu.component import Component, ComponentSettings, ConfigError, register, resolve_path
from nlu.message import Message, TrainingSet

PROCEDURE_CODE_RE = re.compile(r"^\d\.\d{6}$")
"""A national procedure code (``1.013225``): a mention's value or code that links to one procedure."""

Preprocess = Callable[[str], Message]

OUT_OF_CONTEXT = "aliases_out_of_context"
"""``diagnostics`` key: the aliases (folded) found next to a word of their ``not_with`` list, which named
nothing; the linker drops the search hits they gave."""


def _context_words(phrase: str) -> tuple[str, str]:
    """A ``not_with`` phrase as the normalizer's words: (with diacritics, folded)."""
    norm = " ".join(fix_tone_marks(phrase.lower()).split())
    return norm, " ".join(fold_iy(w) for w in norm.split())


class MentionSettings(ComponentSettings):
    """Settings of :class:`ProcedureMentionExtractor`.

    Attributes:
        entity: the entity name it produces.
        aliases_path: ``data/aliases.yml``-style file (code -> aliases); null to skip.
        lookup_tables: names of ``lookup:`` tables that list procedure words.
        use_annotations: learn the annotated spans of ``entity`` in the examples.
        use_synonyms: learn the ``synonym:`` variants of annotated values.
        max_words: longest phrase (in normalized words) looked for.
    """

    entity: str = "procedure"
    aliases_path: str | None = "data/aliases.yml"
    lookup_tables: list[str] = Field(default_factory=lambda: ["procedure"])
    use_annotations: bool = True
    use_synonyms: bool = True
    max_words: int = Field(10, ge=1, le=30)


@register
class ProcedureMentionExtractor(Component):
    """Finds the words citizens use for procedures and tags them as ``procedure`` entities.

    Phrases are matched on folded, abbreviation-expanded words (the normalizer's tokens), longest first,
    so "gplx", "giay phep lai xe" and "giấy phép lái xe" are the same mention. The entity's value is
    the canonical name (from the annotations and synonyms) and, when ``aliases_path`` links the phrase to
    procedures, ``codes`` lists their national codes (several when the phrase is shared on purpose).

    An alias the file's ``contexts:`` section restricts ("nhập khẩu", not beside "hàng hoá", "hải quan"
    …) is no mention next to those words; it is listed in ``diagnostics["aliases_out_of_context"]``.
    """

    name = "ProcedureMentionExtractor"
    Settings = MentionSettings
    settings: MentionSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.phrases: dict[str, dict[str, Any]] = {}  # folded phrase -> {"value", "codes"}
        self.contexts: dict[str, list[tuple[str, str]]] = {}  # folded alias -> its not_with words
        self._first: set[str] = set()

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Build the phrase table from the annotations, synonyms, lookup tables and aliases file."""
        preprocess: Preprocess | None = context.get("preprocess")
        if preprocess is None:
            raise ConfigError(f"{self.name} needs a normalizer before it in the pipeline")

        def key(text: str) -> str:
            return " ".join(t.folded for t in preprocess(text).tokens)

        phrases: dict[str, dict[str, Any]] = {}

        def add(text: str, value: str | None = None, codes: Sequence[str] = ()) -> None:
            k = key(text)
            if not k:
                return
            entry = phrases.setdefault(k, {"value": value or text, "codes": []})
            if value and entry["value"] == text and value != text:
                entry["value"] = value
            entry["codes"].extend(c for c in codes if c not in entry["codes"])

        data = training.data
        values: set[str] = set()
        if self.settings.use_annotations:
            for ex in data.examples:
                for span in ex.entities:
                    if span.entity == self.settings.entity:
                        # A national code as the value (editors' learned examples) links the words to it.
                        codes = [span.value] if PROCEDURE_CODE_RE.match(span.value) else []
                        add(ex.text[span.start : span.end], span.value, codes)
                        values.add(span.value)
        if self.settings.use_synonyms:
            for canon, variants in data.synonyms.items():
                if canon in values:
                    add(canon, canon)
                    for v in variants:
                        add(v, canon)
        synonym_of = data.synonym_map()
        for table in self.settings.lookup_tables:
            for item in data.lookups.get(table, ()):
                add(item, synonym_of.get(item.lower(), item))
        path = resolve_path(self.settings.aliases_path, context)
        if path is not None:
            if not path.exists():
                raise ConfigError(f"{self.name}: aliases file not found: {path}")
            try:
                aliases_of = load_aliases(path)
            except VocabularyFileError as exc:
                raise ConfigError(str(exc)) from None
            for code, aliases in aliases_of.items():
                for alias in aliases:
                    add(alias, synonym_of.get(alias.lower(), alias), [code])
            contexts = {
                key(alias): [_context_words(w) for w in words]
                for alias, words in load_alias_contexts(path).items()
                if key(alias)
            }
        else:
            contexts = {}
        # A variant ("nhập khẩu") of a canonical name that is itself an alias gets the alias's codes.
        for entry in phrases.values():
            if not entry["codes"]:
                canonical = phrases.get(key(entry["value"]))
                if canonical is not None:
                    entry["codes"] = list(canonical["codes"])
        self.load({"phrases": phrases, "contexts": contexts})

    def process(self, message: Message) -> None:
        """Append the longest non-overlapping procedure mentions."""
        tokens = message.tokens
        words = [t.folded for t in tokens]
        n = len(words)
        i = 0
        found = []
        max_words = self.settings.max_words
        out_of_context: list[str] = []
        while i < n:
            if words[i] not in self._first:
                i += 1
                continue
            for j in range(min(n, i + max_words), i, -1):
                phrase = " ".join(words[i:j])
                entry = self.phrases.get(phrase)
                if entry is not None and phrase in self.contexts and self._out_of_context(message, phrase):
                    out_of_context.append(phrase)
                    i = j
                    break
                if entry is not None:
                    start, end = tokens[i].start, tokens[j - 1].end
                    found.append(
                        {
                            "entity": self.settings.entity,
                            "value": entry["value"],
                            "start": start,
                            "end": end,
                            "confidence": 1.0,
                            "extractor": self.name,
                            "codes": list(entry["codes"]),
                        }
                    )
                    i = j
                    break
            else:
                i += 1
        if out_of_context:
            message.diagnostics[OUT_OF_CONTEXT] = out_of_context
        taken = [(e["start"], e["end"]) for e in message.entities]
        message.entities.extend(
            e for e in found if not any(e["start"] < te and ts < e["end"] for ts, te in taken)
        )
        message.entities.sort(key=lambda e: e["start"])

    def _out_of_context(self, message: Message, phrase: str) -> bool:
        """One of the alias's ``not_with`` words is in the message (with diacritics when it has them)."""
        if has_diacritics(message.text):
            text, index = f" {message.normalized} ", 0
        else:
            text, index = f" {message.folded} ", 1
        return any(f" {words[index]} " in text for words in self.contexts[phrase])

    def persist(self) -> dict[str, Any]:
        """The phrase table and the aliases' contexts."""
        return {
            "phrases": {k: {"value": v["value"], "codes": list(v["codes"])} for k, v in self.phrases.items()},
            "contexts": {k: [list(w) for w in v] for k, v in self.contexts.items()},
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore the phrase table and the aliases' contexts."""
        self.phrases = {
            k: {"value": v["value"], "codes": list(v["codes"])} for k, v in state["phrases"].items()
        }
        self.contexts = {k: [(str(w[0]), str(w[1])) for w in v] for k, v in state.get("contexts", {}).items()}
        self._first = {k.split(" ", 1)[0] for k in self.phrases}
