"""Pure helpers shared by the importers: times, fees, copy counts, channel words, empty markers.

Everything here takes published text and returns plain values; nothing reads files. The portal writes
the same facts in many ways ("15 Ngày làm việc", "03 ngày làm việc", "Trong ngày", "1 Giờ";
"Lệ phí : 50.000 Đồng", "2,000,000 Việt Nam Đồng", "Miễn phí"), so each parser is written against
the variants actually found in the data and says what it does with the rest: it returns ``None``
rather than guess.
"""

from __future__ import annotations

import re
import unicodedata

from knowledge.domain import Document

CODE_RE = re.compile(r"^\d\.\d{6}$")
"""A national procedure code (mã thủ tục), e.g. ``1.013225``."""


class RecordError(ValueError):
    """A source record that cannot become a procedure; the caller reports it and goes on.

    Attributes:
        code: the record's code as published (may be empty or malformed).
        reason: why the record was refused, in plain words.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code or '<no code>'}: {reason}")
        self.code = code
        self.reason = reason


_EMPTY_MARKERS = {"", "không có thông tin", "không", "không có", "--", "-", "không quy định"}
_SPACE_RE = re.compile(r"[ \t\u00a0]+")


def nfc(text: str | None) -> str:
    """NFC-normalise and strip; ``None`` becomes ``""``."""
    return unicodedata.normalize("NFC", text or "").strip()


def clean_value(text: str | None) -> str:
    """The text with runs of blanks folded, or ``""`` when it only says there is nothing.

    "Không có thông tin", "Không", "Không quy định", "--" and empty strings all mean the portal had no
    value; downstream code should not show them to citizens as if they were content.
    """
    value = _SPACE_RE.sub(" ", nfc(text)).strip()
    if value.lower().rstrip(".").strip() in _EMPTY_MARKERS:
        return ""
    return value


def valid_code(code: str | None) -> bool:
    """True for a national procedure code such as ``1.013225``."""
    return bool(code) and bool(CODE_RE.match(code or ""))


# ---------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------

_CHANNEL_WORDS: tuple[tuple[str, str], ...] = (
    ("trực tiếp", "truc_tiep"),
    ("trực tuyến", "truc_tuyen"),
    ("dịch vụ bưu chính", "buu_chinh"),
    ("bưu chính", "buu_chinh"),
)


def channel_kind(word: str) -> str:
    """Map a submission-channel label to ``truc_tiep``, ``truc_tuyen``, ``buu_chinh`` or ``khac``."""
    low = nfc(word).lower()
    for label, kind in _CHANNEL_WORDS:
        if low.startswith(label):
            return kind
    return "khac"


# ---------------------------------------------------------------------------------------------
# Processing time
# ---------------------------------------------------------------------------------------------

_NUMBER = r"\d+(?:[.,]\d+)?"
# Longest unit first so "Ngày làm việc" is not read as "Ngày".
_UNITS: tuple[tuple[str, float, bool | None], ...] = (
    ("ngày làm việc", 1.0, True),
    ("giờ làm việc", 1.0 / 8.0, True),  # a working day has 8 working hours
    ("ngày", 1.0, False),
    ("giờ", 1.0 / 24.0, None),
    ("phút", 1.0 / 1440.0, None),
    ("tuần", 7.0, False),
    ("tháng", 30.0, False),
    ("năm", 365.0, False),
)
_UNIT_RE = "|".join(re.escape(u) for u, _, _ in _UNITS)
_TIME_RE = re.compile(
    rf"(?P<n>{_NUMBER})(?:\s*(?:-|đến)\s*(?P<n2>{_NUMBER}))?\s*(?:\([^)]{{1,20}}\)\s*)?(?P<unit>{_UNIT_RE})",
    re.IGNORECASE,
)
_BARE_NUMBER_RE = re.compile(rf"^\s*({_NUMBER})\s*$")
_SAME_DAY_RE = re.compile(r"^\s*(trong|ngay trong|trả trong)\s+ngày\b", re.IGNORECASE)


def _to_float(number: str) -> float:
    # The portal writes decimals with either separator ("1.5", "0,5"); thousands never occur here.
    return float(number.replace(",", "."))


def parse_time(text: str | None) -> tuple[float | None, bool | None]:
    """Parse a processing time into (days, working_days).

    Examples: "15 Ngày làm việc" -> (15.0, True); "20 Ngày" -> (20.0, False); "Trong ngày" ->
    (1.0, True); "1 Giờ" -> (1/24, None); "3 Tháng" -> (90.0, False); "10 - 15 ngày" -> (15.0, False)
    (a range counts as its upper end, the longest a citizen may wait). A bare number without a unit
    ("1") and text without a number ("Không quy định") give (None, None): the unit is unknown and
    guessing would put wrong promises in front of citizens.

    Args:
        text: the published time text.

    Returns:
        The number of days (fractions for hours) and whether they are working days, or None for
        what the text does not say.
    """
    value = clean_value(text)
    if not value:
        return None, None
    if _SAME_DAY_RE.match(value):
        return 1.0, True
    match = _TIME_RE.search(value)
    if not match:
        return None, None
    number = _to_float(match.group("n2") or match.group("n"))
    unit = match.group("unit").lower()
    for label, factor, working in _UNITS:
        if unit == label:
            return number * factor, working
    return None, None  # pragma: no cover - the regex only matches listed units


def time_with_unit_for(number: str, *texts: str) -> tuple[float | None, bool | None]:
    """Resolve a bare published number ("5") with a unit stated for the same number elsewhere.

    The national portal drops the unit of some time cells. When the row's description or the
    procedure's steps say "05 ngày làm việc" for the same number, that phrase gives the unit; the
    first matching phrase wins. Without such a phrase the time stays unknown.

    Args:
        number: the bare number from the time cell.
        *texts: texts to look in, most specific first.

    Returns:
        (days, working_days) from the first phrase that repeats the number with a unit, else
        (None, None).
    """
    try:
        wanted = _to_float(number)
    except ValueError:
        return None, None
    for text in texts:
        for match in _TIME_RE.finditer(text or ""):
            if match.group("n2") is None and _to_float(match.group("n")) == wanted:
                return parse_time(match.group(0))
    return None, None


def first_time_in(text: str | None) -> tuple[float | None, bool | None]:
    """The first processing-time phrase of a description ("Trong thời hạn 07 ngày làm việc ...")."""
    return parse_time(text) if text else (None, None)


# ---------------------------------------------------------------------------------------------
# Fees
# ---------------------------------------------------------------------------------------------

_FREE_RE = re.compile(r"^\s*(miễn phí|miễn lệ phí|không thu( phí| lệ phí)?)\b", re.IGNORECASE)
_PROVINCE_SET_RE = re.compile(r"hội đồng nhân dân|hđnd", re.IGNORECASE)
_LABEL_RE = re.compile(r"(?:lệ phí|phí|giá dịch vụ)\s*:\s*", re.IGNORECASE)
_AMOUNT_RE = re.compile(
    r"(?P<amount>\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?P<cur>việt nam đồng|vnđ|vnd|đồng|đ\b|usd)",
    re.IGNORECASE,
)
_ZERO_WORDS_RE = re.compile(r"^\s*(không|0)\s*(đồng|vnđ)?\s*$", re.IGNORECASE)


def _amount_value(amount: str) -> int:
    return int(re.sub(r"[.,]", "", amount))


def parse_fee(text: str | None) -> int | None:
    """Parse a fee text into đồng: 0 when free, None when the text gives no usable amount.

    Handled variants (all found in the data): "Miễn phí", "Phí : 0 Đồng", "Phí : Không Đồng",
    "Lệ phí : 50.000 Đồng", "2,000,000 Việt Nam Đồng", "70,000 VNĐ", "100.000 đồng/hồ sơ". Two
    labelled parts ("Phí : 0 Đồng Lệ phí : 50.000 Đồng") are added up.

    Returned as None on purpose: amounts in USD; "Miễn phí" whose note hands the amount to the
    provincial council ("theo quy định của Hội đồng nhân dân cấp tỉnh" — the portal's default cell
    then does not mean free); amounts under 1,000 that the portal writes in thousands or in USD
    ("20 VNĐ" for 20.000 đồng, "250 VNĐ" for 250 USD) unless the note confirms the thousands; and
    empty cells ("Phí : Đồng", "Không có thông tin").

    Args:
        text: the fee text, optionally followed by the portal's note in brackets.

    Returns:
        The fee in đồng, 0 for free, or None.
    """
    value = nfc(text)
    if not clean_value(value):
        return None
    if _FREE_RE.match(value):
        return None if _PROVINCE_SET_RE.search(value) else 0
    head, _, note = value.partition("(")
    parts = _LABEL_RE.split(head)
    parts = [p for p in parts if p.strip()] or [head]
    total = 0
    found = False
    for part in parts:
        if _ZERO_WORDS_RE.match(part):
            found = True
            continue
        match = _AMOUNT_RE.search(part)
        if not match:
            # "Phí : Đồng" (no amount) or prose: nothing usable in this part.
            continue
        if match.group("cur").lower() == "usd":
            return None
        amount = _amount_value(match.group("amount"))
        if amount < 1000:
            # Sub-1,000 "VNĐ" cells are thousands or USD; trust only a note that spells the
            # thousands out ("20 VNĐ (20.000 vnđ/tờ khai)").
            spelled = f"{amount}.000"
            if spelled in note or f"{amount},000" in note:
                amount *= 1000
            elif amount == 0:
                pass
            else:
                return None
        total += amount
        found = True
    return total if found else None


# ---------------------------------------------------------------------------------------------
# Copies and documents
# ---------------------------------------------------------------------------------------------

_COUNT_RE = re.compile(
    r"(?:(?<=[^\s\d(])(?P<o>\d{1,2})|(?<=\d)(?P<o1>\d))\s?bản chính(?:\s?,\s?(?P<c>\d{1,2})\s?bản sao)?",
    re.IGNORECASE,
)
_COPIES_ONLY_RE = re.compile(r"(\d{1,2})\s*bản sao", re.IGNORECASE)
_ORIGINALS_RE = re.compile(r"(\d{1,2})\s*bản chính", re.IGNORECASE)


def parse_counts(text: str | None) -> tuple[int | None, int | None]:
    """Split "N bản chính, M bản sao" into (originals, copies); a missing part is None.

    Also reads the defence ministry's "Bản chính: 1\\nBản sao: 0" layout.
    """
    value = nfc(text)
    if not value:
        return None, None
    labelled_o = re.search(r"bản chính\s*:\s*(\d+)", value, re.IGNORECASE)
    labelled_c = re.search(r"bản sao\s*:\s*(\d+)", value, re.IGNORECASE)
    if labelled_o or labelled_c:
        return (
            int(labelled_o.group(1)) if labelled_o else None,
            int(labelled_c.group(1)) if labelled_c else None,
        )
    o = _ORIGINALS_RE.search(value)
    c = _COPIES_ONLY_RE.search(value)
    return (int(o.group(1)) if o else None, int(c.group(1)) if c else None)


COUNT_RE = _COUNT_RE
"""The glued count that ends each document row of the flattened national table."""

# Vietnamese letters by case; a range such as [à-ỹ] would mix cases, Unicode interleaves them.
VI_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
VI_UPPER = VI_LOWER.upper()
_FORM_EXT_RE = re.compile(r"(?i:\.(?:docx|doc|pdf|xlsx|xls|rar|zip))(?![a-z])")
# A sentence end glued to the form: "NĐ-CP.Mau02", "theo mẫu;Mẫu số 105", "(Mẫu NA9).10-Mẫu NA9",
# "Phụ lục số 01.Phụ lục số 01"; a dot between digits ("36.2025.TT") is part of a file name.
_STRONG_BOUNDARY_RE = re.compile(
    rf"(?:(?<=[^\d\s])[.;:](?=[^\W\d_])|\)\.?(?=[^\W_])|(?<=\d)\.(?=[{VI_UPPER}][{VI_LOWER}]))"
)
# "sảnMau 08..." (lower then upper) or "TT-BNNMTMẫu số 05" (an acronym then a capitalised word).
_WEAK_BOUNDARY_RE = re.compile(
    rf"(?<=[{VI_LOWER}])(?=[{VI_UPPER}])|(?<=[{VI_UPPER}])(?=[{VI_UPPER}][{VI_LOWER}]{{2}})"
)
_MAX_FORM_CHARS = 90


def split_forms(text: str) -> tuple[str, str]:
    """Split a flattened "name + form file names" cell into (name, forms).

    The portal glues the form links (``Mẫu số 01.docx``, ``Mau02-BK(BHYT).doc``) to the end of the
    paper's name with no separator. A form starts after the nearest sentence end glued to a letter
    (``...NĐ-CP.Mau02.docx``, ``theo mẫu;Mẫu số 105.docx``, ``(bản sao)Phụ lục 12.12.docx``), else at
    the furthest lower-to-upper case joint within 90 characters (``khoáng sảnMau 08 - Phu luc
    II_36.2025.TT-BNNMT_02.7.2025.doc``). Several forms in a row are joined with "; ".

    Returns:
        The paper's name and the form file names ("" when there are none).
    """
    value = text.rstrip()
    ends = [m.end() for m in _FORM_EXT_RE.finditer(value)]
    if not ends or ends[-1] != len(value):
        return text.strip(), ""
    # Only extensions that chain up to the end belong to the run of forms.
    chain = [ends[-1]]
    for end in reversed(ends[:-1]):
        segment = value[end : chain[0]]
        if len(segment) <= _MAX_FORM_CHARS and not re.search(r"\s{2,}", segment):
            chain.insert(0, end)
        else:
            break
    first_end = chain[0]
    ext_start = value.rfind(".", 0, first_end)
    window_start = max(0, ext_start - _MAX_FORM_CHARS)
    window = value[window_start:ext_start]
    start: int | None = None
    strong = list(_STRONG_BOUNDARY_RE.finditer(window))
    if strong:
        start = window_start + strong[-1].end()
    else:
        weak = list(_WEAK_BOUNDARY_RE.finditer(window))
        if weak:
            start = window_start + weak[0].start()
    if start is None:
        # No visible joint: take the last whitespace-free run, the most a form name can safely be.
        start = value.rfind(" ", 0, ext_start) + 1
    name = value[:start].strip()
    bounds = [start, *chain]
    forms = [value[a:b].strip(" ;,") for a, b in zip(bounds, bounds[1:], strict=False)]
    if not name:
        return value[start:].strip(), ""
    return name, "; ".join(f for f in forms if f)


def clean_document_name(name: str) -> str:
    """Trim bullets and separators the flattening left around a paper's name."""
    value = _SPACE_RE.sub(" ", nfc(name))
    value = re.sub(r"^[\s\-+*•–.]+", "", value)
    return value.strip(" ;,")


