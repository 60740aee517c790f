"""What a ticket is, what may happen to it and why not: views, errors and the transition rules.

A ticket moves ``waiting -> claimed -> closed`` (or ``waiting -> closed`` when an officer closes it
unclaimed); nothing leaves ``closed``::

    waiting --claim (one officer wins)--> claimed --reply*--> claimed --hand back | close--> closed
       \\________________________________hand back | close_______________________________/

The rules below are pure: :class:`bot.handoff.service.TicketService` reads a row, asks them, and writes.
Their errors belong to the :mod:`bot.core.errors` tree and carry no HTTP status; the console gives
them their codes. Messages are plain Vietnamese, shown to the officer as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.errors import Conflict, Forbidden, NotFound
from bot.core.messages import ConversationKey

STATUSES = ("waiting", "claimed", "closed")
OPEN_STATUSES = ("waiting", "claimed")
"""A conversation has at most one ticket in these."""
SENDERS = ("citizen", "officer", "bot")

RATING_WINDOW = timedelta(days=3)
"""A rating given this long after a ticket was closed still counts for that ticket."""


@dataclass(frozen=True)
class Ticket:
    """A ticket as the console shows it.

    Attributes:
        reason: a :class:`bot.core.domain.TicketReason` value.
        position: place in the waiting queue (1 = next), None unless waiting.
        last_text: the latest message, for the inbox.
        undelivered: replies not delivered yet.
        outcome: ``"closed"`` or ``"handed_back"`` once closed.
        first_question: the citizen's first message in words (button presses left out), for the inbox.
        procedure_name: the name of ``procedure`` in the knowledge base, when known.
        unread: citizen messages no officer has seen on the ticket's page yet.
        last_citizen_at: when the citizen last wrote (None: never in this ticket).
    """

    id: int
    key: ConversationKey
    status: str
    reason: str
    owner_id: int | None
    owner_name: str | None
    procedure: str | None
    dossier_code: str | None
    created_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    close_note: str | None
    rating: int | None
    position: int | None = None
    last_text: str = ""
    undelivered: int = 0
    first_question: str = ""
    procedure_name: str | None = None
    unread: int = 0
    last_citizen_at: datetime | None = None


@dataclass(frozen=True)
class TicketMessage:
    """One message of a ticket."""

    id: int
    ticket_id: int
    sender: str
    text: str
    created_at: datetime
    delivered: bool
    attempts: int
    last_error: str | None
    officer_id: int | None = None


@dataclass(frozen=True)
class TicketNote:
    """A private note on a ticket, for officers only (never sent to the citizen)."""

    id: int
    ticket_id: int
    officer_id: int | None
    officer_name: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CannedReply:
    """A ready answer an officer can insert into a reply; editors keep the list."""

    id: int
    title: str
    text: str
    updated_by: str
    updated_at: datetime


# --- Errors --------------------------------------------------------------------------------------------


class TicketError(Conflict):
    """A ticket operation that is not allowed now (the ticket is closed, or was just claimed)."""


class TicketNotFound(NotFound):
    """No ticket (or ticket message) with this id."""


class NotYourTicket(Forbidden):
    """The ticket belongs to another officer (or must be claimed first)."""


CLOSED = "Yêu cầu này đã đóng."
OTHER_OFFICER = "Yêu cầu này do cán bộ khác xử lý."


# --- Transition rules ------------------------------------------------------------------------------------


def check_reply(status: str, owner_id: int | None, officer_id: int, *, admin: bool = False) -> None:
    """May ``officer_id`` reply to a ticket in ``status`` owned by ``owner_id``? Only its owner (or an
    admin) may, and only while it is claimed.

    Raises:
        TicketError: the ticket is closed.
        NotYourTicket: it is still waiting (claim it first) or another officer owns it.
    """
    if status == "closed":
        raise TicketError(CLOSED)
    if status == "waiting":
        raise NotYourTicket("Bạn cần bấm “Nhận xử lý” trước khi trả lời.")
    if owner_id != officer_id and not admin:
        raise NotYourTicket(OTHER_OFFICER)


def check_end(status: str, owner_id: int | None, officer_id: int, *, admin: bool = False) -> None:
    """May ``officer_id`` hand back or close the ticket? Anyone may end a waiting one; a claimed one
    only its owner (or an admin).

    Raises:
        TicketError: the ticket is already closed.
        NotYourTicket: another officer owns it.
    """
    if status == "closed":
        raise TicketError(CLOSED)
    if status == "claimed" and owner_id != officer_id and not admin:
        raise NotYourTicket(OTHER_OFFICER)


def check_lost_claim(ticket: Ticket, officer_id: int) -> None:
    """A claim that changed no row (the ticket was no longer waiting): fine only when ``officer_id``
    already owns it (a second click).

    Raises:
        TicketError: another officer claimed it first, or it is closed.
    """
    if ticket.status == "claimed" and ticket.owner_id == officer_id:
        return
    if ticket.status == "claimed":
        who = f" bởi {ticket.owner_name}" if ticket.owner_name else ""
        raise TicketError(f"Yêu cầu này đã được nhận xử lý{who}.")
    raise TicketError(CLOSED)


def check_rating(rating: int) -> None:
    """Raises ValueError unless ``rating`` is 1 to 5."""
    if not 1 <= rating <= 5:
        raise ValueError("a rating is 1 to 5")
