"""Fees and processing times as published, said in plain words for a chat answer.

Each submission row (in person, online, by post) publishes its own fee and time text, and the portal's
texts vary: "Lệ phí : 75.000 Đồng", "150,000 Việt Nam Đồng (- Mức lệ phí cụ thể do Hội đồng nhân dân
tỉnh quyết định ...)", "20 VNĐ (20.000 vnđ /tờ khai)" (an amount written in thousands), "Miễn phí (Theo
quy định của Hội đồng nhân dân cấp tỉnh)", "15 Ngày làm việc", a bare "1" for one day, or no text at all
when the importer read the days from the record's prose. These helpers say what a row means
(:func:`fee_kind`), phrase it as an officer would ("75.000 đồng", "Miễn lệ phí", "không quá 03 ngày làm
việc": :func:`fee_text`, :func:`time_text`) and merge rows that say the same (:func:`grouped`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from actions.procedure.names import ITEM_CHARS, whole_phrase
from bot.core.sdk import CollectingDispatcher
from knowledge.domain import CHANNEL_LABELS, SubmissionChannel
from knowledge.text import clip, fold

FeeKind = Literal["none", "free", "council", "amount"]


def channel_label(kind: str) -> str:
    """How citizens call a submission kind (``truc_tiep`` -> "Trực tiếp")."""
    return CHANNEL_LABELS.get(kind, kind)


_FEE_LABEL_RE = re.compile(r"^\s*(?:lệ phí|le phi)\s*:\s*", re.IGNORECASE)


def _published(text: str) -> str:
    """Published fee/time text tidied for chat.

    ``"Lệ phí : 75.000 Đồng"`` -> ``"75.000 Đồng"`` (the message already says it is the fee); a text
    listing several charges (``"Lệ phí : 50.000 Đồng; Phí : 10.000 Đồng"``) keeps its labels.
    """
    text = re.sub(r"\s+:", ":", text.strip())
    stripped = _FEE_LABEL_RE.sub("", text)
    if ":" not in stripped:
        text = stripped
    return clip(text, ITEM_CHARS)


_TIME_RE = re.compile(
    r"^(?P<n>\d+(?:[.,]\d+)?)\s*(?P<unit>ngày làm việc|ngày|giờ làm việc|giờ|tháng)?\.?$", re.IGNORECASE
)
_TIME_KEYS = {
    "ngày làm việc": "part_working_days",
    "ngày": "part_days",
    "giờ làm việc": "part_hours",
    "giờ": "part_hours",
    "tháng": "part_months",
}


def number_text(value: float, pad: bool = False) -> str:
    """A count as officials write it: ``3`` -> ``"03"`` when ``pad`` (as on the receipt), ``0.5`` ->
    ``"0,5"`` (Vietnamese decimal comma)."""
    if float(value).is_integer():
        whole = int(value)
        return f"{whole:02d}" if pad and 0 < whole < 10 else str(whole)
    return f"{value:g}".replace(".", ",")


def time_text(dispatcher: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """Published processing time in plain words: a deadline ("15 Ngày làm việc") is said as one
    ("không quá 15 ngày làm việc"), a bare number ("1", as some records give it) gets its unit, and a
    row whose time the importer read from the record's prose has ``days`` but no text: "khoảng N ngày
    làm việc". Any other text ("Không phải trả kết quả ...") is said as published.
    """
    text = channel.time_text.strip()
    if not text and channel.days is not None:
        key = "part_about_working_days" if channel.working_days else "part_about_days"
        return dispatcher.text(key, days=number_text(channel.days))
    match = _TIME_RE.match(text)
    if match is None:
        return _published(text)
    number = float(match.group("n").replace(",", "."))
    unit = (match.group("unit") or "").lower()
    if not unit:
        unit = "ngày làm việc" if channel.working_days else "ngày"
    if unit == "ngày" and number == 0:
        return dispatcher.text("part_same_day")
    return dispatcher.text(_TIME_KEYS[unit], days=number_text(number, pad=True))


_STEP_CLAUSE_SPLIT_RE = re.compile(r";\s+|\.\s+(?=[A-ZĐ(])|\n")
_RESULT_TIME_RE = re.compile(
    r"\btrả kết quả\b[^;]*?\b(?:trong ngày(?: làm việc)?(?: tiếp theo)?|ngay trong ngày|trong thời hạn \d+|"
    r"chậm nhất (?:là )?\d+|\d+ giờ)",
    re.IGNORECASE,
)


def time_in_steps(steps: Sequence[str]) -> str:
    """When the result is given, as the procedure's steps say it ("nếu tiếp nhận hồ sơ sau 15 giờ thì
    có Phiếu hẹn, trả kết quả cho người yêu cầu trong ngày làm việc tiếp theo"), for a record whose
    submission rows publish no time; "" when no step says it. The clause is said whole, up to where it
    goes on to another way of submitting ("(nếu người yêu cầu nộp hồ sơ trực tiếp) hoặc ...")."""
    for step in steps:
        for clause in _STEP_CLAUSE_SPLIT_RE.split(step):
            clause = " ".join(clause.split())
            match = _RESULT_TIME_RE.search(clause)
            if match is None:
                continue
            text = clause[: match.end()]
            text = re.sub(r"^\(?[ivx\d]+[.)]\s*", "", text).strip(" ,")
            return whole_phrase(text[:1].lower() + text[1:] if text[1:2].islower() else text, ITEM_CHARS)
    return ""


def has_time(channel: SubmissionChannel) -> bool:
    """Whether the row publishes a processing time (a text, or days read from the prose)."""
    return bool(channel.time_text.strip()) or channel.days is not None


_NO_FEE_INFO_RE = re.compile(r"^khong co thong tin\b")
_COUNCIL = "hoi dong nhan dan"
_AMOUNT_RE = re.compile(r"(?<![\d.,])[1-9][\d.,]*\s*(?:đồng|vnđ|vnd|usd|việt nam đồng)", re.IGNORECASE)


def fee_kind(channel: SubmissionChannel) -> FeeKind:
    """What a row says about the fee: ``"none"`` (nothing usable), ``"free"``, ``"council"`` (the
    provincial council sets it; the portal often labels such rows "Miễn phí") or ``"amount"``."""
    text = channel.fee_text.strip()
    folded = fold(text.lower())
    if (not text and channel.fee_vnd is None) or _NO_FEE_INFO_RE.match(folded):
        return "none"
    if not channel.fee_vnd and _COUNCIL in folded:
        return "council"
    if channel.fee_vnd == 0 and not _AMOUNT_RE.search(text):
        return "free"
    return "amount"


_HEAD_AMOUNT_RE = re.compile(r"^(?P<n>\d[\d.,]*)\s*(?:vnđ|vnd|việt nam đồng|đồng|đ)$", re.IGNORECASE)
_UNIT_RE = re.compile(
    r"^(?:[\d.,]+\s*)?(?:đồng|đ|vnđ|vnd)?\s*/\s*(?P<unit>[^()/;:.,]{1,30}?)\s*\.?$", re.IGNORECASE
)
_RELIEF_RE = re.compile(
    r"(?:[^.;()]|\.(?=\d))*\b(?:miễn|giảm|áp dụng mức)(?:[^.;()]|\.(?=\d)|\([^()]*\))*", re.IGNORECASE
)
_RELIEF_SAYS_RE = re.compile(r"\bmiễn\b|\d[\d.]*\s*(?:đồng|đ\b|%)", re.IGNORECASE)
_LEGAL_REF_RE = re.compile(
    r"\s*\(?\s*(?:theo|tại)?\s*(?:quy định tại\s*)?(?:Thông tư|Nghị định|Quyết định)\b.*$"
)
_RELIEF_CHARS = 160
_DANGLING_ARTICLE_RE = re.compile(
    r"\s+(?:theo quy định\s+)?tại\s+(?:điểm|khoản|Điều)\b[\w\s,]*$", re.IGNORECASE
)
_EXEMPT_CASE_RE = re.compile(
    r"^trường hợp (?P<who>[^,;()]{3,60}?) thuộc diện được miễn (?:phí|lệ phí)$", re.IGNORECASE
)


def _amount(number: str) -> int | None:
    """``"120,000"`` or ``"120.000"`` -> 120000 (the portal writes thousands either way)."""
    digits = number.replace(",", "").replace(".", "")
    return int(digits) if digits.isdigit() else None


def money_text(vnd: int) -> str:
    """``75000`` -> ``"75.000 đồng"`` (dots between thousands, as Vietnamese write amounts)."""
    return f"{vnd:,}".replace(",", ".") + " đồng"


def _paren(text: str) -> tuple[str, str]:
    """``"25,000 VNĐ (/giao dịch)"`` -> (``"25,000 VNĐ"``, ``"/giao dịch"``): the amount and the note in
    its first parenthesis (which may itself hold parentheses)."""
    head, sep, rest = text.partition(" (")
    if not sep:
        return text, ""
    depth, end = 1, len(rest)
    for i, ch in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            end = i
            break
    return head, rest[:end].strip(" ()")


def _plain_amount(channel: SubmissionChannel) -> str | None:
    """The amount of an "N VNĐ (note)" row in plain words, with its unit and any relief, or None when
    the row is not of that shape or its amount cannot be trusted.

    ``"25,000 Việt Nam Đồng (/giao dịch)"`` -> ``"25.000 đồng/giao dịch"``; ``"20 VNĐ (20.000 vnđ /tờ
    khai)"`` (the portal wrote the amount in thousands, the importer read the note) -> ``"20.000
    đồng/tờ khai"``; ``"1,000,000 Việt Nam Đồng ((Áp dụng mức phí: 500.000 đồng ... kể từ ngày
    01/7/2025 đến hết ngày 31/12/2026 theo Thông tư số 64/2025/TT-BTC).)"`` -> ``"1.000.000 đồng (áp
    dụng mức phí: 500.000 đồng ... đến hết ngày 31/12/2026)"``. A small amount that nothing confirms
    ("50 VNĐ": fifty đồng, or fifty thousand?) is not rephrased.
    """
    text = " ".join(channel.fee_text.split())
    head, note = _paren(_FEE_LABEL_RE.sub("", text))
    match = _HEAD_AMOUNT_RE.match(head.strip())
    if match is None:
        return None
    amount = _amount(match.group("n"))
    if amount is None or amount == 0:
        return None
    if amount < 1000:
        if not channel.fee_vnd or channel.fee_vnd < 1000:
            return None
        amount = channel.fee_vnd
    elif channel.fee_vnd not in (None, amount):
        return None
    said = money_text(amount)
    unit = _UNIT_RE.match(note)
    if unit:
        said += "/" + unit.group("unit").strip()
    relief = _RELIEF_RE.search(note)
    if relief:
        phrase = _LEGAL_REF_RE.sub("", relief.group(0)).strip(" ,:-")
        # "... theo quy định tại Điều 4" once the Thông tư is dropped names nothing; "Trường hợp công dân
        # thuộc diện được miễn phí" beside an amount reads as if the amount were theirs: "trừ ...".
        phrase = _DANGLING_ARTICLE_RE.sub("", phrase).strip(" ,:-")
        phrase = _EXEMPT_CASE_RE.sub(r"trừ \g<who> thuộc diện được miễn lệ phí", phrase)
        if len(phrase) > 12 and _RELIEF_SAYS_RE.search(phrase):
            said += f" ({clip(phrase[:1].lower() + phrase[1:], _RELIEF_CHARS)})"
    return said


def fee_text(dispatcher: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """One row's fee in plain words: "Miễn lệ phí", the council sentence, or the amount in đồng with
    its unit and any exemption or reduction (:func:`_plain_amount`); a row labelled "Miễn phí" whose
    note gives amounts is said by its note; a row of another shape is said as published, without the
    paragraph of notes that often follows it in parentheses."""
    kind = fee_kind(channel)
    if kind == "none":
        return ""
    if kind == "free":
        return dispatcher.text("part_fee_free")
    if kind == "council":
        return dispatcher.text("part_fee_council")
    plain = _plain_amount(channel)
    council = _COUNCIL in fold(channel.fee_text.lower())
    if plain is not None:
        return plain + (" " + dispatcher.text("part_fee_council_note") if council else "")
    text = " ".join(channel.fee_text.split())
    head = text.split(" (", 1)[0]
    free_head, note = _paren(text)
    if fold(free_head.lower()) == "mien phi" and _AMOUNT_RE.search(note):
        # "Miễn phí (- Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần ...)": the label says free, the
        # note gives the price; say the note, never "free" then a price.
        note = note.lstrip(" -")
        return _published(note + ")" * (note.count("(") - note.count(")")))
    if head != text and _AMOUNT_RE.search(head):
        text = head
        if council:
            text += " " + dispatcher.text("part_fee_council_note")
    return _published(text)


def grouped(
    channels: Sequence[SubmissionChannel], text_of: Callable[[SubmissionChannel], str]
) -> list[tuple[str, str]]:
    """(channels, text) pairs with channels sharing the same published text merged into one line."""
    groups: dict[str, list[str]] = {}
    order = list(CHANNEL_LABELS)
    for channel in sorted(channels, key=lambda c: order.index(c.kind) if c.kind in order else len(order)):
        text = text_of(channel)
        if text:
            groups.setdefault(text, []).append(channel_label(channel.kind))
    out = []
    for text, labels in groups.items():
        labels = dedupe(labels)
        out.append((", ".join([labels[0], *(label.lower() for label in labels[1:])]), text))
    return out


def dedupe(lines: Sequence[str]) -> list[str]:
    """``lines`` without repeats, in first-seen order."""
    return list(dict.fromkeys(lines))
