"""Answers about one procedure, from the knowledge base: documents, forms, steps, fees, time, where,
channels, conditions, legal basis, result and an overview.

Answers are chat-sized: long lists stop after :data:`PAGE_SIZE` items with a "Xem thêm" button whose
payload (``/more``) continues the list, long texts are clipped at a sentence or clause, never mid-word.
Official names are shortened to what a citizen recognises (:func:`display_name`). When a procedure's
documents differ per case (7 groups for the construction permit), only the citizen's case is listed:
the one their words name (:func:`match_group`), else the one they pick from buttons
(``/choose_group{"procedure": code, "group": "3"}``), remembered in the ``case`` slot.

When the knowledge base lacks a part, the answer says so in a plain sentence and links the procedure's
page on the national portal (or offers an officer when there is no link); a catalogue-only procedure
(name, field and online level only) says what is known and offers the portal search and an officer.
Also here: asking which procedure is meant, and offering a choice between close candidates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core.events import ContinuationSet, Event, ModeChanged, SlotSet
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Continuation, Mode
from knowledge.domain import CHANNEL_LABELS, ONLINE_LEVEL_LABELS, Document, Procedure, SubmissionChannel
from knowledge.text import fold

PAGE_SIZE = 5
"""Items of a long list sent in one message before "Xem thêm"."""

ITEM_CHARS = 220
"""Longest list item or step kept in a chat message; the rest is on the portal page."""

DOCUMENT_CHARS = 160
"""Longest document name kept in a list (the first sentence or clause of it)."""

NOTE_CHARS = 120
"""Longest note of a paper shown under it; a longer one stays on the portal page."""

PORTAL_HOME = "https://dichvucong.gov.vn"
"""The national public service portal, where every procedure can be searched by name."""

TEXT_CHARS = 700
"""Longest free text (conditions, result) kept in a chat message."""

TOPIC_BY_INTENT: dict[str, str] = {
    "ask_documents": "documents",
    "ask_forms": "forms",
    "ask_steps": "steps",
    "ask_fee": "fee",
    "ask_processing_time": "processing_time",
    "ask_where": "where",
    "ask_channels": "channels",
    "ask_conditions": "conditions",
    "ask_legal_basis": "legal_basis",
    "ask_result": "result",
    "ask_procedure_overview": "overview",
}
"""The question intents and the topic each one asks about."""

_NO_CONDITIONS = {"khong", "khong co", "khong quy dinh", "khong co yeu cau", "khong co dieu kien"}


def action_name(topic: str) -> str:
    """Name of the action answering a topic: ``"fee"`` -> ``"action_fee"``."""
    return f"action_{topic}"


def clip(text: str, limit: int) -> str:
    """One-line text cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def _clip_block(text: str, limit: int) -> str:
    """Multi-line text kept line by line, cut to ``limit`` characters."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    joined = "\n".join(lines)
    return joined if len(joined) <= limit else clip(joined, limit)


NAME_CHARS = 120
"""Longest procedure name kept in a message (some official names run to 300 characters)."""

BUTTON_CHARS = 64
"""Longest button title."""

_THU_TUC_RE = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)
_PAREN_KEEP_CHARS = 40
_REPEATED_LEVEL_RE = re.compile(
    r"\b(cấp|loại|hạng|nhóm) ((?:(?:[IVX]+|\d+), )*(?:[IVX]+|\d+)), \1 (?=(?:[IVX]+|\d+)\b)"
)
_FOR_SPLIT = " đối với "
_LONG_NAME = 60
_TRAILING_PAREN_RE = re.compile(r"^(?P<head>.*\S)\s+(?P<tail>\([^()]*\))$")


def _paren_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level balanced parenthesis, end exclusive; none if unbalanced."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            if depth == 0:
                return []
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans if depth == 0 else []


def _drop_paren_lists(text: str) -> str:
    """Drop parentheses that list cases ("(Công trình không theo tuyến/Theo tuyến/…)"); keep short ones
    such as "(cấp tỉnh)"."""
    out, last = [], 0
    for start, end in _paren_spans(text):
        inner = text[start + 1 : end - 1]
        if "/" in inner or ";" in inner or len(inner) > _PAREN_KEEP_CHARS:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    joined = " ".join("".join(out).split())
    return re.sub(r"\s+([,.;:)])", r"\1", joined)


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def display_name(name: str, limit: int = NAME_CHARS) -> str:
    """A procedure name as a citizen reads it, at most ``limit`` characters, never cut mid-word.

    No leading "Thủ tục" (the messages say it), no parenthetical list of cases, "cấp III, cấp IV" said
    once, and a long "X đối với Y" read as "X (Y)"; a name still too long keeps its first clause::

        "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo
        tuyến/…/Dự án) và nhà ở riêng lẻ"
        -> "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ)"
    """
    name = " ".join(name.split())
    name = _THU_TUC_RE.sub("", name)
    if name.isupper():
        name = name.lower()
    name = _drop_paren_lists(name)
    while (shorter := _REPEATED_LEVEL_RE.sub(r"\1 \2, ", name)) != name:
        name = shorter
    name = name.strip(" :;,.-")
    if len(name) > _LONG_NAME and name.count(_FOR_SPLIT) == 1 and "(" not in name:
        head, tail = name.split(_FOR_SPLIT)
        if len(head) >= 10:
            name = f"{head} ({tail})"
    if len(name) > limit and ";" in name:
        first = name.split(";", 1)[0].strip()
        if len(first) >= 20:
            name = first
    return clip(_sentence_case(name), limit)


def distinct_titles(names: Sequence[str], codes: Sequence[str]) -> list[str]:
    """Button titles for names shown side by side: what they share at the end is dropped, so the
    buttons differ where they should ("Cấp giấy phép xây dựng mới" / "Gia hạn giấy phép xây dựng"),
    and identical names get their code."""
    titles = list(names)
    parts = [_TRAILING_PAREN_RE.match(n) for n in names]
    if len(names) > 1 and all(parts):
        heads = [m.group("head") for m in parts if m]
        tails = {m.group("tail").lower() for m in parts if m}
        if len(tails) == 1 and len(set(heads)) == len(heads):
            titles = heads
    seen = [t.lower() for t in titles]
    return [f"{t} (mã {c})" if seen.count(t.lower()) > 1 else t for t, c in zip(titles, codes, strict=True)]


_BULLET_RE = re.compile(r"^(?:[-+•*]\s*|[a-zđ]\)\s*|\d+(?:\.\d+)*[.)]\s+)", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\.\s+(?=[^\W\d_])")
_CLAUSE_END_RE = re.compile(r"\s*(?:[;:]|\s\+\s)\s*")
_TRAILING_GOM_RE = re.compile(r"(?:,?\s*(?:bao gồm|gồm có|gồm|như sau))+$", re.IGNORECASE)
_LEGAL_TAIL_RE = re.compile(r"\s(?:được cấp |được ban hành )?(?:theo quy định|quy định tại|căn cứ)\b")
_LEGAL_TAIL_FROM = 60


def first_clause(text: str, limit: int = DOCUMENT_CHARS) -> str:
    """The first sentence or clause of a long published text, at most ``limit`` characters.

    Cut at a sentence end (". " before a capital), else at ";", ":" or a " + " list; a long clause
    loses its legal reference ("... theo quy định của Luật Đất đai"); one still too long is cut at its
    last comma, then at a word (with "…"). Never mid-word.
    """
    text = _BULLET_RE.sub("", " ".join(text.split()))
    cuts = []
    for match in _SENTENCE_END_RE.finditer(text):
        if match.start() >= 12 and text[match.end()].isupper():
            cuts.append(match.start())
            break
    clause = _CLAUSE_END_RE.search(text, 12)
    if clause:
        cuts.append(clause.start())
    if cuts:
        text = text[: min(cuts)]
    text = _TRAILING_GOM_RE.sub("", text).rstrip(" ,.;:")
    if len(text) > _LEGAL_TAIL_FROM:
        # "... được cấp theo quy định của Luật Đất đai qua các thời kỳ": the citizen needs the paper's name.
        legal = _LEGAL_TAIL_RE.search(text, 25)
        if legal:
            text = text[: legal.start()].rstrip(" ,")
    if text.count("(") > text.count(")"):
        text = text[: text.rfind("(")].rstrip(" ,")
    if len(text) > limit:
        comma = text.rfind(", ", 0, limit)
        if comma >= limit // 2:
            return text[:comma] + "…"
    return clip(text, limit)


def _channel_label(kind: str) -> str:
    return CHANNEL_LABELS.get(kind, kind)


_FORM_EXT_RE = re.compile(r"\.(docx?|pdf|xlsx?|odt|rtf)$", re.IGNORECASE)


def form_title(form: str) -> str:
    """A form's file name as a citizen reads it: no extension (``Mẫu số 01.docx`` -> ``Mẫu số 01``)."""
    return _FORM_EXT_RE.sub("", form.strip()).strip()


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


