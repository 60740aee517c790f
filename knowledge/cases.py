"""Documents per case: which papers everyone brings, which only some citizens need, and which case the
citizen's words name.

The records are written for lawyers. A paper needed only in one situation is published beside the
others, its case in its own words: "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản ...", "Văn bản ủy
quyền ... trong trường hợp ủy quyền ...", "Hộ chiếu còn thời hạn (đối với người nước ngoài ...)".
Other records publish whole dossiers per case under group headings ("(1.1) Đối với công trình không
theo tuyến", ..., "(1.7) Đối với công trình nhà ở riêng lẻ"); a citizen building a house needs only the
last. :func:`dossier` reads a record the way an officer does: the papers everyone brings
(:attr:`Dossier.common`), and the cases (:attr:`Dossier.cases`), each with its own papers.

Both the policy (a case typed while the case buttons are shown, the words kept in the ``case`` slot)
and the answers (list only the citizen's case) match words to cases, so the matching lives here,
beside the records, and reads plain text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from knowledge.domain import Document, Procedure
from knowledge.text import clip, fold, strip_list_marker

CASE_CHARS = 150
"""Longest ``case`` slot kept (the citizen's words, folded)."""

MAX_ITEM_CASES = 5
"""Most cases read from single papers offered as buttons; a record with more conditional papers has
them said inline, each with its condition ("(nếu ...)"), after the papers everyone brings."""

AUTHORISATION_CASE = "ủy quyền cho người khác làm thủ tục"
"""One case for every paper needed only when someone else files for the citizen (the records say it
many ways: "Văn bản ủy quyền ...", "... trong trường hợp ủy quyền ...")."""

ONLINE_CASE = "nộp hồ sơ trực tuyến"
"""One case for the papers needed only when filing online (the interactive e-form, scanned copies)."""

IF, FOR = "nếu", "đối với"
"""How a record introduced a paper's case, so a list line can say it back: "(nếu trẻ em bị bỏ rơi)",
"(đối với Quân đội nhân dân)"."""


@dataclass(frozen=True)
class Paper:
    """One paper of a dossier, as an officer lists it.

    Attributes:
        document: the published record (its full text is ``document.name`` and ``document.note``).
        words: what to bring: the published text without its case clause.
        case: the published words of the case it is needed in; "" when everyone in its list needs it.
        lead: :data:`IF` or :data:`FOR`, how the case was introduced.
        unless_on_record: needed only when the office cannot read the fact from a national database
            (the records say "trong trường hợp cơ quan ... không thể khai thác được thông tin ...").
        heading: a lead-in ("... hồ sơ gồm:") with no paper of its own; listed as a heading, not counted.
        some_cases: needed only in cases the record names by a legal reference ("đối với trường hợp
            quy định tại khoản 4 Điều 45 Luật Đất đai"), which a citizen cannot pick from.
        said_case: the case in the record's own words, before it was merged into one
            (:data:`AUTHORISATION_CASE` stands for "ủy quyền cho tổ chức ...", "ủy quyền cho cá nhân ...").
        aside: not a paper but a remark published in the list ("Lưu ý: ...", "Ví dụ: ..."): said with
            the full texts, never counted or numbered as a paper.
    """

    document: Document
    words: str
    case: str = ""
    lead: str = IF
    unless_on_record: bool = False
    heading: bool = False
    some_cases: bool = False
    aside: bool = False
    said_case: str = ""


@dataclass(frozen=True)
class DocumentCase:
    """A case the citizen may be in, with the papers it adds (or, for a group heading, its dossier).

    Attributes:
        key: what identifies it in the ``case`` slot and a continuation: the group heading as published,
            or the case words of its papers (:data:`AUTHORISATION_CASE`, :data:`ONLINE_CASE` ...).
        papers: its papers, in published order.
        from_heading: published as a group of its own (an alternative dossier), not read from papers.
    """

    key: str
    papers: tuple[Paper, ...]
    from_heading: bool = False


@dataclass(frozen=True)
class Dossier:
    """A procedure's papers split the way an officer says them.

    Attributes:
        common: what everyone brings, in published order (conditional papers that are not offered as
            a case keep their ``case`` and are said inline).
        cases: the cases offered as a choice, in published order; empty when there is none to make.
    """

    common: tuple[Paper, ...]
    cases: tuple[DocumentCase, ...] = ()

    def find(self, key: str | None) -> DocumentCase | None:
        """The case remembered as ``key``, or None (none remembered, or the record changed)."""
        return next((c for c in self.cases if c.key == key), None)

    @property
    def has_headings(self) -> bool:
        """The cases are alternative dossiers published under group headings."""
        return any(c.from_heading for c in self.cases)


# --- Reading one paper's case --------------------------------------------------------------------------

_LEAD_RE = re.compile(
    r"^(?P<lead>trong (?:các )?trường hợp|đối với (?:các )?trường hợp|trường hợp(?: \d+:)?|nếu|đối với)\s+"
    r"(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_FOREIGNER_RE = re.compile(
    r"^(?P<case>người nước ngoài(?:, (?:công dân|người) Việt Nam định cư ở nước ngoài)?)\s+"
    r"(?:phải\s+)?(?P<verb>nộp|xuất trình)\s+(?P<words>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
# Where the case words end and the paper starts: "Trường hợp X thì ...", "Đối với X: ...",
# "Trường hợp X, hồ sơ ...", "Trường hợp X phải có ...".
_CASE_END_RE = re.compile(
    r"\s*:\s*|\s+thì\s+|,\s+(?=(?:hồ sơ|nộp|cần|phải|kèm|bổ sung|ngoài|người|tổ chức|cá nhân|doanh nghiệp"
    r"|chủ|bên|cơ quan|tài liệu|giấy tờ)\b)|\s+(?=(?:phải|cần) (?:có|nộp|bổ sung|xuất trình|kèm)\b)"
    r"|\s+-\s+(?=(?-i:[A-ZĐÀ-Ỹ]))",  # "Trường hợp hoàn trả tiền đã đóng - Tờ khai ...; - Sổ BHXH"
    re.IGNORECASE,
)
# What the paper's words start with once the case is cut off: "phải có", "hồ sơ gồm:", "doanh nghiệp
# phải nộp thêm", "kèm theo hồ sơ đăng ký doanh nghiệp phải có:".
_WORDS_LEAD_RE = re.compile(
    r"^(?:(?:hồ sơ|kèm theo|ngoài)\b[^:;.]{0,80}?\s)?(?:[^\s,:;.]+\s){0,4}?"
    r"(?:phải |cần |được |sẽ )?(?:có|nộp thêm|nộp bổ sung|nộp lại|nộp|bổ sung|xuất trình|kèm theo|gửi kèm|gồm có|"
    r"bao gồm|gồm)\b\s*:?\s*",
    re.IGNORECASE,
)
_TRAILING_CASE_RE = re.compile(
    r"\s*(?:\((?:áp dụng )?(?:đối với|trong|chỉ áp dụng đối với|chỉ áp dụng với)?\s*(?:các )?"
    r"trường hợp\s+(?P<paren>[^()]{4,})\)"
    r"|\(đối với (?P<paren_for>(?:người|trẻ em|công dân|cá nhân|tổ chức|hộ gia đình|doanh nghiệp|"
    r"công trình|trường hợp)\b[^()]{3,})\)"
    r"|\s(?:trong|đối với|đối với các) trường hợp\s+(?P<tail>[^()]{4,}?)"
    r"|\sđối với (?P<tail_for>(?:người|trẻ em|công dân)\b[^()]{3,}?))"
    r"(?=(?:\s*\((?:nếu có|nếu có yêu cầu)\))?(?:$|[;.]\s|[;.]$))",
    re.IGNORECASE,
)
_ONLINE_IF_RE = re.compile(
    r"\s*\((?:[^()]*\s)?nếu\b[^()]*trực tuyến[^()]*\)|\s*\((?:do người[^()]*?,\s*)?nếu\b[^()]*trực tuyến[^()]*\)",
    re.IGNORECASE,
)
_ON_RECORD_RE = re.compile(
    r"không (?:thể )?khai thác|chưa (?:được )?(?:kết nối|chia sẻ)|không (?:thể )?tra cứu|cơ sở dữ liệu",
    re.IGNORECASE,
)
_AUTHORISATION_PAPER_RE = re.compile(
    r"^(?:bản sao )?(?:văn bản|giấy|hợp đồng) (?:ủy|uỷ) quyền\b", re.IGNORECASE
)
_AUTHORISATION_CASE_RE = re.compile(
    r"\b(?:ủy|uỷ) quyền\b|người đại diện|thông qua người đại diện", re.IGNORECASE
)
_AUTHORISATION_USE_RE = re.compile(
    r"\((?:dùng cho|áp dụng)[^()]*trường hợp (?:ủy|uỷ) quyền[^()]*\)|\btrong trường hợp (?:ủy|uỷ) quyền\b",
    re.IGNORECASE,
)
_AUTHORISATION_TAIL_RE = re.compile(
    r"\s+(?:theo quy định của pháp luật\s+)?trong trường hợp (?:ủy|uỷ) quyền[^.;()]*(?=[.;]|$)", re.IGNORECASE
)
_ONLINE_PAPER_RE = re.compile(r"điện tử tương tác", re.IGNORECASE)
_ONLINE_CASE_RE = re.compile(r"\btrực tuyến\b|môi trường điện tử", re.IGNORECASE)
_WEAK_CASE_RE = re.compile(
    r"^(?:không|chưa|quy định tại|nêu tại|nêu trên|tại|này|đó)\b|^[\W\d_]*(?:[^\W\d_][\W\d_]*)?$",
    re.IGNORECASE,
)
"""Case words a citizen cannot pick by: a negation of the paper before ("không có văn bản nêu trên"), a
legal reference, or no word at all ("(2)")."""
_ASIDE_RE = re.compile(r"^(?:lưu ý|chú ý|ví dụ|ghi chú)\s*:", re.IGNORECASE)
_FOOTNOTE_RE = re.compile(r"(?<=[).;])\s*\d{1,2}\.?$")
"""A footnote number the portal left after a paper ("(Mẫu CT01 ... 53/2025/TT-BCA).1.")."""
_INSTRUCTION_RE = re.compile(r"\sthì\s", re.IGNORECASE)
"""Case words that go on to say what to do ("đối với người chưa thành niên thì trong tờ khai phải ghi
rõ ...") are an instruction about the paper, not a case in which it is needed."""
_LIST_OF_PAPERS_RE = re.compile(
    r"^.{0,60}?\bcác (?:giấy tờ|tài liệu|văn bản) sau(?: đây)?\s*:", re.IGNORECASE
)
"""A paper that is a list of papers ("Bản sao các giấy tờ sau đây: - Giấy tờ pháp lý của cá nhân ...;
- ...")."""
_FIRST_SENTENCE_RE = re.compile(r"\.\s+(?=[A-ZĐÀ-Ỹ])|\.(?=[A-ZĐ][a-zà-ỹđ])")


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" ,;")


def _first_sentence(text: str) -> tuple[str, str]:
    """(first sentence, the rest) of a published text; a sentence inside parentheses does not end it."""
    for match in _FIRST_SENTENCE_RE.finditer(text, 12):
        head = text[: match.start() + 1]
        if head.count("(") == head.count(")"):
            return head, text[match.end() :].lstrip()
    return text, ""


def _canonical(case: str, words: str, own: bool = False) -> str:
    """The one case a paper's case words stand for: authorisation and online filing are said many ways.

    With ``own`` (the case is the paper's own clause, "... đối với trường hợp X"), a paper named as an
    authorisation ("Văn bản ủy quyền của thành viên hộ gia đình cho một thành viên làm chủ hộ ...")
    keeps the record's case: that is who needs it, not someone filing for the citizen."""
    if _AUTHORISATION_CASE_RE.search(case) or (_AUTHORISATION_PAPER_RE.match(words) and not own):
        return AUTHORISATION_CASE
    if _ONLINE_CASE_RE.search(case):
        return ONLINE_CASE
    return case


def read_paper(doc: Document) -> Paper:
    """One published paper read for its case: everyone's, or one case's ("Trường hợp X thì Y")."""
    text = _tidy(_FOOTNOTE_RE.sub("", strip_list_marker(_tidy(doc.name))))
    if _ASIDE_RE.match(text):
        return Paper(doc, text, aside=True)
    if text.endswith(":") and len(text) < 400:
        return Paper(doc, text.rstrip(" :"), heading=True)

    lead = _LEAD_RE.match(text)
    if lead:
        rest = lead.group("rest")
        end = _CASE_END_RE.search(rest, 3)
        if end is not None:
            case, words = _tidy(rest[: end.start()]), _tidy(rest[end.end() :])
            words = _WORDS_LEAD_RE.sub("", words, count=1) if len(words) > 20 else words
            words = strip_list_marker(words)
            kind = FOR if lead.group("lead").lower() == "đối với" else IF
            if not words:
                return Paper(doc, text.rstrip(" :"), heading=True)
            if _ON_RECORD_RE.search(case):
                return Paper(doc, words, unless_on_record=True)
            if _WEAK_CASE_RE.match(case):
                return Paper(doc, words, some_cases=True, said_case=case)
            return Paper(doc, words, _canonical(case, words), kind, said_case=case)
        if text.endswith(":"):
            return Paper(doc, text.rstrip(" :"), heading=True)
        return Paper(doc, text)

    foreigner = _FOREIGNER_RE.match(text)
    if foreigner:
        return Paper(doc, _tidy(foreigner.group("words")), _tidy(foreigner.group("case")), FOR)

    if _ONLINE_PAPER_RE.search(text):
        return Paper(doc, _ONLINE_IF_RE.sub("", text), ONLINE_CASE)
    if _AUTHORISATION_USE_RE.search(_first_sentence(text)[0]) or (
        _AUTHORISATION_PAPER_RE.match(text) and not _names_own_case(_first_sentence(text)[0])
    ):
        return Paper(doc, _AUTHORISATION_TAIL_RE.sub("", text), AUTHORISATION_CASE)

    if re.search(r"\bmột trong\b", text[:200], re.IGNORECASE) or _LIST_OF_PAPERS_RE.match(text):
        # the conditions inside "one of the following" / "the following papers: - A; - B" are the items'
        return Paper(doc, text)
    first, rest = _first_sentence(text)
    clause = re.split(r":\s|\s\+\s|;\s", first, maxsplit=1)
    trailing = None
    if len(clause) > 1:
        head = clause[0]
        trailing = _TRAILING_CASE_RE.search(head)
        if trailing is not None or " + " in first:
            first, rest = head, text[len(head) :]
    trailing = trailing or _TRAILING_CASE_RE.search(first)
    if trailing:
        case = _tidy(next(g for g in trailing.groups() if g))
        words = _tidy(first[: trailing.start()] + first[trailing.end() :])
        if _INSTRUCTION_RE.search(case):
            return Paper(doc, text)  # "...; đối với X thì phải ghi rõ ...": how to fill it in, for everyone
        if len(words.split()) >= 2:
            words = _tidy(words + " " + rest) if rest else words
            if _ON_RECORD_RE.search(case):
                return Paper(doc, words, unless_on_record=True)
            if _WEAK_CASE_RE.match(case):
                return Paper(doc, words, some_cases=True)
            kind = FOR if trailing.group("paren_for") or trailing.group("tail_for") else IF
            return Paper(doc, words, _canonical(case, words, own=True), kind, said_case=case)
    return Paper(doc, text)


def _names_own_case(sentence: str) -> str:
    """The case a paper's first sentence names in its own words ("... đối với trường hợp hộ kinh doanh
    do các thành viên hộ gia đình đăng ký thành lập"), unless it is about authorising someone; or ""."""
    trailing = _TRAILING_CASE_RE.search(sentence)
    if trailing is None:
        return ""
    case = _tidy(next(g for g in trailing.groups() if g))
    return "" if _AUTHORISATION_CASE_RE.search(case) or _WEAK_CASE_RE.match(case) else case


# --- Reading a whole record ------------------------------------------------------------------------------

_CASE_HEADING_RE = re.compile(r"^(?:doi voi|truong hop|trong truong hop|neu)\b")
_SECTION_HEADING_RE = re.compile(
    r"^(?:cac )?(?:giay to|tai lieu|thanh phan ho so|thanh phan|bao gom|gom|xuat trinh|ho so cua|ho so gom)\b"
    r"|phai nop|phai xuat trinh|ban chinh|^ho so$|^nop (?:truc tiep|qua)\b",
)
_HEADING_NUMBER_RE = re.compile(
    r"^(?:\(?[\dIVXivx]+(?:\.\d+)*[.)]|\(?[a-zđ](?:\.\d+)?\)|[a-zđ]\d*\.)\s*", re.I
)


def _folded_heading(group: str) -> str:
    return fold(_HEADING_NUMBER_RE.sub("", " ".join(group.split())).lower())


def _is_case_heading(group: str) -> bool:
    return bool(_CASE_HEADING_RE.match(_folded_heading(group)))


def _is_section_heading(group: str) -> bool:
    return bool(_SECTION_HEADING_RE.search(_folded_heading(group)))


def _heading_cases(groups: Sequence[str]) -> set[str]:
    """The group headings that are alternative cases.

    A heading that says "Đối với ..." / "Trường hợp ..." is a case, even alone (its papers add to the
    others). Headings naming a kind of paper ("Giấy tờ phải nộp", "Giấy tờ phải xuất trình",
    "Thành phần hồ sơ") are sections of one dossier. Two or more other headings ("Hồ sơ đề nghị cấp
    ..." / "Hồ sơ đề nghị cấp lại ...", "Đăng ký thường trú vào chỗ ở ...") are alternatives too.
    """
    cases = {g for g in groups if _is_case_heading(g)}
    others = [g for g in groups if g not in cases and not _is_section_heading(g)]
    if len(others) >= 2:
        cases.update(others)
    return cases


RECORD_CORRECTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # The record lists the two papers of registering a boat or vehicle one lives on ("phương tiện ...
    # sử dụng vào mục đích để ở") under "Đăng ký thường trú vào chỗ ở hợp pháp thuộc quyền sở hữu của
    # mình": a home owner would be told to bring a vehicle's papers. Luật Cư trú makes it a case of its
    # own; the papers get their own group, named in the papers' words.
    "1.004222": (
        (
            "Đăng ký thường trú vào chỗ ở hợp pháp thuộc quyền sở hữu của mình",
            "phuong tien",
            "Đăng ký thường trú vào phương tiện dùng để ở",
        ),
    ),
}
"""Where a published record itself groups papers wrongly: code -> (published group, folded words of
the papers that belong elsewhere, the group they belong to). Only for errors in the record, each said."""


