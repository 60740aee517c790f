"""Answers about one procedure, from the knowledge base: documents, forms, steps, fees, time, where,
channels, conditions, legal basis, result and an overview.

Answers are chat-sized: long lists stop after :data:`PAGE_SIZE` items with a "Xem thêm" button whose
payload (``/more``) continues the list, long texts are clipped. When the knowledge base lacks a part,
the answer says so in a plain sentence and links the procedure's page on the national portal (or offers
an officer when there is no link). Also here: asking which procedure is meant, and offering a choice
between close candidates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from actions.base import (
    CollectingDispatcher,
    ContinuationSet,
    Event,
    ModeChanged,
    SlotSet,
    Tracker,
)
from bot.messages import Button
from bot.responses import make_payload
from bot.state import Continuation, Mode
from knowledge.domain import CHANNEL_LABELS, ONLINE_LEVEL_LABELS, Procedure, SubmissionChannel
from knowledge.text import fold

PAGE_SIZE = 5
"""Items of a long list sent in one message before "Xem thêm"."""

ITEM_CHARS = 220
"""Longest list item or step kept in a chat message; the rest is on the portal page."""

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
"""Longest procedure name kept in a message or on a button (some official names run to 300 characters)."""

_THU_TUC_RE = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)


def display_name(name: str, limit: int = NAME_CHARS) -> str:
    """A procedure name for chat: no leading "Thủ tục" (the messages say it), clipped.

    ``"Thủ tục đăng ký kết hôn"`` -> ``"Đăng ký kết hôn"``.
    """
    name = _THU_TUC_RE.sub("", name).strip()
    return clip(name[:1].upper() + name[1:], limit)


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
    """Published processing time; a bare number ("1", as some records give it) gets its unit."""
    text = channel.time_text.strip()
    if channel.days is not None and re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        days = int(channel.days) if float(channel.days).is_integer() else channel.days
        return d.text("part_working_days" if channel.working_days else "part_days", days=days)
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


# --- Long lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ListTopic:
    """A topic answered with a paged list: how to count items, render a page and head the message."""

    response: str
    count: Callable[[Procedure], int]
    page: Callable[[CollectingDispatcher, Procedure, int, int], list[str]]


def _document_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    blocks: list[str] = []
    for index in range(start, min(end, len(proc.documents))):
        doc = proc.documents[index]
        details = []
        if doc.originals:
            details.append(d.text("part_originals", n=doc.originals))
        if doc.copies:
            details.append(d.text("part_copies", n=doc.copies))
        if doc.form:
            details.append(d.text("part_form", form=form_title(doc.form)))
        line = d.text("part_document_item", number=index + 1, name=clip(doc.name, ITEM_CHARS))
        if details:
            line += " (" + ", ".join(details) + ")"
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
            lines.append(d.text("part_form_item", number=i + 1, form=title, name=clip(name, 120)))
    return lines


def _step_page(d: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    return [
        d.text("part_step_item", number=i + 1, text=clip(step, ITEM_CHARS))
        for i, step in enumerate(proc.steps[start:end], start)
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
}


def _more_button(d: CollectingDispatcher) -> Button:
    return Button(d.text("part_more_button"), make_payload("more"))


def send_list_page(
    d: CollectingDispatcher, proc: Procedure, topic: str, start: int, page_size: int = PAGE_SIZE
) -> list[Event]:
    """Send one page of a long list (the first with its heading, later ones as "tiếp theo").

    Returns:
        ``ContinuationSet`` pointing at the next page, or ``ContinuationSet(None)`` after the last.
    """
    spec = LIST_TOPICS[topic]
    total = spec.count(proc)
    end = start + page_size
    items = "\n".join(spec.page(d, proc, start, end))
    more = end < total
    buttons = (_more_button(d),) if more else ()
    links: tuple[tuple[str, str], ...] = ()
    if topic == "forms" and proc.url and not more:
        links = ((d.text("part_link_forms"), proc.url),)
    if start == 0:
        d.utter(
            spec.response,
            buttons=buttons,
            links=links,
            procedure_name=display_name(proc.name),
            count=total,
            items=items,
        )
    else:
        d.utter(
            "utter_list_more",
            buttons=buttons,
            links=links,
            procedure_name=display_name(proc.name),
            items=items,
        )
    return [ContinuationSet(Continuation(topic, proc.code, end) if more else None)]


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


def _answer_list(d: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    if topic == "forms" and proc.documents and not _forms(proc):
        d.utter("utter_no_forms", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    if LIST_TOPICS[topic].count(proc) == 0:
        return _missing(d, proc, topic)
    return send_list_page(d, proc, topic, 0)


def _answer_fee(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    priced = [c for c in proc.channels if c.fee_text.strip() or c.fee_vnd is not None]
    if not priced:
        return _missing(d, proc, "fee")
    if all(c.fee_vnd == 0 for c in priced):
        d.utter("utter_fee_free", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    lines = [
        d.text("part_channel_fee", channel=ch, fee=fee)
        for ch, fee in _grouped(priced, lambda c: _published(c.fee_text))
    ]
    if not lines:
        return _missing(d, proc, "fee")
    d.utter("utter_fee", procedure_name=display_name(proc.name), items="\n".join(lines))
    return [ContinuationSet(None)]


def _answer_time(d: CollectingDispatcher, proc: Procedure) -> list[Event]:
    timed = [c for c in proc.channels if c.time_text.strip()]
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
    timed = next((c for c in rows if c.time_text.strip()), None)
    if timed:
        lines.append(d.text("part_overview_time", time=_time_text(d, timed)))
    priced = next((c for c in rows if c.fee_text.strip()), None)
    if priced:
        lines.append(d.text("part_overview_fee", fee=_published(priced.fee_text)))
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


def answer(d: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    """Answer one topic about ``proc`` through the dispatcher; returns the events."""
    if topic in LIST_TOPICS:
        return _answer_list(d, proc, topic)
    return _ANSWERS[topic](d, proc)


def _unknown_procedure(d: CollectingDispatcher) -> list[Event]:
    d.utter("utter_procedure_unknown")
    return [SlotSet("procedure", None), ContinuationSet(None)]


class ProcedureAnswerAction:
    """Answers one ``ask_*`` intent for the conversation's current procedure.

    The policy has already set ``state.procedure`` (named now, chosen from buttons, or carried over
    from an earlier question).
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
        return answer(dispatcher, proc, self.topic)


class MoreAction:
    """ "Xem thêm": the next page of the list the conversation stopped in."""

    name = "action_more"

    def __init__(self, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        cont = tracker.state.continuation
        proc = tracker.knowledge.get(cont.procedure) if cont else None
        if cont is None or proc is None or cont.topic not in LIST_TOPICS:
            dispatcher.utter("utter_no_more")
            return [ContinuationSet(None)]
        return send_list_page(dispatcher, proc, cont.topic, cont.offset, self.page_size)


class AskProcedureAction:
    """A question came without a procedure and none is being discussed: ask which one.

    The question is remembered (``pending_intent``) and answered once the citizen names the procedure.
    """

    name = "action_ask_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_ask_procedure")
        intent = tracker.intent if tracker.intent in TOPIC_BY_INTENT else tracker.state.pending_intent
        return [SlotSet("pending_intent", intent)]


def candidate_buttons(candidates: Sequence[dict]) -> tuple[Button, ...]:
    """One ``/choose{"procedure": code}`` button per candidate, titled with its name."""
    return tuple(
        Button(
            display_name(str(c.get("name") or c["code"]), 64),
            make_payload("choose", procedure=str(c["code"])),
        )
        for c in candidates
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
