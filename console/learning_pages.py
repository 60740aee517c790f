"""The learning loop's pages: ``/console/learning`` ("Câu chưa trả lời được") and ``/console/learning/data``
(import and export of FAQ entries and training examples).

Plain HTML forms that work without JavaScript: each inbox group has an "assign" form (intent, procedure
code, FAQ entry) and a "dismiss" button; both POST and redirect back with a message. The pages sit in
the editor console's frame (``editor_base.html``), whose status line shows when the bot has picked up
an assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from console.auth.sessions import ConsoleAuth
from console.auth.users import User
from console.learning import (
    MAX_FILE_BYTES,
    SOURCE_LABELS,
    STATUS_LABELS,
    ImportRefused,
    InvalidAssignment,
    LearningError,
    LearningService,
    inbox_counts,
    key_of,
)
from console.learning_api import LEARNING_ROLES, assign_message, choices, export_file, intent_label
from console.web import PageKit, console_templates

KIND_LABELS = {"faqs": "Câu hỏi thường gặp", "training": "Câu mẫu huấn luyện"}
FORMAT_LABELS = {"csv": "CSV", "yml": "YAML (nlu.yml của Rasa / faq.yml)"}


def _templates(zone: ZoneInfo) -> Jinja2Templates:
    templates = console_templates(zone)
    templates.env.filters["intent_label"] = intent_label
    templates.env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        SOURCE_LABELS=SOURCE_LABELS,
        KIND_LABELS=KIND_LABELS,
        FORMAT_LABELS=FORMAT_LABELS,
    )
    return templates


def learning_router(
    service: LearningService,
    auth: ConsoleAuth,
    *,
    status: Callable[[], Any],
    timezone: str = "Asia/Ho_Chi_Minh",
) -> APIRouter:
    """The ``/console/learning`` pages over ``service``; ``status`` gives the live reload's state."""
    router = APIRouter(prefix="/console/learning", include_in_schema=False)
    templates = _templates(ZoneInfo(timezone))

    pages = PageKit(
        templates,
        auth,
        roles=LEARNING_ROLES,
        forbidden="Tài khoản của bạn không có quyền biên tập nội dung.",
        context=lambda request: {"status": status(), "notice": None},
    )
    render, editor_or_redirect, editor_post = pages.render, pages.user_or_redirect, pages.checked_post

    async def inbox_page(
        request: Request,
        user: User,
        tab: str,
        notice: str | None = None,
        error: str | None = None,
        problems: dict[str, str] | None = None,
        failed_key: str | None = None,
        status_code: int = 200,
    ) -> Response:
        tab = tab if tab in STATUS_LABELS else "open"
        every = await asyncio.to_thread(service.inbox, "all", 100_000)
        items = [i for i in every if tab == "all" or i.status == tab][:200]
        options = await asyncio.to_thread(choices, service)
        return render(
            request,
            "learning_inbox.html",
            {
                "user": user,
                "tab": tab,
                "items": items,
                "counts": inbox_counts(every),
                "intents": options.intents,
                "faqs": options.faqs,
                "notice": notice,
                "error": error,
                "problems": problems or {},
                "failed_key": failed_key,
            },
            status_code,
        )

    @router.get("", response_class=HTMLResponse)
    async def inbox(request: Request, status: str = "open", notice: str | None = None) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        return await inbox_page(request, user, status, notice=notice)

    def back(tab: str, notice: str) -> Response:
        return RedirectResponse(f"/console/learning?status={tab}&notice={quote(notice)}", status_code=303)

    @router.post("/assign")
    async def assign(request: Request) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        text, tab = str(form.get("text") or ""), str(form.get("tab") or "open")
        faq = str(form.get("faq_id") or "").strip()
        try:
            result = await asyncio.to_thread(
                service.assign,
                text,
                user,
                intent=str(form.get("intent") or ""),
                procedure_code=str(form.get("procedure_code") or ""),
                faq_id=int(faq) if faq.isdigit() else None,
            )
        except InvalidAssignment as exc:
            return await inbox_page(
                request,
                user,
                tab,
                error=str(exc),
                problems=exc.problems,
                failed_key=key_of(text),
                status_code=422,
            )
        except LearningError as exc:
            return await inbox_page(request, user, tab, error=str(exc), status_code=exc.status)
        return back(tab, assign_message(result.example, result.faq_id, result.faq_changed))

    @router.post("/dismiss")
    async def dismiss(request: Request) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        tab = str(form.get("tab") or "open")
        try:
            await asyncio.to_thread(service.dismiss, str(form.get("text") or ""), user)
        except LearningError as exc:
            return await inbox_page(request, user, tab, error=str(exc), status_code=exc.status)
        return back(tab, "Đã bỏ qua câu này; xem lại trong mục «Đã bỏ qua».")

    @router.post("/reopen")
    async def reopen(request: Request) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        try:
            await asyncio.to_thread(service.reopen, str(form.get("key") or ""))
        except LearningError as exc:
            return await inbox_page(request, user, "dismissed", error=str(exc), status_code=exc.status)
        return back("dismissed", "Đã đưa câu này trở lại hộp thư.")

    # --- import and export

    async def data_page(
        request: Request,
        user: User,
        notice: str | None = None,
        error: str | None = None,
        problems: list[str] | None = None,
        status_code: int = 200,
    ) -> Response:
        examples = await asyncio.to_thread(service.examples)
        return render(
            request,
            "learning_data.html",
            {
                "user": user,
                "examples": examples,
                "notice": notice,
                "error": error,
                "problems": problems or [],
                "max_mb": MAX_FILE_BYTES // 1_000_000,
            },
            status_code,
        )

    @router.get("/data", response_class=HTMLResponse)
    async def data(request: Request) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        return await data_page(request, user)

    @router.get("/export/{what}.{fmt}")
    async def export(request: Request, what: str, fmt: str) -> Response:
        user = editor_or_redirect(request)
        if not isinstance(user, User):
            return user
        if what not in KIND_LABELS or fmt not in ("csv", "yml"):
            return render(request, "error.html", {"user": user, "message": "Không có tệp này."}, 404)
        return await asyncio.to_thread(export_file, service, what, fmt)

    @router.post("/import")
    async def import_file(request: Request) -> Response:
        user = await editor_post(request)
        if not isinstance(user, User):
            return user
        form = await request.form()
        try:
            return await _import(request, user, str(form.get("what") or ""), form.get("file"))
        finally:
            await form.close()  # the uploaded file's temporary copy

    async def _import(request: Request, user: User, what: str, upload: Any) -> Response:
        if what not in KIND_LABELS:
            return await data_page(request, user, error="Hãy chọn loại dữ liệu cần nhập.", status_code=422)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await data_page(request, user, error="Hãy chọn tệp cần nhập.", status_code=422)
        name = upload.filename.lower()
        fmt = "csv" if name.endswith(".csv") else "yaml" if name.endswith((".yml", ".yaml")) else None
        if fmt is None:
            return await data_page(
                request, user, error="Chỉ nhập được tệp .csv, .yml hoặc .yaml.", status_code=422
            )
        content = await upload.read(MAX_FILE_BYTES + 1)
        work = service.import_faqs if what == "faqs" else service.import_training
        try:
            report = await asyncio.to_thread(work, content, fmt, user)
        except ImportRefused as exc:
            return await data_page(
                request,
                user,
                error=f"Tệp «{upload.filename}» chưa được nhập, không có gì thay đổi. Cần sửa:",
                problems=exc.problems,
                status_code=422,
            )
        except LearningError as exc:
            return await data_page(request, user, error=str(exc), status_code=exc.status)
        return await data_page(request, user, notice=report.summary())

    return router
