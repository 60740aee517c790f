"""The editor console pages under ``/console/editor``: procedures, FAQ, response texts, audit log, try it.

Plain HTML forms that work without JavaScript (POST, then redirect back with a message). Lists inside a
procedure are edited as one item per line (steps, aliases, levels, notes) or as small repeated fieldsets
(channels, documents, legal basis: a few empty rows to add, a "Xóa" box to remove). The only script is a
small poll of ``/api/editor/status`` that shows when the bot has picked up a change.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.core.errors import HelplineError
from console.editor.audit import ACTION_LABELS, ENTITY_LABELS
from console.editor.drafts import procedure_draft
from console.editor.service import ResponseInfo
from console.web.deps import EDITOR_ROLES, Auth, Editor, RowId, Tickets, Zone
from console.web.editor_api import save_message
from console.web.errors import problems_of, status_of
from console.web.kit import Page, PageRoute, console_templates, open_page, redirect_back
from knowledge.domain import CHANNEL_LABELS, ONLINE_LEVEL_LABELS, FaqEntry

EMPTY_ROWS = {"channels": 1, "documents": 2, "legal_basis": 1}
"""Empty rows shown under each repeated fieldset, for adding."""
ROW_FIELDS = {
    "channels": ("kind", "time_text", "fee_text", "description", "days", "working_days", "fee_vnd", "remove"),
    "documents": ("name", "group", "form", "originals", "copies", "note", "remove"),
    "legal_basis": ("number", "title", "issued", "issuer", "remove"),
}
LINE_FIELDS = ("levels", "steps", "notes", "aliases")
TEXT_FIELDS = (
    "code",
    "name",
    "field",
    "ministry",
    "decision",
    "procedure_type",
    "competent_agency",
    "executing_agency",
    "receiving_address",
    "target_users",
    "conditions",
    "result",
    "online_level",
    "url",
)
_ROW_RE = re.compile(r"^(channels|documents|legal_basis)-(\d{1,3})-([a-z_]+)$")
_VARIANT_RE = re.compile(r"^variants-(\d{1,2})-(text|buttons)$")


def number(value: Any) -> str:
    """A number as an editor types it: no ``.0`` on whole numbers, a decimal comma."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def section_has_problem(problems: dict[str, str] | None, fields: list[str]) -> bool:
    """Does a section of the procedure form hold a field with a problem (``name``, ``channels.0.fee_text``)?

    The form's sections are folded (the whole form was 11,000 px tall); one with a problem opens.
    """
    return any(key == f or key.startswith(f + ".") for key in problems or {} for f in fields)


templates = console_templates(
    section_has_problem=section_has_problem,
    CHANNEL_LABELS=CHANNEL_LABELS,
    ONLINE_LEVEL_LABELS=ONLINE_LEVEL_LABELS,
    ENTITY_LABELS=ENTITY_LABELS,
    ACTION_LABELS=ACTION_LABELS,
    EMPTY_ROWS=EMPTY_ROWS,
)
templates.env.filters["number"] = number
router = APIRouter(prefix="/console/editor", include_in_schema=False, route_class=PageRoute)


async def editor_page(request: Request, auth: Auth, zone: Zone, editor: Editor) -> Page:
    """A page for an editor (or admin), with the rebuild's status line and the notice of the last save."""
    return await open_page(
        request,
        auth,
        zone,
        templates,
        roles=EDITOR_ROLES,
        forbidden="Tài khoản của bạn không có quyền biên tập.",
        extra=lambda: {"status": editor.status(), "notice": request.query_params.get("notice")},
    )


EditorPage = Annotated[Page, Depends(editor_page)]


def _refusal(refused: HelplineError | None) -> dict[str, Any]:
    """What a form shows about a refused save: the problem of each field and the summary (none when the
    save was not refused)."""
    if refused is None:
        return {"problems": {}, "error": None}
    return {"problems": problems_of(refused) or {}, "error": str(refused)}


# --- home and try it


@router.get("", response_class=HTMLResponse)
async def home(page: EditorPage, editor: Editor) -> Response:
    recent = await asyncio.to_thread(editor.audit_log, limit=10)
    return page.render("editor_home.html", {"recent": recent, "replies": None, "tried": ""})


