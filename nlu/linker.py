"""The procedure linker: which procedures of the knowledge base the message is about.

It asks the knowledge base's search index (a :class:`KnowledgeIndex`, passed in the pipeline context,
never stored in the model) and re-scores the candidates with the procedure mentions
(:mod:`nlu.extractors.mentions`) and the intent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import Field

from knowledge.ports import SearchHit
from knowledge.text import fold, fold_iy, has_diacritics
from nlu.component import Component, ComponentSettings, ConfigError, register
from nlu.extractors.mentions import OUT_OF_CONTEXT, PROCEDURE_CODE_RE
from nlu.message import Message

_WORD_RE = re.compile(r"[^\W_]+")
_NAME_FILLERS = frozenset({"thu", "tuc"})
"""Folded words of procedure names that name nothing ("Thủ tục đăng ký kết hôn")."""
_ABROAD = frozenset({"nuoc", "ngoai"})
"""Folded words of "nước ngoài" in the names of the procedures with a foreign element."""
_FOREIGN_WORDS = _ABROAD | frozenset(
    {"co", "yeu", "to", "cho", "nguoi", "tai", "viet", "nam", "o", "cua", "voi"}
)
"""The further words a foreign variant's name may have: "có yếu tố", "cho người … tại Việt Nam"."""
_FOREIGN_GAP = 0.1
"""How far below its own score a named procedure drops when the message asks its foreign element."""
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_RANKED = frozenset({"loai", "hang", "cap", "nhom", "bac", "khu", "vung", "muc", "do"})
"""A class is numbered in Roman numerals in names ("cảng cá loại III", "hạng II") and in digits by
citizens ("loại 3"); "một" is written "1" ("hưởng bảo hiểm xã hội 1 lần")."""


def _canonical_numbers(words: list[str]) -> list[str]:
    """Folded words with a Roman numeral after a class word, and "mot", written as digits."""
    out = list(words)
    for i, w in enumerate(words):
        if w == "mot":
            out[i] = "1"
        elif i and w in _ROMAN and words[i - 1] in _RANKED:
            out[i] = _ROMAN[w]
    return out


class KnowledgeIndex(Protocol):
    """What the linker needs of :class:`knowledge.search.SearchIndex`."""

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        """Ranked procedures for free text, scores in [0, 1]."""


_COUNTRIES = (
    r"han quoc|nhat ban|hoa ki|dai loan|trung quoc|thai lan|campuchia|philippines|philippin|singapore"
    r"|malaysia|indonesia|canada|australia|na uy|thuy dien|thuy si|tay ban nha|bo dao nha|new zealand"
    r"|a rap xe ut|qatar|dubai|chau au|trung dong"
)
_SHORT = r"mi|uc|phap|duc|nga|han|nhat"
_AFTER_SHORT = (
    r"(?=$| (?:roi|ve|thi|va|nhung|nen|ma|duoc|cung|da|ha|a|khong|ko|nam|lau|may|bao|hay|co|nay|xong"
    r"|muon|de|dang|lam|sinh|song|o|gio|toi|em|minh|anh|chi|voi|hoc|du|cuoi|ket|li|tu)\b)"
)
DEFAULT_FOREIGN_PATTERNS = [
    # a country after "bên", "sang", "ở", "người", "quốc tịch" …: "lấy chồng bên Hàn Quốc", "vợ người
    # Philippines", "định cư ở Úc rồi"
    rf"\b(?:ben|sang|o|nguoi|nuoc|quoc tich|cong dan) (?:{_COUNTRIES})\b",
    # a one-syllable name only where the next word is no part of a Vietnamese name: "ly hôn ở Mỹ rồi",
    # "bên Hàn về", not "ở Mỹ Tho", "ở Đức Hòa", "người hạn chế năng lực", "bên pháp luật"
    rf"\b(?:ben|sang|o|nguoi|nuoc|quoc tich|cong dan) (?:{_SHORT}){_AFTER_SHORT}",
    r"\b(?:han quoc|nhat ban|dai loan|trung quoc|philippines|campuchia|singapore|malaysia|australia|canada)\b",
    r"\b(?:viet kieu|dinh cu o nuoc ngoai|dinh cu nuoc ngoai|nguoi nuoc ngoai|nuoc ngoai)\b",
]
"""Folded words (``fold_iy``: "Mỹ" is "mi") saying that someone or something abroad is involved (the
procedures "… có yếu tố nước ngoài", "… cho người nước ngoài", "… đã giải quyết tại cơ quan có thẩm quyền
của nước ngoài"). Not "từ"/"tại" before a country ("tư pháp" folds to "tu phap"), nor "Lào", "Thái", "Ý",
"Ba Lan" ("người lao động", "ở y tế", "ba lần")."""


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
    # the formulae of a letter, in no procedure's name: "Kính gửi quý cơ quan", "Tôi xin chân thành cảm
    # ơn", "Mong sớm nhận được hồi âm", "đề nghị … hướng dẫn tôi"
    "kính gửi", "xin chào", "chào anh", "chào chị", "chào bạn", "chào ad", "xin chân thành cảm ơn",
    "chân thành cảm ơn", "xin cảm ơn", "cảm ơn", "trân trọng", "quý cơ quan", "rất mong",
    "mong nhận được", "hồi âm", "giải đáp", "hướng dẫn giúp", "hướng dẫn tôi", "hướng dẫn em",
    "muốn biết",
]  # fmt: skip


