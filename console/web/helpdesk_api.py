"""The help-desk parts of the officer console under ``/api`` (issue 14): private notes on a ticket,
canned replies (editors keep them, officers insert them), and the bot's own answer for the ticket's
procedure, to insert into a reply.

Same conventions as :mod:`console.web.api`: the console's session cookie, the ``X-CSRF-Token`` header on
every write, errors as ``{"detail": "..."}`` in Vietnamese.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from bot.core.domain import Intent
from bot.handoff.model import CannedReply, TicketNote
from bot.handoff.service import NOT_FOUND
from console.web.deps import AnyUser, Editor, EditorUser, Officer, RowId, Tickets
from console.web.errors import ApiRoute

TOPICS: dict[str, tuple[str, str]] = {
    "overview": (Intent.ASK_PROCEDURE_OVERVIEW, "Tổng quan thủ tục"),
    "documents": (Intent.ASK_DOCUMENTS, "Giấy tờ cần nộp"),
    "fee": (Intent.ASK_FEE, "Lệ phí"),
    "where": (Intent.ASK_WHERE, "Nơi nộp"),
    "time": (Intent.ASK_PROCESSING_TIME, "Thời gian giải quyết"),
    "steps": (Intent.ASK_STEPS, "Các bước thực hiện"),
}
"""What an officer may ask the bot about the ticket's procedure: topic -> (intent, label)."""


class NoteOut(BaseModel):
    """A private note on a ticket (officers only; never sent to the citizen)."""

    id: int
    officer_name: str | None
    text: str
    created_at: datetime


class NoteIn(BaseModel):
    """A new private note."""

    text: str = Field(min_length=1, max_length=2000)


class CannedOut(BaseModel):
    """A ready answer officers can insert into a reply."""

    id: int
    title: str
    text: str
    updated_by: str
    updated_at: datetime


class CannedIn(BaseModel):
    """A canned reply as an editor writes it."""

    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)


class BotAnswerOut(BaseModel):
    """What the bot answers about the ticket's procedure."""

    procedure: str
    topic: str
    text: str


def note_out(n: TicketNote) -> NoteOut:
    """The API shape of a :class:`TicketNote`."""
    return NoteOut(id=n.id, officer_name=n.officer_name, text=n.text, created_at=n.created_at)


def canned_out(c: CannedReply) -> CannedOut:
    """The API shape of a :class:`CannedReply`."""
    return CannedOut(id=c.id, title=c.title, text=c.text, updated_by=c.updated_by, updated_at=c.updated_at)


router = APIRouter(prefix="/api", tags=["officer console"], route_class=ApiRoute)


@router.get("/tickets/{ticket_id}/notes", response_model=list[NoteOut], summary="A ticket's private notes")
async def notes(ticket_id: RowId, user: Officer, tickets: Tickets) -> list[NoteOut]:
    return [note_out(n) for n in await asyncio.to_thread(tickets.notes, ticket_id)]


@router.post(
    "/tickets/{ticket_id}/notes",
    response_model=NoteOut,
    status_code=201,
    summary="Add a private note (not sent to the citizen)",
)
async def add_note(ticket_id: RowId, body: NoteIn, user: Officer, tickets: Tickets) -> NoteOut:
    return note_out(await asyncio.to_thread(tickets.add_note, ticket_id, user.id, body.text))


@router.get(
    "/tickets/{ticket_id}/bot-answer",
    response_model=BotAnswerOut,
    summary="The bot's answer about the ticket's procedure, to insert into a reply",
)
async def bot_answer(
    ticket_id: RowId,
    user: Officer,
    tickets: Tickets,
    editor: Editor,
    topic: Literal["overview", "documents", "fee", "where", "time", "steps"] = "overview",
) -> BotAnswerOut:
    ticket = await asyncio.to_thread(tickets.get, ticket_id)
    if ticket is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    if ticket.procedure is None:
        raise HTTPException(status_code=409, detail="Cuộc trò chuyện này chưa gắn với thủ tục nào.")
    text = await editor.bot_answer(ticket.procedure, TOPICS[topic][0], user)
    return BotAnswerOut(procedure=ticket.procedure, topic=topic, text=text)


@router.get("/canned-replies", response_model=list[CannedOut], summary="Canned replies")
async def canned_replies(user: AnyUser, tickets: Tickets) -> list[CannedOut]:
    return [canned_out(c) for c in await asyncio.to_thread(tickets.canned_replies)]


@router.post(
    "/canned-replies", response_model=CannedOut, status_code=201, summary="Add a canned reply (editors)"
)
async def add_canned(body: CannedIn, user: EditorUser, tickets: Tickets) -> CannedOut:
    saved = await asyncio.to_thread(tickets.save_canned_reply, None, body.title, body.text, user.display_name)
    return canned_out(saved)


@router.put("/canned-replies/{reply_id}", response_model=CannedOut, summary="Change a canned reply (editors)")
async def change_canned(reply_id: RowId, body: CannedIn, user: EditorUser, tickets: Tickets) -> CannedOut:
    saved = await asyncio.to_thread(
        tickets.save_canned_reply, reply_id, body.title, body.text, user.display_name
    )
    return canned_out(saved)


@router.delete("/canned-replies/{reply_id}", status_code=204, summary="Remove a canned reply (editors)")
async def delete_canned(reply_id: RowId, user: EditorUser, tickets: Tickets) -> Response:
    await asyncio.to_thread(tickets.delete_canned_reply, reply_id)
    return Response(status_code=204)
