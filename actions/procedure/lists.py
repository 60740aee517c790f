"""Long lists, one page at a time: documents (of one case when they differ per case), forms, steps,
legal basis and the procedure's notes.

A page holds :data:`PAGE_SIZE` items; when more follow, the message gets a "Xem thêm" button
(``/more``) and a :class:`bot.core.events.ContinuationSet` remembers where the list stopped, so
:class:`actions.procedure.actions.MoreAction` can send the next page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from actions.procedure.names import (
    ITEM_CHARS,
    NAME_CHARS,
    display_name,
    first_clause,
    form_title,
    group_title,
)
from bot.core.domain import Intent, Topic
from bot.core.events import ContinuationSet, Event
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher
from bot.core.state import Continuation
from knowledge.domain import Document, Procedure
from knowledge.text import clip, fold

PAGE_SIZE = 5
"""Items of a long list sent in one message before "Xem thêm"."""

NOTE_CHARS = 120
"""Longest note of a paper shown under it; a longer one stays on the portal page."""


@dataclass(frozen=True)
class PagedList:
    """A topic answered with a paged list: how to count items, render a page and head the message."""

    response: str
    count: Callable[[Procedure], int]
    page: Callable[[CollectingDispatcher, Procedure, int, int], list[str]]


def document_line(dispatcher: CollectingDispatcher, number: int, doc: Document) -> str:
    """``"1. Đơn đề nghị cấp giấy phép xây dựng (1 bản chính, 1 bản sao) — mẫu: Mẫu số 01.docx"``."""
    counts = []
    if doc.originals:
        counts.append(dispatcher.text("part_originals", n=doc.originals))
    if doc.copies:
        counts.append(dispatcher.text("part_copies", n=doc.copies))
    line = dispatcher.text("part_document_item", number=number, name=first_clause(doc.name))
    if counts:
        line += " (" + ", ".join(counts) + ")"
    if doc.form.strip():
        line += " " + dispatcher.text("part_form", form=" ".join(doc.form.split()))
    note = short_note(doc.note)
    if note:
        line += "\n" + dispatcher.text("part_document_note", note=note)
    return line


def short_note(note: str, limit: int = NOTE_CHARS) -> str:
    """A paper's note when it is short enough to show under it in a chat list, else "".

    Several notes, a long one, or a lead-in ("... các giấy tờ sau:") would crowd the list of papers.
    """
    text = " ".join(note.split())
    if not text or "\n" in note.strip() or len(text) > limit or text.endswith(":"):
        return ""
    return text


def _document_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    blocks: list[str] = []
    for index in range(start, min(end, len(proc.documents))):
        doc = proc.documents[index]
        line = document_line(dispatcher, index + 1, doc)
        # The group heading opens its group, and is repeated when a page starts inside a group.
        previous = proc.documents[index - 1].group if index > 0 else None
        if doc.group and (index == start or doc.group != previous):
            line = dispatcher.text("part_group", group=clip(doc.group, ITEM_CHARS)) + "\n" + line
        blocks.append(line)
    return blocks


def forms_of(proc: Procedure) -> list[tuple[str, str]]:
    """The procedure's forms, once each: (form file, name of the paper it is for)."""
    seen: dict[str, str] = {}
    for doc in proc.documents:
        if doc.form and doc.form not in seen:
            seen[doc.form] = doc.name
    return list(seen.items())


def _form_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    lines = []
    for i, (form, name) in enumerate(forms_of(proc)[start:end], start):
        title = form_title(form)
        # "Tờ khai đăng ký kết hôn" used for "Tờ khai đăng ký kết hôn" needs no "dùng cho".
        if fold(title.lower()).startswith(fold(name.lower())):
            lines.append(dispatcher.text("part_form_item_plain", number=i + 1, form=title))
        else:
            lines.append(
                dispatcher.text("part_form_item", number=i + 1, form=title, name=first_clause(name, 120))
            )
    return lines


def _step_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    return [
        dispatcher.text("part_step_item", number=i + 1, text=clip(step, ITEM_CHARS))
        for i, step in enumerate(proc.steps[start:end], start)
    ]


def _note_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    return [
        dispatcher.text("part_note_item", text=clip(note, ITEM_CHARS))
        for note in proc.notes[start:end]
        if not note.rstrip().endswith(":")  # a lead-in whose points were published as rows of their own
    ]


def _legal_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    lines = []
    for i, law in enumerate(proc.legal_basis[start:end], start):
        title = f"{law.title} ({law.number})" if law.title and law.number else law.title or law.number
        lines.append(dispatcher.text("part_legal_item", number=i + 1, title=clip(title, ITEM_CHARS)))
    return lines


PAGED_LISTS: Mapping[str, PagedList] = {
    Topic.DOCUMENTS: PagedList("utter_documents", lambda p: len(p.documents), _document_page),
    Topic.FORMS: PagedList("utter_forms", lambda p: len(forms_of(p)), _form_page),
    Topic.STEPS: PagedList("utter_steps", lambda p: len(p.steps), _step_page),
    Topic.LEGAL_BASIS: PagedList("utter_legal_basis", lambda p: len(p.legal_basis), _legal_page),
    Topic.NOTES: PagedList("utter_procedure_notes", lambda p: len(p.notes), _note_page),
}
"""How each of :data:`bot.core.domain.LIST_TOPICS` is paged. ``notes`` (the procedure's "Lưu ý") is
reached from the "Lưu ý" button under the documents, not from an intent."""


def _case_view(proc: Procedure, group: str) -> Procedure:
    """``proc`` with only the documents of one case (and those common to every case), headings dropped:
    the message names the case once."""
    docs = tuple(replace(doc, group="") for doc in proc.documents if doc.group in ("", group))
    return replace(proc, documents=docs)


def _more_button(dispatcher: CollectingDispatcher) -> Button:
    return Button(dispatcher.text("part_more_button"), make_payload(Intent.MORE))


def send_list_page(
    dispatcher: CollectingDispatcher,
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
    spec = PAGED_LISTS[topic]
    view = _case_view(proc, group) if group is not None and topic == Topic.DOCUMENTS else proc
    total = spec.count(view)
    end = start + page_size
    items = "\n".join(spec.page(dispatcher, view, start, end))
    more = end < total
    buttons: tuple[Button, ...] = (_more_button(dispatcher),) if more else ()
    if topic == Topic.DOCUMENTS and proc.notes:
        buttons += (
            Button(
                dispatcher.text("part_notes_button"),
                make_payload(Intent.PROCEDURE_NOTES, procedure=proc.code),
            ),
        )
    links: tuple[tuple[str, str], ...] = ()
    if topic == Topic.FORMS and proc.url and not more:
        links = ((dispatcher.text("part_link_forms"), proc.url),)
    name = display_name(proc.name)
    if start > 0:
        dispatcher.utter("utter_list_more", buttons=buttons, links=links, procedure_name=name, items=items)
    elif group is not None:
        dispatcher.utter(
            "utter_documents_case",
            buttons=buttons,
            procedure_name=name,
            case=group_title(group, NAME_CHARS).lower(),
            count=total,
            items=items,
        )
    else:
        dispatcher.utter(
            spec.response, buttons=buttons, links=links, procedure_name=name, count=total, items=items
        )
    return [ContinuationSet(Continuation(topic, proc.code, end, group) if more else None)]
