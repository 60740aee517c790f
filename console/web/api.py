"""The officer JSON API under ``/api``: everything the console pages do, documented in OpenAPI.

Authentication is the console's signed session cookie (log in with ``POST /api/login`` or the login
page). Every POST needs the session's CSRF token in the ``X-CSRF-Token`` header; ``GET /api/csrf`` hands
it out. Errors answer ``{"detail": "..."}`` in Vietnamese (:mod:`console.web.errors`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from bot.handoff.model import Ticket, TicketMessage
from console.auth.sessions import client_address
from console.web.deps import AnyUser, Auth, Officer, RowId, Tickets
from console.web.errors import ApiRoute
from console.web.kit import readable_message


class UserOut(BaseModel):
    """The logged-in account."""

    id: int
    username: str
    display_name: str
    role: str


class CsrfOut(BaseModel):
    """The CSRF token to send in ``X-CSRF-Token``."""

    csrf_token: str


class LoginIn(BaseModel):
    """Credentials."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TicketOut(BaseModel):
    """A ticket in a list."""

    id: int
    channel: str
    chat_id: str
    status: Literal["waiting", "claimed", "closed"]
    reason: Literal["request_human", "repeated_fallback", "negative_rating"]
    owner_id: int | None
    owner_name: str | None
    procedure: str | None
    dossier_code: str | None
    created_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    outcome: str | None = Field(description="'closed' or 'handed_back' once closed")
    close_note: str | None
    rating: int | None
    position: int | None = Field(description="place in the waiting queue, 1 = next")
    last_text: str
    undelivered: int = Field(description="replies not delivered yet")
    first_question: str = Field("", description="the citizen's first message in words (no button presses)")
    procedure_name: str | None = Field(None, description="the name of the procedure, when known")
    unread: int = Field(0, description="citizen messages no officer has seen on the ticket's page")
    last_citizen_at: datetime | None = Field(None, description="when the citizen last wrote")


class MessageOut(BaseModel):
    """One message of a ticket."""

    id: int
    sender: Literal["citizen", "officer", "bot"]
    text: str
    display_text: str = Field(description="the text as an officer should read it (button presses in words)")
    created_at: datetime
    delivered: bool
    attempts: int
    last_error: str | None


class TicketDetailOut(BaseModel):
    """A ticket with its conversation."""

    ticket: TicketOut
    messages: list[MessageOut]


class SummaryOut(BaseModel):
    """Counts for the inbox tabs and the new-ticket badge."""

    waiting: int
    mine: int
    claimed: int
    newest_waiting_id: int | None


class ReplyIn(BaseModel):
    """An officer's reply."""

    text: str = Field(min_length=1, max_length=4000)


class NoteIn(BaseModel):
    """A closing or hand-back note (for the record; not sent to the citizen)."""

    note: str = Field(default="", max_length=2000)


def ticket_out(t: Ticket) -> TicketOut:
    """The API shape of a :class:`Ticket`."""
    return TicketOut(
        id=t.id,
        channel=t.key.channel,
        chat_id=t.key.chat_id,
        status=t.status,  # type: ignore[arg-type]
        reason=t.reason,  # type: ignore[arg-type]
        owner_id=t.owner_id,
        owner_name=t.owner_name,
        procedure=t.procedure,
        dossier_code=t.dossier_code,
        created_at=t.created_at,
        claimed_at=t.claimed_at,
        first_reply_at=t.first_reply_at,
        closed_at=t.closed_at,
        outcome=t.outcome,
        close_note=t.close_note,
        rating=t.rating,
        position=t.position,
        last_text=t.last_text,
        undelivered=t.undelivered,
        first_question=readable_message(t.first_question) if t.first_question else "",
        procedure_name=t.procedure_name,
        unread=t.unread,
        last_citizen_at=t.last_citizen_at,
    )


def message_out(m: TicketMessage) -> MessageOut:
    """The API shape of a :class:`TicketMessage`."""
    return MessageOut(
        id=m.id,
        sender=m.sender,  # type: ignore[arg-type]
        text=m.text,
        display_text=readable_message(m.text),
        created_at=m.created_at,
        delivered=m.delivered,
        attempts=m.attempts,
        last_error=m.last_error,
    )


router = APIRouter(prefix="/api", tags=["officer console"], route_class=ApiRoute)


@router.get("/csrf", response_model=CsrfOut, summary="CSRF token for POST requests")
async def csrf(request: Request, response: Response, auth: Auth) -> CsrfOut:
    token = auth.csrf_token(request)
    auth.save_if_new(request, response)
    return CsrfOut(csrf_token=token)


