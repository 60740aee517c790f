"""Entity extractors and the procedure linker.

* :class:`RegexEntityExtractor` finds dossier codes, phone numbers, 12-digit citizen ID numbers and
  dates, plus whatever ``regex:`` tables the training data declares.
* :class:`ProcedureMentionExtractor` finds the words citizens use for procedures ("sổ đỏ", "gplx") from
  the training data's annotations, synonyms and lookup tables and from ``data/aliases.yml``.
* :class:`ProcedureLinker` asks the knowledge base's search index which procedures the message is
  about and re-scores the candidates with the mentions and the intent.

All report offsets into the original text, through the alignment the normalizer leaves on the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import Field

from knowledge.ports import SearchHit
from knowledge.text import fold
from nlu.components import (
    Component,
    ComponentSettings,
    ConfigError,
    Message,
    TrainingSet,
    _fold_word,
    register,
    resolve_path,
)

_SEP = r"[\s.\-]?"

# Builtin patterns run on the folded, lower-cased text (``Message.match_text``).
BUILTIN_PATTERNS: dict[str, re.Pattern[str]] = {
    # National dossier codes: <agency code>-<yymmdd>-<sequence>, e.g. 000.00.24.H12-250301-0007,
    # H12.22.10-240115-0123, G01.101-230512-0001.
    "dossier_code": re.compile(r"(?<![\w.\-])[0-9a-z]{1,4}(?:\.[0-9a-z]{1,4}){1,5}-\d{6}-\d{4,6}(?![\w\-])"),
    # Citizen ID (căn cước / CCCD): 12 digits starting with the 0xx province code, optionally grouped.
    "id_number": re.compile(r"(?<![\d.\-])0\d{2}[ .]?\d{3}[ .]?\d{3}[ .]?\d{3}(?![\d\-]|\.\d)"),
    # Mobile (0 + 9 digits) and landline (02x + 8 digits), with +84 / 84 and separators.
    "phone": re.compile(
        r"(?<![\d+])(?:\+?84"
        + _SEP
        + r"|0)(?:[35789]\d(?:"
        + _SEP
        + r"\d){7}|2\d(?:"
        + _SEP
        + r"\d){8})(?![\d])"
    ),
    "date": re.compile(
        r"(?<![\d/.\-])(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})(?![\d/])"
        r"|(?<!\w)ngay\s+(?P<d2>\d{1,2})\s*(?:thang\s+|/)(?P<m2>\d{1,2})(?:\s*(?:nam\s+|/)(?P<y2>\d{4}))?(?![\d/])"
        r"|(?<![\d/])(?P<d3>\d{1,2})\s+thang\s+(?P<m3>\d{1,2})(?:\s+nam\s+(?P<y3>\d{4}))?(?!\d)"
        r"|(?<![\w/.\-])(?P<d4>\d{1,2})/(?P<m4>\d{1,2})(?![\d/])"
    ),
}
_CODE_RE = re.compile(r"^\d\.\d{6}$")
_WORD_RE = re.compile(r"[^\W_]+")


def _date_value(m: re.Match[str]) -> str | None:
    for n in "1234":
        groups = m.groupdict()
        day, month, year = groups.get(f"d{n}"), groups.get(f"m{n}"), groups.get(f"y{n}")
        if day is None:
            continue
        d, mo = int(day), int(month)
        if not (1 <= d <= 31 and 1 <= mo <= 12):
            return None
        if year is None:
            return f"--{mo:02d}-{d:02d}"
        y = int(year)
        y = y + 2000 if y < 100 else y
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def _value(name: str, m: re.Match[str], typed: str) -> str | None:
    if name == "date":
        return _date_value(m)
    if name == "id_number":
        return re.sub(r"\D", "", typed)
    if name == "phone":
        digits = re.sub(r"\D", "", typed)
        return "0" + digits[2:] if digits.startswith("84") and len(digits) > 10 else digits
    if name == "dossier_code":
        return typed.upper()
    return typed


def _overlaps(span: tuple[int, int], taken: Sequence[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


class RegexEntitySettings(ComponentSettings):
    """Settings of :class:`RegexEntityExtractor`.

    Attributes:
        patterns: builtin patterns to use, in priority order (dossier_code, id_number, phone, date);
            the names match the ``regex:`` tables of ``data/nlu.yml``.
        use_regexes: also use the training data's ``regex:`` tables (entity = table name).
        use_lookup_tables: also use ``lookup:`` tables (whole-word, diacritic-insensitive).
        lookup_tables_skip: lookup tables never used here (procedures have their own extractor).
    """

    patterns: list[str] = Field(default_factory=lambda: list(BUILTIN_PATTERNS))
    use_regexes: bool = True
    use_lookup_tables: bool = False
    lookup_tables_skip: list[str] = Field(default_factory=lambda: ["procedure"])


@register
class RegexEntityExtractor(Component):
    """Pattern entities: dossier codes, phone numbers, citizen ID numbers, dates (value normalized).

    Values: dossier codes upper-cased; phone numbers and ID numbers as digits (``+84`` -> ``0``); dates
    as ISO ``YYYY-MM-DD`` or ``--MM-DD`` when the year is not given. Where matches overlap, the earlier
    pattern in ``patterns`` wins, then the training data's regexes.
    """

    name = "RegexEntityExtractor"
    Settings = RegexEntitySettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        unknown = [p for p in self.settings.patterns if p not in BUILTIN_PATTERNS]
        if unknown:
            raise ConfigError(f"{self.name}: unknown patterns {unknown}; known: {list(BUILTIN_PATTERNS)}")
        self.regexes: dict[str, list[str]] = {}
        self._compiled: list[tuple[str, re.Pattern[str]]] = []

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Collect the training data's regex (and optionally lookup) tables."""
        tables: dict[str, list[str]] = {}
        if self.settings.use_regexes:
            tables.update({k: list(v) for k, v in training.data.regexes.items()})
        if self.settings.use_lookup_tables:
            for name, items in training.data.lookups.items():
                if name in self.settings.lookup_tables_skip:
                    continue
                words = sorted(
                    {re.escape(fold(i).lower()) for i in items if i.strip()}, key=len, reverse=True
                )
                if words:
                    tables.setdefault(name, []).append(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)")
        self.load({"regexes": tables})

    def process(self, message: Message) -> None:
        """Append the pattern entities found in the message."""
        if not message.match_offsets:
            return
        taken: list[tuple[int, int]] = [(e["start"], e["end"]) for e in message.entities]
        found: list[dict[str, Any]] = []
        for name in self.settings.patterns:
            for m in BUILTIN_PATTERNS[name].finditer(message.match_text):
                start, end = message.original_span(m.start(), m.end())
                if _overlaps((start, end), taken):
                    continue
                value = _value(name, m, message.text[start:end])
                if value is None:
                    continue
                taken.append((start, end))
                found.append(self._entity(name, value, start, end))
        for name, pattern in self._compiled:
            target = message.match_text if pattern.flags & re.ASCII else message.text
            for m in pattern.finditer(target):
                if m.end() <= m.start():
                    continue
                if target is message.text:
                    start, end = m.start(), m.end()
                else:
                    start, end = message.original_span(m.start(), m.end())
                if _overlaps((start, end), taken):
                    continue
                taken.append((start, end))
                found.append(self._entity(name, message.text[start:end], start, end))
        message.entities.extend(sorted(found, key=lambda e: e["start"]))

    def _entity(self, name: str, value: str, start: int, end: int) -> dict[str, Any]:
        return {
            "entity": name,
            "value": value,
            "start": start,
            "end": end,
            "confidence": 1.0,
            "extractor": self.name,
        }

    def persist(self) -> dict[str, Any]:
        """The training data's regex tables."""
        return {"regexes": {k: list(v) for k, v in self.regexes.items()}}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore and compile the regex tables."""
        self.regexes = {k: list(v) for k, v in state.get("regexes", {}).items()}
        self._compiled = []
        for name, patterns in self.regexes.items():
            for pattern in patterns:
                try:
                    flags = re.IGNORECASE | (re.ASCII if pattern.isascii() and "(?<!\\w)" in pattern else 0)
                    self._compiled.append((name, re.compile(pattern, flags)))
                except re.error as exc:
                    raise ConfigError(f"{self.name}: regex {name!r} is invalid: {exc}") from None


# --------------------------------------------------------------------------------- procedure mentions


def load_aliases(path: Path) -> dict[str, list[str]]:
    """Read ``procedures: [{code, aliases: [...]}]`` into code -> aliases.

    Raises:
        ConfigError: missing file or wrong shape.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read aliases file {path}: {exc}") from None
    entries = raw.get("procedures") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected 'procedures: [{{code, aliases}}]'")
    out: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "code" not in entry:
            raise ConfigError(f"{path}: every procedure entry needs a 'code'")
        out.setdefault(str(entry["code"]), []).extend(str(a) for a in entry.get("aliases") or ())
    return out


