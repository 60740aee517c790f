"""One answer per topic about one procedure: documents (for the citizen's case), the paged lists, fee,
processing time, where, channels, conditions, result and an overview; several topics in one message
(:func:`answer_many`); under each answer a "you may also ask" row (papers · fee · time · where, the
ones not just answered).

Where is read from everything the record holds (:mod:`actions.procedure.places`), so an empty agency
field is no reason to say "not in my data". When the knowledge base lacks a part, the answer says so
in a plain sentence and links the procedure's page on the national portal (or offers an officer when
there is no link); a catalogue-only procedure (name, field and online level only) says what is known
(the agency of its field, where dossiers go, whether it is online) and offers the portal search and
an officer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from actions.procedure.facts import (
    channel_label,
    dedupe,
    fee_kind,
    fee_text,
    grouped,
    has_time,
    time_in_steps,
    time_text,
)
from actions.procedure.lists import PAGED_LISTS, documents_view, forms_of, send_documents, send_list_page
from actions.procedure.names import (
    BUTTON_CHARS,
    CASE_LABEL_SHORTEST,
    ITEM_CHARS,
    case_title,
    clip_block,
    display_name,
    distinct_labels,
    whole_phrase,
)
from actions.procedure.places import Place, by_post, online_level, place_of
from bot.core.domain import LIST_TOPICS, Intent, OnlineLevel, SubmissionKind, Topic
from bot.core.events import ContinuationSet, Event, SlotSet
from bot.core.messages import Button
from bot.core.responses import make_payload, parse_payload
from bot.core.sdk import CollectingDispatcher
from knowledge.cases import DocumentCase, case_match_text, dossier, match_group
from knowledge.domain import ONLINE_LEVEL_LABELS, Procedure, SubmissionChannel
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


def _catalogue_details(dispatcher: CollectingDispatcher, proc: Procedure) -> list[str]:
    """What a catalogue gives: the field, the agency handling it in the province, where dossiers go,
    and whether the procedure is online."""
    details = (
        [dispatcher.text("part_catalogue_field", field=proc.field.strip())] if proc.field.strip() else []
    )
    place = place_of(proc)
    if place is not None and place.agency:
        details.append(dispatcher.text("part_catalogue_agency", agency=place.agency))
    if place is not None and place.desk:
        details.append(dispatcher.text("part_catalogue_desk_named", desk=place.desk))
    elif place is not None:
        details.append(dispatcher.text("part_catalogue_desk"))
    online = _ONLINE_PARTS.get(proc.online_level or "")
    if online is not None:
        details.append(dispatcher.text(online))
    return details


def _catalogue_only(dispatcher: CollectingDispatcher, proc: Procedure, topics: Sequence[str]) -> list[Event]:
    """A procedure known only from a provincial catalogue: say what is known (field, the agency of the
    field, where dossiers go, whether it is online), that the asked details are not in the data, and
    offer the portal search and an officer. Asked only where or how to submit, that is the answer."""
    details = "\n".join(_catalogue_details(dispatcher, proc))
    links = ((dispatcher.text("part_link_portal_search"), proc.url or PORTAL_HOME),)
    if set(topics) <= {Topic.WHERE, Topic.CHANNELS} and place_of(proc) is not None:
        dispatcher.utter(
            "utter_catalogue_where", links=links, procedure_name=display_name(proc.name), details=details
        )
        return [ContinuationSet(None)]
    dispatcher.utter(
        "utter_catalogue_only",
        links=links,
        procedure_name=display_name(proc.name),
        topic=_and(dispatcher, [dispatcher.text(f"topic_{topic}") for topic in topics]),
        details=details,
    )
    return [ContinuationSet(None)]


def _and(dispatcher: CollectingDispatcher, parts: Sequence[str]) -> str:
    """``["lệ phí", "thời gian giải quyết"]`` -> ``"lệ phí và thời gian giải quyết"``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {dispatcher.text('part_and')} " + parts[-1]


CASE_LIST_CHARS = 200
"""Longest case title listed in the question (its button says it shorter)."""


def _group_titles(proc: Procedure, cases: Sequence[DocumentCase]) -> tuple[list[str], list[str]]:
    """(button labels, titles) of the cases: each label a whole phrase no other looks like
    (:func:`actions.procedure.names.distinct_labels`); a case whose label would still look like
    another's is numbered."""
    titles = [case_title(c.key, proc.name, 10_000) for c in cases]
    labels = distinct_labels(titles, shortest=CASE_LABEL_SHORTEST)
    return [
        label if label is not None else f"{i}. {whole_phrase(title, BUTTON_CHARS - 4, 12)}"
        for i, (label, title) in enumerate(zip(labels, titles, strict=True), 1)
    ], [whole_phrase(title, CASE_LIST_CHARS) for title in titles]