def corrected_documents(proc: Procedure) -> tuple[Document, ...]:
    """``proc``'s papers, with :data:`RECORD_CORRECTIONS` applied."""
    fixes = RECORD_CORRECTIONS.get(proc.code, ())
    if not fixes:
        return tuple(proc.documents)
    kept, moved = [], []
    for doc in proc.documents:
        into = next(
            (to for group, words, to in fixes if doc.group == group and words in fold(doc.name.lower())), ""
        )
        if into:
            moved.append(replace(doc, group=into))  # after the published groups: offered after them
        else:
            kept.append(doc)
    return (*kept, *moved)


def dossier(proc: Procedure) -> Dossier:
    """``proc``'s papers as an officer says them: everyone's first, then the cases to choose from.

    Alternative dossiers under group headings are the cases when there are any; the papers outside
    them are everyone's, and conditional papers inside are said inline. Otherwise the cases are read
    from single papers ("Trường hợp X thì Y"), merged by case, when there are at most
    :data:`MAX_ITEM_CASES` of them; with more, they are said inline.
    """
    documents = corrected_documents(proc)
    published = (doc.group for doc in (*proc.documents, *documents))  # the record's order of groups
    groups = [g for g in dict.fromkeys(published) if g.strip() and any(d.group == g for d in documents)]
    heading_cases = _heading_cases(groups)
    papers = [_for_whom(read_paper(doc), proc.name) for doc in documents]
    if len(heading_cases) == 1 and all(p.document.group in heading_cases for p in papers):
        heading_cases = set()  # one heading over every paper: who may apply, not a choice of one
    if heading_cases:
        common = tuple(p for p in papers if p.document.group not in heading_cases)
        # The procedure's own dossier ("Hồ sơ đăng ký tạm trú gồm") is the usual case: offered first.
        ordered = sorted(
            (g for g in groups if g in heading_cases), key=lambda g: not is_usual_case(g, proc.name)
        )
        cases = tuple(
            DocumentCase(g, tuple(p for p in papers if p.document.group == g), from_heading=True)
            for g in ordered
        )
        return Dossier(common, cases)
    keys = list(dict.fromkeys(p.case for p in papers if p.case))
    if not 1 <= len(keys) <= MAX_ITEM_CASES:
        return Dossier(tuple(papers))
    return Dossier(
        tuple(p for p in papers if not p.case),
        tuple(DocumentCase(k, tuple(p for p in papers if p.case == k)) for k in keys),
    )