Preprocess = Callable[[str], Message]


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
    """

    name = "ProcedureMentionExtractor"
    Settings = MentionSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.phrases: dict[str, dict[str, Any]] = {}  # folded phrase -> {"value", "codes"}
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
                        codes = [span.value] if _CODE_RE.match(span.value) else []
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
            for code, aliases in load_aliases(path).items():
                for alias in aliases:
                    add(alias, synonym_of.get(alias.lower(), alias), [code])
        # A variant ("nhập khẩu") of a canonical name that is itself an alias gets the alias's codes.
        for entry in phrases.values():
            if not entry["codes"]:
                canonical = phrases.get(key(entry["value"]))
                if canonical is not None:
                    entry["codes"] = list(canonical["codes"])
        self.load({"phrases": phrases})

    def process(self, message: Message) -> None:
        """Append the longest non-overlapping procedure mentions."""
        tokens = message.tokens
        words = [t.folded for t in tokens]
        n = len(words)
        i = 0
        found = []
        max_words = self.settings.max_words
        while i < n:
            if words[i] not in self._first:
                i += 1
                continue
            for j in range(min(n, i + max_words), i, -1):
                entry = self.phrases.get(" ".join(words[i:j]))
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
        taken = [(e["start"], e["end"]) for e in message.entities]
        message.entities.extend(
            e for e in found if not any(e["start"] < te and ts < e["end"] for ts, te in taken)
        )
        message.entities.sort(key=lambda e: e["start"])

    def persist(self) -> dict[str, Any]:
        """The phrase table."""
        return {
            "phrases": {k: {"value": v["value"], "codes": list(v["codes"])} for k, v in self.phrases.items()}
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore the phrase table."""
        self.phrases = {
            k: {"value": v["value"], "codes": list(v["codes"])} for k, v in state["phrases"].items()
        }
        self._first = {k.split(" ", 1)[0] for k in self.phrases}


