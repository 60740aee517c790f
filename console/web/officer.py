"""The officer console pages under ``/console``: login, inbox, ticket. Jinja2 templates and plain JS.

Every page works without JavaScript (forms POST and redirect back); ``console.js`` adds the live parts:
the inbox and the ticket page poll the JSON API (:mod:`console.web.api`) every few seconds, and a new
waiting ticket shows in the page title (``(3) Hộp thư cán bộ``), as a badge, and as a desktop
notification when the officer allowed them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bot.core.errors import HelplineError
from bot.core.timeutil import utcnow
from console.auth.sessions import client_address
from console.web.deps import OFFICER_ROLES, Auth, RowId, Tickets, Zone, signed_in
from console.web.errors import status_of
from console.web.helpdesk_api import TOPICS
from console.web.kit import LOGIN_URL, Page, PageRoute, console_templates, open_page
from console.web.labels import REASON_LABELS

STATIC = Path(__file__).resolve().parent.parent / "static"
TABS = {"waiting": "Đang chờ", "mine": "Của tôi", "closed": "Đã đóng"}
STATUS_LABELS = {"waiting": "Đang chờ", "claimed": "Đang xử lý", "closed": "Đã đóng"}
SENDER_LABELS = {"citizen": "Người dân", "officer": "Cán bộ", "bot": "Trợ lý ảo"}
_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}


def waited(since: datetime | None) -> str:
    """How long ago ``since`` was, as an officer says it ("dưới 1 phút", "12 phút", "1 giờ 5 phút", "2 ngày")."""
    if since is None:
        return ""
    minutes = max(0, int((utcnow() - since).total_seconds() // 60))
    if minutes < 1:
        return "dưới 1 phút"
    if minutes < 60:
        return f"{minutes} phút"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} giờ {rest} phút" if rest else f"{hours} giờ"
    return f"{hours // 24} ngày"


templates = console_templates(
    TABS=TABS, REASON_LABELS=REASON_LABELS, STATUS_LABELS=STATUS_LABELS, SENDER_LABELS=SENDER_LABELS
)
templates.env.filters["waited"] = waited
router = APIRouter(prefix="/console", include_in_schema=False, route_class=PageRoute)


async def officer_page(request: Request, auth: Auth, zone: Zone) -> Page:
    """A page for an officer (or admin)."""
    return await open_page(
        request,
        auth,
        zone,
        templates,
        roles=OFFICER_ROLES,
        forbidden="Tài khoản của bạn không có quyền xem hộp thư.",
    )


OfficerPage = Annotated[Page, Depends(officer_page)]


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    if name not in _STATIC:
        raise HTTPException(status_code=404)
    return FileResponse(STATIC / name, media_type=_STATIC[name])


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, auth: Auth, zone: Zone) -> Response:
    if await signed_in(request, auth) is not None:
        return RedirectResponse("/console", status_code=303)
    return Page(request, auth, templates, zone).render("login.html", {"error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, auth: Auth, zone: Zone, username: str = Form(""), password: str = Form("")
) -> Response:
    await auth.check_csrf(request)
    address = client_address(request)
    result = await asyncio.to_thread(auth.logins.attempt, username[:64], password[:256], address)
    user = result.user
    if user is None:
        page = Page(request, auth, templates, zone).render(
            "login.html", {"error": result.message, "username": username[:64]}, status_code=result.status_code
        )
        if result.retry_after:
            page.headers["Retry-After"] = str(result.retry_after)
        return page
    # Editors who do not answer tickets land on their own console.
    editor_only = user.has_role("editor") and not user.has_role(*OFFICER_ROLES)
    home = "/console/editor" if editor_only else "/console"
    response = RedirectResponse(home, status_code=303)
    await asyncio.to_thread(auth.login, response, user, address)
    return response


@router.post("/logout")
async def logout(request: Request, auth: Auth) -> Response:
    await auth.check_csrf(request)
    response = RedirectResponse(LOGIN_URL, status_code=303)
    await asyncio.to_thread(auth.logout, request, response)
    return response


@router.get("", response_class=HTMLResponse)
async def inbox(page: OfficerPage, tickets: Tickets, tab: str = "waiting") -> Response:
    user = page.account
    tab = tab if tab in TABS else "waiting"
    if tab == "mine":
        rows = await asyncio.to_thread(tickets.list, "claimed", owner_id=user.id)
    else:
        rows = await asyncio.to_thread(tickets.list, tab)
    counts = await asyncio.to_thread(tickets.counts, user.id)
    return page.render("inbox.html", {"tab": tab, "tickets": rows, "counts": counts})


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    page: OfficerPage, tickets: Tickets, ticket_id: RowId, error: str | None = None
) -> Response:
    return await _ticket(page, tickets, ticket_id, error)


@router.post("/tickets/{ticket_id}/claim")
async def claim(page: OfficerPage, tickets: Tickets, ticket_id: RowId) -> Response:
    return await _act(page, tickets, ticket_id, tickets.claim(ticket_id, page.account.id))


@router.post("/tickets/{ticket_id}/reply")
async def reply(page: OfficerPage, tickets: Tickets, ticket_id: RowId, text: str = Form("")) -> Response:
    user = page.account
    done = tickets.reply(ticket_id, user.id, text[:4000], admin=user.role == "admin")
    return await _act(page, tickets, ticket_id, done)


@router.post("/tickets/{ticket_id}/messages/{message_id}/retry")
async def retry(page: OfficerPage, tickets: Tickets, ticket_id: RowId, message_id: RowId) -> Response:
    return await _act(page, tickets, ticket_id, tickets.retry_now(ticket_id, message_id))


@router.post("/tickets/{ticket_id}/hand-back")
async def hand_back(page: OfficerPage, tickets: Tickets, ticket_id: RowId, note: str = Form("")) -> Response:
    user = page.account
    done = tickets.hand_back(ticket_id, user.id, note[:2000], admin=user.role == "admin")
    return await _act(page, tickets, ticket_id, done)


@router.post("/tickets/{ticket_id}/notes")
async def add_note(page: OfficerPage, tickets: Tickets, ticket_id: RowId, text: str = Form("")) -> Response:
    """A private note: stored on the ticket for officers, never sent to the citizen."""
    return await _act(
        page, tickets, ticket_id, asyncio.to_thread(tickets.add_note, ticket_id, page.account.id, text)
    )


@router.post("/tickets/{ticket_id}/close")
async def close(page: OfficerPage, tickets: Tickets, ticket_id: RowId, note: str = Form("")) -> Response:
    user = page.account
    done = tickets.close(ticket_id, user.id, note[:2000], admin=user.role == "admin")
    return await _act(page, tickets, ticket_id, done)


async def _ticket(
    page: Page, tickets: Tickets, ticket_id: RowId, error: str | None, status: int = 200
) -> Response:
    ticket = await asyncio.to_thread(tickets.get, ticket_id)
    if ticket is None:
        return page.error("Không tìm thấy yêu cầu này.", 404)
    messages = await asyncio.to_thread(tickets.messages, ticket_id)
    if messages:  # the page shows them: no longer unread
        await asyncio.to_thread(tickets.mark_seen, ticket_id, max(m.id for m in messages))
    notes = await asyncio.to_thread(tickets.notes, ticket_id)
    canned = await asyncio.to_thread(tickets.canned_replies)
    user = page.account
    counts = await asyncio.to_thread(tickets.counts, user.id)
    mine = ticket.status == "claimed" and (ticket.owner_id == user.id or user.role == "admin")
    values = {"ticket": ticket, "messages": messages, "counts": counts, "mine": mine, "error": error}
    values.update(notes=notes, canned=canned, topics=TOPICS)
    return page.render("ticket.html", values, status)


async def _act(page: Page, tickets: Tickets, ticket_id: RowId, action: Awaitable[Any]) -> Response:
    """Run an officer's action on a ticket; back to the ticket, or the ticket page with the refusal."""
    try:
        await action
    except HelplineError as exc:
        return await _ticket(page, tickets, ticket_id, str(exc), status_of(exc))
    return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)
