"""Editors' drafts: from what was typed in a form or sent to the API to domain records, and back.

A draft is a plain dict of texts, lists of lines (or one string with a line each) and numbers possibly
still as text. Every check says what is wrong in plain Vietnamese, one message per field path
(``documents.2.originals``), in :class:`console.editor.errors.DraftInvalid`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.core.responses import MAX_TEXT, check_variants
from console.editor.errors import DraftInvalid
from knowledge.domain import (
    CHANNEL_LABELS,
    ONLINE_LEVEL_LABELS,
    Document,
    FaqEntry,
    LegalBasis,
    Procedure,
    SubmissionChannel,
)
from knowledge.importers.parsing import CODE_RE, parse_fee, parse_time


def lines(value: Any) -> list[str]:
    """Non-empty stripped lines of a textarea, or of a list (JSON) as given."""
    items = value.splitlines() if isinstance(value, str) else list(value or ())
    return [str(x).strip() for x in items if str(x).strip()]


def typed_text(value: Any) -> str:
    """What was typed in one field, stripped ("" for nothing)."""
    return "" if value is None else str(value).strip()


def _int(value: Any, where: str, what: str, problems: dict[str, str]) -> int | None:
    """A small whole number (document counts), None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,4}", text):
            problems[where] = f"{what} phải là một số nguyên như 0, 1, 2 (đang là «{text}»)."
            return None
        number = int(text)
    if number < 0 or number > 1000:
        problems[where] = f"{what} phải từ 0 đến 1000."
        return None
    return number


def _money(value: Any, where: str, what: str, problems: dict[str, str]) -> int | None:
    """An amount in đồng: 50000, "50000", "50.000" or "50 000"; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().replace(" ", "")
        if not re.fullmatch(r"\d+|\d{1,3}(?:[.,]\d{3})+", text):
            problems[where] = (
                f"{what} phải là số tiền viết bằng chữ số, ví dụ 50000 hoặc 50.000 (đang là «{text}»)."
            )
            return None
        number = int(re.sub(r"[.,]", "", text))
    if number < 0:
        problems[where] = f"{what} không được âm."
        return None
    return number


def _days(value: Any, where: str, what: str, problems: dict[str, str]) -> float | None:
    """A number of days: 15, "15", "0,5" or "0.5"; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,4}(?:[.,]\d{1,2})?", text):
            problems[where] = f"{what} phải là một số, ví dụ 15 hoặc 0,5 (đang là «{text}»)."
            return None
        number = float(text.replace(",", "."))
    if number < 0:
        problems[where] = f"{what} không được âm."
        return None
    return number


YES_WORDS = frozenset({"1", "true", "yes", "co", "có", "on", "x", "bật"})
NO_WORDS = frozenset({"0", "false", "no", "khong", "không", "tắt"})


def yes_no(value: Any, blank: bool | None = None) -> bool | None:
    """A yes/no typed in a form or a file (a checkbox's ``on``, ``có``/``không``, ``true``/``false``,
    ``1``/``0`` …), or None when it is neither; ``blank`` is what an empty value (None or "") means."""
    if value is None or value == "":
        return blank
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None


def _rows(value: Any) -> list[dict[str, Any]]:
    rows = [dict(r) for r in value or () if isinstance(r, Mapping)]
    # A row marked for removal or left wholly empty is dropped (forms show empty rows for adding).
    return [
        r
        for r in rows
        if not yes_no(r.get("remove"))
        and any(typed_text(v) for k, v in r.items() if k not in ("remove", "kind"))
    ]


def _check_lengths(values: Mapping[str, Any], problems: dict[str, str]) -> None:
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            problems[name] = f"Nội dung quá dài (tối đa {MAX_TEXT} ký tự)."