@router.post("/try", response_class=HTMLResponse)
async def try_it(
    page: EditorPage, editor: Editor, text: str = Form(""), start_over: str = Form("")
) -> Response:
    recent = await asyncio.to_thread(editor.audit_log, limit=10)
    context: dict[str, Any] = {"recent": recent, "tried": text, "replies": None}
    try:
        context["replies"] = await editor.try_message(text, page.account, start_over=bool(start_over))
    except HelplineError as exc:
        context["try_error"] = str(exc)
        return page.render("editor_home.html", context, status_of(exc))
    return page.render("editor_home.html", context)


# --- procedures


@router.get("/procedures", response_class=HTMLResponse)
async def procedures(page: EditorPage, editor: Editor, q: str = "") -> Response:
    rows = await asyncio.to_thread(editor.find_procedures, q[:200])
    return page.render("editor_procedures.html", {"q": q, "rows": rows})


def procedure_page(
    page: Page,
    draft: dict[str, Any],
    *,
    code: str | None,
    version: str = "",
    refused: HelplineError | None = None,
    updated_at: datetime | None = None,
) -> Response:
    """The procedure form with ``draft``; after a refused save, with why (and the problem of each field)."""
    return page.render(
        "editor_procedure.html",
        {
            "p": draft,
            "code": code,
            "version": version,
            **_refusal(refused),
            "updated_at": updated_at,
        },
        status_of(refused) if refused else 200,
    )


@router.get("/procedures/new", response_class=HTMLResponse)
async def new_procedure(page: EditorPage) -> Response:
    return procedure_page(page, procedure_draft(None), code=None)


@router.get("/procedures/{code}", response_class=HTMLResponse)
async def procedure(page: EditorPage, editor: Editor, code: str) -> Response:
    proc = await asyncio.to_thread(editor.procedure, code)
    return procedure_page(
        page, procedure_draft(proc), code=code, version=editor.version(proc), updated_at=proc.updated_at
    )


async def save_procedure(page: Page, editor: Editor, code: str | None) -> Response:
    """Save the posted procedure form (a new procedure when ``code`` is None)."""
    form = await page.request.form()
    draft = draft_from_form(form)
    version = str(form.get("version") or "")
    try:
        result = await asyncio.to_thread(
            editor.save_procedure, draft, page.account, code=code, base_version=version or None
        )
    except HelplineError as exc:
        return procedure_page(page, draft, code=code, version=version, refused=exc)
    return redirect_back(f"/console/editor/procedures/{result.key}", save_message(result))


@router.post("/procedures/new", response_class=HTMLResponse)
async def create_procedure(page: EditorPage, editor: Editor) -> Response:
    return await save_procedure(page, editor, None)


@router.post("/procedures/{code}", response_class=HTMLResponse)
async def update_procedure(page: EditorPage, editor: Editor, code: str) -> Response:
    return await save_procedure(page, editor, code)


# --- FAQ


@router.get("/faqs", response_class=HTMLResponse)
async def faqs(page: EditorPage, editor: Editor) -> Response:
    entries = await asyncio.to_thread(editor.faqs)
    return page.render("editor_faqs.html", {"entries": entries})


def faq_page(
    page: Page, draft: dict[str, Any], entry_id: int | None, refused: HelplineError | None = None
) -> Response:
    """The FAQ form with ``draft``; after a refused save, with why (and the problem of each field)."""
    return page.render(
        "editor_faq.html",
        {
            "f": draft,
            "entry_id": entry_id,
            **_refusal(refused),
        },
        status_of(refused) if refused else 200,
    )


def faq_draft(entry: FaqEntry | None) -> dict[str, Any]:
    """The FAQ form's values for ``entry`` (empty for a new one)."""
    if entry is None:
        return {"questions": "", "answer": "", "procedure_codes": "", "tags": "", "enabled": True}
    return {
        "questions": "\n".join(entry.questions),
        "answer": entry.answer,
        "procedure_codes": "\n".join(entry.procedure_codes),
        "tags": ", ".join(entry.tags),
        "enabled": entry.enabled,
    }


@router.get("/faqs/new", response_class=HTMLResponse)
async def new_faq(page: EditorPage) -> Response:
    return faq_page(page, faq_draft(None), None)


@router.get("/faqs/{entry_id}", response_class=HTMLResponse)
async def faq(page: EditorPage, editor: Editor, entry_id: RowId) -> Response:
    entry = await asyncio.to_thread(editor.faq, entry_id)
    return faq_page(page, faq_draft(entry), entry_id)


