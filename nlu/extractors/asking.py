"""The asking clause: which parts of a procedure a message asks about, read from how questions are asked.

A long question carries a story ("Vợ tôi sinh con được 2 tuần, … Giờ làm khai sinh cho cháu thì …") and a
formal one a field label and a title ("Thành phần hồ sơ đề nghị cấp giấy phép …?"); a classifier trained
on short chat messages reads either by its many other words. What is asked sits in a few words of the
asking clause, in the same shapes whatever the procedure:

* an interrogative phrase that names the part: "cần những giấy tờ gì", "nộp ở đâu", "mất bao lâu",
  "bao nhiêu tiền", "làm thế nào", "trong trường hợp nào";
* a field label of the portal, at the start of a sentence: "Thành phần hồ sơ …", "Trình tự thực hiện …",
  "Thời hạn giải quyết …", "Cơ quan có thẩm quyền …", "Căn cứ pháp lý …";
* a generic interrogative ("như thế nào", "là gì", "gồm những gì", "bao nhiêu") after a noun that names
  the part: "hồ sơ đăng ký như thế nào" asks for documents, "điều kiện … là gì" for conditions;
* a yes/no question ("có được … không", "có phải … không", "có bắt buộc … không") asks about conditions,
  unless a part is named inside it ("có mất phí không" asks the fee).

It also reads signs that a message is not a question about a procedure at all, whatever procedure words
it holds: a definition ("… là gì?" with no part named, "thế nào là …"), a penalty ("bị phạt bao nhiêu",
"xử phạt"), an amount or a calculation ("mức hưởng", "cách tính", "bao nhiêu phần trăm").

Sentences are cut at ``.?!;`` and line breaks. Asking sentences are those ending in "?", holding an
interrogative, or opened by "cho tôi hỏi", "xin hỏi" …; cues in the story around them do not count (when
no sentence asks, the whole message is read, for titles such as "Hồ sơ cấp giấy phép khai thác thủy
sản").

Output: one ``aspect`` entity per part asked (value: the ``ask_*`` intent; ``confidence``: 1.0 for the
main one when an interrogative or a field label asks it, lower for the others; the span of the cue), and
``not_procedure`` entities (value: ``definition``, ``penalty`` or ``amount``).
:class:`nlu.asking.AskedIntentResolver` and the policy read them; the featurizers do not (these phrases
are already in their n-grams).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from knowledge.text import fix_tone_marks, fold_iy, has_diacritics
from nlu.component import Component, ComponentSettings, register
from nlu.message import Message, Token

ASPECT_ENTITY = "aspect"
NOT_PROCEDURE_ENTITY = "not_procedure"

LABEL, ASKS, NAMES = 3, 2, 1
"""Cue strengths: a field label opening a sentence, an interrogative that names the part, a noun that
names it (the part is asked only if the sentence asks)."""

DEFAULT_ASPECT_CUES: dict[str, dict[str, list[str]]] = {
    "ask_documents": {
        "label": ["thành phần hồ sơ", "thành phần, số lượng hồ sơ", "hồ sơ", "hồ sơ đề nghị", "bộ hồ sơ"],
        "asks": [
            "giấy tờ gì", "giấy tờ nào", "những giấy tờ gì", "những giấy tờ nào", "loại giấy tờ nào",
            "những loại giấy tờ", "giấy gì", "cần chuẩn bị gì", "chuẩn bị những gì", "chuẩn bị gì",
            "chuẩn bị hồ sơ gì", "chuẩn bị những giấy tờ", "chuẩn bị hồ sơ gồm", "hồ sơ gồm", "hồ sơ bao gồm",
            "hồ sơ gồm những gì", "gồm những giấy tờ", "mang theo gì", "mang những gì", "mang gì",
            "cần mang", "cần những gì", "cần gì", "cần có gì", "cần những tài liệu", "tài liệu gì",
            "tài liệu nào", "hồ sơ gì", "nộp những gì", "nộp những giấy tờ", "hồ sơ cần những gì",
        ],
        "names": ["hồ sơ", "giấy tờ", "thành phần hồ sơ", "bản sao", "tài liệu"],
    },
    "ask_forms": {
        "label": ["mẫu đơn", "mẫu tờ khai", "biểu mẫu", "tờ khai"],
        "asks": ["mẫu đơn nào", "mẫu nào", "mẫu gì", "tờ khai nào", "lấy mẫu ở đâu", "tải mẫu"],
        "names": ["mẫu đơn", "tờ khai", "biểu mẫu", "mẫu"],
    },
    "ask_steps": {
        "label": ["trình tự thực hiện", "trình tự", "các bước thực hiện", "quy trình", "cách thức thực hiện"],
        "asks": [
            "làm thế nào", "làm như thế nào", "làm như nào", "làm sao", "các bước", "những bước nào", "phải làm gì",
            "thực hiện như thế nào", "tiến hành như thế nào", "cần làm gì", "cần làm những gì", "phải làm những gì",
            "xử lý như thế nào để", "hướng dẫn",
        ],
        "names": ["trình tự", "quy trình", "các bước", "cách làm"],
    },
    "ask_fee": {
        "label": ["phí, lệ phí", "lệ phí", "phí", "mức thu phí", "chi phí"],
        "asks": [
            "bao nhiêu tiền", "hết bao nhiêu", "tốn bao nhiêu", "mất bao nhiêu tiền", "mất tiền không",
            "mất phí", "có mất phí", "thu phí", "miễn phí", "lệ phí bao nhiêu", "phí bao nhiêu",
            "nộp bao nhiêu tiền", "giá bao nhiêu", "tốn phí",
        ],
        "names": ["lệ phí", "phí", "chi phí"],
    },
    "ask_processing_time": {
        "label": [
            "thời hạn giải quyết", "thời gian giải quyết", "thời gian xử lý", "thời hạn xử lý",
            "thời hạn trả lời", "thời hạn cấp",
        ],
        "asks": [
            "bao lâu", "mất bao lâu", "trong bao lâu", "bao lâu thì có", "bao lâu có", "mấy ngày",
            "bao nhiêu ngày", "mấy tháng", "mấy tuần", "mấy hôm", "bao giờ có", "bao giờ thì có",
            "khi nào có", "khi nào thì có", "khi nào được", "bao giờ được", "lâu không", "khi nào",
            "bao giờ", "trong vòng bao nhiêu ngày", "thời hạn nộp",
        ],
        "names": ["thời gian", "thời hạn"],
    },
    "ask_where": {
        "label": [
            "cơ quan có thẩm quyền", "thẩm quyền", "cơ quan thực hiện", "cơ quan giải quyết",
            "nơi tiếp nhận", "địa chỉ tiếp nhận",
        ],
        "asks": [
            "ở đâu", "tại đâu", "chỗ nào", "nơi nào", "đi đâu", "nộp đâu", "làm đâu", "cơ quan nào", "nộp cho ai", "hỏi ai",
            "liên hệ ai", "đến đâu", "ở xã hay", "ở phường hay", "ở huyện hay", "hay ở huyện",
            "hay ở tỉnh", "phải về quê", "về nơi thường trú", "ngân hàng nào", "bộ phận nào",
            "cấp nào", "cơ quan nào cấp", "làm ở đâu cũng được", "nộp ở",
        ],
        "names": ["thẩm quyền", "nơi nộp", "nơi làm"],
    },
    "ask_channels": {
        "label": ["cách thức nộp", "hình thức nộp"],
        "asks": [
            "nộp online", "làm online", "online được không", "trực tuyến được không", "qua mạng được không",
            "nộp trực tuyến", "làm trực tuyến", "nộp qua mạng", "qua bưu điện", "qua bưu chính",
            "gửi qua bưu điện", "trên cổng dịch vụ công", "qua dịch vụ công", "toàn trình",
        ],
        "names": ["online", "trực tuyến", "qua mạng", "dịch vụ công", "bưu điện", "bưu chính", "ký số"],
    },
    "ask_conditions": {
        "label": ["điều kiện", "yêu cầu và điều kiện", "yêu cầu, điều kiện", "đối tượng thực hiện"],
        "asks": [
            "trường hợp nào", "những trường hợp nào", "đối tượng nào", "những đối tượng nào", "ai được",
            "điều kiện gì", "điều kiện nào", "những điều kiện", "có đủ điều kiện", "tiêu chuẩn gì",
            "cần điều kiện", "điều kiện như thế nào", "bao nhiêu tuổi", "mấy năm kinh nghiệm",
        ],
        "names": ["điều kiện", "yêu cầu", "tiêu chuẩn", "đối tượng"],
    },
    "ask_legal_basis": {
        "label": ["căn cứ pháp lý"],
        "asks": [
            "văn bản nào", "thông tư nào", "nghị định nào", "luật nào", "quyết định nào",
            "theo quy định nào", "văn bản quy phạm pháp luật nào", "quy định ở đâu", "quy định tại đâu",
            "căn cứ vào đâu",
        ],
        "names": ["căn cứ pháp lý", "căn cứ"],
    },
    "ask_result": {
        "label": ["kết quả thực hiện"],
        "asks": [
            "nhận được gì", "được cấp gì", "được nhận giấy gì", "nhận giấy gì", "nhận được giấy gì",
            "được cấp giấy gì", "cấp giấy gì", "dùng được bao lâu", "dùng được trong bao lâu",
            "có giá trị bao lâu", "có giá trị trong bao lâu", "giá trị trong bao lâu", "hiệu lực bao lâu",
            "sử dụng được bao lâu", "dùng đến bao giờ", "có thời hạn không", "có thời hạn bao lâu",
            "thời hạn sử dụng", "có giá trị như thế nào", "có giá trị không", "thời hạn của",
            "có phải trả lời bằng văn bản", "trả kết quả",
        ],
        "names": ["kết quả", "hiệu lực", "thời hạn sử dụng"],
    },
    "ask_procedure_overview": {
        "label": [],
        "asks": [
            "thủ tục gì", "thủ tục nào", "những thủ tục nào", "những thủ tục gì", "làm thủ tục gì",
            "thực hiện thủ tục gì", "thủ tục thay đổi gì", "làm những thủ tục",
        ],
        "names": [],
    },
}  # fmt: skip
"""Per ``ask_*`` intent: field labels (strong at the start of a sentence), interrogatives that name the
part, and nouns that name it (the part of a generic interrogative or a yes/no question after them)."""

DEFAULT_GENERIC: dict[str, str | None] = {
    "như thế nào": "ask_steps",
    "thế nào": "ask_steps",
    "ra sao": "ask_steps",
    "như nào": "ask_steps",
    "là gì": "definition",
    "gồm những gì": "ask_documents",
    "gồm gì": "ask_documents",
    "bao gồm những gì": "ask_documents",
    "những gì": None,
    "là bao nhiêu": None,
    "bao nhiêu": None,
    "quy định như thế nào": None,
    "được quy định như thế nào": None,
}
"""Interrogatives that ask about whatever part a noun before them names; alone, the value given here
(an ``ask_*`` intent, a ``not_procedure`` kind, or nothing)."""

DEFAULT_NOT_PROCEDURE: dict[str, list[str]] = {
    "definition": [
        "thế nào là", "được hiểu là", "được hiểu như thế nào", "hiểu thế nào", "nghĩa là gì",
        "khái niệm", "được gọi là", "là ai",
    ],
    "penalty": [
        "xử phạt", "bị phạt", "mức phạt", "tiền phạt", "phạt bao nhiêu", "phạt tiền", "bị xử lý",
        "xử lý vi phạm", "vi phạm", "truy cứu", "phạm tội", "tội gì", "chế tài", "bị sao không", "có bị sao",
    ],
    "amount": [
        "mức hưởng", "hưởng bao nhiêu", "được hưởng bao nhiêu", "được bao nhiêu tiền", "nhận được bao nhiêu",
        "được khoảng bao nhiêu", "nhận khoảng bao nhiêu", "được nhận bao nhiêu", "lĩnh được bao nhiêu",
        "nhận bao nhiêu tiền",
        "cách tính", "tính như thế nào", "tính thế nào", "được tính", "bao nhiêu phần trăm", "bao nhiêu %",
        "mức đóng", "mức hỗ trợ", "mức trợ cấp", "được hỗ trợ bao nhiêu", "mức lương", "lương bao nhiêu",
    ],
}  # fmt: skip
"""Signs that a message asks no part of a procedure, by kind."""

DEFAULT_ASKING_OPENERS = [
    "cho tôi hỏi", "cho em hỏi", "cho mình hỏi", "cho cháu hỏi", "cho hỏi", "xin hỏi", "tôi muốn hỏi",
    "em muốn hỏi", "mình muốn hỏi", "tôi muốn biết", "em muốn biết", "đề nghị cho biết", "xin cho biết",
    "vui lòng cho biết", "đề nghị hướng dẫn", "xin hướng dẫn", "nhờ hướng dẫn", "hỏi", "cho biết",
    "quy định về", "về",
]  # fmt: skip
"""Words that open the asking part of a message."""

DEFAULT_YES_NO_ENDS = ["không", "hay không", "được không", "chưa", "có không", "hông", "hok"]
DEFAULT_YES_NO_STARTS = ["có", "được", "có được", "có phải", "phải", "có cần", "cần", "có bắt buộc", "bắt buộc",
                         "có thể", "có nên", "liệu"]  # fmt: skip
_PARTICLES = frozenset(
    {"ạ", "a", "vậy", "vay", "nhỉ", "nhi", "nhé", "nhe", "nha", "ad", "admin", "à", "hả", "ha", "không", "ko"}
)
_YES_NO_WINDOW = 14
"""Words between "có"/"được" and "không" for them to make one yes/no question."""
_NOUN_WINDOW = 10
"""Words a generic interrogative looks back for the noun naming its part."""

_PAPERS = (
    ("giay",),
    ("ban", "sao"),
    ("ban", "chinh"),
    ("ban", "photo"),
    ("photo",),
    ("cmnd",),
    ("cccd",),
    ("can", "cuoc"),
    ("chung", "minh"),
    ("so", "ho", "khau"),
    ("so", "do"),
    ("so", "hong"),
    ("ho", "chieu"),
    ("anh", "the"),
    ("hinh", "the"),
    ("anh", "3x4"),
    ("anh", "4x6"),
    ("ho", "so"),
)
"""Papers, as folded words, after "cần" in a yes/no question ("có cần bản sao không"); whole words, so that
"có cần bạn đi cùng", "có cần số điện thoại" are no paper."""
_BRING = (
    ("mang", "theo"),
    ("chuan", "bi"),
    ("xuat", "trinh"),
    ("nop", "kem"),
    ("mang",),
    ("nop",),
    ("kem",),
    ("co",),
)
"""Verbs between "cần" (and a "phải") and a paper: "cần mang theo", "cần chuẩn bị", "cần phải xuất trình"."""

_SUBMIT = frozenset({"nop", "gui", "lam", "hien"})
"""Verbs ("nộp", "gửi", "làm", "thực hiện") between a form and "ở đâu" that make a question about a form
one of where the dossier is handed in ("mẫu đơn nộp hồ sơ ở đâu")."""

_SENTENCE_END = re.compile(r"[?!;\n]|\.(?=\s|$)")


class AskingSettings(ComponentSettings):
    """Settings of :class:`AskingClauseExtractor` (every phrase list is replaced, not merged, when set).

    Attributes:
        aspect_cues: per ``ask_*`` intent, ``label`` / ``asks`` / ``names`` phrases (see the module
            docstring).
        generic: interrogatives whose part is named by a noun before them -> their value alone.
        not_procedure: per kind, phrases saying the message asks no part of a procedure.
        asking_openers: phrases opening the asking part ("cho tôi hỏi").
        secondary_at_least: a part other than the main one is reported when its cue is at least this
            strong (2: an interrogative; 1: a noun in an asking sentence too).
    """

    aspect_cues: dict[str, dict[str, list[str]]] = Field(default_factory=lambda: dict(DEFAULT_ASPECT_CUES))
    generic: dict[str, str | None] = Field(default_factory=lambda: dict(DEFAULT_GENERIC))
    not_procedure: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_NOT_PROCEDURE))
    asking_openers: list[str] = Field(default_factory=lambda: list(DEFAULT_ASKING_OPENERS))
    secondary_at_least: int = Field(ASKS, ge=1, le=3)


@dataclass(frozen=True)
class _Cue:
    kind: str  # "label", "asks", "names", "generic", "not", "opener"
    value: str | None
    norm: str  # the phrase with diacritics, normalized


@dataclass
class _Part:
    """A part asked: how strongly, where (sentence, first word), which ``ask_*`` intent, its span of
    words; ``generic`` for the default of an interrogative that names no part ("thế nào" -> steps)."""

    strength: int
    sentence: int
    start: int
    value: str
    s: int
    e: int
    generic: bool = False


@dataclass
class _Hit:
    start: int  # token index
    end: int
    cue: _Cue


def _words(phrase: str) -> tuple[str, str]:
    norm = " ".join(fix_tone_marks(phrase.lower().replace(",", " ")).split())
    return norm, " ".join(fold_iy(w) for w in norm.split())


def _confidence(rank: int, strength: int) -> float:
    """1.0 for the main part when an interrogative or a field label asks it (0.5 when only a noun names
    it); less for the other parts, by strength."""
    if rank == 0:
        return 1.0 if strength >= ASKS else 0.5
    return round(0.3 * strength, 2)


@register
class AskingClauseExtractor(Component):
    """Finds the asking clause and tags the parts it asks (``aspect``) and signs of a question about no
    procedure (``not_procedure``); see the module docstring.

    Cue phrases are matched on the normalizer's words, longest first: on their diacritics where the
    citizen typed them ("phi nông nghiệp" is no fee), on folded words where the typed words carry none.
    """

    name = "AskingClauseExtractor"
    Settings = AskingSettings
    settings: AskingSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        s = self.settings
        table: dict[str, list[_Cue]] = {}

        def add(phrase: str, kind: str, value: str | None) -> None:
            norm, folded = _words(phrase)
            if folded:
                table.setdefault(folded, []).append(_Cue(kind, value, norm))

        for intent, groups in s.aspect_cues.items():
            for kind in ("label", "asks", "names"):
                for phrase in groups.get(kind, ()):
                    add(phrase, kind, intent)
        for phrase, value in s.generic.items():
            add(phrase, "generic", value)
        for kind_name, phrases in s.not_procedure.items():
            for phrase in phrases:
                add(phrase, "not", kind_name)
        for phrase in s.asking_openers:
            add(phrase, "opener", None)
        self._table = table
        self._max = max((len(k.split()) for k in table), default=1)
        self._yes_no_ends = {_words(p)[1] for p in DEFAULT_YES_NO_ENDS}
        self._yes_no_starts = {_words(p)[1] for p in DEFAULT_YES_NO_STARTS}
        self._particles = {fold_iy(p) for p in _PARTICLES}

    # --- matching -------------------------------------------------------------------------------------

    def _hits(self, tokens: list[Token]) -> list[_Hit]:
        """Longest cue at each position; a shorter cue inside a longer one is not reported."""
        folded = [t.folded for t in tokens]
        # Typed without diacritics (an abbreviation's expansion "gì" of "gi" included): compare folded.
        plain = [not has_diacritics(t.text) for t in tokens]
        hits: list[_Hit] = []
        i, n = 0, len(tokens)
        while i < n:
            for size in range(min(self._max, n - i), 0, -1):
                cues = self._table.get(" ".join(folded[i : i + size]))
                if not cues:
                    continue
                norm = " ".join(t.norm for t in tokens[i : i + size])
                fits = [c for c in cues if all(plain[i : i + size]) or c.norm == norm]
                if fits:
                    hits.extend(_Hit(i, i + size, c) for c in fits)
                    i += size
                    break
            else:
                i += 1
        return hits

    @staticmethod
    def _sentences(message: Message) -> list[tuple[int, int, bool]]:
        """(first token, end token, ends with "?") per sentence."""
        tokens = message.tokens
        bounds = [(m.start(), m.group() == "?") for m in _SENTENCE_END.finditer(message.text)]
        out: list[tuple[int, int, bool]] = []
        start, b = 0, 0
        for i, tok in enumerate(tokens):
            while b < len(bounds) and bounds[b][0] < tok.start:
                if i > start:
                    out.append((start, i, bounds[b][1]))
                    start = i
                b += 1
        if start < len(tokens):
            asked = any(q for pos, q in bounds[b:])
            out.append((start, len(tokens), asked))
        return out

    def _yes_no(self, folded: list[str], start: int, end: int) -> int | None:
        """Index of the "có"/"được" opening a yes/no question in ``folded[start:end]``, if it is one."""
        last = end
        while last > start and folded[last - 1] in self._particles and folded[last - 1] != "khong":
            last -= 1
        tail = None
        for size in (2, 1):
            if last - size >= start and " ".join(folded[last - size : last]) in self._yes_no_ends:
                tail = last - size
                break
        if tail is None:
            return None
        if folded[tail] in ("duoc", "co", "hay"):
            return start  # "… được không", "… có không", "… hay không": the sentence is the question
        for j in range(tail - 1, max(start, tail - _YES_NO_WINDOW) - 1, -1):
            if folded[j] in self._yes_no_starts or " ".join(folded[j : j + 2]) in self._yes_no_starts:
                return j
        return None

    # --- reading ----------------------------------------------------------------------------------------

    def process(self, message: Message) -> None:
        """Add ``aspect`` and ``not_procedure`` entities (see the module docstring)."""
        tokens = message.tokens
        if not tokens:
            return
        hits = self._hits(tokens)
        folded = [t.folded for t in tokens]
        read = [
            self._sentence(index, hits, folded, *sentence)
            for index, sentence in enumerate(self._sentences(message))
        ]
        anyone_asks = any(asking for asking, _, _ in read)
        parts = [p for asking, mine, _ in read if asking or not anyone_asks for p in mine]
        signs = [n for asking, _, nots in read if asking or not anyone_asks for n in nots]
        self._emit(message, parts, signs)

    def _sentence(
        self, index: int, hits: list[_Hit], folded: list[str], first: int, end: int, question_mark: bool
    ) -> tuple[bool, list[_Part], list[tuple[str, int, int]]]:
        """Whether one sentence asks, the parts it names and its signs of a question about no procedure."""
        mine = [h for h in hits if first <= h.start < end]
        parts: list[_Part] = []
        nots: list[tuple[str, int, int]] = []
        asking = question_mark or any(h.cue.kind in ("asks", "generic", "opener") for h in mine)
        yes_no = self._yes_no(folded, first, end)
        asking = asking or yes_no is not None
        covered = {j for h in mine if h.cue.kind == "opener" for j in range(h.start, h.end)}
        for h in mine:
            cue, value = h.cue, str(h.cue.value)
            if cue.kind == "label":
                # "Thành phần hồ sơ …", "Đề nghị cho biết thẩm quyền …": nothing but openers before it
                at_start = all(j in covered for j in range(first, h.start))
                parts.append(_Part(LABEL if at_start else NAMES, index, h.start, value, h.start, h.end))
            elif cue.kind in ("asks", "names"):
                parts.append(
                    _Part(ASKS if cue.kind == "asks" else NAMES, index, h.start, value, h.start, h.end)
                )
            elif cue.kind == "not":
                nots.append((value, h.start, h.end))
            elif cue.kind == "generic":
                noun = self._noun_before(mine, h.start)
                if noun is not None:
                    parts.append(_Part(ASKS, index, noun.start, str(noun.cue.value), noun.start, h.end))
                elif cue.value and cue.value.startswith("ask_"):
                    parts.append(_Part(ASKS, index, h.start, cue.value, h.start, h.end, generic=True))
                elif cue.value:
                    nots.append((cue.value, h.start, h.end))
        if yes_no is not None and not any(p.strength >= ASKS and p.start >= yes_no for p in parts):
            noun = self._noun_before(mine, end, after=yes_no - 1)
            if noun is not None:
                parts.append(_Part(ASKS, index, noun.start, str(noun.cue.value), noun.start, end))
            elif self._needs_a_paper(folded, first, end):
                parts.append(_Part(ASKS, index, yes_no, "ask_documents", yes_no, end))
            else:
                parts.append(_Part(ASKS, index, yes_no, "ask_conditions", yes_no, end, generic=True))
        # "mẫu tờ khai … lấy ở đâu": where to get the form is the form (its link); "mẫu đơn nộp ở đâu" asks
        # where the dossier goes.
        for p in parts:
            if p.value == "ask_where" and p.strength == ASKS and not p.generic:
                form = self._noun_before([h for h in mine if h.cue.value == "ask_forms"], p.start)
                if form is not None and not _SUBMIT.intersection(folded[form.end : p.e]):
                    p.value = "ask_forms"
        # An interrogative beats a field label of another part: "Hồ sơ … nộp online được không" asks how.
        explicit = {p.value for p in parts if p.strength == ASKS and not p.generic}
        for p in parts:
            if p.strength == LABEL and explicit - {p.value}:
                p.strength = NAMES
        return asking, parts, nots

    @staticmethod
    def _needs_a_paper(folded: list[str], start: int, end: int) -> bool:
        """ "có cần (phải) (mang theo|nộp|chuẩn bị) giấy khai sinh không", "cần bản sao không": whether a
        paper is needed is a question of the documents, not of the conditions."""
        words = folded[start:end]

        def starts(at: int, phrases: tuple[tuple[str, ...], ...]) -> int:
            """The length of the phrase of ``phrases`` that ``words`` has at ``at``, or 0."""
            return next((len(p) for p in phrases if tuple(words[at : at + len(p)]) == p), 0)

        for i, word in enumerate(words):
            if word != "can":  # "cần" (or "căn" of "căn cước", folded alike: the paper test tells)
                continue
            at = i + 1 + (words[i + 1 : i + 2] == ["phai"])
            at += starts(at, _BRING)
            if starts(at, _PAPERS):
                return True
        return False

    def _noun_before(self, mine: list[_Hit], position: int, after: int = -1) -> _Hit | None:
        nouns = [
            h
            for h in mine
            if h.cue.kind in ("names", "label")
            and h.end <= position
            and h.start > after
            and position - h.end <= _NOUN_WINDOW
        ]
        return nouns[-1] if nouns else None

    def _emit(self, message: Message, parts: list[_Part], signs: list[tuple[str, int, int]]) -> None:
        """One entity per part (the strongest cue of each; the main part first), then the signs."""
        tokens = message.tokens
        asked = [p for p in parts if p.strength >= ASKS] or parts
        # strongest first; then explicit before a generic default; then the earliest sentence and word
        order = sorted(asked, key=lambda p: (-p.strength, p.generic, p.sentence, p.start))
        best: dict[str, _Part] = {}
        for part in order:
            best.setdefault(part.value, part)
        entities: list[dict[str, Any]] = []
        for rank, part in enumerate(best.values()):
            if rank and part.strength < self.settings.secondary_at_least:
                continue
            entities.append(
                {
                    "entity": ASPECT_ENTITY,
                    "value": part.value,
                    "start": tokens[part.s].start,
                    "end": tokens[part.e - 1].end,
                    "confidence": _confidence(rank, part.strength),
                    "extractor": self.name,
                    "strength": part.strength,
                    "generic": part.generic,
                }
            )
        for kind, s, e in signs:
            entities.append(
                {
                    "entity": NOT_PROCEDURE_ENTITY,
                    "value": kind,
                    "start": tokens[s].start,
                    "end": tokens[e - 1].end,
                    "confidence": 1.0,
                    "extractor": self.name,
                }
            )
        if entities:
            message.entities.extend(entities)
            message.entities.sort(key=lambda ent: (ent["start"], ent["entity"]))