_USUAL_HEADING_RE = re.compile(
    r"^(?:thanh phan )?(?:ho so|giay to)(?: (?:de nghi|cua thu tuc))?\s+|\s+(?:bao gom|gom co|gom)$"
)


def _folded_words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", fold(text.lower())))


def is_usual_case(group: str, procedure_name: str) -> bool:
    """Whether a group heading is the procedure's own dossier ("Hồ sơ đăng ký tạm trú gồm" for "Đăng ký
    tạm trú"), the case of most citizens, beside special ones ("... theo danh sách")."""
    heading = _USUAL_HEADING_RE.sub("", _folded_words(_HEADING_NUMBER_RE.sub("", group.strip())))
    heading = _USUAL_HEADING_RE.sub("", heading)
    name = re.sub(r"^thu tuc ", "", _folded_words(procedure_name))
    return bool(heading) and heading == name


_REPRESENTATIVE_RE = re.compile(
    r"\bchứng minh (?:là |việc là )?người đại diện hợp pháp của (?P<who>(?:người|trẻ em|con)\b[^,;.()]{2,60})$",
    re.IGNORECASE,
)


def _for_whom(paper: Paper, procedure_name: str) -> Paper:
    """A proof of being someone's legal representative ("... chứng minh là người đại diện hợp pháp của
    người dưới 14 tuổi") is needed only by whoever files for that person, unless the procedure itself is
    for such persons ("Cấp thẻ căn cước cho người dưới 14 tuổi")."""
    match = None if paper.case or paper.heading else _REPRESENTATIVE_RE.search(paper.words)
    if match is None:
        return paper
    who = match.group("who").strip()
    if set(_folded_words(who).split()) <= set(_folded_words(procedure_name).split()):
        return paper
    return Paper(paper.document, paper.words, f"làm thủ tục cho {who}", IF)