async def save_faq(page: Page, editor: Editor, entry_id: int | None) -> Response:
    """Save the posted FAQ form (a new entry when ``entry_id`` is None)."""
    form = await page.request.form()
    draft: dict[str, Any] = {
        k: str(form.get(k) or "") for k in ("questions", "answer", "procedure_codes", "tags")
    }
    draft["enabled"] = form.get("enabled") is not None
    try:
        result = await asyncio.to_thread(editor.save_faq, draft, page.account, entry_id=entry_id)
    except HelplineError as exc:
        return faq_page(page, draft, entry_id, exc)
    return redirect_back(f"/console/editor/faqs/{result.key}", save_message(result))


@router.post("/faqs/new", response_class=HTMLResponse)
async def create_faq(page: EditorPage, editor: Editor) -> Response:
    return await save_faq(page, editor, None)


@router.post("/faqs/{entry_id}", response_class=HTMLResponse)
async def update_faq(page: EditorPage, editor: Editor, entry_id: RowId) -> Response:
    return await save_faq(page, editor, entry_id)


# --- response texts


@router.get("/responses", response_class=HTMLResponse)
async def responses(page: EditorPage, editor: Editor, q: str = "") -> Response:
    infos = await asyncio.to_thread(editor.response_infos)
    needle = q.strip().lower()
    if needle:
        infos = [
            i
            for i in infos
            if needle in i.key.lower() or any(needle in str(v.get("text", "")).lower() for v in i.variants)
        ]
    return page.render("editor_responses.html", {"q": q, "infos": infos})


def response_page(
    page: Page,
    info: ResponseInfo,
    variants: list[dict[str, Any]] | None = None,
    refused: HelplineError | None = None,
) -> Response:
    """The texts of one response key (``variants`` as typed after a refused save) and an empty variant
    to add one."""
    shown = [{"text": v.get("text", ""), "buttons": buttons_text(v)} for v in (variants or info.variants)]
    shown.append({"text": "", "buttons": ""})  # an empty one, to add a variant
    return page.render(
        "editor_response.html",
        {
            "info": info,
            "variants": shown,
            **_refusal(refused),
        },
        status_of(refused) if refused else 200,
    )


@router.get("/responses/{key}", response_class=HTMLResponse)
async def response(page: EditorPage, editor: Editor, key: str) -> Response:
    return response_page(page, await asyncio.to_thread(editor.response_info, key))


@router.post("/responses/{key}", response_class=HTMLResponse)
async def save_response(page: EditorPage, editor: Editor, key: str) -> Response:
    variants = variants_from_form(await page.request.form())
    try:
        result = await asyncio.to_thread(editor.save_response, key, variants, page.account)
    except HelplineError as exc:
        if not problems_of(exc):
            raise  # no such key: the error page
        return response_page(page, await asyncio.to_thread(editor.response_info, key), variants, exc)
    return redirect_back(f"/console/editor/responses/{key}", save_message(result))


@router.post("/responses/{key}/reset", response_class=HTMLResponse)
async def reset_response(page: EditorPage, editor: Editor, key: str) -> Response:
    result = await asyncio.to_thread(editor.reset_response, key, page.account)
    return redirect_back(f"/console/editor/responses/{key}", save_message(result))


# --- audit log and rollback


@router.get("/audit", response_class=HTMLResponse)
async def audit(page: EditorPage, editor: Editor, entity: str = "", key: str = "") -> Response:
    entity = entity if entity in ENTITY_LABELS else ""
    entries = await asyncio.to_thread(editor.audit_log, entity or None, key[:64] or None, limit=200)
    return page.render("editor_audit.html", {"entries": entries, "entity": entity, "key": key})


@router.get("/audit/{entry_id}", response_class=HTMLResponse)
async def audit_entry(page: EditorPage, editor: Editor, entry_id: RowId) -> Response:
    entry = await asyncio.to_thread(editor.audit_entry, entry_id)
    return page.render("editor_audit_entry.html", {"e": entry, "error": None})


@router.post("/audit/{entry_id}/rollback", response_class=HTMLResponse)
async def rollback(page: EditorPage, editor: Editor, entry_id: RowId, side: str = Form("after")) -> Response:
    which: Literal["after", "before"] = "before" if side == "before" else "after"
    try:
        result = await asyncio.to_thread(editor.rollback, entry_id, page.account, which)
    except HelplineError as exc:
        try:
            entry = await asyncio.to_thread(editor.audit_entry, entry_id)
        except HelplineError:
            return page.error(str(exc), status_of(exc))
        return page.render("editor_audit_entry.html", {"e": entry, "error": str(exc)}, status_of(exc))
    target = (
        f"/console/editor/audit/{result.audit_id}" if result.audit_id else f"/console/editor/audit/{entry_id}"
    )
    message = "Đã khôi phục. " + save_message(result) if result.changed else save_message(result)
    return redirect_back(target, message)