# --------------------------------------------------------------------------------------------- linker


class KnowledgeIndex(Protocol):
    """What the linker needs of :class:`knowledge.search.SearchIndex`."""

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        """Ranked procedures for free text, scores in [0, 1]."""


DEFAULT_STRIP_PHRASES = [
    # documents / forms
    "cần những giấy tờ gì", "cần giấy tờ gì", "những giấy tờ gì", "giấy tờ gì", "giấy tờ nào",
    "cần chuẩn bị những gì", "cần chuẩn bị gì", "chuẩn bị hồ sơ gì", "chuẩn bị những gì",
    "hồ sơ gồm những gì", "hồ sơ gồm gì", "gồm những gì", "gồm những thành phần nào", "cần những gì",
    "cần mang theo gì", "mang theo gì", "cần mang gì", "phải mang những gì", "mang những gì",
    "mẫu đơn", "mẫu tờ khai", "tờ khai", "mẫu",
    # time / fee / place / channel / steps / conditions / result / legal basis
    "mất bao lâu", "bao lâu", "mấy ngày", "bao nhiêu ngày", "thời gian", "khi nào có",
    "lệ phí", "phí", "bao nhiêu tiền", "hết bao nhiêu", "tốn bao nhiêu", "mất bao nhiêu", "bao nhiêu",
    "nộp ở đâu", "làm ở đâu", "ở đâu", "chỗ nào", "nơi nào", "cơ quan nào",
    "nộp online", "trực tuyến", "online", "qua mạng", "qua bưu điện",
    "các bước", "trình tự", "quy trình", "như thế nào", "thế nào", "làm sao", "ra sao",
    "điều kiện", "cần điều kiện gì", "căn cứ pháp lý", "căn cứ", "theo luật nào", "văn bản nào", "nghị định",
    "kết quả", "nhận được gì",
    # fillers
    "cho em hỏi", "cho tôi hỏi", "cho mình hỏi", "cho hỏi", "xin hỏi", "muốn hỏi", "hỏi",
    "thủ tục", "tôi muốn", "em muốn", "mình muốn", "muốn", "cần", "gì", "nào", "không", "ạ", "ơi", "vậy",
    "với", "thì", "là", "có", "được", "nhé", "nhỉ", "hả", "à", "đâu", "em", "tôi", "mình", "anh", "chị",
    "ad", "admin", "bạn", "phải", "những", "các", "và", "để", "của", "cho",
]  # fmt: skip