_CASE_SYNONYMS = {
    AUTHORISATION_CASE: "ủy quyền, nhờ người khác nộp thay, người khác đi làm hộ, đi làm thay",
    ONLINE_CASE: "nộp hồ sơ trực tuyến, nộp online, qua mạng, trên mạng, dịch vụ công trực tuyến",
}


def case_match_text(case: DocumentCase, title: str = "") -> str:
    """The words a citizen may name ``case`` by: its title (the key without the procedure's own words,
    which name no case: "khai sinh cho trẻ em sinh ra do mang thai hộ" -> "trẻ em sinh ra do mang thai
    hộ"), and for the cases every record says its own way, the ways citizens say them ("nhờ người
    khác nộp thay", "nộp online")."""
    said = title or case.key
    return f"{said}, {_CASE_SYNONYMS[case.key]}" if case.key in _CASE_SYNONYMS else said


def document_cases(proc: Procedure) -> list[str]:
    """The keys of the cases offered for ``proc``'s documents, in published order; empty when there is
    no choice to make."""
    return [case.key for case in dossier(proc).cases]


# --- Matching the citizen's words -----------------------------------------------------------------------

_GROUP_STOP_BIGRAMS = frozenset(
    {
        "doi voi",
        "truong hop",
        "ho so",
        "bao gom",
        "gom co",
        "thu tuc",
        "lam thu",
        "giay to",
        "can giay",
        "to gi",
        "can gi",
        "nhung gi",
        "can nhung",
    }
)