def _time_text(d: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """Published processing time for chat.

    A bare number ("1", as some records give it) gets its unit; a row whose time the importer read from
    the record's prose has ``days`` but no text: "khoảng N ngày làm việc".
    """
    text = channel.time_text.strip()
    days = None
    if channel.days is not None:
        days = int(channel.days) if float(channel.days).is_integer() else channel.days
    if not text and days is not None:
        return d.text("part_about_working_days" if channel.working_days else "part_about_days", days=days)
    if days is not None and re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return d.text("part_working_days" if channel.working_days else "part_days", days=days)
    return _published(text)


def _has_time(channel: SubmissionChannel) -> bool:
    return bool(channel.time_text.strip()) or channel.days is not None


_NO_FEE_INFO_RE = re.compile(r"^khong co thong tin\b")
_COUNCIL = "hoi dong nhan dan"
_AMOUNT_RE = re.compile(r"(?<![\d.,])[1-9][\d.,]*\s*(?:đồng|vnđ|vnd|usd|việt nam đồng)", re.IGNORECASE)


def _fee_kind(channel: SubmissionChannel) -> str:
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


def _fee_text(d: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """One row's fee for chat: "Miễn phí", the council sentence, or the published amount without the
    paragraph of notes that often follows it in parentheses."""
    kind = _fee_kind(channel)
    if kind == "none":
        return ""
    if kind == "free":
        return d.text("part_fee_free")
    if kind == "council":
        return d.text("part_fee_council")
    text = " ".join(channel.fee_text.split())
    head = text.split(" (", 1)[0]
    if head != text and _AMOUNT_RE.search(head):
        text = head
        if _COUNCIL in fold(channel.fee_text.lower()):
            text += " " + d.text("part_fee_council_note")
    return _published(text)


def _grouped(
    channels: Sequence[SubmissionChannel], text_of: Callable[[SubmissionChannel], str]
) -> list[tuple[str, str]]:
    """(channels, text) pairs with channels sharing the same published text merged into one line."""
    groups: dict[str, list[str]] = {}
    for channel in channels:
        text = text_of(channel)
        if text:
            groups.setdefault(text, []).append(_channel_label(channel.kind))
    out = []
    for text, labels in groups.items():
        labels = _dedupe(labels)
        out.append((", ".join([labels[0], *(label.lower() for label in labels[1:])]), text))
    return out


def _dedupe(lines: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(lines))


# --- Documents per case -------------------------------------------------------------------------------

_GROUP_NUMBER_RE = re.compile(r"^(?:\(\d+(?:\.\d+)*\)|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s*", re.IGNORECASE)
_GROUP_LEAD_RE = re.compile(r"^(?:đối với|trường hợp)\s+", re.IGNORECASE)
_GROUP_TAIL_RE = re.compile(r"(?:,?\s*(?:hồ sơ )?(?:bao gồm|gồm có|gồm))+$", re.IGNORECASE)
_CASE_WORDS_RE = re.compile(r"\b(?:doi voi|truong hop)\b")
_GROUP_STOP_BIGRAMS = frozenset({"doi voi", "truong hop", "ho so", "bao gom", "gom co"})
CASE_CHARS = 150
"""Longest ``case`` slot kept (the citizen's words, folded)."""


def document_cases(proc: Procedure) -> list[str]:
    """The document groups of ``proc`` when they are alternative cases, in published order.

    Groups count as cases when at least half their headings say "Đối với ..." or "Trường hợp ...";
    other headings ("Giấy tờ phải nộp" / "Giấy tờ phải xuất trình") are sections of one dossier, and a
    single group is an addition to it: both are listed whole. Empty when there is no choice to make.
    """
    groups = list(dict.fromkeys(doc.group for doc in proc.documents if doc.group.strip()))
    if len(groups) < 2:
        return []
    cases = sum(1 for g in groups if _CASE_WORDS_RE.search(fold(g.lower())))
    return groups if cases * 2 >= len(groups) else []


def group_title(group: str, limit: int = BUTTON_CHARS) -> str:
    """A case heading as a button title: ``"(1.7) Đối với công trình nhà ở riêng lẻ"`` ->
    ``"Công trình nhà ở riêng lẻ"``."""
    title = _GROUP_NUMBER_RE.sub("", " ".join(group.split()))
    title = _GROUP_LEAD_RE.sub("", title).rstrip(" :;,.")
    title = _GROUP_TAIL_RE.sub("", title).rstrip(" :;,.") or title
    return clip(_sentence_case(title), limit)


def _group_titles(groups: Sequence[str]) -> list[str]:
    titles = [group_title(g) for g in groups]
    if len(set(titles)) < len(titles):
        titles = [f"{i}. {t}" for i, t in enumerate(titles, 1)]
    return titles


def _bigrams(text: str) -> set[str]:
    words = [w for w in re.findall(r"[^\W_]+", fold(text.lower())) if not w.isdigit()]
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)} - _GROUP_STOP_BIGRAMS


