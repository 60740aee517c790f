"""The learning loop's pages: ``/console/learning`` ("Câu chưa trả lời được") and ``/console/learning/data``
(import and export of FAQ entries and training examples).

Plain HTML forms that work without JavaScript: each inbox group has an "assign" form (intent, procedure
code, FAQ entry) and a "dismiss" button; both POST and redirect back with a message. The pages sit in
the editor console's frame (``editor_base.html``), whose status line shows when the bot has picked up
an assignment.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from bot.core.errors import HelplineError
from console.learning.examples import SOURCE_LABELS
from console.learning.inbox import STATUS_LABELS, inbox_counts
from console.learning.tables import key_of
from console.learning.transfer import MAX_FILE_BYTES
from console.web.deps import LEARNING_ROLES, Auth, Learning, StatusReader, Zone
from console.web.errors import problems_of, status_of
from console.web.kit import Page, PageRoute, console_templates, open_page, redirect_back
from console.web.labels import intent_label
from console.web.learning_api import assign_message, choices, export_file

KIND_LABELS = {"faqs": "Câu hỏi thường gặp", "training": "Câu mẫu huấn luyện"}
FORMAT_LABELS = {"csv": "CSV", "yml": "YAML (nlu.yml của Rasa / faq.yml)"}

templates = console_templates(
    STATUS_LABELS=STATUS_LABELS,
    SOURCE_LABELS=SOURCE_LABELS,
    KIND_LABELS=KIND_LABELS,
    FORMAT_LABELS=FORMAT_LABELS,
)
templates.env.filters["intent_label"] = intent_label
router = APIRouter(prefix="/console/learning", include_in_schema=False, route_class=PageRoute)


async def learning_page(request: Request, auth: Auth, zone: Zone, status: StatusReader) -> Page:
    """A page for someone who may teach the bot, with the live rebuild's status line."""
    return await open_page(
        request,
        auth,
        zone,
        templates,
        roles=LEARNING_ROLES,
        forbidden="Tài khoản của bạn không có quyền biên tập nội dung.",
        extra=lambda: {"status": status(), "notice": None},
    )


LearningPage = Annotated[Page, Depends(learning_page)]


# --- the inbox


async def inbox_page(
    page: Page,
    service: Learning,
    tab: str,
    notice: str | None = None,
    error: str | None = None,
    problems: dict[str, str] | None = None,
    failed_key: str | None = None,
    status_code: int = 200,
) -> Response:
    """One tab of the inbox, with ``notice`` after a change or ``error`` (and ``problems`` of the group
    ``failed_key``) after a refused one."""
    tab = tab if tab in STATUS_LABELS else "open"
    every = await asyncio.to_thread(service.inbox, "all", 100_000)
    items = [i for i in every if tab == "all" or i.status == tab][:200]
    options = await asyncio.to_thread(choices, service)
    return page.render(
        "learning_inbox.html",
        {
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


def back(tab: str, notice: str) -> Response:
    """Back to the inbox tab ``tab`` with ``notice``."""
    return redirect_back(f"/console/learning?status={tab}", notice)


@router.get("", response_class=HTMLResponse)
async def inbox(
    page: LearningPage, service: Learning, status: str = "open", notice: str | None = None
) -> Response:
    return await inbox_page(page, service, status, notice=notice)


@router.post("/assign")
async def assign(page: LearningPage, service: Learning) -> Response:
    form = await page.request.form()
    text, tab = str(form.get("text") or ""), str(form.get("tab") or "open")
    faq = str(form.get("faq_id") or "").strip()
    try:
        result = await asyncio.to_thread(
            service.assign,
            text,
            page.account,
            intent=str(form.get("intent") or ""),
            procedure_code=str(form.get("procedure_code") or ""),
            faq_id=int(faq) if faq.isdigit() else None,
        )
    except HelplineError as exc:
        problems = problems_of(exc)
        fields = problems if isinstance(problems, dict) else {}
        return await inbox_page(
            page,
            service,
            tab,
            error=str(exc),
            problems=fields,
            failed_key=key_of(text) if fields else None,
            status_code=status_of(exc),
        )
    return back(tab, assign_message(result.example, result.faq_id, result.faq_changed))


@router.post("/dismiss")
async def dismiss(page: LearningPage, service: Learning) -> Response:
    form = await page.request.form()
    tab = str(form.get("tab") or "open")
    try:
        await asyncio.to_thread(service.dismiss, str(form.get("text") or ""), page.account)
    except HelplineError as exc:
        return await inbox_page(page, service, tab, error=str(exc), status_code=status_of(exc))
    return back(tab, "Đã bỏ qua câu này; xem lại trong mục «Đã bỏ qua».")


@router.post("/reopen")
async def reopen(page: LearningPage, service: Learning) -> Response:
    form = await page.request.form()
    try:
        await asyncio.to_thread(service.reopen, str(form.get("key") or ""))
    except HelplineError as exc:
        return await inbox_page(page, service, "dismissed", error=str(exc), status_code=status_of(exc))
    return back("dismissed", "Đã đưa câu này trở lại hộp thư.")


# --- import and export


async def data_page(
    page: Page,
    service: Learning,
    notice: str | None = None,
    error: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    """The import and export page, with ``notice`` after an import or ``error`` (and ``problems``) after a
    refused one."""
    examples = await asyncio.to_thread(service.examples)
    return page.render(
        "learning_data.html",
        {
            "examples": examples,
            "notice": notice,
            "error": error,
            "problems": problems or [],
            "max_mb": MAX_FILE_BYTES // 1_000_000,
        },
        status_code,
    )


@router.get("/data", response_class=HTMLResponse)
async def data(page: LearningPage, service: Learning) -> Response:
    return await data_page(page, service)


@router.get("/export/{what}.{fmt}")
async def export(page: LearningPage, service: Learning, what: str, fmt: str) -> Response:
    if what not in KIND_LABELS or fmt not in ("csv", "yml"):
        return page.error("Không có tệp này.", 404)
    return await asyncio.to_thread(export_file, service, what, fmt)


@router.post("/import")
async def import_file(page: LearningPage, service: Learning) -> Response:
    form = await page.request.form()
    try:
        return await _import(page, service, str(form.get("what") or ""), form.get("file"))
    finally:
        await form.close()  # the uploaded file's temporary copy


async def _import(page: Page, service: Learning, what: str, upload: Any) -> Response:
    if what not in KIND_LABELS:
        return await data_page(page, service, error="Hãy chọn loại dữ liệu cần nhập.", status_code=422)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await data_page(page, service, error="Hãy chọn tệp cần nhập.", status_code=422)
    name = upload.filename.lower()
    fmt: Literal["csv", "yaml"] | None = (
        "csv" if name.endswith(".csv") else "yaml" if name.endswith((".yml", ".yaml")) else None
    )
    if fmt is None:
        return await data_page(
            page, service, error="Chỉ nhập được tệp .csv, .yml hoặc .yaml.", status_code=422
        )
    content = await upload.read(MAX_FILE_BYTES + 1)
    work = service.import_faqs if what == "faqs" else service.import_training
    try:
        report = await asyncio.to_thread(work, content, fmt, page.account)
    except HelplineError as exc:
        problems = problems_of(exc)
        lines = problems if isinstance(problems, list) else []
        error = (
            f"Tệp «{upload.filename}» chưa được nhập, không có gì thay đổi. Cần sửa:" if lines else str(exc)
        )
        return await data_page(page, service, error=error, problems=lines, status_code=status_of(exc))
    return await data_page(page, service, notice=report.summary())