class LinkerSettings(ComponentSettings):
    """Settings of :class:`ProcedureLinker`.

    Attributes:
        k: candidates asked of the search index.
        ranking_length: candidates kept in ``procedure_ranking``.
        strip_phrases: question and filler words removed before searching (matched on folded words,
            longest first), so "lệ phí làm sổ đỏ bao nhiêu" searches "làm sổ đỏ".
        skip_intents: intents that never concern a procedure unless one is named.
        search_k: candidates fetched to score the procedures that mentions name.
        mention_floor: a procedure named by an alias mention scores
            ``mention_floor + (1 - mention_floor) * search score - shared_penalty * (n - 1)``, where n is
            the number of procedures sharing that alias.
        shared_penalty: see ``mention_floor``.
        coverage_weight: how much a search hit's score depends on the share of the query's words
            found in its name or matched alias (0 keeps the index's score).
        entity: the mention entity name to read.
    """

    k: int = Field(10, ge=1, le=100)
    ranking_length: int = Field(10, ge=1, le=100)
    strip_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_STRIP_PHRASES))
    skip_intents: list[str] = Field(
        default_factory=lambda: [
            "greet",
            "thank",
            "goodbye",
            "affirm",
            "deny",
            "out_of_scope",
            "request_human",
            "give_feedback",
            "check_dossier_status",
        ]  # fmt: skip
    )
    search_k: int = Field(20, ge=1, le=500)
    mention_floor: float = Field(0.7, ge=0.0, le=1.0)
    shared_penalty: float = Field(0.01, ge=0.0, le=1.0)
    coverage_weight: float = Field(0.3, ge=0.0, le=1.0)
    entity: str = "procedure"