def procedure_from_draft(draft: Mapping[str, Any], previous: Procedure | None = None) -> Procedure:
    """Check an editor's draft of a procedure and build the record.

    ``draft`` has the fields of :class:`knowledge.domain.Procedure`: texts, lists of lines (or one string
    with a line each) for ``levels``, ``steps``, ``notes``, ``aliases``, and lists of dicts for
    ``channels``, ``documents`` and ``legal_basis`` whose numbers may still be text. Rows wholly empty or
    with ``remove`` set are dropped. When a channel's fee or time text changed but its number did not
    (or the number is empty), the number is read again from the new text, so the answers stay true.
    ``previous`` is the stored record (its ``code`` and ``source`` win over the draft's).

    Raises:
        DraftInvalid: every problem found.
    """
    problems: dict[str, str] = {}
    code = previous.code if previous else typed_text(draft.get("code"))
    if not CODE_RE.match(code):
        problems["code"] = (
            f"Mã thủ tục «{code}» không đúng dạng: cần một chữ số, dấu chấm và sáu chữ số, ví dụ 1.001193."
            if code
            else "Mã thủ tục không được để trống (dạng 1.001193)."
        )
    name = " ".join(typed_text(draft.get("name")).split())
    if not name:
        problems["name"] = "Tên thủ tục không được để trống."
    online_level = typed_text(draft.get("online_level")) or None
    if online_level is not None and online_level not in ONLINE_LEVEL_LABELS:
        problems["online_level"] = "Mức dịch vụ công trực tuyến phải là một trong các lựa chọn có sẵn."
    url = typed_text(draft.get("url"))
    if url and not re.match(r"https?://\S+$", url):
        problems["url"] = "Đường dẫn phải bắt đầu bằng http:// hoặc https:// và không có dấu cách."
    _check_lengths(draft, problems)

    old_channels = previous.channels if previous else ()
    channels: list[SubmissionChannel] = []
    for i, row in enumerate(_rows(draft.get("channels"))):
        where, n = f"channels.{i}", i + 1
        kind = typed_text(row.get("kind")) or "truc_tiep"
        if kind not in CHANNEL_LABELS:
            problems[f"{where}.kind"] = (
                f"Cách nộp số {n}: hình thức nộp phải là một trong các lựa chọn có sẵn."
            )
        time_text, fee_text = typed_text(row.get("time_text")), typed_text(row.get("fee_text"))
        days = _days(row.get("days"), f"{where}.days", f"Cách nộp số {n}: số ngày", problems)
        working = yes_no(row.get("working_days"))
        fee_vnd = _money(row.get("fee_vnd"), f"{where}.fee_vnd", f"Cách nộp số {n}: lệ phí (đồng)", problems)
        old = old_channels[i] if i < len(old_channels) else None
        if fee_text and (fee_vnd is None or (old and fee_text != old.fee_text and fee_vnd == old.fee_vnd)):
            fee_vnd = parse_fee(fee_text)
        if time_text and (
            days is None
            or (old and time_text != old.time_text and (days, working) == (old.days, old.working_days))
        ):
            days, working = parse_time(time_text)
        channels.append(
            SubmissionChannel(
                kind=kind,
                time_text=time_text,
                fee_text=fee_text,
                description=typed_text(row.get("description")),
                days=days,
                working_days=working,
                fee_vnd=fee_vnd,
            )
        )

    documents: list[Document] = []
    for i, row in enumerate(_rows(draft.get("documents"))):
        where, n = f"documents.{i}", i + 1
        doc_name = typed_text(row.get("name"))
        if not doc_name:
            problems[f"{where}.name"] = f"Giấy tờ số {n}: cần có tên giấy tờ."
        documents.append(
            Document(
                name=doc_name,
                group=typed_text(row.get("group")),
                form=typed_text(row.get("form")),
                originals=_int(
                    row.get("originals"), f"{where}.originals", f"Giấy tờ số {n}: số bản chính", problems
                ),
                copies=_int(row.get("copies"), f"{where}.copies", f"Giấy tờ số {n}: số bản sao", problems),
                note=typed_text(row.get("note")),
            )
        )

    legal: list[LegalBasis] = []
    for i, row in enumerate(_rows(draft.get("legal_basis"))):
        number = typed_text(row.get("number"))
        if not number:
            problems[f"legal_basis.{i}.number"] = f"Căn cứ pháp lý số {i + 1}: cần có số hiệu văn bản."
        legal.append(
            LegalBasis(
                number=number,
                title=typed_text(row.get("title")),
                issued=typed_text(row.get("issued")),
                issuer=typed_text(row.get("issuer")),
            )
        )

    if problems:
        raise DraftInvalid(problems)
    aliases = list(OrderedDict.fromkeys(a.lower() for a in lines(draft.get("aliases"))))
    return Procedure(
        code=code,
        name=name,
        field=typed_text(draft.get("field")),
        levels=tuple(lines(draft.get("levels"))),
        ministry=typed_text(draft.get("ministry")),
        decision=typed_text(draft.get("decision")),
        procedure_type=typed_text(draft.get("procedure_type")),
        competent_agency=typed_text(draft.get("competent_agency")),
        executing_agency=typed_text(draft.get("executing_agency")),
        receiving_address=typed_text(draft.get("receiving_address")),
        target_users=typed_text(draft.get("target_users")),
        steps=tuple(lines(draft.get("steps"))),
        channels=tuple(channels),
        documents=tuple(documents),
        notes=tuple(lines(draft.get("notes"))),
        legal_basis=tuple(legal),
        conditions=typed_text(draft.get("conditions")),
        result=typed_text(draft.get("result")),
        online_level=online_level,
        url=url,
        aliases=tuple(aliases),
        catalogue_only=bool(yes_no(draft.get("catalogue_only"))),
        source=previous.source if previous else (typed_text(draft.get("source")) or "editor"),
    )


