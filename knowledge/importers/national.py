"""Parse one record of the National Public Service Portal crawl into a :class:`Procedure`.

The crawl (``tthc-national-ministries/procedures.jsonl.gz``) flattened the portal's tables into
strings with no separators, for example::

    Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến20 NgàyMiễn phí(Theo quy định ...)Trực tiếp15 ...

Each table is re-parsed here from the landmarks the portal always prints: the header row, the channel
words that open each channel row, the glued "1 bản chính,1 bản sao" that closes each document row,
and the document numbers ("50/2014/QH13") that close each legal-basis row. When a field is empty or
was cut at the wrong heading by the crawler, the same section is taken from ``raw_text``, the whole
page as text.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.domain import Document, LegalBasis, Procedure, SubmissionChannel
from knowledge.importers.parsing import (
    COUNT_RE,
    VI_LOWER,
    RecordError,
    channel_kind,
    clean_group,
    clean_value,
    make_document,
    nfc,
    parse_fee,
    parse_time,
    split_forms,
    time_with_unit_for,
    valid_code,
)

MINISTRIES: dict[str, str] = {
    "bo-xay-dung": "Bộ Xây dựng",
    "bo-cong-an": "Bộ Công an",
    "bo-tu-phap": "Bộ Tư pháp",
    "bo-tai-chinh": "Bộ Tài chính",
    "bo-nong-nghiep-mt": "Bộ Nông nghiệp và Môi trường",
    "ngan-hang-nha-nuoc": "Ngân hàng Nhà nước Việt Nam",
    "toa-an-nhan-dan": "Tòa án nhân dân tối cao",
    "bo-quoc-phong": "Bộ Quốc phòng",
}
"""Crawl folder -> ministry name as citizens know it."""

# ---------------------------------------------------------------------------------------------
# raw_text sections
# ---------------------------------------------------------------------------------------------

_DOC_HEADER_RE = re.compile(r"Tên giấy tờ\s*Mẫu đơn, tờ khai\s*Số lượng")
_LEGAL_HEADER_RE = re.compile(r"Tên văn bản pháp lý\s*Mã văn bản")
_CHANNEL_HEADER_RE = re.compile(r"Hình thức nộp\s*Thời gian\s*Phí, lệ phí\s*Mô tả")


def raw_sections(raw: str) -> dict[str, str]:
    """Cut the page text into the portal's sections.

    Headings that may also occur inside prose ("Thành phần hồ sơ" in a step) are searched from the
    table that must follow them, and the trailing sections from the end of the page, so a quotation
    earlier on the page does not cut a section short (the crawler's own mistake for a few records).

    Returns:
        A dict with the keys steps, channels, documents, legal_basis, agency, conditions, result
        (missing sections are absent).
    """
    text = nfc(raw)
    out: dict[str, str] = {}
    steps_at = text.find("Trình Tự Thực Hiện")
    chan_at = text.find("Cách Thức Thực Hiện", max(steps_at, 0))
    result_at = text.rfind("Kết quả xử lý")
    cond_at = text.rfind("Yêu cầu, điều kiện thực hiện", 0, result_at if result_at >= 0 else len(text))
    agency_at = text.rfind("Cơ quan thực hiện", 0, cond_at if cond_at >= 0 else len(text))
    legal_end = agency_at if agency_at >= 0 else len(text)
    legal_at = text.rfind("Căn cứ pháp lý", max(chan_at, 0), legal_end)
    docs_end = legal_at if legal_at >= 0 else legal_end
    header = _DOC_HEADER_RE.search(text, max(chan_at, 0), docs_end)
    docs_at = text.rfind("Thành phần hồ sơ", max(chan_at, 0), header.start() if header else docs_end)
    if steps_at >= 0:
        end = chan_at if chan_at >= 0 else (docs_at if docs_at >= 0 else len(text))
        out["steps"] = text[steps_at + len("Trình Tự Thực Hiện") : end]
    if chan_at >= 0:
        end = docs_at if docs_at >= 0 else docs_end
        out["channels"] = text[chan_at + len("Cách Thức Thực Hiện") : end]
    if docs_at >= 0:
        out["documents"] = text[docs_at + len("Thành phần hồ sơ") : docs_end]
    if legal_at >= 0:
        out["legal_basis"] = text[legal_at + len("Căn cứ pháp lý") : legal_end]
    if agency_at >= 0:
        end = cond_at if cond_at >= 0 else (result_at if result_at >= 0 else len(text))
        out["agency"] = text[agency_at + len("Cơ quan thực hiện") : end]
    if cond_at >= 0:
        end = result_at if result_at >= 0 else len(text)
        out["conditions"] = text[cond_at + len("Yêu cầu, điều kiện thực hiện") : end]
    if result_at >= 0:
        out["result"] = text[result_at + len("Kết quả xử lý") :]
    return out


# ---------------------------------------------------------------------------------------------
# Channels (Cách thức thực hiện)
# ---------------------------------------------------------------------------------------------

_ROW_START_RE = re.compile(r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(?=\d|Không)")
_UNIT_WORDS = r"Ngày làm việc|ngày làm việc|Giờ làm việc|Ngày|ngày|Giờ|giờ|Tháng|tháng|Năm|Tuần|Phút"
_TIME_WITH_UNIT_RE = re.compile(rf"^(\d+(?:[.,]\d+)?)\s*({_UNIT_WORDS})")
_FEE_WORD_RE = re.compile(r"^(Miễn phí|Không có thông tin)")
_AMOUNT = r"(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*|0)"
_CURRENCY = r"(?:Việt Nam Đồng|VNĐ|USD|Đồng)"
_FEE_AMOUNT_RE = re.compile(rf"^{_AMOUNT}\s*{_CURRENCY}")
# A bare time glued to an amount ("1" + "100 VNĐ" printed as "1100 VNĐ"): the data always has a
# one-digit time here, and every real amount fits the grouping, so the shortest time wins.
_GLUED_RE = re.compile(rf"^(\d+?)({_AMOUNT}\s*{_CURRENCY})")
_TIME_TEXT_RE = re.compile(
    r"^(Không có thông tin|Không quy định|Không phải trả kết quả cho người nộp thuế|Không)"
)
_BARE_TIME_RE = re.compile(r"^(\d+(?:[.,]\d+)?)")
_LEAD_TIME_RE = re.compile(
    r"^\W{0,3}(?:\(?\d+\)?\s*)?(?:[Tt]rong (?:thời hạn|vòng|thời gian)|[Tt]hời hạn(?: giải quyết)?\s*:?|"
    r"[Cc]hậm nhất|[Kk]hông quá)?\s*(?:không quá\s*)?\d"
)


def _split_fee(rest: str) -> tuple[str, str]:
    """Split "fee cell + note + description" into (fee text with note, description)."""
    match = _FEE_WORD_RE.match(rest) or _FEE_AMOUNT_RE.match(rest)
    if not match:
        return "", rest
    end = match.end()
    fee = rest[:end]
    if end < len(rest) and rest[end] == "(":
        depth = 0
        for i in range(end, len(rest)):
            if rest[i] == "(":
                depth += 1
            elif rest[i] == ")":
                depth -= 1
                if depth == 0:
                    fee = f"{fee} {rest[end : i + 1]}"
                    end = i + 1
                    break
        else:
            # Unbalanced note: the rest of the row is the note.
            fee = f"{fee} {rest[end:]}"
            end = len(rest)
    return fee.strip(), rest[end:].strip()


def _to_days(number: str) -> float | None:
    try:
        return float(number.replace(",", "."))
    except ValueError:  # pragma: no cover - the regex only captures numbers
        return None


def _parse_row(kind_word: str, body: str, steps_text: str) -> SubmissionChannel:
    time_text = ""
    bare = ""
    if m := _TIME_WITH_UNIT_RE.match(body):
        time_text, rest = m.group(0), body[m.end() :]
    elif (m := _BARE_TIME_RE.match(body)) and (
        _FEE_WORD_RE.match(body[m.end() :]) or _FEE_AMOUNT_RE.match(body[m.end() :])
    ):
        time_text, bare, rest = m.group(1), m.group(1), body[m.end() :]
    elif m := _GLUED_RE.match(body):
        time_text, bare, rest = m.group(1), m.group(1), body[len(m.group(1)) :]
    elif m := _TIME_TEXT_RE.match(body):
        # "Không" may be the whole time cell followed by the fee "Không có thông tin".
        rest = body[m.end() :]
        if m.group(1) == "Không có thông tin" or _FEE_WORD_RE.match(rest) or _FEE_AMOUNT_RE.match(rest):
            time_text = m.group(1)
        else:
            time_text, rest = "Không", body[len("Không") :]
    elif m := _BARE_TIME_RE.match(body):
        time_text, bare, rest = m.group(1), m.group(1), body[m.end() :]
    else:
        rest = body
    fee_text, description = _split_fee(rest.strip())
    days, working = parse_time(time_text)
    if days is None and bare:
        days, working = time_with_unit_for(bare, description, steps_text)
        if days is None:
            # The portal counts the time column in days when it prints no unit (civil-status
            # cells "5", "3" are the statutory 5 and 3 working days); which kind of day is not said.
            days, working = _to_days(bare), None
    if days is None and not bare and _LEAD_TIME_RE.match(description):
        # The time cell is empty but the row's description opens with it ("07 ngày làm việc kể từ").
        days, working = parse_time(description[:160])
    return SubmissionChannel(
        kind=channel_kind(kind_word),
        time_text=clean_value(time_text),
        fee_text=clean_value(fee_text),
        description=clean_value(description),
        days=days,
        working_days=working,
        fee_vnd=parse_fee(fee_text),
    )


def parse_channels(text: str, steps_text: str = "") -> tuple[SubmissionChannel, ...]:
    """Re-parse the flattened "Cách thức thực hiện" table into channels.

    Rows start at a channel word glued to a time cell (a digit or "Không..."), so "- Trực tuyến: nộp
    hồ sơ..." inside a description does not open a row. A time cell with a bare number takes its
    unit from the same number in the row's description or the steps; an empty time cell takes the
    time the description opens with.

    Args:
        text: the flattened table.
        steps_text: the procedure's steps, used only to find the unit of a bare time.

    Returns:
        The channels in published order.
    """
    value = _CHANNEL_HEADER_RE.sub("", nfc(text), count=1)
    starts = list(_ROW_START_RE.finditer(value))
    rows = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(value)
        rows.append(_parse_row(m.group(1), value[m.end() : end], steps_text))
    return tuple(rows)


# ---------------------------------------------------------------------------------------------
# Documents (Thành phần hồ sơ)
# ---------------------------------------------------------------------------------------------


def parse_documents(text: str) -> tuple[Document, ...]:
    """Re-parse the flattened "Thành phần hồ sơ" table into documents.

    The text is a series of "group heading + header row + rows"; each row is "name + form file
    names + counts" and ends at the glued counts ("1 bản chính,1 bản sao"). What follows the last
    counts of a group, up to the next header row, is the next group's heading; "--" means no heading.

    Args:
        text: the flattened table (field or raw_text section).

    Returns:
        The documents in published order.
    """
    value = nfc(text)
    parts = _DOC_HEADER_RE.split(value)
    if len(parts) == 1:
        parts = ["", value]
    docs: list[Document] = []
    group = clean_group(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        is_last = index == len(parts) - 1
        cursor = 0
        for m in COUNT_RE.finditer(part):
            cell = part[cursor : m.start()]
            cursor = m.end()
            originals = int(m.group("o") or m.group("o1"))
            copies = int(m.group("c")) if m.group("c") else None
            name, form = split_forms(cell)
            doc = make_document(name, group=group, form=form, counts=(originals, copies))
            if doc:
                docs.append(doc)
        tail = part[cursor:]
        if is_last:
            name, form = split_forms(tail)
            if len(clean_value(name)) > 3 and (form or COUNT_RE.search(value)):
                doc = make_document(name, group=group, form=form)
                if doc:
                    docs.append(doc)
        else:
            group = clean_group(tail)
    return tuple(docs)


# ---------------------------------------------------------------------------------------------
# Legal basis (Căn cứ pháp lý)
# ---------------------------------------------------------------------------------------------

_TITLE_GLUE = r"(?:ngày|của|về|năm|và)\b"
"""Words that continue a title after a quoted number ("53/2025/TT-BCAngày 01/7/2025 của ...")."""
# QH numbers carry the legislature ("QH13"); other suffixes are letters only, taken greedily.
_SUFFIX_PART = r"(?:(?:UBTVQH|QH)\d{2}|TTg|[A-ZĐ]++)"
_DOC_NUMBER_RE = re.compile(
    rf"\d{{1,4}}(?:\.\d{{1,2}})?(?:/\d{{4}})?/{_SUFFIX_PART}(?:\s?-\s?{_SUFFIX_PART})*"
)
_TITLE_START_RE = re.compile(
    r"(Nghị|Luật|Thông|Quyết|Quy|Sửa|Hướng|Bộ|Pháp|Văn|Chỉ|Lệnh|Công|Quốc|Thủ|Hiến|Nội|Danh|Mẫu|"
    r"Điều|Kế|Phê|Hợp|Bãi|Ban|Về)(?![" + VI_LOWER + r"])"
)


def _number_end(value: str, match: re.Match[str]) -> int:
    """Where the matched number really ends: "NĐ-CPNghị định" gives the "N" back to the next title."""
    end = match.end()
    if (
        end < len(value)
        and value[end] in VI_LOWER
        and end - match.start() > 2
        and _TITLE_START_RE.match(value, end - 1)
    ):
        end -= 1
    while end > match.start() and value[end - 1] in "- ":
        end -= 1  # "NĐ-CP-Quy định ...": the dash belongs to the title
    return end


def parse_legal_basis(text: str) -> tuple[LegalBasis, ...]:
    """Re-parse the flattened legal-basis table into (number, title) pairs.

    Each row is "title + number" with the number glued to the next title. A number inside a title
    ("Luật 65/2006/QH11" + "65/2006/QH11") is followed by a space, punctuation or the row's own
    number, whereas the row's number is followed by the end or by the next title's first letter.
    """
    value = _LEGAL_HEADER_RE.sub("", nfc(text), count=1)
    value = value.replace("\n", " ")
    if not clean_value(value):
        return ()
    out: list[LegalBasis] = []
    seen: set[str] = set()
    cursor = 0
    for m in _DOC_NUMBER_RE.finditer(value):
        if m.start() < cursor:
            continue
        end = _number_end(value, m)
        number_text = value[m.start() : end]
        following = value[end:]
        nxt = _DOC_NUMBER_RE.match(value, end)
        if nxt and value[end : _number_end(value, nxt)] != number_text:
            pass  # glued to a different number: this one ends its row, the next row has no title
        elif following.strip() and (not following[0].isalpha() or re.match(_TITLE_GLUE, following)):
            continue  # a number quoted inside a title, not the row's own number
        number = re.sub(r"\s*-\s*", "-", number_text)
        title = _tidy_title(value[cursor : m.start()])
        cursor = end
        if number in seen:
            continue
        seen.add(number)
        out.append(LegalBasis(number=number, title=title or number))
    return tuple(out)


def _tidy_title(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ;,.-")


# ---------------------------------------------------------------------------------------------
# Steps, result
# ---------------------------------------------------------------------------------------------

_STEP_WORD_RE = re.compile(r"(?<!^)(?<!\n)(?=\bBước\s*\d+\s*[:.\-)])")
_STEP_PREFIX_RE = re.compile(r"^\s*[-–•]?\s*Bước\s*\d+\s*[:.\-)]?\s*", re.IGNORECASE)


def parse_steps(text: str) -> tuple[str, ...]:
    """Split the "Trình tự thực hiện" text into ordered steps.

    Steps are the "Bước N" paragraphs when there are any, else the "-" bullets, else the lines; other
    lines ("+" sub-points, continuations) stay with the step above them.
    """
    value = clean_value(text)
    if not value:
        return ()
    value = _STEP_WORD_RE.sub("\n", value.replace("\r", "\n"))
    # A bullet alone on its line ("-\nIn phiếu ...") belongs to the line below it.
    value = re.sub(r"(?m)^\s*([-–•+])\s*\n\s*", r"\1 ", value)
    lines = [ln.strip() for ln in value.split("\n") if ln.strip()]
    if any(re.match(r"^[-–•]?\s*Bước\s*\d", ln, re.IGNORECASE) for ln in lines):
        is_top = [bool(re.match(r"^[-–•]?\s*Bước\s*\d", ln, re.IGNORECASE)) for ln in lines]
    elif sum(1 for ln in lines if ln.startswith(("-", "–", "•"))) >= 2:
        is_top = [ln.startswith(("-", "–", "•")) for ln in lines]
    else:
        is_top = [True] * len(lines)
    steps: list[str] = []
    for line, top in zip(lines, is_top, strict=True):
        if top or not steps:
            cleaned = _STEP_PREFIX_RE.sub("", line)
            steps.append(re.sub(r"^[-–•]\s*", "", cleaned).strip())
        else:
            # A bare "Bước 1:" heading takes its first sub-point as its text.
            steps[-1] = f"{steps[-1]}\n{line}" if steps[-1] else line
    return tuple(s for s in steps if clean_value(s))


_RESULT_JUNK_RE = re.compile(r"Từ khóa|Mô tảKhông có thông tin|Chọn cơ quan thực hiện|Nộp hồ sơ$")
_RESULT_CODE_RE = re.compile(r"Mã:\s*KQ\.[A-Z0-9]+\.\d+")


def parse_result(text: str) -> str:
    """The results a procedure gives, one per line, without the portal's codes and widgets."""
    value = nfc(text)
    junk = _RESULT_JUNK_RE.search(value)
    if junk:
        value = value[: junk.start()]
    items = [clean_value(p) for p in _RESULT_CODE_RE.split(value)]
    return "\n".join(i for i in items if i)


def _levels(text: str) -> tuple[str, ...]:
    return tuple(x for x in (clean_value(p) for p in nfc(text).split(",")) if x)


# ---------------------------------------------------------------------------------------------
# Record
# ---------------------------------------------------------------------------------------------


def parse_national(record: dict[str, Any]) -> Procedure:
    """Turn one national-portal record into a :class:`Procedure`.

    Args:
        record: one JSON object of ``procedures.jsonl.gz`` (all values strings).

    Returns:
        The procedure with source "national".

    Raises:
        RecordError: the record has no valid national code or no name.
    """
    code = nfc(record.get("ma_thu_tuc"))
    name = clean_value(record.get("ten_thu_tuc"))
    if not valid_code(code):
        raise RecordError(code, "mã thủ tục is not a national code (d.dddddd)")
    if not name:
        raise RecordError(code, "tên thủ tục is empty")
    raw = raw_sections(record.get("raw_text") or "")

    def field_or_raw(key: str, section: str) -> str:
        value = clean_value(record.get(key))
        return value or clean_value(raw.get(section, ""))

    steps_text = field_or_raw("trinh_tu_thuc_hien", "steps")
    steps = parse_steps(steps_text)

    channels = parse_channels(record.get("cach_thuc_thuc_hien") or "", steps_text)
    if not channels and raw.get("channels"):
        channels = parse_channels(raw["channels"], steps_text)

    docs_field = nfc(record.get("thanh_phan_ho_so"))
    documents: tuple[Document, ...] = ()
    if _DOC_HEADER_RE.search(docs_field) or COUNT_RE.search(docs_field):
        documents = parse_documents(docs_field)
    if not documents and raw.get("documents"):
        documents = parse_documents(raw["documents"])

    legal = parse_legal_basis(record.get("can_cu_phap_ly") or "")
    if not legal and raw.get("legal_basis"):
        legal = parse_legal_basis(raw["legal_basis"])

    result = parse_result(record.get("ket_qua_xu_ly") or "") or parse_result(raw.get("result", ""))
    executing = (
        clean_value(record.get("co_quan_thuc_hien"))
        or clean_value(record.get("co_quan_co_tham_quyen"))
        or clean_value(raw.get("agency", ""))
    )
    folder = nfc(record.get("bo_nganh_folder"))
    return Procedure(
        code=code,
        name=name,
        field=clean_value(record.get("linh_vuc")),
        levels=_levels(record.get("cap_thuc_hien") or ""),
        ministry=MINISTRIES.get(folder, folder),
        decision=clean_value(record.get("so_quyet_dinh")),
        procedure_type=clean_value(record.get("loai_thu_tuc")),
        competent_agency=clean_value(record.get("co_quan_co_tham_quyen")),
        executing_agency=executing,
        receiving_address=clean_value(record.get("dia_chi_tiep_nhan")),
        target_users=clean_value(record.get("doi_tuong_thuc_hien")),
        steps=steps,
        channels=channels,
        documents=documents,
        legal_basis=legal,
        conditions=field_or_raw("yeu_cau_dieu_kien", "conditions"),
        result=result,
        url=nfc(record.get("detail_url")),
        source="national",
    )
