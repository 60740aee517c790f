"""The Rasa REST channel protocol: ``POST /webhooks/rest/webhook``, and the web chat's session.

Request ``{"sender": "...", "message": "..."}``; response a JSON list of
``{"recipient_id", "text", "buttons": [{"title", "payload"}]}`` — the shape Rasa's ``RestInput`` returns,
so Rasa-compatible web widgets work against this server unchanged. A button's payload sent back as the
message is understood by the engine.

**Whose conversation a request speaks in.** The public page cannot be trusted with a ``sender`` of its
choosing (anyone could then read another citizen's officer replies, or act in their conversation), so
the server issues each browser a web-chat session: a random token in an ``HttpOnly``, ``SameSite=Strict``
cookie (``Secure`` behind HTTPS), kept for :data:`SESSION_MAX_AGE` and renewed on use. The conversation
is ``"web-"`` and the first 32 hex digits of the token's SHA-256, so the id officers see cannot be
turned back into the cookie, and no client-chosen string can name another conversation; the ``sender``
in the body is then ignored. Only a trusted API client may name the sender, as Rasa's REST channel
lets every client do: one presenting the Rasa HTTP API's token (``HELPLINE_RASA_AUTH_TOKEN``, as
``Authorization: Bearer ...`` or Rasa's ``?token=...``), which can already read and write every
conversation through ``/conversations/{id}/...``. Without that token set, no client may.

As lenient as Rasa 3.6: no sender (or an empty one) is Rasa's ``"default"``, a number as sender or
message is read as its text, ``metadata`` is kept with the message. ``?stream=true`` answers as Rasa
does, ``text/event-stream`` with one JSON message per line. A reply with an image or custom JSON (an
external action server's) gets them as separate messages after its text, as Rasa's output channels
send them (``{"recipient_id", "image"}``, ``{"recipient_id", "custom"}``).

The web chat's own routes: ``GET /webhooks/rest/poll?after=SEQ`` (messages that reach the page outside
a request: an officer's replies, a dossier's news) and ``GET /webhooks/rest/history`` (the
conversation as the page showed it, to restore it after a reload).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import numbers
import re
import secrets
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import JSON, DateTime, Index, Integer, String, delete, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.channels.base import DeliveryError, MessageHandler
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.rasa import DEFAULT_SENDER_ID
from bot.core.redact import redact
from knowledge.db import Base

log = logging.getLogger(__name__)
CHANNEL = "rest"
MAX_MESSAGE_CHARS = 4000
HISTORY_LIMIT = 200
"""The most messages the history of a conversation gives back (the newest)."""
TURN_DONE = "turn_done"
"""The transcript's mark of a turn that answered nothing (its message was handed to the officer), so a
resend of that message is not handled twice; never shown."""
RESEND_WAIT = 15.0
"""Seconds a resent message waits for the replies of its first try, still running, before it is taken
for failed and answered anew."""

SESSION_COOKIE = "helpline_chat"
SESSION_PATH = "/webhooks/rest"
SESSION_MAX_AGE = int(timedelta(days=7).total_seconds())
"""A web-chat session lives as long as the outbox keeps its messages, renewed on each message sent."""
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

Via = Literal["push", "reply", "user"]
"""How an outbox entry reached the page: pushed (the poll fetches it), a reply in the response to the
page's request, or the citizen's own message (both only for the history)."""


class RestMessage(BaseModel):
    """Body of a REST channel post (read as leniently as Rasa reads it).

    ``title`` is the web chat's own: what the page showed for a button's payload, kept for the history.
    """

    sender: str = Field(default=DEFAULT_SENDER_ID, min_length=1, max_length=128)
    message: str = Field(default="", max_length=20_000)
    message_id: str | None = Field(default=None, max_length=128)
    resend: bool = False
    """The web chat's "Gửi lại": the same message (same ``message_id``) sent again after its response was
    lost; only then is the transcript searched for the first try's answer."""
    metadata: dict[str, Any] | None = None
    title: str | None = Field(default=None, max_length=500)

    @field_validator("sender", mode="before")
    @classmethod
    def _sender(cls, value: Any) -> Any:
        # Rasa: a missing sender is "default", anything else is str(sender)
        if value is None or value == "":
            return DEFAULT_SENDER_ID
        return _number_as_text(value)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Any:
        return "" if value is None else _number_as_text(value)

    @field_validator("message_id", mode="before")
    @classmethod
    def _message_id(cls, value: Any) -> Any:
        return _number_as_text(value)


