"""Long lists, one page at a time: documents (everyone's papers, then a case's), forms, steps, legal basis
and the procedure's notes.

The documents answer is said as an officer says it (:func:`send_documents`): the application form
first, then the other papers everyone brings, each in a short form that is a whole phrase
(:func:`actions.procedure.names.short_paper`), "one of the following" papers as one item with their
alternatives under it, originals and copies said plainly. Its "Xem đầy đủ" button (``/more``) sends the
papers' full published texts, a page at a time: a documents :class:`bot.core.state.Continuation`
counts from 1 (``offset`` = 1 + the index of the next paper's full text).

Other lists hold :data:`PAGE_SIZE` items a page; when more follow, the message gets a "Xem thêm"
button (``/more``) and a :class:`bot.core.events.ContinuationSet` remembers where the list stopped, so
:class:`actions.procedure.actions.MoreAction` can send the next page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from actions.procedure.names import (
    ALTERNATIVE_CHARS,
    ITEM_CHARS,
    NAME_CHARS,
    case_title,
    certified_copy,
    display_name,
    fallbacks,
    first_clause,
    form_title,
    group_title,
    is_form,
    one_of,
    one_of_heading,
    said_in_full,
    says_copy,
    sentence_case,
    short_paper,
    template_number,
    whole_phrase,
)
from bot.core.domain import Intent, Topic
from bot.core.events import ContinuationSet, Event
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher
from bot.core.state import Continuation
from knowledge.cases import FOR, DocumentCase, Dossier, Paper, dossier
from knowledge.domain import Document, Procedure
from knowledge.text import clip, fold

PAGE_SIZE = 5
"""Items of a long list sent in one message before "Xem thêm"."""

NOTE_CHARS = 120
"""Longest note of a paper shown under it; a longer one is in the full text ("Xem đầy đủ")."""

SUMMARY_PAPERS = 12
"""Most papers listed in the short answer; the others are in the full text."""

LEAD_CHARS = 80
"""Longest short form of what a "one of the following" paper is ("Một trong các giấy tờ hợp pháp về
đất đai")."""

SHOWN_ALTERNATIVES = 4
"""Alternatives of a "one of the following" paper listed under it in the short answer."""

CASE_NAME_CHARS = 200
"""Longest case named inside a sentence ("trường hợp ..."): a case cut short could read as another."""

FULL_CHARS = 3500
"""About the most text of one message of full published texts (a long paper still goes whole)."""


@dataclass(frozen=True)
class PagedList:
    """A topic answered with a paged list: how to count items, render a page and head the message."""

    response: str
    count: Callable[[Procedure], int]
    page: Callable[[CollectingDispatcher, Procedure, int, int], list[str]]


# --- Papers as listed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One paper of the documents answer, numbered unless it is a lead-in heading.

    Attributes:
        paper: the paper as read by :func:`knowledge.cases.read_paper` (its document holds the full text).
        short: its short form.
        alternatives: short forms of its alternatives ("one of the following"), if any.
        full_alternatives: the alternatives' published texts.
        section: the heading of the section of one dossier it is in ("Giấy tờ phải xuất trình"), or "".
        full: the full text says more than the short form (or there is a note).
    """

    paper: Paper
    short: str
    alternatives: tuple[str, ...] = ()
    full_alternatives: tuple[str, ...] = ()
    section: str = ""
    full: bool = False
    fallbacks: tuple[tuple[str, str], ...] = ()

    @property
    def document(self) -> Document:
        return self.paper.document

    @property
    def numbered(self) -> bool:
        return not self.paper.heading and not self.paper.aside


_ONE_OF_LEAD_RE = re.compile(
    r"một trong (?:các|những|số)?\s*(?:loại\s+)?(?:giấy tờ|tài liệu|văn bản)[^,;:]*", re.I
)


def _line(paper: Paper, section: str) -> Line:
    doc = paper.document
    if paper.heading:
        return Line(paper, whole_phrase(paper.words, ITEM_CHARS, 20), section=section)
    if paper.aside:  # a remark ("Lưu ý: ..."): with the full texts only
        return Line(paper, "", section=section, full=True)
    choice = one_of(paper.words)
    if choice is not None:
        alternatives = tuple(dict.fromkeys(short_paper(a, ALTERNATIVE_CHARS) for a in choice.alternatives))
        lead = short_paper(choice.lead, LEAD_CHARS)
        return Line(paper, lead, alternatives, choice.alternatives, section, full=True)
    short = short_paper(paper.words)
    full = not said_in_full(short, doc.name) or bool(doc.note.strip() and not short_note(doc.note))
    return Line(paper, short, section=section, full=full, fallbacks=fallbacks(paper.words))


def _merged_one_of(papers: Sequence[Paper], heading: str, section: str) -> Line:
    """The papers of a group whose heading says "một trong những giấy tờ sau", as one paper."""
    match = _ONE_OF_LEAD_RE.search(heading)
    lead = match.group(0) if match else "một trong các giấy tờ sau"
    lead = re.sub(r"\b([Mm])ột trong những\b", lambda m: f"{m.group(1)}ột trong các", lead)
    first = papers[0]
    merged = Paper(
        Document(heading, first.document.group, originals=first.document.originals),
        lead,
        first.case,
        first.lead,
    )
    alternatives = tuple(dict.fromkeys(a for a in (_alternative(p) for p in papers) if a)) or tuple(
        dict.fromkeys(short_paper(p.words, ALTERNATIVE_CHARS) for p in papers)
    )
    return Line(
        merged, lead[:1].upper() + lead[1:], alternatives, tuple(p.words for p in papers), section, True
    )


_NO_PAPER_RE = re.compile(r"\btheo quy định tại mục \(|^người\b.*\bchịu trách nhiệm\b", re.IGNORECASE)
_SUBORDINATE_RE = re.compile(
    r"^khi [^,]{4,80},\s*(?:[^\s,]+\s){0,4}?(?:phải |cần )?(?:nộp|có|kèm theo)\s+", re.I
)


def _alternative(paper: Paper) -> str:
    """One alternative of a group of "one of the following" papers, as said under it: with its case
    when the record gives each its own ("Ủy quyền cho tổ chức: bản sao hợp đồng cung cấp dịch vụ ...");
    "" for a row that names no paper of its own (it refers to another, "việc ủy quyền thực hiện theo
    quy định tại mục (ii)", or states a duty, "... chịu trách nhiệm trước pháp luật ...")."""
    if _NO_PAPER_RE.search(paper.words):
        return ""
    short = short_paper(_SUBORDINATE_RE.sub("", paper.words), ALTERNATIVE_CHARS)
    if not paper.said_case:
        return short
    case = whole_phrase(sentence_case(paper.said_case), ALTERNATIVE_CHARS // 2, 12)
    return f"{case}: {short[:1].lower()}{short[1:]}"


def lines_of(papers: Sequence[Paper], cases: Sequence[str] = (), shown: Sequence[Line] = ()) -> list[Line]:
    """The papers as listed: application forms first, one line per paper, "one of" papers as one line
    with their alternatives (and the same alternatives published again as papers of their own left
    out), a paper said twice said once.

    Args:
        cases: group headings that are cases (not sections) — no section heading is printed for them.
        shown: lines already listed in the same answer (everyone's papers, above a case's).
    """
    lines: list[Line] = []
    by_group: dict[str, list[Paper]] = {}
    for paper in papers:
        by_group.setdefault(paper.document.group, []).append(paper)
    merged_groups = {g for g in by_group if g and one_of_heading(g)}
    done: set[str] = set()
    for paper in papers:
        group = paper.document.group
        section = group if group and group not in cases else ""
        if group in merged_groups:
            if group not in done:
                done.add(group)
                lines.append(_merged_one_of(by_group[group], group, section))
            continue
        lines.append(_line(paper, section))

    seen = {fold(line.short.lower()) for line in shown}
    alternatives = {fold(a.lower()) for line in (*shown, *lines) for a in line.alternatives}
    kept: list[Line] = []
    for line in lines:
        key = fold(line.short.lower())
        if line.numbered and not line.alternatives and (key in alternatives or key in seen):
            continue
        seen.add(key)
        kept.append(line)
    if any(line.paper.heading for line in kept):
        # Lead-in headings own the papers after them: the published order, but the form first (it is
        # no paper of a heading's "Bản sao ... gồm:"), and a heading left with no paper dropped.
        forms = [replace(line, section="") for line in kept if _everyones_form(line)]
        rest = [line for line in kept if not _everyones_form(line)]
        return forms + _without_empty_headings(rest)
    # The form, then section by section (one heading each: "Giấy tờ phải xuất trình" said once) what
    # everyone brings, what they bring if they have it, and what only some need.
    sections = list(dict.fromkeys(line.section for line in kept))
    return sorted(kept, key=lambda line: (_rank(line) > 0, sections.index(line.section), _rank(line)))


def _everyones_form(line: Line) -> bool:
    paper = line.paper
    conditional = paper.case or paper.unless_on_record or paper.some_cases
    return line.numbered and not conditional and _rank(line) == 0


def _without_empty_headings(lines: Sequence[Line]) -> list[Line]:
    out: list[Line] = []
    for i, line in enumerate(lines):
        if line.paper.heading:
            following = next(
                (later for later in lines[i + 1 :] if later.numbered or later.paper.heading), None
            )
            if following is None or following.paper.heading:
                continue
        out.append(line)
    return out


def _rank(line: Line) -> int:
    if is_form(line.document.name, line.document.form):
        return 0
    if line.paper.case or line.paper.unless_on_record or line.paper.some_cases:
        return 3
    return 2 if "(nếu có" in line.short else 1


# --- Rendering -----------------------------------------------------------------------------------------


def _counts(dispatcher: CollectingDispatcher, line: Line) -> str:
    """ "(bản chính)", "(2 bản chính)", "(bản sao có chứng thực)", "(1 bản chính và 1 bản sao)"; "" when
    the paper's words already say it or the record gives no count."""
    doc = line.document
    if says_copy(line.short):
        return ""
    certified = certified_copy(doc.name)
    originals = copies = ""
    if doc.originals:
        originals = (
            dispatcher.text("part_original")
            if doc.originals == 1 and not doc.copies
            else dispatcher.text("part_originals", n=doc.originals)
        )
    if doc.copies:
        if doc.copies == 1 and not doc.originals:
            copies = dispatcher.text("part_certified_copy" if certified else "part_copy")
        else:
            key = "part_certified_copies" if certified else "part_copies"
            copies = dispatcher.text(key, n=doc.copies)
    if originals and copies:
        return " (" + dispatcher.text("part_counts_both", originals=originals, copies=copies) + ")"
    return f" ({originals or copies})" if originals or copies else ""


def _condition(dispatcher: CollectingDispatcher, paper: Paper, procedure_name: str, case: str | None) -> str:
    """The paper's condition said inline ("(nếu ...)"), unless it is the case being listed."""
    if paper.unless_on_record:
        return " " + dispatcher.text("part_unless_on_record")
    if paper.some_cases:
        return " " + dispatcher.text("part_some_cases")
    if not paper.case or paper.case == case:
        return ""
    case = case_title(paper.case, procedure_name, ITEM_CHARS // 2)
    case = case[:1].lower() + case[1:] if case[1:2].islower() else case
    key = "part_condition_for" if paper.lead == FOR else "part_condition_if"
    return " " + dispatcher.text(key, case=case)


def _form_part(dispatcher: CollectingDispatcher, line: Line, proc: Procedure) -> str:
    doc = line.document
    part = ""
    if is_form(doc.name, doc.form):
        template = template_number(doc.name)
        if template and fold(template.lower()) not in fold(line.short.lower()):
            part += " " + dispatcher.text("part_form_template", template=template)
    if doc.form.strip():
        # The file's name is often a raw one ("Mau TK01a to khai ... MỚI.doc"): the forms answer lists it.
        if proc.url:
            part += " " + dispatcher.text("part_form_download", button=dispatcher.text("part_link_forms"))
        else:
            part += " " + dispatcher.text("part_form", form=form_title(" ".join(doc.form.split())))
    return part


def short_note(note: str, limit: int = NOTE_CHARS) -> str:
    """A paper's note when it is short enough to show under it in a chat list, else "".

    Several notes, a long one, or a lead-in ("... các giấy tờ sau:") would crowd the list of papers.
    """
    text = " ".join(note.split())
    if not text or "\n" in note.strip() or len(text) > limit or text.endswith(":"):
        return ""
    return text


def _summary_line(
    dispatcher: CollectingDispatcher,
    line: Line,
    number: int,
    proc: Procedure,
    more: str,
    case: str | None,
    counts: bool = True,
) -> str:
    if line.paper.aside:
        return ""
    if not line.numbered:
        return dispatcher.text("part_group", group=line.short)
    text = dispatcher.text("part_document_item", number=number, name=line.short)
    text += (_counts(dispatcher, line) if counts else "") + _condition(
        dispatcher, line.paper, proc.name, case
    )
    text += _form_part(dispatcher, line, proc)
    for alternative in line.alternatives[:SHOWN_ALTERNATIVES]:
        text += "\n" + dispatcher.text("part_alternative", text=alternative)
    hidden = len(line.alternatives) - SHOWN_ALTERNATIVES
    if hidden > 0:
        text += "\n" + dispatcher.text("part_alternatives_more", n=hidden, button=more)
    for missing, instead in line.fallbacks:
        if missing:
            text += "\n" + dispatcher.text("part_fallback_missing", missing=missing, text=instead)
        else:
            text += "\n" + dispatcher.text("part_fallback", text=instead)
    note = short_note(line.document.note)
    if note and not line.alternatives:
        text += "\n" + dispatcher.text("part_document_note", note=note)
    return text


def _full_line(dispatcher: CollectingDispatcher, line: Line, number: int, proc: Procedure) -> str:
    if line.paper.aside:
        return dispatcher.text("part_document_note", note=" ".join(line.document.name.split()))
    if not line.numbered:
        return dispatcher.text("part_group", group=" ".join(line.document.name.split()).rstrip(" :"))
    doc = line.document
    if line.full_alternatives and line.paper.words != doc.name:  # merged from a group of alternatives
        name = line.short
        alternatives = line.full_alternatives
    else:
        name, _, rest = " ".join(doc.name.split()).partition(" + ")
        alternatives = tuple(a.strip() for a in (" + " + rest).split(" + ") if a.strip()) if rest else ()
    text = dispatcher.text("part_document_item", number=number, name=name.rstrip(" .:"))
    text += _counts(dispatcher, line) + _form_part(dispatcher, line, proc)
    for alternative in alternatives:
        text += "\n" + dispatcher.text("part_alternative", text=" ".join(alternative.split()))
    for note in (n.strip() for n in doc.note.splitlines()):
        if note:
            text += "\n" + dispatcher.text("part_document_note", note=note)
    return text


def _numbered(lines: Sequence[Line], first: int = 1) -> list[tuple[int, Line]]:
    out, number = [], first
    for line in lines:
        out.append((number, line))
        if line.numbered:
            number += 1
    return out


def _sections(
    dispatcher: CollectingDispatcher, blocks: list[tuple[Line, str]], before: tuple[Line, str] | None = None
) -> list[str]:
    """Blocks with each section's heading before its first paper (and again after a change), and the
    ``before`` heading (a case's) before its line."""
    out: list[str] = []
    current = ""
    for line, block in blocks:
        if before is not None and line is before[0]:
            out.append(before[1])
            current = ""
        if line.section and line.section != current and line.numbered:
            out.append(dispatcher.text("part_group", group=group_title(line.section, NAME_CHARS)))
        current = line.section if line.numbered else current
        if block:
            out.append(block)
    return out


def _forms_link(
    dispatcher: CollectingDispatcher, proc: Procedure, lines: Sequence[Line]
) -> tuple[tuple[str, str], ...]:
    if proc.url and any(line.document.form.strip() for line in lines):
        return ((dispatcher.text("part_link_forms"), proc.url),)
    return ()


# --- The documents answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentsView:
    """The papers of one answer: everyone's, then (for a case) the case's, numbered on from them."""

    common: tuple[Line, ...]
    extra: tuple[Line, ...] = ()

    @property
    def lines(self) -> tuple[Line, ...]:
        return (*self.common, *self.extra)

    @property
    def common_count(self) -> int:
        return sum(1 for line in self.common if line.numbered)


def documents_view(record: Dossier, case: DocumentCase | None = None) -> DocumentsView:
    """The lines of everyone's papers and, for ``case``, of the case's."""
    headings = [c.key for c in record.cases if c.from_heading]
    common = lines_of(record.common, headings)
    if case is None:
        return DocumentsView(tuple(common))
    extra = lines_of(case.papers, headings, common)
    if not case.from_heading:  # a few papers under the case's own heading: no section headings
        extra = [replace(line, section="") for line in extra]
    return DocumentsView(tuple(common), tuple(extra))


def case_name(case: DocumentCase, procedure_name: str, limit: int = CASE_NAME_CHARS) -> str:
    """How a case is named inside a sentence ("trường hợp công trình nhà ở riêng lẻ")."""
    title = case_title(case.key, procedure_name, limit)
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _full_button(dispatcher: CollectingDispatcher) -> Button:
    return Button(dispatcher.text("part_full_button"), make_payload(Intent.MORE))


def _notes_button(dispatcher: CollectingDispatcher, proc: Procedure) -> tuple[Button, ...]:
    if not proc.notes:
        return ()
    return (
        Button(
            dispatcher.text("part_notes_button"), make_payload(Intent.PROCEDURE_NOTES, procedure=proc.code)
        ),
    )


def send_documents(
    dispatcher: CollectingDispatcher,
    proc: Procedure,
    record: Dossier | None = None,
    case: DocumentCase | None = None,
    *,
    extra_only: bool = False,
    case_buttons: tuple[Button, ...] = (),
) -> list[Event]:
    """The short documents answer: everyone's papers, then the case's (or only the case's when the
    citizen has just seen everyone's and picked a case), with "Xem đầy đủ" when the full texts say
    more.

    Args:
        record: ``proc``'s dossier (read when not given).
        case: the citizen's case, if known.
        extra_only: list only the case's papers (numbered on after everyone's).
        case_buttons: buttons offering the cases (everyone's papers listed, no case known yet).

    Returns:
        ``ContinuationSet`` to the first full text listed, or ``ContinuationSet(None)``.
    """
    record = record or dossier(proc)
    view = documents_view(record, case)
    name = display_name(proc.name)
    more = dispatcher.text("part_full_button")
    listed = view.extra if extra_only else view.lines
    first = view.common_count + 1 if extra_only else 1
    numbered = _numbered(listed, first)
    shown = [(n, line) for n, line in numbered if n < first + SUMMARY_PAPERS]
    hidden = sum(1 for n, line in numbered if line.numbered and n >= first + SUMMARY_PAPERS)
    key = case.key if case else None
    said = {_counts(dispatcher, line) for _, line in shown if line.numbered}
    each = said.pop() if len(said) == 1 and sum(1 for _, line in shown if line.numbered) >= 3 else ""
    blocks = [(line, _summary_line(dispatcher, line, n, proc, more, key, not each)) for n, line in shown]
    before = None
    if case is not None and view.extra and view.common_count and not extra_only:
        before = (view.extra[0], dispatcher.text("part_case_heading", case=case_name(case, proc.name)))
    texts = _sections(dispatcher, blocks, before)
    if each.strip() == f"({dispatcher.text('part_original')})":
        texts.append(dispatcher.text("part_counts_each_original"))
    elif each.strip():
        texts.append(dispatcher.text("part_counts_each", counts=each.strip(" ()")))
    if hidden:
        texts.append(dispatcher.text("part_documents_more", n=hidden, button=more))
    items = "\n".join(texts)
    full = hidden > 0 or any(line.full for _, line in shown)
    buttons = case_buttons + ((_full_button(dispatcher),) if full else ()) + _notes_button(dispatcher, proc)
    links = _forms_link(dispatcher, proc, listed)
    count = sum(1 for _, line in numbered if line.numbered)
    variables: dict[str, object] = {"procedure_name": name, "count": count, "items": items}
    if case is not None:
        variables["case"] = case_name(case, proc.name)
        key = "utter_documents_case"
        if extra_only:
            key, variables["common"] = "utter_documents_case_extra", view.common_count
    else:
        key = "utter_documents_common" if case_buttons else "utter_documents"
    dispatcher.utter(key, buttons=buttons, links=links, **variables)
    if not full:
        return [ContinuationSet(None)]
    return [ContinuationSet(Continuation(Topic.DOCUMENTS, proc.code, first, case.key if case else None))]


def send_documents_full(
    dispatcher: CollectingDispatcher, proc: Procedure, offset: int, page_size: int, group: str | None
) -> list[Event]:
    """The papers' full published texts from the ``offset``-th (1-based), a page at a time."""
    record = dossier(proc)
    case = record.find(group)
    view = documents_view(record, case)
    numbered = [(n, line) for n, line in _numbered(view.lines) if n >= max(offset, 1)]
    page: list[tuple[int, Line]] = []
    size = 0
    papers = 0
    for n, line in numbered:
        block = _full_line(dispatcher, line, n, proc)
        if page and line.numbered and (papers >= page_size or size + len(block) > FULL_CHARS):
            break
        page.append((n, line))
        size += len(block) + 1
        papers += 1 if line.numbered else 0
    rest = numbered[len(page) :]
    blocks = [(line, _full_line(dispatcher, line, n, proc)) for n, line in page]
    items = "\n".join(_sections(dispatcher, blocks))
    buttons: tuple[Button, ...] = (_more_button(dispatcher),) if rest else ()
    buttons += _notes_button(dispatcher, proc)
    links = _forms_link(dispatcher, proc, [line for _, line in page])
    name = display_name(proc.name)
    if offset <= 1 or (case is not None and offset == view.common_count + 1):
        dispatcher.utter(
            "utter_documents_full", buttons=buttons, links=links, procedure_name=name, items=items
        )
    else:
        dispatcher.utter("utter_list_more", buttons=buttons, links=links, procedure_name=name, items=items)
    if not rest:
        return [ContinuationSet(None)]
    return [ContinuationSet(Continuation(Topic.DOCUMENTS, proc.code, rest[0][0], group))]


# --- Other lists ---------------------------------------------------------------------------------------


def _document_page(dispatcher: CollectingDispatcher, proc: Procedure, start: int, end: int) -> list[str]:
    record = dossier(proc)
    lines = [(n, line) for n, line in _numbered(documents_view(record).lines) if start < n <= end]
    return [_full_line(dispatcher, line, n, proc) for n, line in lines]


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
    Topic.DOCUMENTS: PagedList("utter_documents_full", lambda p: len(p.documents), _document_page),
    Topic.FORMS: PagedList("utter_forms", lambda p: len(forms_of(p)), _form_page),
    Topic.STEPS: PagedList("utter_steps", lambda p: len(p.steps), _step_page),
    Topic.LEGAL_BASIS: PagedList("utter_legal_basis", lambda p: len(p.legal_basis), _legal_page),
    Topic.NOTES: PagedList("utter_procedure_notes", lambda p: len(p.notes), _note_page),
}
"""How each of :data:`bot.core.domain.LIST_TOPICS` is paged. ``notes`` (the procedure's "Lưu ý") is
reached from the "Lưu ý" button under the documents, not from an intent; documents are answered by
:func:`send_documents` and continued with their full texts (:func:`send_documents_full`)."""


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

    Documents continue with their full published texts: ``start`` is 1 + the index of the first
    paper to send, ``group`` the case being listed (:func:`send_documents_full`).

    Returns:
        ``ContinuationSet`` pointing at the next page, or ``ContinuationSet(None)`` after the last.
    """
    if topic == Topic.DOCUMENTS:
        return send_documents_full(dispatcher, proc, start, page_size, group)
    spec = PAGED_LISTS[topic]
    total = spec.count(proc)
    end = start + page_size
    items = "\n".join(spec.page(dispatcher, proc, start, end))
    more = end < total
    buttons: tuple[Button, ...] = (_more_button(dispatcher),) if more else ()
    links: tuple[tuple[str, str], ...] = ()
    if topic == Topic.FORMS and proc.url and not more:
        links = ((dispatcher.text("part_link_forms"), proc.url),)
    name = display_name(proc.name)
    if start > 0:
        dispatcher.utter("utter_list_more", buttons=buttons, links=links, procedure_name=name, items=items)
    else:
        dispatcher.utter(
            spec.response, buttons=buttons, links=links, procedure_name=name, count=total, items=items
        )
    return [ContinuationSet(Continuation(topic, proc.code, end, group) if more else None)]