def _case_buttons(proc: Procedure, cases: Sequence[DocumentCase]) -> tuple[tuple[Button, ...], list[str]]:
    """One ``/choose_group`` button per case, and the cases' titles."""
    labels, titles = _group_titles(proc, cases)
    buttons = tuple(
        Button(label, make_payload(Intent.CHOOSE_GROUP, procedure=proc.code, group=str(i)))
        for i, label in enumerate(labels, 1)
    )
    return buttons, titles


def _ask_case(
    dispatcher: CollectingDispatcher, proc: Procedure, cases: Sequence[DocumentCase]
) -> list[Event]:
    """Ask which case the citizen is in, one ``/choose_group`` button per case; when a button had to
    be shortened, the message lists the cases in full."""
    buttons, titles = _case_buttons(proc, cases)
    name = display_name(proc.name)
    if all(b.title == t for b, t in zip(buttons, titles, strict=True)):
        dispatcher.utter("utter_ask_document_case", buttons=buttons, procedure_name=name)
    else:
        listed = "\n".join(
            dispatcher.text("part_case_item", number=i, title=t) for i, t in enumerate(titles, 1)
        )
        dispatcher.utter("utter_ask_document_case_list", buttons=buttons, procedure_name=name, cases=listed)
    return [ContinuationSet(None)]


def _answer_documents(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    text: str = "",
    case: str | None = None,
    picked: str | None = None,
) -> list[Event]:
    """Documents as an officer says them: everyone's papers first, then the citizen's case.

    The case is the one picked (``picked``: 1-based index from a ``/choose_group`` button), else the one
    the message names, else the one remembered in the ``case`` slot. With none, everyone's papers are
    listed with a button per case, or, when the papers are published only per case, the bot asks
    which. A case picked right after everyone's papers adds only its own.
    """
    record = dossier(proc)
    if not record.cases:
        return send_documents(dispatcher, proc, record)
    index = None
    if picked is not None and picked.isdigit() and 1 <= int(picked) <= len(record.cases):
        index = int(picked) - 1
    _, titles = _group_titles(proc, record.cases)
    said = [case_match_text(c, title) for c, title in zip(record.cases, titles, strict=True)]
    what = display_name(proc.name, 10_000).split(" (", 1)[0]  # the procedure itself names no case
    if index is None:
        index = match_group(text, said, ignore=what)
    if index is None:
        index = match_group(case, said, ignore=what)
    common = documents_view(record).common_count > 0
    if index is None and not common and len(record.cases) == 1:
        index = 0  # one case and nothing else: its papers, not a choice of one
    if index is None:
        if not common:
            return _ask_case(dispatcher, proc, record.cases)
        buttons, _ = _case_buttons(proc, record.cases)
        return send_documents(dispatcher, proc, record, case_buttons=buttons)
    chosen = record.cases[index]
    return [
        SlotSet("case", chosen.key),
        *send_documents(dispatcher, proc, record, chosen, extra_only=picked is not None and common),
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
    # A fee in dollars where a representative mission abroad also does it ("Trực tiếp: 10 USD" beside
    # "Trực tiếp: 2.000 đồng/trang" for a certified copy) is the mission's, and said so.
    abroad = [c for c in priced if _MISSION_RE.search(f"{proc.executing} {proc.competent_agency}")]
    abroad = [c for c in abroad if _FOREIGN_MONEY_RE.search(c.fee_text)]
    home = [c for c in priced if c not in abroad]
    fee_of: Callable[[SubmissionChannel], str] = lambda c: fee_text(dispatcher, c)  # noqa: E731
    if not abroad or not home:
        items = _channel_lines(dispatcher, priced, fee_of, "part_channel_fee", "fee")
    else:
        said = grouped(home, fee_of)
        lines = (
            [dispatcher.text("part_fee_home", fee=said[0][1])]
            if len(said) == 1
            else [dispatcher.text("part_channel_fee", channel=ch, fee=fee) for ch, fee in said]
        )
        lines += [dispatcher.text("part_fee_abroad", fee=fee) for fee in dedupe([fee_of(c) for c in abroad])]
        items = "\n".join(lines)
    dispatcher.utter("utter_fee", procedure_name=display_name(proc.name), items=items)
    return [ContinuationSet(None)]


_MISSION_RE = re.compile(r"\bcơ quan đại diện\b", re.IGNORECASE)
_FOREIGN_MONEY_RE = re.compile(r"\b(?:USD|EUR|đô la)\b", re.IGNORECASE)


def _channel_lines(
    dispatcher: CollectingDispatcher,
    channels: Sequence[SubmissionChannel],
    text_of: Callable[[SubmissionChannel], str],
    line_key: str,
    variable: str,
) -> str:
    """One line per distinct text (``line_key`` with the text as ``variable``: "- Trực tiếp, trực
    tuyến: 75.000 đồng"); when every
    way of submitting says the same, that text alone ("Không quá 03 ngày làm việc."), with no list."""
    groups = grouped(channels, text_of)
    if len(groups) > 1 and len({ch for ch, _ in groups}) == 1:
        # "Trực tiếp, trực tuyến: 02 ngày" three times over with other values: the rows say no more
        # than that it depends on the case, so say the values once, as alternatives.
        joined = f" {dispatcher.text('part_or')} ".join(text.rstrip(".") for _, text in groups)
        groups = [(groups[0][0], f"{joined} {dispatcher.text('part_some_cases')}")]
    if len(groups) == 1:
        text = groups[0][1]
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", ")", "…")) else ".")
    return "\n".join(dispatcher.text(line_key, channel=ch, **{variable: text}) for ch, text in groups)


