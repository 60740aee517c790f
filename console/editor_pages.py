"""The editor console pages under ``/console/editor``: procedures, FAQ, response texts, audit log, try it.

Plain HTML forms that work without JavaScript (POST, then redirect back with a message). Lists inside a
procedure are edited as one item per line (steps, aliases, levels, notes) or as small repeated fieldsets
(channels, documents, legal basis: a few empty rows to add, a "Xóa" box to remove). The only script is a
small poll of ``/api/editor/status`` that shows when the bot has picked up a change.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from console.auth.sessions import ConsoleAuth
from console.auth.users import User
from console.editor import (
    ACTION_LABELS,
    ENTITY_LABELS,
    EditorError,
    EditorService,
    ValidationFailed,
    procedure_draft,
)
from console.editor_api import EDITOR_ROLES, save_message
from console.web import PageKit, console_templates
from knowledge.domain import CHANNEL_LABELS, ONLINE_LEVEL_LABELS, FaqEntry

T = TypeVar("T")
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


def _templates(zone: ZoneInfo) -> Jinja2Templates:
    templates = console_templates(zone)

    def number(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).replace(".", ",") if isinstance(value, float) else str(value)

    templates.env.filters["number"] = number
    templates.env.globals.update(
        CHANNEL_LABELS=CHANNEL_LABELS,
        ONLINE_LEVEL_LABELS=ONLINE_LEVEL_LABELS,
        ENTITY_LABELS=ENTITY_LABELS,
        ACTION_LABELS=ACTION_LABELS,
        EMPTY_ROWS=EMPTY_ROWS,
    )
    return templates


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


def editor_router(
    editor: EditorService, auth: ConsoleAuth, *, timezone: str = "Asia/Ho_Chi_Minh"
) -> APIRouter:
    """The ``/console/editor`` pages over ``editor``, authenticated by ``auth``."""
    router = APIRouter(prefix="/console/editor", include_in_schema=False)
    templates = _templates(ZoneInfo(timezone))

    async def call(fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    pages = PageKit(
        templates,
        auth,
        roles=EDITOR_ROLES,
        forbidden="Tài khoản của bạn không có quyền biên tập.",
        context=lambda request: {"status": editor.status(), "notice": request.query_params.get("notice")},
    )
    render, editor_or_redirect, editor_post = pages.render, pages.user_or_redirect, pages.checked_post

    def not_found(request: Request, user: User, exc: EditorError) -> Response:
        return render(request, "error.html", {"user": user, "message": str(exc)}, exc.status)

    def back(url: str, message: str) -> Response:
        sep = "&" if "?" in url else "?"
        return RedirectResponse(f"{url}{sep}notice={quote(message)}", status_code=303)

    # --- home and try it

    @router.get("", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        recent = await call(lambda: editor.audit_log(limit=10))
        return render(
            request, "editor_home.html", {"user": user, "recent": recent, "replies": None, "tried": ""}
        )

    @router.post("/try", response_class=HTMLResponse)
    async def try_it(request: Request, text: str = Form(""), start_over: str = Form("")) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        recent = await call(lambda: editor.audit_log(limit=10))
        context: dict[str, Any] = {"user": user, "recent": recent, "tried": text, "replies": None}
        try:
            context["replies"] = await editor.try_message(text, user, start_over=bool(start_over))
        except EditorError as exc:
            context["try_error"] = str(exc)
            return render(request, "editor_home.html", context, exc.status)
        return render(request, "editor_home.html", context)

    # --- procedures

    @router.get("/procedures", response_class=HTMLResponse)
    async def procedures(request: Request, q: str = "") -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        rows = await call(lambda: editor.find_procedures(q[:200]))
        return render(request, "editor_procedures.html", {"user": user, "q": q, "rows": rows})

    def procedure_page(
        request: Request,
        user: User,
        draft: dict[str, Any],
        *,
        code: str | None,
        version: str = "",
        problems: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
        updated_at: datetime | None = None,
    ) -> Response:
        return render(
            request,
            "editor_procedure.html",
            {
                "user": user,
                "p": draft,
                "code": code,
                "version": version,
                "problems": problems or {},
                "error": error,
                "updated_at": updated_at,
            },
            status_code,
        )

    @router.get("/procedures/new", response_class=HTMLResponse)
    async def new_procedure(request: Request) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        return procedure_page(request, user, procedure_draft(None), code=None)

    @router.get("/procedures/{code}", response_class=HTMLResponse)
    async def procedure(request: Request, code: str) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        try:
            proc = await call(lambda: editor.procedure(code))
        except EditorError as exc:
            return not_found(request, user, exc)
        return procedure_page(
            request,
            user,
            procedure_draft(proc),
            code=code,
            version=editor.version(proc),
            updated_at=proc.updated_at,
        )

    async def save_procedure(request: Request, code: str | None) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        draft = draft_from_form(form)
        version = str(form.get("version") or "")
        try:
            result = await call(
                lambda: editor.save_procedure(draft, user, code=code, base_version=version or None)
            )
        except ValidationFailed as exc:
            return procedure_page(
                request,
                user,
                draft,
                code=code,
                version=version,
                problems=exc.problems,
                error=str(exc),
                status_code=422,
            )
        except EditorError as exc:
            return procedure_page(
                request, user, draft, code=code, version=version, error=str(exc), status_code=exc.status
            )
        return back(f"/console/editor/procedures/{result.key}", save_message(result))

    @router.post("/procedures/new", response_class=HTMLResponse)
    async def create_procedure(request: Request) -> Response:
        return await save_procedure(request, None)

    @router.post("/procedures/{code}", response_class=HTMLResponse)
    async def update_procedure(request: Request, code: str) -> Response:
        return await save_procedure(request, code)

    # --- FAQ

    @router.get("/faqs", response_class=HTMLResponse)
    async def faqs(request: Request) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        entries = await call(editor.faqs)
        return render(request, "editor_faqs.html", {"user": user, "entries": entries})

    def faq_page(
        request: Request,
        user: User,
        draft: dict[str, Any],
        entry_id: int | None,
        problems: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return render(
            request,
            "editor_faq.html",
            {"user": user, "f": draft, "entry_id": entry_id, "problems": problems or {}, "error": error},
            status_code,
        )

    def faq_draft(entry: FaqEntry | None) -> dict[str, Any]:
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
    async def new_faq(request: Request) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        return faq_page(request, user, faq_draft(None), None)

    @router.get("/faqs/{entry_id}", response_class=HTMLResponse)
    async def faq(request: Request, entry_id: int) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        try:
            entry = await call(lambda: editor.faq(entry_id))
        except EditorError as exc:
            return not_found(request, user, exc)
        return faq_page(request, user, faq_draft(entry), entry_id)

    async def save_faq(request: Request, entry_id: int | None) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        draft: dict[str, Any] = {
            k: str(form.get(k) or "") for k in ("questions", "answer", "procedure_codes", "tags")
        }
        draft["enabled"] = form.get("enabled") is not None
        try:
            result = await call(lambda: editor.save_faq(draft, user, entry_id=entry_id))
        except ValidationFailed as exc:
            return faq_page(request, user, draft, entry_id, exc.problems, str(exc), 422)
        except EditorError as exc:
            return faq_page(request, user, draft, entry_id, None, str(exc), exc.status)
        return back(f"/console/editor/faqs/{result.key}", save_message(result))

    @router.post("/faqs/new", response_class=HTMLResponse)
    async def create_faq(request: Request) -> Response:
        return await save_faq(request, None)

    @router.post("/faqs/{entry_id}", response_class=HTMLResponse)
    async def update_faq(request: Request, entry_id: int) -> Response:
        return await save_faq(request, entry_id)

    # --- response texts

    @router.get("/responses", response_class=HTMLResponse)
    async def responses(request: Request, q: str = "") -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        infos = await call(editor.response_infos)
        needle = q.strip().lower()
        if needle:
            infos = [
                i
                for i in infos
                if needle in i.key.lower()
                or any(needle in str(v.get("text", "")).lower() for v in i.variants)
            ]
        return render(request, "editor_responses.html", {"user": user, "q": q, "infos": infos})

    def response_page(
        request: Request,
        user: User,
        key: str,
        variants: list[dict[str, Any]] | None = None,
        problems: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        info = editor.response_info(key)
        shown = [{"text": v.get("text", ""), "buttons": buttons_text(v)} for v in (variants or info.variants)]
        shown.append({"text": "", "buttons": ""})  # an empty one, to add a variant
        return render(
            request,
            "editor_response.html",
            {"user": user, "info": info, "variants": shown, "problems": problems or {}, "error": error},
            status_code,
        )

    @router.get("/responses/{key}", response_class=HTMLResponse)
    async def response(request: Request, key: str) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        try:
            return await call(lambda: response_page(request, user, key))
        except EditorError as exc:
            return not_found(request, user, exc)

    @router.post("/responses/{key}", response_class=HTMLResponse)
    async def save_response(request: Request, key: str) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        variants = variants_from_form(await request.form())
        try:
            result = await call(lambda: editor.save_response(key, variants, user))
        except ValidationFailed as exc:
            problems, message = exc.problems, str(exc)
            return await call(lambda: response_page(request, user, key, variants, problems, message, 422))
        except EditorError as exc:
            return not_found(request, user, exc)
        return back(f"/console/editor/responses/{key}", save_message(result))

    @router.post("/responses/{key}/reset", response_class=HTMLResponse)
    async def reset_response(request: Request, key: str) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        try:
            result = await call(lambda: editor.reset_response(key, user))
        except EditorError as exc:
            return not_found(request, user, exc)
        return back(f"/console/editor/responses/{key}", save_message(result))

    # --- audit log and rollback

    @router.get("/audit", response_class=HTMLResponse)
    async def audit(request: Request, entity: str = "", key: str = "") -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        entity = entity if entity in ENTITY_LABELS else ""
        entries = await call(lambda: editor.audit_log(entity or None, key[:64] or None, limit=200))
        return render(
            request, "editor_audit.html", {"user": user, "entries": entries, "entity": entity, "key": key}
        )

    @router.get("/audit/{entry_id}", response_class=HTMLResponse)
    async def audit_entry(request: Request, entry_id: int) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        try:
            entry = await call(lambda: editor.audit_entry(entry_id))
        except EditorError as exc:
            return not_found(request, user, exc)
        return render(request, "editor_audit_entry.html", {"user": user, "e": entry, "error": None})

    @router.post("/audit/{entry_id}/rollback", response_class=HTMLResponse)
    async def rollback(request: Request, entry_id: int, side: str = Form("after")) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        which: Literal["after", "before"] = "before" if side == "before" else "after"
        try:
            result = await call(lambda: editor.rollback(entry_id, user, which))
        except EditorError as exc:
            try:
                entry = await call(lambda: editor.audit_entry(entry_id))
            except EditorError:
                return not_found(request, user, exc)
            return render(
                request, "editor_audit_entry.html", {"user": user, "e": entry, "error": str(exc)}, exc.status
            )
        target = (
            f"/console/editor/audit/{result.audit_id}"
            if result.audit_id
            else f"/console/editor/audit/{entry_id}"
        )
        message = "Đã khôi phục. " + save_message(result) if result.changed else save_message(result)
        return back(target, message)

    return router
