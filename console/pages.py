"""The officer console pages under ``/console``: login, inbox, ticket. Jinja2 templates and plain JS.

Every page works without JavaScript (forms POST and redirect back); ``console.js`` adds the live parts:
the inbox and the ticket page poll the JSON API every few seconds, and a new waiting ticket shows in
the page title (``(3) Hộp thư cán bộ``), as a badge, and as a desktop notification when the officer
allowed them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from console.api import OFFICER_ROLES
from console.auth.sessions import ConsoleAuth
from console.auth.users import User
from console.tickets import TicketError, TicketService
from console.web import PageKit, console_templates

HERE = Path(__file__).resolve().parent
TABS = {"waiting": "Đang chờ", "mine": "Của tôi", "closed": "Đã đóng"}
REASON_LABELS = {
    "request_human": "Người dân muốn gặp cán bộ",
    "repeated_fallback": "Trợ lý ảo không hiểu câu hỏi",
    "negative_rating": "Người dân chấm điểm thấp",
}
STATUS_LABELS = {"waiting": "Đang chờ", "claimed": "Đang xử lý", "closed": "Đã đóng"}
SENDER_LABELS = {"citizen": "Người dân", "officer": "Cán bộ", "bot": "Trợ lý ảo"}
_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}


def _templates(zone: ZoneInfo) -> Jinja2Templates:
    templates = console_templates(zone)
    templates.env.globals.update(
        TABS=TABS, REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS, SENDER_LABELS=SENDER_LABELS
    )
    return templates


def console_router(
    tickets: TicketService, auth: ConsoleAuth, *, timezone: str = "Asia/Ho_Chi_Minh"
) -> APIRouter:
    """The ``/console`` pages over ``tickets``, authenticated by ``auth``."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    templates = _templates(ZoneInfo(timezone))

    pages = PageKit(
        templates, auth, roles=OFFICER_ROLES, forbidden="Tài khoản của bạn không có quyền xem hộp thư."
    )
    render, officer_or_redirect, officer_post = pages.render, pages.user_or_redirect, pages.checked_post

    @router.get("/static/{name}")
    async def static(name: str) -> FileResponse:
        if name not in _STATIC:
            raise HTTPException(status_code=404)
        return FileResponse(HERE / "static" / name, media_type=_STATIC[name])

    @router.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        if auth.user(request) is not None:
            return RedirectResponse("/console", status_code=303)
        return render(request, "login.html", {"error": None, "username": ""})

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request, username: str = Form(""), password: str = Form("")) -> Response:
        await auth.check_csrf(request)
        user = await asyncio.to_thread(auth.users.authenticate, username, password)
        if user is None:
            return render(
                request,
                "login.html",
                {"error": "Tên đăng nhập hoặc mật khẩu không đúng.", "username": username},
                status_code=401,
            )
        # Editors who do not answer tickets land on their own console.
        editor_only = user.has_role("editor") and not user.has_role(*OFFICER_ROLES)
        home = "/console/editor" if editor_only else "/console"
        response = RedirectResponse(home, status_code=303)
        auth.login(response, user)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await auth.check_csrf(request)
        response = RedirectResponse("/console/login", status_code=303)
        auth.logout(response)
        return response

    @router.get("", response_class=HTMLResponse)
    async def inbox(request: Request, tab: str = "waiting") -> Response:
        user = officer_or_redirect(request)
        if not isinstance(user, User):
            return user
        tab = tab if tab in TABS else "waiting"
        if tab == "mine":
            rows = await asyncio.to_thread(tickets.list, "claimed", owner_id=user.id)
        else:
            rows = await asyncio.to_thread(tickets.list, tab)
        counts = await asyncio.to_thread(tickets.counts, user.id)
        return render(request, "inbox.html", {"user": user, "tab": tab, "tickets": rows, "counts": counts})

    @router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
    async def ticket_page(request: Request, ticket_id: int, error: str | None = None) -> Response:
        user = officer_or_redirect(request)
        if not isinstance(user, User):
            return user
        return await _ticket(request, user, ticket_id, error)

    async def _ticket(
        request: Request, user: User, ticket_id: int, error: str | None, status: int = 200
    ) -> Response:
        ticket = await asyncio.to_thread(tickets.get, ticket_id)
        if ticket is None:
            return render(
                request, "error.html", {"user": user, "message": "Không tìm thấy yêu cầu này."}, 404
            )
        messages = await asyncio.to_thread(tickets.messages, ticket_id)
        counts = await asyncio.to_thread(tickets.counts, user.id)
        mine = ticket.status == "claimed" and (ticket.owner_id == user.id or user.role == "admin")
        return render(
            request,
            "ticket.html",
            {
                "user": user,
                "ticket": ticket,
                "messages": messages,
                "counts": counts,
                "mine": mine,
                "error": error,
            },
            status,
        )

    async def _act(request: Request, ticket_id: int, action: Any) -> Response:
        user = await officer_post(request)
        if not isinstance(user, User):
            return user
        try:
            await action(user)
        except TicketError as exc:
            return await _ticket(request, user, ticket_id, str(exc), exc.status)
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    @router.post("/tickets/{ticket_id}/claim")
    async def claim(request: Request, ticket_id: int) -> Response:
        return await _act(request, ticket_id, lambda u: asyncio.to_thread(tickets.claim, ticket_id, u.id))

    @router.post("/tickets/{ticket_id}/reply")
    async def reply(request: Request, ticket_id: int, text: str = Form("")) -> Response:
        return await _act(
            request, ticket_id, lambda u: tickets.reply(ticket_id, u.id, text[:4000], admin=u.role == "admin")
        )

    @router.post("/tickets/{ticket_id}/messages/{message_id}/retry")
    async def retry(request: Request, ticket_id: int, message_id: int) -> Response:
        return await _act(request, ticket_id, lambda u: tickets.retry_now(ticket_id, message_id))

    @router.post("/tickets/{ticket_id}/hand-back")
    async def hand_back(request: Request, ticket_id: int, note: str = Form("")) -> Response:
        return await _act(
            request,
            ticket_id,
            lambda u: tickets.hand_back(ticket_id, u.id, note[:2000], admin=u.role == "admin"),
        )

    @router.post("/tickets/{ticket_id}/close")
    async def close(request: Request, ticket_id: int, note: str = Form("")) -> Response:
        return await _act(
            request, ticket_id, lambda u: tickets.close(ticket_id, u.id, note[:2000], admin=u.role == "admin")
        )

    return router