def match_group(text: str | None, groups: Sequence[str]) -> int | None:
    """Index of the one group whose heading the citizen's words name, or None (none, or a tie).

    Word pairs are compared without diacritics ("nha o" names "(1.7) Đối với công trình nhà ở riêng
    lẻ"); pairs every heading has ("công trình") tell nothing and are ignored.
    """
    if not text or len(groups) < 2:
        return None
    keys = [_bigrams(g) for g in groups]
    common = set.intersection(*keys)
    said = _bigrams(text)
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


def _case_view(proc: Procedure, group: str) -> Procedure:
    """``proc`` with only the documents of one case (and those common to every case), headings dropped:
    the message names the case once."""
    docs = tuple(replace(doc, group="") for doc in proc.documents if doc.group in ("", group))
    return replace(proc, documents=docs)


def _ask_case(d: CollectingDispatcher, proc: Procedure, cases: Sequence[str]) -> list[Event]:
    buttons = tuple(
        Button(title, make_payload("choose_group", procedure=proc.code, group=str(i)))
        for i, title in enumerate(_group_titles(cases), 1)
    )
    d.utter("utter_ask_document_case", buttons=buttons, procedure_name=display_name(proc.name))
    return [ContinuationSet(None)]


# --- Long lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ListTopic:
    """A topic answered with a paged list: how to count items, render a page and head the message."""

    response: str
    count: Callable[[Procedure], int]
    page: Callable[[CollectingDispatcher, Procedure, int, int], list[str]]