class LinkerSettings(ComponentSettings):
    """Settings of :class:`ProcedureLinker`.

    Attributes:
        k: candidates asked of the search index.
        ranking_length: candidates kept in ``procedure_ranking``.
        strip_phrases: question and filler words removed before searching (matched on folded words,
            longest first), so "lệ phí làm sổ đỏ bao nhiêu" searches "làm sổ đỏ".
        skip_intents: intents that never concern a procedure unless one is named or a part of one is
            asked (an ``aspect_entity`` from an interrogative or a field label).
        search_k: candidates fetched to score the procedures that mentions name.
        mention_floor: a procedure named by an alias mention scores
            ``mention_floor + (1 - mention_floor) * search score - shared_penalty * (n - 1)``, where n is
            the number of procedures sharing that alias.
        shared_penalty: see ``mention_floor``.
        coverage_weight: how much a search hit's score depends on the share of the query's words
            found in its name or matched alias (0 keeps the index's score).
        entity: the mention entity name to read.
        aspect_entity: the entity of the parts asked (:mod:`nlu.extractors.asking`).
        strip_asking_clause: search without the words of the asking clause (the ``aspect_entity``
            spans: "thời gian giải quyết là bao nhiêu", "quy định ở Thông tư nào"); the query's
            coverage still counts them. Off: measured on (bench_answers, issue 10) it turned "which
            procedure?" into choices (real dev within two turns 37.8 -> 46.0%) but answered the wrong
            procedure more (blind dev 10.9 -> 12.3%, real dev confident wrong 3.6 -> 4.1%).
        refinements: a search hit that refines a named procedure (its name holds the named one's words
            and more) and matches the message better is scored as named too (see ``_refine``).
        name_floor: a search hit whose name the message writes out (most of its word pairs, in
            order, somewhere in the message, and never going on otherwise where it leaves the name)
            scores at least ``containment * (name_floor + (1 - name_floor) * score)``, score being
            its score after ``coverage_weight``, however long the message around it: a letter naming
            "phê duyệt trữ lượng khoáng sản" in a subordinate clause names it as a short message
            would. A name written inside a longer name written is scaled by the share of the longer
            one's pairs it has. 0 disables.
        name_containment: the least share of the name's word pairs found for that (see ``name_floor``).
        thin_cap: a hit found through its name (not an alias) that explains only one of the query's
            words scores at most this: one word ("thế" of "thế mất bao lâu", read as "thẻ"; "nộp" of
            "nộp qua bưu điện được không"; "con" of "còn lệ phí bao nhiêu") names no procedure, and a
            follow-up such as those must not be linked to any name holding it. 1 disables.
        foreign_patterns: regular expressions on the folded message; when one matches, the search and the
            coverage read "nước ngoài" too ("lấy chồng bên Hàn", "vợ tôi người Philippines" ask the
            procedures with a foreign element). Empty disables.
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
    aspect_entity: str = "aspect"
    refinements: bool = True
    strip_asking_clause: bool = False
    name_floor: float = Field(0.6, ge=0.0, le=1.0)
    name_containment: float = Field(0.75, ge=0.0, le=1.0)
    thin_cap: float = Field(0.25, ge=0.0, le=1.0)
    foreign_patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_FOREIGN_PATTERNS))


@register
class ProcedureLinker(Component):
    """Links the message to procedures of the knowledge base (``procedure`` and ``procedure_ranking``).

    Candidates come from the knowledge base's :class:`~knowledge.search.SearchIndex` (passed in the
    pipeline context as ``knowledge_index``; never stored in the model), queried with the normalized
    message minus its question words. Procedures named by an alias mention are put on top; hits found
    through an alias the mention extractor found out of its context are dropped. Messages
    whose intent never concerns a procedure (greetings, thanks …) are not searched unless they name one.
    Without an index the linker leaves ``procedure`` empty.
    """

    name = "ProcedureLinker"
    Settings = LinkerSettings
    settings: LinkerSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        # Phrases are matched on diacritics when the citizen typed them ("căn" is not "cần") and on
        # folded words only where the typed words carry none ("can" may be either).
        self._strip_norm: set[str] = set()
        self._strip_folded: set[str] = set()
        self._strip_max = 1
        self._strip_words: set[str] = set()  # folded words of any phrase: the question's, not a name's
        if any(not p.isascii() for p in self.settings.foreign_patterns):
            raise ConfigError(
                f"{self.name}: foreign_patterns are matched on folded words: write them without diacritics"
            )
        try:
            self._foreign = [re.compile(p) for p in self.settings.foreign_patterns]
        except re.error as exc:
            raise ConfigError(f"{self.name}: foreign_patterns: {exc}") from None
        for phrase in self.settings.strip_phrases:
            words = phrase.lower().split()
            self._strip_words.update(fold_iy(fold(w)) for w in words)
            if words:
                self._strip_norm.add(" ".join(words))
                self._strip_folded.add(fold(" ".join(words)))
                self._strip_max = max(self._strip_max, len(words))

    @property
    def index(self) -> KnowledgeIndex | None:
        """The knowledge search index from the pipeline context, if any."""
        return self.context.get("knowledge_index")

    def query_words(self, message: Message, *, asking: bool = False) -> list[str]:
        """The normalized words of the message left after removing question and filler phrases, and
        with ``strip_asking_clause`` the words of the asking clause (kept when ``asking``)."""
        # The words of the asking clause ("thời gian giải quyết là bao nhiêu", "quy định ở Thông tư
        # nào") ask a part, they name no procedure: a long formal question would search them too.
        spans = [
            (int(e["start"]), int(e["end"]))
            for e in message.entities
            if not asking
            and self.settings.strip_asking_clause
            and e["entity"] == self.settings.aspect_entity
            and "start" in e
            and "end" in e
        ]
        tokens = [t for t in message.tokens if not any(a <= t.start and t.end <= b for a, b in spans)]
        norms = [t.norm for t in tokens]
        folds = [t.folded for t in tokens]
        # typed without diacritics: a one-word abbreviation's expansion ("gi" -> "gì", "j" -> "gì") adds
        # none the citizen typed; the words of a longer one ("cccd" -> căn cước công dân) are names'
        shared = Counter(t.start for t in tokens)
        plain = [t.norm == t.folded or (shared[t.start] == 1 and not has_diacritics(t.text)) for t in tokens]
        keep: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._strip_max, len(tokens) - i), 0, -1):
                phrase = " ".join(norms[i : i + n])
                folded = " ".join(folds[i : i + n])
                if phrase in self._strip_norm or (all(plain[i : i + n]) and folded in self._strip_folded):
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
        if intent in self.settings.skip_intents and not mentions and not self._asks_a_part(message):
            return
        found: dict[str, tuple[float, str]] = {}
        words = self.query_words(message)
        abroad = bool(words) and self._abroad(message)
        if abroad and " nuoc ngoai " not in f" {' '.join(fold_iy(w) for w in words)} ":
            words = [*words, "nước", "ngoài"]  # searched as the names write it
        asked: set[str] = set()
        if words:
            query = " ".join(words)
            message.diagnostics["procedure_query"] = query
            # the asking clause, searched or not, is part of what the hit must explain
            full = self.query_words(message, asking=True) if self.settings.strip_asking_clause else words
            asked = {fold_iy(w) for w in full or words} | (_ABROAD if abroad else frozenset())
            weight = self.settings.coverage_weight
            pairs = self._pairs(message) if self.settings.name_floor > 0 else None
            blocked = set(message.diagnostics.get(OUT_OF_CONTEXT, ()))
            written: dict[str, tuple[float, frozenset[tuple[str, str]]]] = {}
            for hit in index.search(query, max(self.settings.k, self.settings.search_k)):
                if blocked and hit.matched and self._key(hit.matched) in blocked:
                    continue  # found only through an alias that names nothing here ("nhập khẩu" goods)
                # The index scores only the words it knows, so "crush rep tin nhắn" fully "covers" a
                # name containing "tin". Scale by the share of the message's words the hit explains.
                known = self._words_of(hit.name) | self._words_of(hit.matched)
                score = hit.score * (1.0 - weight + weight * len(asked & known) / len(asked))
                if hit.matched == hit.name and 0 < hit.words <= 1:
                    score = min(score, self.settings.thin_cap)
                found[hit.code] = (score, hit.name)
                if pairs is not None:
                    written[hit.code] = self._written_out(hit.name, score, pairs)
            self._written_scores(written, found)
            found = dict(sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0])))
        scores = dict(list(found.items())[: self.settings.k])
        floor, penalty = self.settings.mention_floor, self.settings.shared_penalty
        for mention in mentions:
            codes = [c for c in mention.get("codes", ()) if PROCEDURE_CODE_RE.match(c)]
            said = self._words_of(self._mention_text(message, mention))  # the alias as written
            for code in codes:
                searched, name = found.get(code) or (0.0, "")
                # A named procedure ranks above search-only candidates; among the procedures a shared
                # alias names ("sổ đỏ"), the search score of the whole message decides.
                score = max(floor + (1.0 - floor) * searched - penalty * (len(codes) - 1), 0.0)
                if code not in scores or scores[code][0] < score:
                    scores[code] = (score, name or self._name(index, code))
                if self.settings.refinements and asked:
                    base = score - (1.0 - floor) * searched
                    self._refine(code, scores[code][1], base, asked, found, scores, said=said, abroad=abroad)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[: self.settings.ranking_length]
        message.procedure_ranking = [
            {"code": c, "name": n, "score": round(float(s), 4)} for c, (s, n) in ranked
        ]
        if message.procedure_ranking:
            message.procedure = dict(message.procedure_ranking[0])

    def _refine(
        self,
        code: str,
        name: str,
        base: float,
        asked: set[str],
        found: Mapping[str, tuple[float, str]],
        scores: dict[str, tuple[float, str]],
        said: frozenset[str] = frozenset(),
        abroad: bool = False,
    ) -> None:
        """A search hit whose name holds every word of the named procedure's name, or of the alias as the
        message wrote it (``said``, two words at least), and more, some of them in the message, and that
        the message matches better, is a refinement the message names ("chấm dứt giám hộ" of "giám hộ",
        "kết hôn có yếu tố nước ngoài" of "kết hôn", "khai báo tạm trú cho người nước ngoài" of "khai báo
        tạm trú"): it is scored as named too, by its own search score, so it ranks above the procedure the
        alias names. When the message is about someone abroad (``abroad``), a refinement whose further
        words are "nước ngoài" … ranks above the named procedure however the rest of the message matches:
        the foreign element decides which procedure it is."""
        words = self._words_of(name) - _NAME_FILLERS
        searched = found.get(code, (0.0, ""))[0]
        if not words:
            return
        held = said - _NAME_FILLERS if len(said - _NAME_FILLERS) >= 2 else frozenset()
        own = scores.get(code, (0.0, ""))[0]
        variants: list[
            tuple[bool, float, str, str]
        ] = []  # foreign variants: (pure, search score, code, name)
        for other, (other_score, other_name) in found.items():
            if other == code:
                continue
            other_words = self._words_of(other_name) - _NAME_FILLERS
            refines = [w for w in (words, held) if w and w < other_words]
            if not refines:
                continue
            extra = other_words - refines[0]
            if abroad and extra >= _ABROAD:
                # "… có yếu tố nước ngoài" is the foreign variant itself; "đăng ký lại … có yếu tố nước
                # ngoài", "… tại khu vực biên giới", "… qua Trang thông tin điện tử" are kinds of it
                variants.append((extra <= _FOREIGN_WORDS, other_score, other, other_name))
                continue
            if refines[0] is not words:
                continue  # the alias as written refines only to the foreign element (measured, issue 10)
            if not (extra & asked) or other_score <= searched:
                continue
            score = base + (1.0 - self.settings.mention_floor) * other_score
            if other not in scores or scores[other][0] < score:
                scores[other] = (score, other_name)
        if not variants:
            return
        # The foreign element decides: the pure variants if any, else the kinds of it, take the named
        # one's place (their search order kept, a thousandth apart); the named one drops below them.
        pure = any(p for p, _, _, _ in variants)
        kept = sorted((v for v in variants if v[0] or not pure), key=lambda v: (-v[1], v[2]))
        for rank, (_, _, other, other_name) in enumerate(kept):
            score = max(own - 0.01 - 0.001 * rank, 0.0)
            if other not in scores or scores[other][0] < score:
                scores[other] = (score, other_name)
        scores[code] = (min(scores[code][0], max(own - _FOREIGN_GAP, 0.0)), scores[code][1])

    @staticmethod
    def _mention_text(message: Message, mention: Mapping[str, Any]) -> str:
        """The words of the message a mention covers, as normalized."""
        start, end = mention.get("start"), mention.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            return ""
        return " ".join(t.norm for t in message.tokens if start <= t.start and t.end <= end)

    @staticmethod
    def _pairs(message: Message) -> frozenset[tuple[str, str]]:
        """The message's consecutive folded word pairs (every word, question words included)."""
        words = _canonical_numbers([fold_iy(t.folded) for t in message.tokens])
        return frozenset(zip(words, words[1:], strict=False))

    @staticmethod
    def _written_scores(
        written: Mapping[str, tuple[float, frozenset[tuple[str, str]]]],
        found: dict[str, tuple[float, str]],
    ) -> None:
        """Raise the hits whose names the message writes out to their written-out scores. A name written
        out inside the words of a longer name the message writes too ("Đăng ký hành nghề" in "giấy
        chứng nhận đăng ký hành nghề kiểm toán") is scaled by the share of those words it covers."""
        for code, (score, matched) in written.items():
            if score <= 0.0:
                continue
            longest = max(
                (len(m) for other, (_, m) in written.items() if other != code and matched < m), default=0
            )
            if longest:
                score *= len(matched) / longest
            if score > found[code][0]:
                found[code] = (score, found[code][1])

    def _written_out(
        self, name: str, score: float, pairs: frozenset[tuple[str, str]]
    ) -> tuple[float, frozenset[tuple[str, str]]]:
        """The score of a hit whose name the message writes out (see ``name_floor``), else 0, and the
        name's word pairs found in the message."""
        own = self._pairs_of(name)
        matched = own & pairs
        if not own or len(matched) < self.settings.name_containment * len(own):
            return 0.0, matched
        # Where the message leaves the name it must not go on otherwise: "chiến sĩ thi đua toàn quốc"
        # is not "… thi đua cơ sở", "cảng cá loại 1" not "loại III".
        left = {a for a, _ in own - matched}
        for a, b in pairs:
            if a in left and (a, b) not in own and b not in self._strip_words:
                return 0.0, matched
        share = len(matched) / len(own)
        floor = self.settings.name_floor
        return share * (floor + (1.0 - floor) * score), matched

    def _pairs_of(self, name: str) -> frozenset[tuple[str, str]]:
        """A name's consecutive folded word pairs, numbers as digits, a leading "Thủ tục" left out."""
        cache: dict[str, frozenset[tuple[str, str]]] = self.__dict__.setdefault("_pair_cache", {})
        own = cache.get(name)
        if own is None:
            if len(cache) > 100_000:
                cache.clear()
            words = _canonical_numbers([fold_iy(w) for w in _WORD_RE.findall(name.lower())])
            while words and words[0] in _NAME_FILLERS:
                words = words[1:]  # "Thủ tục đăng ký …": the filler is no part of the name written
            own = cache[name] = frozenset(zip(words, words[1:], strict=False))
        return own

    def _abroad(self, message: Message) -> bool:
        """Whether the message says someone or something abroad is involved (``foreign_patterns``, on the
        normalizer's folded words)."""
        return any(p.search(message.folded) for p in self._foreign)

    def _asks_a_part(self, message: Message) -> bool:
        """The asking clause asks a part of a procedure (an interrogative or a field label): the intent
        may be corrected after linking (:class:`nlu.asking.AskedIntentResolver`), so search anyway."""
        return any(
            e["entity"] == self.settings.aspect_entity and e.get("strength", 0) >= 2 for e in message.entities
        )

    @staticmethod
    def _key(text: str) -> str:
        return " ".join(fold_iy(w) for w in _WORD_RE.findall(text.lower()))

    def _words_of(self, text: str) -> frozenset[str]:
        cache: dict[str, frozenset[str]] = self.__dict__.setdefault("_word_cache", {})
        words = cache.get(text)
        if words is None:
            if len(cache) > 100_000:
                cache.clear()
            words = cache[text] = frozenset(fold_iy(w) for w in _WORD_RE.findall(text.lower()))
        return words

    @staticmethod
    def _name(index: KnowledgeIndex, code: str) -> str:
        for hit in index.search(code, 1):
            if hit.code == code:
                return hit.name
        return ""