def draft_from_form(form: FormData) -> dict[str, Any]:
    """A procedure draft from the posted form (rows of repeated fieldsets by their index)."""
    draft: dict[str, Any] = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    for name in LINE_FIELDS:
        draft[name] = str(form.get(name) or "")
    draft["catalogue_only"] = form.get("catalogue_only") is not None
    rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ROW_FIELDS}
    for name, value in form.multi_items():
        match = _ROW_RE.match(name)
        if match and match.group(3) in ROW_FIELDS[match.group(1)]:
            rows[match.group(1)].setdefault(int(match.group(2)), {})[match.group(3)] = str(value)
    for group, by_index in rows.items():
        draft[group] = [by_index[i] for i in sorted(by_index)]
    return draft


def variants_from_form(form: FormData) -> list[dict[str, Any]]:
    """Response variants from the posted form (``variants-N-text``, ``variants-N-buttons``)."""
    by_index: dict[int, dict[str, Any]] = {}
    for name, value in form.multi_items():
        match = _VARIANT_RE.match(name)
        if match:
            by_index.setdefault(int(match.group(1)), {"text": "", "buttons": ""})[match.group(2)] = str(value)
    return [by_index[i] for i in sorted(by_index)]


def buttons_text(variant: dict[str, Any]) -> str:
    """A variant's buttons as the form shows them: ``Tiêu đề | /payload`` per line."""
    buttons = variant.get("buttons") or []
    if isinstance(buttons, str):
        return buttons
    return "\n".join(f"{b.get('title', '')} | {b.get('payload', '')}" for b in buttons)


# --- canned replies (officers insert them into replies; issue 14)


@router.get("/canned", response_class=HTMLResponse)
async def canned_replies(page: EditorPage, tickets: Tickets) -> Response:
    return await _canned_page(page, tickets, None)


@router.get("/canned/{reply_id}", response_class=HTMLResponse)
async def canned_reply(page: EditorPage, tickets: Tickets, reply_id: RowId) -> Response:
    return await _canned_page(page, tickets, reply_id)


@router.post("/canned", response_class=HTMLResponse)
async def add_canned_reply(
    page: EditorPage, tickets: Tickets, title: str = Form(""), text: str = Form("")
) -> Response:
    return await _save_canned(page, tickets, None, title, text)


@router.post("/canned/{reply_id}", response_class=HTMLResponse)
async def change_canned_reply(
    page: EditorPage, tickets: Tickets, reply_id: RowId, title: str = Form(""), text: str = Form("")
) -> Response:
    return await _save_canned(page, tickets, reply_id, title, text)


@router.post("/canned/{reply_id}/delete", response_class=HTMLResponse)
async def delete_canned_reply(page: EditorPage, tickets: Tickets, reply_id: RowId) -> Response:
    await asyncio.to_thread(tickets.delete_canned_reply, reply_id)
    return redirect_back("/console/editor/canned", "Đã xóa câu trả lời mẫu.")


async def _canned_page(
    page: Page,
    tickets: Tickets,
    reply_id: int | None,
    draft: dict[str, str] | None = None,
    refused: HelplineError | None = None,
) -> Response:
    """The list of canned replies with the form: empty (a new one) or ``reply_id``'s (or ``draft``)."""
    replies = await asyncio.to_thread(tickets.canned_replies)
    if draft is None:
        current = next((r for r in replies if r.id == reply_id), None)
        if reply_id is not None and current is None:
            return page.error("Không tìm thấy câu trả lời mẫu này.", 404)
        draft = {"title": current.title, "text": current.text} if current else {"title": "", "text": ""}
    values = {"replies": replies, "reply_id": reply_id, "f": draft, **_refusal(refused)}
    return page.render("editor_canned.html", values, status_of(refused) if refused else 200)


async def _save_canned(page: Page, tickets: Tickets, reply_id: int | None, title: str, text: str) -> Response:
    who = page.account.display_name
    try:
        await asyncio.to_thread(tickets.save_canned_reply, reply_id, title[:200], text[:5000], who)
    except HelplineError as exc:
        return await _canned_page(page, tickets, reply_id, {"title": title, "text": text}, exc)
    return redirect_back("/console/editor/canned", "Đã lưu câu trả lời mẫu; cán bộ dùng được ngay.")