def document_line(d: CollectingDispatcher, number: int, doc: Document) -> str:
    """``"1. Đơn đề nghị cấp giấy phép xây dựng (1 bản chính, 1 bản sao) — mẫu: Mẫu số 01.docx"``."""
    counts = []
    if doc.originals:
        counts.append(d.text("part_originals", n=doc.originals))
    if doc.copies:
        counts.append(d.text("part_copies", n=doc.copies))
    line = d.text("part_document_item", number=number, name=first_clause(doc.name))
    if counts:
        line += " (" + ", ".join(counts) + ")"
    if doc.form.strip():
        line += " " + d.text("part_form", form=" ".join(doc.form.split()))
    note = short_note(doc.note)
    if note:
        line += "\n" + d.text("part_document_note", note=note)
    return line


def short_note(note: str, limit: int = NOTE_CHARS) -> str:
    """A paper's note when it is short enough to show under it in a chat list, else "".

    Several notes, a long one, or a lead-in ("... các giấy tờ sau:") would crowd the list of papers.
    """
    text = " ".join(note.split())
    if not text or "\n" in note.strip() or len(text) > limit or text.endswith(":"):
        return ""
    return text


def _document_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    blocks: list[str] = []
    for index in range(start, min(end, len(proc.documents))):
        doc = proc.documents[index]
        line = document_line(d, index + 1, doc)
        # The group heading opens its group, and is repeated when a page starts inside a group.
        previous = proc.documents[index - 1].group if index > 0 else None
        if doc.group and (index == start or doc.group != previous):
            line = d.text("part_group", group=clip(doc.group, ITEM_CHARS)) + "\n" + line
        blocks.append(line)
    return blocks


