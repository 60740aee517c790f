"""One answer per topic about one procedure: documents (for the citizen's case), the paged lists, fee,
processing time, where, channels, conditions, result and an overview.

When the knowledge base lacks a part, the answer says so in a plain sentence and links the procedure's
page on the national portal (or offers an officer when there is no link); a catalogue-only procedure
(name, field and online level only) says what is known and offers the portal search and an officer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from actions.procedure.facts import channel_label, dedupe, fee_kind, fee_text, grouped, has_time, time_text
from actions.procedure.lists import PAGED_LISTS, forms_of, send_list_page
from actions.procedure.names import ITEM_CHARS, clip_block, display_name, group_title
from bot.core.domain import LIST_TOPICS, Intent, OnlineLevel, SubmissionKind, Topic
from bot.core.events import ContinuationSet, Event, SlotSet
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher
from knowledge.cases import document_cases, match_group
from knowledge.domain import ONLINE_LEVEL_LABELS, Procedure
from knowledge.text import clip, fold

PORTAL_HOME = "https://dichvucong.gov.vn"
"""The national public service portal, where every procedure can be searched by name."""

TEXT_CHARS = 700
"""Longest free text (conditions, result) kept in a chat message."""

_NO_CONDITIONS = {"khong", "khong co", "khong quy dinh", "khong co yeu cau", "khong co dieu kien"}


def _missing(dispatcher: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    """Say plainly that this part is not in the data; link the portal page or offer an officer."""
    name = dispatcher.text(f"topic_{topic}")
    if proc.url:
        dispatcher.utter(
            "utter_missing_detail",
            links=((dispatcher.text("part_link_portal"), proc.url),),
            procedure_name=display_name(proc.name),
            topic=name,
        )
    else:
        dispatcher.utter("utter_missing_detail_no_link", procedure_name=display_name(proc.name), topic=name)
    return [ContinuationSet(None)]


_ONLINE_PARTS: Mapping[str, str] = {
    OnlineLevel.FULL: "part_catalogue_online_full",
    OnlineLevel.PARTIAL: "part_catalogue_online_partial",
    OnlineLevel.NONE: "part_catalogue_online_none",
}


def _catalogue_only(dispatcher: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    """A procedure known only from a provincial catalogue: say what is known (name, field, whether it
    is online), that the details are not in the data, and offer the portal search and an officer."""
    details = (
        [dispatcher.text("part_catalogue_field", field=proc.field.strip())] if proc.field.strip() else []
    )
    online = _ONLINE_PARTS.get(proc.online_level or "")
    if online is not None:
        details.append(dispatcher.text(online))
    dispatcher.utter(
        "utter_catalogue_only",
        links=((dispatcher.text("part_link_portal_search"), proc.url or PORTAL_HOME),),
        procedure_name=display_name(proc.name),
        topic=dispatcher.text(f"topic_{topic}"),
        details="\n".join(details),
    )
    return [ContinuationSet(None)]


def _group_titles(groups: Sequence[str]) -> list[str]:
    titles = [group_title(g) for g in groups]
    if len(set(titles)) < len(titles):
        titles = [f"{i}. {t}" for i, t in enumerate(titles, 1)]
    return titles


def _ask_case(dispatcher: CollectingDispatcher, proc: Procedure, cases: Sequence[str]) -> list[Event]:
    """Ask which case the citizen is in, one ``/choose_group`` button per case."""
    buttons = tuple(
        Button(title, make_payload(Intent.CHOOSE_GROUP, procedure=proc.code, group=str(i)))
        for i, title in enumerate(_group_titles(cases), 1)
    )
    dispatcher.utter("utter_ask_document_case", buttons=buttons, procedure_name=display_name(proc.name))
    return [ContinuationSet(None)]


def _answer_documents(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    text: str = "",
    case: str | None = None,
    picked: str | None = None,
) -> list[Event]:
    """Documents, for the citizen's case when they differ per case.

    The case is the one picked (``picked``: 1-based index from a ``/choose_group`` button), else the one
    the message names, else the one remembered in the ``case`` slot; with none, the bot asks.
    """
    cases = document_cases(proc)
    if not cases:
        return send_list_page(dispatcher, proc, Topic.DOCUMENTS, 0)
    index = None
    if picked is not None and picked.isdigit() and 1 <= int(picked) <= len(cases):
        index = int(picked) - 1
    if index is None:
        index = match_group(text, cases)
    if index is None:
        index = match_group(case, cases)
    if index is None:
        return _ask_case(dispatcher, proc, cases)
    return [
        SlotSet("case", cases[index]),
        *send_list_page(dispatcher, proc, Topic.DOCUMENTS, 0, group=cases[index]),
    ]


def _answer_list(dispatcher: CollectingDispatcher, proc: Procedure, topic: str) -> list[Event]:
    if topic == Topic.FORMS and proc.documents and not forms_of(proc):
        dispatcher.utter("utter_no_forms", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    if PAGED_LISTS[topic].count(proc) == 0:
        return _missing(dispatcher, proc, topic)
    return send_list_page(dispatcher, proc, topic, 0)


def _answer_fee(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    priced = [c for c in proc.channels if fee_kind(c) != "none"]
    if not priced:
        return _missing(dispatcher, proc, Topic.FEE)
    kinds = {fee_kind(c) for c in priced}
    if kinds == {"free"}:
        dispatcher.utter("utter_fee_free", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    if kinds == {"council"}:
        dispatcher.utter("utter_fee_council", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    lines = [
        dispatcher.text("part_channel_fee", channel=ch, fee=fee)
        for ch, fee in grouped(priced, lambda c: fee_text(dispatcher, c))
    ]
    dispatcher.utter("utter_fee", procedure_name=display_name(proc.name), items="\n".join(lines))
    return [ContinuationSet(None)]


def _answer_time(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    timed = [c for c in proc.channels if has_time(c)]
    if not timed:
        return _missing(dispatcher, proc, Topic.PROCESSING_TIME)
    lines = [
        dispatcher.text("part_channel_time", channel=ch, time=time)
        for ch, time in grouped(timed, lambda c: time_text(dispatcher, c))
    ]
    dispatcher.utter("utter_processing_time", procedure_name=display_name(proc.name), items="\n".join(lines))
    return [ContinuationSet(None)]


def _answer_where(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    agency = clip(proc.executing, ITEM_CHARS)
    if not agency:
        return _missing(dispatcher, proc, Topic.WHERE)
    if proc.receiving_address.strip():
        dispatcher.utter(
            "utter_where_address",
            procedure_name=display_name(proc.name),
            agency=agency,
            address=clip(proc.receiving_address, ITEM_CHARS),
        )
    else:
        dispatcher.utter("utter_where", procedure_name=display_name(proc.name), agency=agency)
    return [ContinuationSet(None)]


_ONLINE_ANSWERS: Mapping[str, str] = {
    OnlineLevel.FULL: "utter_online_full",
    OnlineLevel.PARTIAL: "utter_online_partial",
    OnlineLevel.NONE: "utter_online_none",
}


def _answer_channels(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    kinds = dedupe([channel_label(c.kind) for c in proc.channels])
    if not kinds and not proc.online_level:
        return _missing(dispatcher, proc, Topic.CHANNELS)
    if kinds:
        dispatcher.utter(
            "utter_channels",
            procedure_name=display_name(proc.name),
            channels=", ".join(k.lower() for k in kinds),
        )
    online = _ONLINE_ANSWERS.get(proc.online_level or "")
    if online is not None:
        links: tuple[tuple[str, str], ...] = ()
        if proc.online_level != OnlineLevel.NONE and proc.url:
            links = ((dispatcher.text("part_link_online"), proc.url),)
        dispatcher.utter(online, links=links, procedure_name=display_name(proc.name))
    return [ContinuationSet(None)]


def _answer_conditions(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    text = proc.conditions.strip()
    if not text:
        return _missing(dispatcher, proc, Topic.CONDITIONS)
    if fold(text.lower()).strip(" .") in _NO_CONDITIONS:
        dispatcher.utter("utter_no_conditions", procedure_name=display_name(proc.name))
        return [ContinuationSet(None)]
    links = ((dispatcher.text("part_link_portal"), proc.url),) if proc.url and len(text) > TEXT_CHARS else ()
    dispatcher.utter(
        "utter_conditions",
        links=links,
        procedure_name=display_name(proc.name),
        conditions=clip_block(text, TEXT_CHARS),
    )
    return [ContinuationSet(None)]


def _answer_result(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    if not proc.result.strip():
        return _missing(dispatcher, proc, Topic.RESULT)
    dispatcher.utter(
        "utter_result", procedure_name=display_name(proc.name), result=clip_block(proc.result, TEXT_CHARS)
    )
    return [ContinuationSet(None)]


def _answer_overview(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    lines = []
    if proc.executing:
        lines.append(dispatcher.text("part_overview_agency", agency=clip(proc.executing, 200)))
    # The in-person row is what most citizens use; fall back to whichever row is published.
    rows = sorted(proc.channels, key=lambda c: c.kind != SubmissionKind.IN_PERSON)
    timed = next((c for c in rows if has_time(c)), None)
    if timed:
        lines.append(dispatcher.text("part_overview_time", time=time_text(dispatcher, timed)))
    priced = next((c for c in rows if fee_kind(c) != "none"), None)
    if priced:
        lines.append(dispatcher.text("part_overview_fee", fee=fee_text(dispatcher, priced)))
    if proc.online_level in ONLINE_LEVEL_LABELS:
        lines.append(
            dispatcher.text("part_overview_online", online_level=ONLINE_LEVEL_LABELS[proc.online_level])
        )
    links = ((dispatcher.text("part_link_portal"), proc.url),) if proc.url else ()
    dispatcher.utter(
        "utter_overview",
        links=links,
        procedure_name=display_name(proc.name),
        code=proc.code,
        items="\n".join(lines),
    )
    return [ContinuationSet(None)]


_ANSWERS: Mapping[str, Callable[[CollectingDispatcher, Procedure], list[Event]]] = {
    Topic.FEE: _answer_fee,
    Topic.PROCESSING_TIME: _answer_time,
    Topic.WHERE: _answer_where,
    Topic.CHANNELS: _answer_channels,
    Topic.CONDITIONS: _answer_conditions,
    Topic.RESULT: _answer_result,
    Topic.OVERVIEW: _answer_overview,
}


def answer(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    topic: str,
    text: str = "",
    case: str | None = None,
    group: str | None = None,
) -> list[Event]:
    """Answer one topic about ``proc`` through the dispatcher; returns the events.

    Args:
        text: the citizen's message (names a case of the documents, if any).
        case: the ``case`` slot.
        group: a case of the documents picked from the buttons (the policy's ``group`` argument).
    """
    if proc.catalogue_only:
        return _catalogue_only(dispatcher, proc, topic)
    if topic == Topic.DOCUMENTS:
        return _answer_documents(dispatcher, proc, text, case, group)
    if topic in LIST_TOPICS:
        return _answer_list(dispatcher, proc, topic)
    return _ANSWERS[topic](dispatcher, proc)


ANSWERED_TOPICS: frozenset[str] = frozenset({*LIST_TOPICS, *_ANSWERS})
"""Every topic :func:`answer` answers (each :class:`bot.core.domain.Topic`)."""