def make_document(
    name: str, *, group: str = "", form: str = "", counts: tuple[int | None, int | None] = (None, None)
) -> Document | None:
    """Build a :class:`Document`, or None when no name is left after cleaning."""
    cleaned = clean_document_name(name)
    if not cleaned:
        return None
    return Document(name=cleaned, group=clean_group(group), form=form, originals=counts[0], copies=counts[1])


def clean_group(text: str) -> str:
    """A document group heading without its trailing colon and bullets; "--" means no group."""
    value = _SPACE_RE.sub(" ", nfc(text)).strip()
    value = re.sub(r"^[\s\-+*•–]+", "", value).strip()
    value = value.rstrip(":：").strip()
    return clean_value(value)


# ---------------------------------------------------------------------------------------------
# Notes published as document rows
# ---------------------------------------------------------------------------------------------

NOTE_GROUPS = frozenset({"lưu ý", "ghi chú", "chú ý"})
"""Document group headings whose rows are all notes, not papers (compared lower case)."""

# How a note row opens, lower case, after any leading bracket or bullet. Each was read in the data:
# a condition ("Trường hợp ...", "Nếu ...", "Khi ..."), a duty of the officer ("Người tiếp nhận ..."),
# a right or duty of the applicant ("Người yêu cầu ... có thể nộp ...", "Người có yêu cầu ... các giấy
# tờ sau:"), a remark ("Lưu ý: ...", "Số lượng hồ sơ: 01 bộ"). "Đối với ..." alone is not enough: it
# also opens sub-case headings ("Đối với phương tiện thương mại:") that must stay.
_NOTE_OPENINGS = (
    "trường hợp",
    "trong trường hợp",
    "đối với trường hợp",
    "đối với giấy tờ",
    "đối với yêu cầu",
    "lưu ý",
    "ghi chú",
    "chú ý",
    "nếu ",
    "khi ",
    "người tiếp nhận",
    "người yêu cầu",
    "người có yêu cầu",
    "người ủy quyền",
    "số lượng hồ sơ",
)
_NOTE_LEAD_RE = re.compile(r"^[\s(\-+*•–]+")
_CONDITION_OPENINGS = ("trường hợp", "trong trường hợp", "đối với trường hợp", "nếu ", "khi ")
# A condition that brings papers of its own is a case of the dossier, not a note: "Trường hợp thương nhân
# làm thủ tục lần đầu thì nộp thêm các giấy tờ sau: ...", "... thì hồ sơ phải kèm theo bản sao ...".
_PAPER_HINT_RE = re.compile(
    r"nộp thêm|nộp bổ sung|kèm theo hồ sơ|phải kèm theo|hồ sơ gồm|gồm các|(?:giấy tờ|chứng từ|tài liệu) sau"
)
# "Trường hợp hàng hoá phải có giấy phép: Giấy phép nhập khẩu ..." names the paper after the colon.
_CONDITION_THEN_PAPER_RE = re.compile(r"^[^:]{5,200}:\s*[" + VI_UPPER + r"]")