def _forms(proc: Procedure) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for doc in proc.documents:
        if doc.form and doc.form not in seen:
            seen[doc.form] = doc.name
    return list(seen.items())


def _form_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    lines = []
    for i, (form, name) in enumerate(_forms(proc)[start:end], start):
        title = form_title(form)
        # "Tờ khai đăng ký kết hôn" used for "Tờ khai đăng ký kết hôn" needs no "dùng cho".
        if fold(title.lower()).startswith(fold(name.lower())):
            lines.append(d.text("part_form_item_plain", number=i + 1, form=title))
        else:
            lines.append(d.text("part_form_item", number=i + 1, form=title, name=first_clause(name, 120)))
    return lines


def _step_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    return [
        d.text("part_step_item", number=i + 1, text=clip(step, ITEM_CHARS))
        for i, step in enumerate(proc.steps[start:end], start)
    ]


def _note_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    return [
        d.text("part_note_item", text=clip(note, ITEM_CHARS))
        for note in proc.notes[start:end]
        if not note.rstrip().endswith(":")  # a lead-in whose points were published as rows of their own
    ]


def _legal_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    lines = []
    for i, law in enumerate(proc.legal_basis[start:end], start):
        title = f"{law.title} ({law.number})" if law.title and law.number else law.title or law.number
        lines.append(d.text("part_legal_item", number=i + 1, title=clip(title, ITEM_CHARS)))
    return lines


LIST_TOPICS: dict[str, _ListTopic] = {
    "documents": _ListTopic("utter_documents", lambda p: len(p.documents), _document_page),
    "forms": _ListTopic("utter_forms", lambda p: len(_forms(p)), _form_page),
    "steps": _ListTopic("utter_steps", lambda p: len(p.steps), _step_page),
    "legal_basis": _ListTopic("utter_legal_basis", lambda p: len(p.legal_basis), _legal_page),
    "notes": _ListTopic("utter_procedure_notes", lambda p: len(p.notes), _note_page),
}
"""Topics answered with a paged list. ``notes`` (the procedure's "Lưu ý") is reached from the
"Lưu ý" button under the documents, not from an intent."""


def _more_button(d: CollectingDispatcher) -> Button:
    return Button(d.text("part_more_button"), make_payload("more"))