def _answer_time(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    timed = [c for c in proc.channels if has_time(c)]
    if not timed:
        said = time_in_steps(proc.steps)
        if said:  # no row publishes a time, but a step says when the result is given
            dispatcher.utter("utter_processing_time_steps", procedure_name=display_name(proc.name), text=said)
            return [ContinuationSet(None)]
        return _missing(dispatcher, proc, Topic.PROCESSING_TIME)
    dispatcher.utter(
        "utter_processing_time",
        procedure_name=display_name(proc.name),
        items=_channel_lines(
            dispatcher, timed, lambda c: time_text(dispatcher, c), "part_channel_time", "time"
        ),
    )
    return [ContinuationSet(None)]


def desk_text(dispatcher: CollectingDispatcher, place: Place) -> str:
    """Where to go, in words: the office the record names, or the one-stop desk of each level
    ("Bộ phận một cửa (Trung tâm Phục vụ hành chính công) của xã, phường, đặc khu nơi bạn cư trú")."""
    if place.desk:
        desk = place.desk
    else:
        desks = []
        for level in place.levels:
            if level == "ministry":
                desks.append(dispatcher.text("part_desk_ministry", agency=place.agency or "bộ, ngành"))
            else:
                desks.append(dispatcher.text(f"part_desk_{level}"))
        desk = f" {dispatcher.text('part_or')} ".join(desks)
    if place.near and " nơi " not in f" {desk} ":
        desk = dispatcher.text("part_desk_near", desk=desk, near=place.near)
    return desk


_ONLINE_WHERE: Mapping[str, str] = {
    OnlineLevel.FULL: "part_where_online_full",
    OnlineLevel.PARTIAL: "part_where_online_partial",
    OnlineLevel.NONE: "part_where_online_none",
}


def _online_lines(
    dispatcher: CollectingDispatcher, proc: Procedure
) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """Whether the dossier can be sent online (with the portal link) or by post."""
    lines: list[str] = []
    links: tuple[tuple[str, str], ...] = ()
    level = online_level(proc)
    key = _ONLINE_WHERE.get(level or "")
    if key is not None:
        lines.append(dispatcher.text(key))
        if level != OnlineLevel.NONE and proc.url:
            links = ((dispatcher.text("part_link_online"), proc.url),)
    if by_post(proc):
        lines.append(dispatcher.text("part_where_post"))
    if not links and proc.url:
        links = ((dispatcher.text("part_link_portal"), proc.url),)
    return lines, links


def _answer_where(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    """Where to hand the dossier in (:func:`actions.procedure.places.place_of`: the agency field,
    else the steps, else the level), who decides it when that is another body, and whether it can be
    sent online or by post."""
    place = place_of(proc)
    if place is None:
        return _missing(dispatcher, proc, Topic.WHERE)
    desk = desk_text(dispatcher, place)
    details = []
    if place.agency and fold(place.agency.lower()) not in fold(desk.lower()):
        details.append(dispatcher.text("part_where_agency", agency=place.agency))
    online, links = _online_lines(dispatcher, proc)
    details.extend(online)
    name = display_name(proc.name)
    # "tại: Công an cấp Xã. Địa chỉ: Công an cấp xã": an address that only repeats the desk is not said
    if place.address and fold(place.address.lower()).strip(" .") != fold(desk.lower()).strip(" ."):
        dispatcher.utter(
            "utter_where_address",
            links=links,
            procedure_name=name,
            agency=desk,
            address=place.address,
            details="\n".join(details),
        )
    else:
        dispatcher.utter(
            "utter_where", links=links, procedure_name=name, agency=desk, details="\n".join(details)
        )
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
    """The published conditions; when the record publishes none (the portal's "Không có thông tin"
    for two thirds of the procedures), that is said as it is, with who may apply."""
    text = proc.conditions.strip()
    if not text or fold(text.lower()).strip(" .") in _NO_CONDITIONS:
        who = " ".join(proc.target_users.split())
        details = dispatcher.text("part_target_users", who=clip(who, ITEM_CHARS)) if who else ""
        key = "utter_no_conditions" if text else "utter_conditions_unpublished"
        dispatcher.utter(key, procedure_name=display_name(proc.name), details=details)
        return [ContinuationSet(None)]
    links = ((dispatcher.text("part_link_portal"), proc.url),) if proc.url and len(text) > TEXT_CHARS else ()
    dispatcher.utter(
        "utter_conditions",
        links=links,
        procedure_name=display_name(proc.name),
        conditions=clip_block(text, TEXT_CHARS),
    )
    return [ContinuationSet(None)]


_RESULT_CODE_RE = re.compile(r"\s*Mã:\s*\S+")


def result_text(result: str) -> str:
    """The published result for chat: the portal's result codes ("Mã: KQ.G15.000031") dropped, one
    paper per line ("- ...") when there are several."""
    lines = [" ".join(_RESULT_CODE_RE.sub("", line).split()).strip(" ;") for line in result.splitlines()]
    lines = dedupe([line for line in lines if line])
    if len(lines) > 1:
        lines = [f"- {line}" for line in lines]
    return clip_block("\n".join(lines), TEXT_CHARS)


def _answer_result(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    result = result_text(proc.result)
    if not result:
        return _missing(dispatcher, proc, Topic.RESULT)
    dispatcher.utter("utter_result", procedure_name=display_name(proc.name), result=result)
    return [ContinuationSet(None)]


def _answer_overview(dispatcher: CollectingDispatcher, proc: Procedure) -> list[Event]:
    lines = []
    place = place_of(proc)
    if place is not None:
        lines.append(dispatcher.text("part_overview_agency", agency=clip(desk_text(dispatcher, place), 200)))
    # The in-person row is what most citizens use; fall back to whichever row is published.
    rows = sorted(proc.channels, key=lambda c: c.kind != SubmissionKind.IN_PERSON)
    timed = next((c for c in rows if has_time(c)), None)
    if timed:
        lines.append(dispatcher.text("part_overview_time", time=time_text(dispatcher, timed)))
    priced = next((c for c in rows if fee_kind(c) != "none"), None)
    if priced:
        lines.append(dispatcher.text("part_overview_fee", fee=fee_text(dispatcher, priced)))
    level = online_level(proc)
    if level in ONLINE_LEVEL_LABELS:
        lines.append(dispatcher.text("part_overview_online", online_level=ONLINE_LEVEL_LABELS[level]))
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


def _answer_one(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    topic: str,
    text: str,
    case: str | None,
    group: str | None,
) -> list[Event]:
    if topic == Topic.DOCUMENTS:
        return _answer_documents(dispatcher, proc, text, case, group)
    if topic in LIST_TOPICS:
        return _answer_list(dispatcher, proc, topic)
    return _ANSWERS[topic](dispatcher, proc)


FOLLOW_UPS: Mapping[Topic, Intent] = {
    Topic.DOCUMENTS: Intent.ASK_DOCUMENTS,
    Topic.FEE: Intent.ASK_FEE,
    Topic.PROCESSING_TIME: Intent.ASK_PROCESSING_TIME,
    Topic.WHERE: Intent.ASK_WHERE,
}
"""The "you may also ask" row under an answer (papers · fee · time · where) and the question each
button asks."""


def follow_up_buttons(
    dispatcher: CollectingDispatcher, proc: Procedure, answered: Collection[str]
) -> tuple[Button, ...]:
    """``/ask_fee{"procedure": code}`` ... for each of :data:`FOLLOW_UPS` not just answered."""
    return tuple(
        Button(dispatcher.text(f"part_ask_{topic}"), make_payload(intent, procedure=proc.code))
        for topic, intent in FOLLOW_UPS.items()
        if topic not in answered
    )


def _asks_a_choice(buttons: Sequence[Button]) -> bool:
    """Whether a message asks the citizen to pick (a case of the documents): no row then."""
    for button in buttons:
        parsed = parse_payload(button.payload)
        if parsed is not None and parsed[0] in (Intent.CHOOSE_GROUP, Intent.CHOOSE):
            return True
    return False


def add_follow_ups(
    dispatcher: CollectingDispatcher, proc: Procedure, answered: Collection[str], since: int = 0
) -> None:
    """Put the "you may also ask" row under the last message sent since message ``since``, unless
    it asks the citizen to pick something or the procedure is known only from a catalogue (its other
    parts are not in the data either); the overview has its own buttons."""
    if proc.catalogue_only or Topic.OVERVIEW in answered or len(dispatcher.messages) <= since:
        return
    last = dispatcher.messages[-1]
    if _asks_a_choice(last.buttons):
        return
    have = {b.payload for b in last.buttons}
    row = tuple(b for b in follow_up_buttons(dispatcher, proc, answered) if b.payload not in have)
    dispatcher.messages[-1] = replace(last, buttons=last.buttons + row)


def answer(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    topic: str,
    text: str = "",
    case: str | None = None,
    group: str | None = None,
) -> list[Event]:
    """Answer one topic about ``proc`` through the dispatcher, with the "you may also ask" row under
    it; returns the events.

    Args:
        text: the citizen's message (names a case of the documents, if any).
        case: the ``case`` slot.
        group: a case of the documents picked from the buttons (the policy's ``group`` argument).
    """
    if proc.catalogue_only:
        return _catalogue_only(dispatcher, proc, (topic,))
    since = len(dispatcher.messages)
    events = _answer_one(dispatcher, proc, topic, text, case, group)
    add_follow_ups(dispatcher, proc, (topic,), since)
    return events


_LEAD_RE = re.compile(r"^Dạ,\s*")


def answer_many(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    topics: Sequence[str],
    text: str = "",
    case: str | None = None,
    group: str | None = None,
) -> list[Event]:
    """Answer several topics about ``proc`` in ONE message ("lệ phí và thời gian làm bao lâu?").

    Each topic is answered as :func:`answer` would, and the answers are joined, in the order asked,
    into one ``utter_answer_many`` message (each part's "Dạ," dropped: the message has one), every button and link of the parts
    (a "Xem thêm" only if a list still continues), then the "you may also ask" row for the topics not
    asked. The events are the parts' (the case picked or named ...), with one continuation: that of
    the last list that continues.

    Args:
        topics: the :class:`bot.core.domain.Topic` values asked, in the citizen's order (repeats are
            dropped; one topic is answered exactly as :func:`answer` does).
        text, case, group: as for :func:`answer`.
    """
    asked = list(dict.fromkeys(topics))
    if len(asked) == 1:
        return answer(dispatcher, proc, asked[0], text, case, group)
    if proc.catalogue_only:
        return _catalogue_only(dispatcher, proc, asked)
    parts = CollectingDispatcher(dispatcher.responses)
    events: list[Event] = []
    continuation: ContinuationSet = ContinuationSet(None)
    for topic in asked:
        for event in _answer_one(parts, proc, topic, text, case, group):
            if isinstance(event, ContinuationSet):
                if event.continuation is not None:
                    continuation = event
            else:
                events.append(event)
    sections: list[str] = []
    buttons: list[Button] = []
    links: list[tuple[str, str]] = []
    for i, draft in enumerate(parts.messages):
        section = _LEAD_RE.sub("", draft.text)
        sections.append(section if i == 0 else section[:1].upper() + section[1:])
        buttons.extend(b for b in draft.buttons if b not in buttons)
        links.extend(link for link in draft.links if link not in links)
    if continuation.continuation is None:
        more = make_payload(Intent.MORE)
        buttons = [b for b in buttons if b.payload != more]
    dispatcher.utter("utter_answer_many", buttons=buttons, links=links, answers="\n\n".join(sections))
    add_follow_ups(dispatcher, proc, asked, len(dispatcher.messages) - 1)
    return [*events, continuation]


ANSWERED_TOPICS: frozenset[str] = frozenset({*LIST_TOPICS, *_ANSWERS})
"""Every topic :func:`answer` answers (each :class:`bot.core.domain.Topic`)."""