_SAID_AS = {"online": ["truc", "tuyen"], "uq": ["uy", "quyen"]}
"""Words citizens type for the records' words ("nộp online" is "nộp trực tuyến")."""


def _bigrams(text: str) -> set[str]:
    words = []
    for word in re.findall(r"[^\W_]+", fold(text.lower())):
        if not word.isdigit():
            words.extend(_SAID_AS.get(word, [word]))
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)} - _GROUP_STOP_BIGRAMS


def match_group(text: str | None, groups: Sequence[str], ignore: str = "") -> int | None:
    """Index of the one case whose words the citizen's words name, or None (none, or a tie).

    Word pairs are compared without diacritics ("nha o" names "(1.7) Đối với công trình nhà ở riêng
    lẻ"); pairs every case has ("công trình") tell nothing and are ignored, and so are the pairs of
    ``ignore`` (what the procedure is: "làm hộ chiếu" names the passport, not the case "người đã được
    cấp hộ chiếu").
    """
    if not text or not groups:
        return None
    keys = [_bigrams(g) for g in groups]
    common = set.intersection(*keys) if len(keys) > 1 else set()
    said = _bigrams(text) - _bigrams(ignore)
    scores = [len((k - common) & said) for k in keys]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def case_words(text: str) -> str | None:
    """The words of a message worth remembering as the citizen's case: folded, no digits (no ID or
    phone number is kept), at most :data:`CASE_CHARS`; None for a button payload or an empty text."""
    if not text.strip() or text.lstrip().startswith("/"):
        return None
    words = [w for w in re.findall(r"[^\W_]+", fold(text.lower())) if not any(ch.isdigit() for ch in w)]
    return clip(" ".join(words), CASE_CHARS).rstrip("…") or None