def send_list_page(
    d: CollectingDispatcher,
    proc: Procedure,
    topic: str,
    start: int,
    page_size: int = PAGE_SIZE,
    group: str | None = None,
) -> list[Event]:
    """Send one page of a long list (the first with its heading, later ones as "tiếp theo").

    Args:
        group: for documents published per case, the case to list (only its documents are counted
            and numbered).

    Returns:
        ``ContinuationSet`` pointing at the next page, or ``ContinuationSet(None)`` after the last.
    """
    spec = LIST_TOPICS[topic]
    view = _case_view(proc, group) if group is not None and topic == "documents" else proc
    total = spec.count(view)
    end = start + page_size
    items = "\n".join(spec.page(d, view, start, end))
    more = end < total
    buttons: tuple[Button, ...] = (_more_button(d),) if more else ()
    if topic == "documents" and proc.notes:
        buttons += (
            Button(d.text("part_notes_button"), make_payload("procedure_notes", procedure=proc.code)),
        )
    links: tuple[tuple[str, str], ...] = ()
    if topic == "forms" and proc.url and not more:
        links = ((d.text("part_link_forms"), proc.url),)
    name = display_name(proc.name)
    if start > 0:
        d.utter("utter_list_more", buttons=buttons, links=links, procedure_name=name, items=items)
    elif group is not None:
        d.utter(
            "utter_documents_case",
            buttons=buttons,
            procedure_name=name,
            case=group_title(group, NAME_CHARS).lower(),
            count=total,
            items=items,
        )
    else:
        d.utter(spec.response, buttons=buttons, links=links, procedure_name=name, count=total, items=items)
    return [ContinuationSet(Continuation(topic, proc.code, end, group) if more else None)]


# --- One answer per topic ---------------------------------------------------------------------------