def _number_as_text(value: Any) -> Any:
    """A number (not a bool) as its text; anything else as it is, for the model to check."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    return value


def to_rest(message: OutboundMessage) -> dict[str, object]:
    """One reply in Rasa's REST response shape (links are appended to the text)."""
    text = message.text
    if message.links:
        text += "\n" + "\n".join(f"{title}: {url}" for title, url in message.links)
    out: dict[str, object] = {"recipient_id": message.key.chat_id, "text": text}
    if message.buttons:
        out["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
    if message.sender != "bot":
        out["custom"] = {"sender": message.sender}
    return out


def rest_messages(message: OutboundMessage) -> list[dict[str, object]]:
    """A reply as Rasa's REST channel sends it: the text (with buttons), then its image and its custom
    JSON each as a message of its own."""
    out: list[dict[str, object]] = []
    if message.text or message.buttons or message.links or not (message.image or message.custom):
        out.append(to_rest(message))
    if message.image:
        out.append({"recipient_id": message.key.chat_id, "image": message.image})
    if message.custom:
        out.append({"recipient_id": message.key.chat_id, "custom": dict(message.custom)})
    return out


def _custom(message: dict[str, Any]) -> dict[str, Any]:
    custom = message.get("custom")
    return custom if isinstance(custom, dict) else {}


def _in_reply_to(message: dict[str, object], message_id: str | None) -> dict[str, object]:
    """``message`` as the transcript keeps it: with the id of the page's message it answers (so a resend
    of that message gets it again), when the page gave one."""
    if message_id is None:
        return message
    return {**message, "custom": {**_custom(message), "in_reply_to": message_id}}


def _masked_text(message: dict[str, object]) -> dict[str, object]:
    text = message.get("text")
    return {"text": redact(text)} if isinstance(text, str) else {}


def _with_seq(data: dict[str, Any], seq: int) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "via"}
    out["custom"] = {**(out.get("custom") or {}), "seq": seq}
    return out


class RestOutbox:
    """Output channel for messages that reach a web-chat user outside a request (officer replies), and
    the transcript of what the page showed (for its history after a reload).

    The page polls ``GET /webhooks/rest/poll?after=SEQ``; each message carries a sequence number in
    ``custom.seq`` so nothing is shown twice. This one keeps them in memory per chat (bounded), for tests
    and fakes; the server uses :class:`SqlRestOutbox`, which survives restarts.
    """

    name = CHANNEL

    def __init__(self, per_chat: int = 200) -> None:
        self._seq = itertools.count(1)
        self._queues: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(
            lambda: deque(maxlen=per_chat)
        )
        self._lock = asyncio.Lock()

    async def _add(self, chat_id: str, entries: list[dict[str, Any]]) -> None:
        async with self._lock:
            for entry in entries:
                self._queues[chat_id].append((next(self._seq), entry))

    async def _entries(self, chat_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        async with self._lock:
            return [(seq, dict(e)) for seq, e in self._queues.get(chat_id, ()) if seq > after]

    async def send(self, message: OutboundMessage) -> None:
        """Queue a message for the chat's next poll."""
        await self._add(message.key.chat_id, [{**to_rest(message), "via": "push"}])

    async def record(self, chat_id: str, messages: list[dict[str, object]], via: Via) -> None:
        """Keep what the page already showed (the citizen's message, the replies to it) for its history,
        with ID and phone numbers masked: the page has shown them whole already."""
        await self._add(chat_id, [{**m, **_masked_text(m), "via": via} for m in messages])

    async def pending(self, chat_id: str, after: int) -> list[dict[str, object]]:
        """Pushed messages for ``chat_id`` newer than ``after``, in REST shape with ``custom.seq``."""
        entries = await self._entries(chat_id, after)
        return [_with_seq(e, seq) for seq, e in entries if e.get("via", "push") == "push"]

    async def history(self, chat_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, object]]:
        """The newest ``limit`` messages of the conversation in order, each with ``custom.seq`` and
        ``custom.sender`` (``user``, ``bot`` or ``officer``)."""
        entries = (await self._entries(chat_id, 0))[-limit:]
        return [_with_seq(e, seq) for seq, e in entries]