@router.post(
    "/login",
    response_model=UserOut,
    summary="Log in (sets the session cookie)",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "too many failures: wait"}},
)
async def login(body: LoginIn, request: Request, response: Response, auth: Auth) -> UserOut:
    await auth.check_csrf(request)
    address = client_address(request)
    result = await asyncio.to_thread(auth.logins.attempt, body.username, body.password, address)
    user = result.user
    if user is None:
        headers = {"Retry-After": str(result.retry_after)} if result.retry_after else None
        raise HTTPException(status_code=result.status_code, detail=result.message, headers=headers)
    await asyncio.to_thread(auth.login, response, user, address)
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role)


@router.post("/logout", status_code=204, summary="Log out (ends the session on the server)")
async def logout(request: Request, user: AnyUser, auth: Auth) -> Response:
    out = Response(status_code=204)
    await asyncio.to_thread(auth.logout, request, out)
    return out


@router.get("/me", response_model=UserOut, summary="The logged-in account")
async def me(user: AnyUser) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role)


@router.get("/tickets", response_model=list[TicketOut], summary="List tickets")
async def list_tickets(
    user: Officer,
    tickets: Tickets,
    status: Literal["waiting", "claimed", "closed"] = "waiting",
    mine: Annotated[bool, Query(description="only tickets owned by me")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TicketOut]:
    rows = await asyncio.to_thread(tickets.list, status, owner_id=user.id if mine else None, limit=limit)
    return [ticket_out(t) for t in rows]


@router.get("/tickets/summary", response_model=SummaryOut, summary="Counts for the inbox")
async def summary(user: Officer, tickets: Tickets) -> SummaryOut:
    counts = await asyncio.to_thread(tickets.counts, user.id)
    return SummaryOut(
        waiting=counts["waiting"],
        mine=counts["mine"],
        claimed=counts["claimed"],
        newest_waiting_id=counts["newest_waiting_id"] or None,
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetailOut, summary="A ticket and its messages")
async def detail(ticket_id: RowId, user: Officer, tickets: Tickets) -> TicketDetailOut:
    ticket = await asyncio.to_thread(tickets.get, ticket_id)
    if ticket is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy yêu cầu này.")
    messages = await asyncio.to_thread(tickets.messages, ticket_id)
    if messages:  # the officer's page shows these now (not one that arrived meanwhile)
        await asyncio.to_thread(tickets.mark_seen, ticket_id, max(m.id for m in messages))
    return TicketDetailOut(ticket=ticket_out(ticket), messages=[message_out(m) for m in messages])


@router.post("/tickets/{ticket_id}/claim", response_model=TicketOut, summary="Claim a waiting ticket")
async def claim(ticket_id: RowId, user: Officer, tickets: Tickets) -> TicketOut:
    return ticket_out(await tickets.claim(ticket_id, user.id))


@router.post(
    "/tickets/{ticket_id}/reply",
    response_model=MessageOut,
    summary="Reply to the citizen (delivered=false when it could not be delivered yet)",
)
async def reply(ticket_id: RowId, body: ReplyIn, user: Officer, tickets: Tickets) -> MessageOut:
    return message_out(await tickets.reply(ticket_id, user.id, body.text, admin=user.role == "admin"))


@router.post(
    "/tickets/{ticket_id}/messages/{message_id}/retry",
    response_model=MessageOut,
    summary="Try to deliver an undelivered message again now",
)
async def retry(ticket_id: RowId, message_id: RowId, user: Officer, tickets: Tickets) -> MessageOut:
    return message_out(await tickets.retry_now(ticket_id, message_id))


@router.post("/tickets/{ticket_id}/hand-back", response_model=TicketOut, summary="Hand back to the bot")
async def hand_back(
    ticket_id: RowId, user: Officer, tickets: Tickets, body: NoteIn | None = None
) -> TicketOut:
    note = body.note if body else ""
    return ticket_out(await tickets.hand_back(ticket_id, user.id, note, admin=user.role == "admin"))


@router.post("/tickets/{ticket_id}/close", response_model=TicketOut, summary="Close and ask for a rating")
async def close(ticket_id: RowId, body: NoteIn, user: Officer, tickets: Tickets) -> TicketOut:
    return ticket_out(await tickets.close(ticket_id, user.id, body.note, admin=user.role == "admin"))