def _missing(d: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    """Say plainly that this part is not in the data; link the portal page or offer an officer."""
    name = d.text(f"topic_{topic}")
    if proc.url:
        d.utter(
            "utter_missing_detail",
            links=((d.text("part_link_portal"), proc.url),),
            procedure_name=display_name(proc.name),
            topic=name,
        )
    else:
        d.utter("utter_missing_detail_no_link", procedure_name=display_name(proc.name), topic=name)
    return [ContinuationSet(None)]


_ONLINE_PARTS = {
    "toan_trinh": "part_catalogue_online_full",
    "mot_phan": "part_catalogue_online_partial",
    "con_lai": "part_catalogue_online_none",
}


def _catalogue_only(d: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    """A procedure known only from a provincial catalogue: say what is known (name, field, whether it
    is online), that the details are not in the data, and offer the portal search and an officer."""
    details = [d.text("part_catalogue_field", field=proc.field.strip())] if proc.field.strip() else []
    if proc.online_level in _ONLINE_PARTS:
        details.append(d.text(_ONLINE_PARTS[proc.online_level]))
    d.utter(
        "utter_catalogue_only",
        links=((d.text("part_link_portal_search"), proc.url or PORTAL_HOME),),
        procedure_name=display_name(proc.name),
        topic=d.text(f"topic_{topic}"),
        details="\n".join(details),
    )
    return [ContinuationSet(None)]


def _answer_documents(
    d: CollectingDispatcher, proc: Procedure, text: str = "", case: str | None = None, picked: Any = None
) -> list[Event]:
    """Documents, for the citizen's case when they differ per case.

    The case is the one picked (``picked``: 1-based index from a ``/choose_group`` button), else the one
    the message names, else the one remembered in the ``case`` slot; with none, the bot asks.
    """
    cases = document_cases(proc)
    if not cases:
        return send_list_page(d, proc, "documents", 0)
    index = None
    if picked is not None and str(picked).isdigit() and 1 <= int(picked) <= len(cases):
        index = int(picked) - 1
    if index is None:
        index = match_group(text, cases)
    if index is None:
        index = match_group(case, cases)
    if index is None:
        return _ask_case(d, proc, cases)
    return [SlotSet("case", cases[index]), *send_list_page(d, proc, "documents", 0, group=cases[index])]


def _answer_list(d: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    if topic == "forms" and proc.documents and not _forms(proc):
        d.utter("utter_no_forms", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    if LIST_TOPICS[topic].count(proc) == 0:
        return _missing(d, proc, topic)
    return send_list_page(d, proc, topic, 0)


def _answer_fee(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    priced = [c for c in proc.channels if _fee_kind(c) != "none"]
    if not priced:
        return _missing(d, proc, "fee")
    kinds = {_fee_kind(c) for c in priced}
    if kinds == {"free"}:
        d.utter("utter_fee_free", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    if kinds == {"council"}:
        d.utter("utter_fee_council", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    lines = [
        d.text("part_channel_fee", channel=ch, fee=fee)
        for ch, fee in _grouped(priced, lambda c: _fee_text(d, c))
    ]
    d.utter("utter_fee", procedure_name=display_name(proc.name), items="\n".join(lines))
    return [ContinuationSet(None)]


def _answer_time(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    timed = [c for c in proc.channels if _has_time(c)]
    if not timed:
        return _missing(d, proc, "processing_time")
    lines = [
        d.text("part_channel_time", channel=ch, time=time)
        for ch, time in _grouped(timed, lambda c: _time_text(d, c))
    ]
    d.utter("utter_processing_time", procedure_name=display_name(proc.name), items="\n".join(lines))
    return [ContinuationSet(None)]


def _answer_where(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    agency = clip(proc.executing, ITEM_CHARS)
    if not agency:
        return _missing(d, proc, "where")
    if proc.receiving_address.strip():
        d.utter(
            "utter_where_address",
            procedure_name=display_name(proc.name),
            agency=agency,
            address=clip(proc.receiving_address, ITEM_CHARS),
        )
    else:
        d.utter("utter_where", procedure_name=display_name(proc.name), agency=agency)
    return [ContinuationSet(None)]


def _answer_channels(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    kinds = _dedupe([_channel_label(c.kind) for c in proc.channels])
    if not kinds and not proc.online_level:
        return _missing(d, proc, "channels")
    if kinds:
        d.utter(
            "utter_channels",
            procedure_name=display_name(proc.name),
            channels=", ".join(k.lower() for k in kinds),
        )
    online = {
        "toan_trinh": "utter_online_full",
        "mot_phan": "utter_online_partial",
        "con_lai": "utter_online_none",
    }
    if proc.online_level in online:
        links = ()
        if proc.online_level != "con_lai" and proc.url:
            links = ((d.text("part_link_online"), proc.url),)
        d.utter(online[proc.online_level], links=links, procedure_name=display_name(proc.name))
    return [ContinuationSet(None)]


def _answer_conditions(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    text = proc.conditions.strip()
    if not text:
        return _missing(d, proc, "conditions")
    if fold(text.lower()).strip(" .") in _NO_CONDITIONS:
        d.utter("utter_no_conditions", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    links = ((d.text("part_link_portal"), proc.url),) if proc.url and len(text) > TEXT_CHARS else ()
    d.utter(
        "utter_conditions",
        links=links,
        procedure_name=display_name(proc.name),
        conditions=_clip_block(text, TEXT_CHARS),
    )
    return [ContinuationSet(None)]


def _answer_result(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    if not proc.result.strip():
        return _missing(d, proc, "result")
    d.utter(
        "utter_result", procedure_name=display_name(proc.name), result=_clip_block(proc.result, TEXT_CHARS)
    )
    return [ContinuationSet(None)]


def _answer_overview(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    lines = []
    if proc.executing:
        lines.append(d.text("part_overview_agency", agency=clip(proc.executing, 200)))
    # The in-person row is what most citizens use; fall back to whichever row is published.
    rows = sorted(proc.channels, key=lambda c: c.kind != "truc_tiep")
    timed = next((c for c in rows if _has_time(c)), None)
    if timed:
        lines.append(d.text("part_overview_time", time=_time_text(d, timed)))
    priced = next((c for c in rows if _fee_kind(c) != "none"), None)
    if priced:
        lines.append(d.text("part_overview_fee", fee=_fee_text(d, priced)))
    if proc.online_level in ONLINE_LEVEL_LABELS:
        lines.append(d.text("part_overview_online", online_level=ONLINE_LEVEL_LABELS[proc.online_level]))
    links = ((d.text("part_link_portal"), proc.url),) if proc.url else ()
    d.utter(
        "utter_overview",
        links=links,
        procedure_name=display_name(proc.name),
        code=proc.code,
        items="\n".join(lines),
    )
    return [ContinuationSet(None)]


_ANSWERS: dict[str, Callable[[CollectingDispatcher, Procedure], list[Event]]] = {
    "fee": _answer_fee,
    "processing_time": _answer_time,
    "where": _answer_where,
    "channels": _answer_channels,
    "conditions": _answer_conditions,
    "result": _answer_result,
    "overview": _answer_overview,
}


def answer(
    d: CollectingDispatcher,
    proc: Procedure,
    topic: str,
    text: str = "",
    case: str | None = None,
    args: Mapping[str, Any] | None = None,
) -> list[Event]:
    """Answer one topic about ``proc`` through the dispatcher; returns the events.

    Args:
        text: the citizen's message (names a case of the documents, if any).
        case: the ``case`` slot.
        args: the policy's arguments (``group``: a case picked from the buttons).
    """
    if proc.catalogue_only:
        return _catalogue_only(d, proc, topic)
    if topic == "documents":
        return _answer_documents(d, proc, text, case, (args or {}).get("group"))
    if topic in LIST_TOPICS:
        return _answer_list(d, proc, topic)
    return _ANSWERS[topic](d, proc)


def _unknown_procedure(d: CollectingDispatcher) -> list[Event]:
    d.utter("utter_procedure_unknown")
    return [SlotSet("procedure", None), ContinuationSet(None)]


class ProcedureAnswerAction:
    """Answers one ``ask_*`` intent for the conversation's current procedure.

    The policy has already set ``state.procedure`` (named now, chosen from buttons, or carried over
    from an earlier question). ``tracker.args["group"]`` is a case picked from the buttons of
    :func:`_ask_case`.
    """

    def __init__(self, topic: str) -> None:
        if topic not in LIST_TOPICS and topic not in _ANSWERS:
            raise ValueError(f"unknown topic {topic!r}")
        self.topic = topic
        self.name = action_name(topic)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        proc = tracker.procedure()
        if proc is None:
            return _unknown_procedure(dispatcher)
        return answer(dispatcher, proc, self.topic, tracker.text, tracker.state.case, tracker.args)


class MoreAction:
    """ "Xem thêm": the next page of the list the conversation stopped in (of the same case)."""

    name = "action_more"

    def __init__(self, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        cont = tracker.state.continuation
        proc = tracker.knowledge.get(cont.procedure) if cont else None
        if cont is None or proc is None or cont.topic not in LIST_TOPICS:
            dispatcher.utter("utter_no_more")
            return [ContinuationSet(None)]
        return send_list_page(dispatcher, proc, cont.topic, cont.offset, self.page_size, cont.group)


class AskProcedureAction:
    """A question came without a procedure and none is being discussed: ask which one.

    The question is remembered (``pending_intent``) and answered once the citizen names the procedure.
    """

    name = "action_ask_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_ask_procedure")
        intent = tracker.intent if tracker.intent in TOPIC_BY_INTENT else tracker.state.pending_intent
        return [SlotSet("pending_intent", intent)]


def candidate_buttons(candidates: Sequence[Mapping[str, Any]]) -> tuple[Button, ...]:
    """One ``/choose{"procedure": code}`` button per candidate, titled with a short name that differs
    visibly from the others' ("Cấp giấy phép xây dựng mới" / "Gia hạn giấy phép xây dựng")."""
    codes = [str(c["code"]) for c in candidates]
    names = [display_name(str(c.get("name") or c["code"]), 10 * BUTTON_CHARS) for c in candidates]
    return tuple(
        Button(clip(title, BUTTON_CHARS), make_payload("choose", procedure=code))
        for title, code in zip(distinct_titles(names, codes), codes, strict=True)
    )


class ChooseProcedureAction:
    """Several procedures fit what the citizen named (new / adjusted / renewed permit...): ask which.

    Reads ``tracker.args["candidates"]`` (``[{"code", "name", "score"}, ...]``). The question asked is kept
    as ``pending_intent`` and answered after the pick.
    """

    name = "action_choose_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        candidates = list(tracker.args.get("candidates") or ())
        dispatcher.utter("utter_choose_procedure", buttons=candidate_buttons(candidates))
        intent = tracker.intent if tracker.intent in TOPIC_BY_INTENT else tracker.state.pending_intent
        return [SlotSet("pending_intent", intent), ModeChanged(Mode.AWAITING_CHOICE), ContinuationSet(None)]