def faq_from_draft(
    draft: Mapping[str, Any], entry_id: int | None, known_code: Callable[[str], bool]
) -> FaqEntry:
    """Check an editor's draft of an FAQ entry (``questions`` one per line, ``answer``,
    ``procedure_codes``, ``tags``, ``enabled``) and build it.

    Raises:
        DraftInvalid: every problem found.
    """
    problems: dict[str, str] = {}
    questions = list(OrderedDict.fromkeys(lines(draft.get("questions"))))
    if not questions:
        problems["questions"] = "Cần ít nhất một cách hỏi (mỗi dòng một câu)."
    answer = typed_text(draft.get("answer"))
    if not answer:
        problems["answer"] = "Câu trả lời không được để trống."
    codes = [c for line in lines(draft.get("procedure_codes")) for c in re.split(r"[\s,;]+", line) if c]
    bad = [c for c in codes if not CODE_RE.match(c)]
    if bad:
        problems["procedure_codes"] = (
            "Mã thủ tục không đúng dạng (cần như 1.001193): " + ", ".join(f"«{c}»" for c in bad) + "."
        )
    else:
        missing = [c for c in codes if not known_code(c)]
        if missing:
            problems["procedure_codes"] = "Chưa có thủ tục mang mã: " + ", ".join(missing) + "."
    _check_lengths(draft, problems)
    if problems:
        raise DraftInvalid(problems)
    return FaqEntry(
        id=entry_id,
        questions=tuple(questions),
        answer=answer,
        procedure_codes=tuple(OrderedDict.fromkeys(codes)),
        tags=tuple(
            OrderedDict.fromkeys(t for line in lines(draft.get("tags")) for t in line.split(",") if t.strip())
        ),
        enabled=bool(yes_no(draft.get("enabled"))) if draft.get("enabled") is not None else True,
    )


def response_variants_from_draft(
    draft: Sequence[Mapping[str, Any]], allowed: frozenset[str]
) -> list[dict[str, Any]]:
    """Check an editor's texts for one response key, in the file's shape
    (``[{"text": ..., "buttons": [{"title", "payload"}]}]``), as :func:`bot.core.responses.check_variants`
    does when the bot lays stored texts over the file.

    Each draft variant has ``text`` and ``buttons`` (a list of ``{"title", "payload"}``, or one string
    with a line ``Tiêu đề | /payload`` each). Empty variants are dropped.

    Raises:
        DraftInvalid: every problem found, in plain Vietnamese.
    """
    variants, problems = check_variants(draft, allowed)
    if problems:
        raise DraftInvalid(problems)
    return variants


def procedure_draft(proc: Procedure | None) -> dict[str, Any]:
    """The draft shape of a stored record (what the form and the API show), or an empty one."""
    if proc is None:
        return {
            "code": "",
            "name": "",
            "channels": [],
            "documents": [],
            "legal_basis": [],
            **{k: "" for k in ("levels", "steps", "notes", "aliases")},
        }
    data = proc.to_dict()
    data.pop("updated_at", None)
    # Lists and dicts all the way down, as JSON and forms have them (asdict keeps tuples).
    return {
        k: [dict(x) if isinstance(x, dict) else x for x in v] if isinstance(v, tuple) else v
        for k, v in data.items()
    }