@register
class ProcedureLinker(Component):
    """Links the message to procedures of the knowledge base (``procedure`` and ``procedure_ranking``).

    Candidates come from the knowledge base's :class:`~knowledge.search.SearchIndex` (passed in the
    pipeline context as ``knowledge_index``; never stored in the model), queried with the normalized
    message minus its question words. Procedures named by an alias mention are put on top. Messages
    whose intent never concerns a procedure (greetings, thanks …) are not searched unless they name one.
    Without an index the linker leaves ``procedure`` empty.
    """

    name = "ProcedureLinker"
    Settings = LinkerSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        # Phrases are matched on diacritics when the citizen typed them ("căn" is not "cần") and on
        # folded words only where the typed words carry none ("can" may be either).
        self._strip_norm: set[str] = set()
        self._strip_folded: set[str] = set()
        self._strip_max = 1
        for phrase in self.settings.strip_phrases:
            words = phrase.lower().split()
            if words:
                self._strip_norm.add(" ".join(words))
                self._strip_folded.add(fold(" ".join(words)))
                self._strip_max = max(self._strip_max, len(words))

    @property
    def index(self) -> KnowledgeIndex | None:
        """The knowledge search index from the pipeline context, if any."""
        return self.context.get("knowledge_index")

    def query_words(self, message: Message) -> list[str]:
        """The normalized words of the message left after removing question and filler phrases."""
        tokens = message.tokens
        norms = [t.norm for t in tokens]
        plain = [t.norm == t.folded for t in tokens]
        keep: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._strip_max, len(tokens) - i), 0, -1):
                phrase = " ".join(norms[i : i + n])
                if phrase in self._strip_norm or (all(plain[i : i + n]) and phrase in self._strip_folded):
                    i += n
                    break
            else:
                keep.append(norms[i])
                i += 1
        return keep

    def process(self, message: Message) -> None:
        """Set ``procedure_ranking`` (best first) and ``procedure`` (the best, or None)."""
        message.procedure, message.procedure_ranking = None, []
        index = self.index
        if index is None:
            return
        mentions = [e for e in message.entities if e["entity"] == self.settings.entity]
        intent = (message.intent or {}).get("name")
        if intent in self.settings.skip_intents and not mentions:
            return
        found: dict[str, tuple[float, str]] = {}
        words = self.query_words(message)
        if words:
            query = " ".join(words)
            message.diagnostics["procedure_query"] = query
            asked = {_fold_word(w) for w in words}
            weight = self.settings.coverage_weight
            for hit in index.search(query, max(self.settings.k, self.settings.search_k)):
                # The index scores only the words it knows, so "crush rep tin nhắn" fully "covers" a
                # name containing "tin". Scale by the share of the message's words the hit explains.
                known = self._words_of(hit.name) | self._words_of(hit.matched)
                cover = len(asked & known) / len(asked)
                found[hit.code] = (hit.score * (1.0 - weight + weight * cover), hit.name)
            found = dict(sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0])))
        scores = dict(list(found.items())[: self.settings.k])
        floor, penalty = self.settings.mention_floor, self.settings.shared_penalty
        for mention in mentions:
            codes = [c for c in mention.get("codes", ()) if _CODE_RE.match(c)]
            for code in codes:
                searched, name = found.get(code) or (0.0, "")
                # A named procedure ranks above search-only candidates; among the procedures a shared
                # alias names ("sổ đỏ"), the search score of the whole message decides.
                score = max(floor + (1.0 - floor) * searched - penalty * (len(codes) - 1), 0.0)
                if code not in scores or scores[code][0] < score:
                    scores[code] = (score, name or self._name(index, code))
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[: self.settings.ranking_length]
        message.procedure_ranking = [
            {"code": c, "name": n, "score": round(float(s), 4)} for c, (s, n) in ranked
        ]
        if message.procedure_ranking:
            message.procedure = dict(message.procedure_ranking[0])

    def _words_of(self, text: str) -> frozenset[str]:
        cache = self.__dict__.setdefault("_word_cache", {})
        words = cache.get(text)
        if words is None:
            if len(cache) > 100_000:
                cache.clear()
            words = cache[text] = frozenset(_fold_word(w) for w in _WORD_RE.findall(text.lower()))
        return words

    @staticmethod
    def _name(index: KnowledgeIndex, code: str) -> str:
        for hit in index.search(code, 1):
            if hit.code == code:
                return hit.name
        return ""