class WebOutboxRow(Base):
    """A message waiting for (or already fetched by) a web-chat page's poll, or one of its transcript."""

    __tablename__ = "web_outbox"
    __table_args__ = (Index("ix_web_outbox_chat_id_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(128))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


_HOLD_CHAT = sql_text(
    "SELECT pg_advisory_xact_lock(hashtextextended('web_outbox/' || current_schema() || '/' || :chat_id, 0))"
)
"""Held by a transaction writing a chat's rows until it ends (PostgreSQL; see :class:`SqlRestOutbox`)."""


class SqlRestOutbox(RestOutbox):
    """The web chat's outbox in the database, so an officer's reply survives a server restart.

    Same protocol as :class:`RestOutbox`; the sequence number is the row id. Rows older than ``keep``
    are pruned now and then. How an entry reached the page is its message's ``via`` key (rows written
    before it existed are pushed ones).

    The page asks for the rows after the last id it saw, so a chat's rows must become visible in the
    order of their ids. On PostgreSQL ids come from a sequence when a row is inserted, and two
    transactions writing to one chat at once (an officer's reply and a dossier notice, on two processes)
    may commit the lower id last: a poll between the two commits moved past it, and the page never
    showed it. So a transaction writing a chat's rows first takes the chat's transaction-level advisory
    lock (kept until it commits): the next writer of the chat takes its ids after that commit. SQLite
    lets one writer at a time anyway.
    """

    def __init__(self, sessions: sessionmaker[Session], keep: timedelta = timedelta(days=7)) -> None:
        super().__init__()
        self._sessions = sessions
        self._keep = keep
        self._sent = 0

    def _insert(self, chat_id: str, entries: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(_HOLD_CHAT, {"chat_id": chat_id})
            session.add_all(WebOutboxRow(chat_id=chat_id, message=e, created_at=now) for e in entries)
            self._sent += len(entries)
            if self._sent >= 500:
                self._sent = 0
                session.execute(delete(WebOutboxRow).where(WebOutboxRow.created_at < now - self._keep))

    def _select(
        self, chat_id: str, after: int, pushed_only: bool, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        query = select(WebOutboxRow.id, WebOutboxRow.message).where(
            WebOutboxRow.chat_id == chat_id, WebOutboxRow.id > after
        )
        if pushed_only:
            via = func.coalesce(WebOutboxRow.message["via"].as_string(), "push")
            query = query.where(via == "push").order_by(WebOutboxRow.id).limit(limit)
        else:
            query = query.order_by(WebOutboxRow.id.desc()).limit(limit)
        with self._sessions() as session:
            rows = session.execute(query).all()
        return sorted((int(r.id), dict(r.message)) for r in rows)

    async def _add(self, chat_id: str, entries: list[dict[str, Any]]) -> None:
        try:
            await asyncio.to_thread(self._insert, chat_id, entries)
        except Exception as exc:
            raise DeliveryError(f"web chat outbox unavailable: {type(exc).__name__}", retryable=True) from exc

    async def pending(self, chat_id: str, after: int) -> list[dict[str, object]]:
        rows = await asyncio.to_thread(self._select, chat_id, after, True, 200)
        return [_with_seq(data, seq) for seq, data in rows]

    async def history(self, chat_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, object]]:
        rows = await asyncio.to_thread(self._select, chat_id, 0, False, limit)
        return [_with_seq(data, seq) for seq, data in rows]


# --- who is speaking ---------------------------------------------------------------------------------


def web_sender(token: str) -> str:
    """The conversation id of a web-chat session token (one way: the id does not give the token)."""
    return "web-" + hashlib.sha256(token.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Speaker:
    """Whose conversation a request speaks in.

    Attributes:
        sender: the conversation id (``chat_id``).
        web: a web-chat session (its transcript is kept for the page's history).
        token: the session token to (re)set as the cookie (None for a trusted API client).
    """

    sender: str
    web: bool
    token: str | None = None


class WebChatSessions:
    """The web chat's server-issued sessions, and the trusted API clients that may name a sender.

    Args:
        api_token: the token of trusted API clients (the Rasa HTTP API's); empty: nobody names a sender.
        secure_cookie: mark the cookie ``Secure`` (the site is served over HTTPS).
        raw_senders: every client names its sender, as Rasa's own REST channel allows (for a router
            behind a gateway of its own, and the protocol's tests); never the public server's setting.
    """

    def __init__(self, api_token: str = "", *, secure_cookie: bool = False, raw_senders: bool = False):
        self._api_token = api_token
        self._secure = secure_cookie
        self._raw = raw_senders

    def trusted(self, request: Request) -> bool:
        """Whether the request comes from a client that may name any sender."""
        if self._raw:
            return True
        if not self._api_token:
            return False
        header = request.headers.get("authorization", "")
        offered = (
            header[7:].strip() if header[:7].lower() == "bearer " else request.query_params.get("token", "")
        )
        return bool(offered) and hmac.compare_digest(offered.encode(), self._api_token.encode())

    def session_sender(self, request: Request) -> str | None:
        """The conversation of the request's session cookie, if it carries a well-formed one."""
        token = request.cookies.get(SESSION_COOKIE, "")
        return web_sender(token) if _TOKEN_RE.fullmatch(token) else None

    def known(self, request: Request, named: str | None) -> Speaker | None:
        """The request's conversation, if it has one: the ``named`` sender for a trusted client, else its
        session's (None without a session)."""
        if named is not None and self.trusted(request):
            return Speaker(named, web=False)
        sender = self.session_sender(request)
        if sender is None:
            return None
        return Speaker(sender, web=True, token=request.cookies[SESSION_COOKIE])

    def speaker(self, request: Request, named: str | None) -> Speaker:
        """The request's conversation, as :meth:`known`; a new session when it has none."""
        speaker = self.known(request, named)
        if speaker is not None:
            return speaker
        token = secrets.token_urlsafe(32)
        return Speaker(web_sender(token), web=True, token=token)

    def set_cookie(self, response: Response, speaker: Speaker) -> None:
        """(Re)set the session cookie, so a session in use does not expire."""
        if speaker.token is None:
            return
        response.set_cookie(
            SESSION_COOKIE,
            speaker.token,
            max_age=SESSION_MAX_AGE,
            path=SESSION_PATH,
            httponly=True,
            samesite="strict",
            secure=self._secure,
        )


# --- the routes --------------------------------------------------------------------------------------


def rest_router(
    handler: MessageHandler, outbox: RestOutbox | None = None, sessions: WebChatSessions | None = None
) -> APIRouter:
    """The REST channel routes, answering with the engine's replies to each message.

    Args:
        handler: the engine (with the hand-off's recorder) a message goes to.
        outbox: officers' replies waiting for the page, and the page's transcript.
        sessions: whose conversation a request speaks in; by default web-chat sessions only (no client
            names its sender).
    """
    router = APIRouter()
    outbox = outbox or RestOutbox()
    sessions = sessions or WebChatSessions()

    async def keep(speaker: Speaker, messages: list[dict[str, object]], via: Via) -> None:
        if not (speaker.web and messages):
            return
        try:
            await outbox.record(speaker.sender, messages, via)
        except DeliveryError as exc:  # the citizen still gets the answer; only a reload would miss it
            log.warning("web chat transcript not kept: %s", exc)

    async def answered_before(speaker: Speaker, message_id: str) -> list[dict[str, Any]] | None:
        """The replies the page was given for ``message_id`` when it sends the message again (its "Gửi
        lại" after the response was lost on the way), or None when the server never received it. While
        the first turn is still running (its replies not kept yet) this waits for them, up to
        :data:`RESEND_WAIT` seconds; after that the first try is taken for failed and None is returned."""
        deadline = asyncio.get_running_loop().time() + RESEND_WAIT
        while True:
            entries = await outbox.history(speaker.sender)
            if not any(_custom(e).get("message_id") == message_id for e in entries):
                return None
            replies = [e for e in entries if _custom(e).get("in_reply_to") == message_id]
            if replies:  # the first try finished (a turn with no reply, the officer's chat, leaves a mark)
                return [e for e in replies if not _custom(e).get(TURN_DONE)]
            if asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(0.25)

    @router.get("/webhooks/rest/poll")
    async def poll(
        request: Request, sender: str | None = None, after: int = Query(0, ge=0, le=2**63 - 1)
    ) -> JSONResponse:
        speaker = sessions.known(request, sender[:128] if sender else None)
        if speaker is None:
            return JSONResponse([])
        return JSONResponse(await outbox.pending(speaker.sender, after))

    @router.get("/webhooks/rest/history")
    async def history(request: Request, sender: str | None = None) -> JSONResponse:
        """The conversation as the page showed it (the newest messages), and the poll's starting point."""
        speaker = sessions.speaker(request, sender[:128] if sender else None)
        entries = await outbox.history(speaker.sender)
        seq = max((int(m["custom"]["seq"]) for m in entries), default=0)  # type: ignore[index]
        messages = [m for m in entries if not _custom(m).get(TURN_DONE)]
        response = JSONResponse({"messages": messages, "after": seq})
        sessions.set_cookie(response, speaker)
        return response

    @router.get("/webhooks/rest/")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/webhooks/rest/webhook", response_model=None)
    async def receive(request: Request, stream: str = "false") -> JSONResponse | StreamingResponse:
        try:
            body = RestMessage.model_validate(await request.json())
        except (ValueError, ValidationError):
            return JSONResponse(
                {"error": "Yêu cầu không hợp lệ: cần JSON có 'sender' và 'message'."}, status_code=400
            )
        speaker = sessions.speaker(request, body.sender)
        text = body.message[:MAX_MESSAGE_CHARS]
        inbound = InboundMessage(
            key=ConversationKey(CHANNEL, speaker.sender),
            text=text,
            message_id=body.message_id,
            is_button=text.startswith("/"),
            metadata=dict(body.metadata or {}),
        )
        resent = body.message_id if speaker.web and body.message_id else None
        if resent is not None and body.resend:
            earlier = await answered_before(speaker, resent)
            if earlier is not None:  # "Gửi lại" after a lost response: the same answer, no second turn
                again = JSONResponse(earlier)
                sessions.set_cookie(again, speaker)
                return again
        shown = body.title or ("" if inbound.is_button else text)  # a bare payload (/start) is no message
        if shown:
            user: dict[str, object] = {"sender": "user", **({"message_id": resent} if resent else {})}
            await keep(speaker, [{"text": shown, "custom": user}], "user")

        async def answer() -> list[dict[str, object]]:
            messages = [m for r in await handler(inbound) for m in rest_messages(r)]
            kept = [_in_reply_to(m, resent) for m in messages]
            if resent is not None and not kept:  # no reply (an officer has the chat): the turn is done
                kept = [{"custom": {"in_reply_to": resent, TURN_DONE: True}}]
            await keep(speaker, kept, "reply")
            return messages

        response: JSONResponse | StreamingResponse
        if stream.lower() == "true":  # Rasa's bool_arg: only "true" streams
            response = StreamingResponse(_stream(answer), media_type="text/event-stream")
        else:
            response = JSONResponse(await answer())
        sessions.set_cookie(response, speaker)
        return response

    return router


async def _stream(answer: Callable[[], Awaitable[list[dict[str, object]]]]) -> AsyncIterator[str]:
    """Rasa's streamed answer: each message as one line of JSON (its ``stream_response``)."""
    for message in await answer():
        yield json.dumps(message, ensure_ascii=False) + "\n"