def is_note_group(group: str) -> bool:
    """True for a group heading such as "Lưu ý" or "Ghi chú:" whose rows are notes."""
    return nfc(group).lower().rstrip(" :.") in NOTE_GROUPS


def _is_case_of_papers(text: str, lower: str) -> bool:
    """A condition row that heads or names papers: a sub-case heading ("Trường hợp đề nghị chấp thuận
    ... trong nước", "... hồ sơ gồm:") or a paper required in that case."""
    if lower.endswith(":") or _PAPER_HINT_RE.search(lower):
        return True
    if " thì " in lower:
        return False  # "Trường hợp ... thì ...": a rule, whatever follows
    if _CONDITION_THEN_PAPER_RE.match(text):
        return True
    return not lower.endswith((".", ")", ";"))  # a bare heading, no sentence


def is_note_row(doc: Document) -> bool:
    """True when a row of the documents table is a note rather than a paper to hand in.

    A note has nothing to hand in (0 or no originals, 0 or no copies, no form) and opens like a
    condition or a remark (see ``_NOTE_OPENINGS``); every row of a "Lưu ý" / "Ghi chú" group is a note.
    A condition that heads papers or names one ("Trường hợp ... hồ sơ gồm:", "Trường hợp hàng hoá phải
    có giấy phép: Giấy phép nhập khẩu") stays a row: it is a case of the dossier.
    """
    if is_note_group(doc.group):
        return True
    if doc.originals or doc.copies or doc.form:
        return False
    text = _NOTE_LEAD_RE.sub("", nfc(doc.name))
    lower = text.lower()
    if not lower.startswith(_NOTE_OPENINGS):
        return False
    return not (lower.startswith(_CONDITION_OPENINGS) and _is_case_of_papers(text, lower))
