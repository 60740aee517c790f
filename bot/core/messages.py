"""The one channel-neutral message type.

Channels turn Telegram updates, Zalo events and web-chat posts into :class:`InboundMessage` and send
:class:`OutboundMessage` back through their own API. Nothing outside ``bot/channels`` knows a
platform's format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ConversationKey:
    """Identifies one conversation: the channel name and the chat id on that channel."""

    channel: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Button:
    """A choice offered to the user. ``payload`` comes back as the message text when chosen."""

    title: str
    payload: str


@dataclass(frozen=True)
class InboundMessage:
    """Something a citizen said or chose, on any channel.

    Attributes:
        key: the conversation it belongs to.
        text: the text typed, or the payload of the button pressed.
        message_id: the platform's id for deduplication (update id, event id, client id).
        sender_name: display name, when the platform gives one.
        is_button: True when ``text`` is a button payload.
        received_at: when the server received it.
        metadata: platform extras kept for logging only.
    """

    key: ConversationKey
    text: str
    message_id: str | None = None
    sender_name: str = ""
    is_button: bool = False
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundMessage:
    """A reply to one conversation: text, optional buttons, optional link attachments.

    Attributes:
        key: where it goes.
        text: plain Vietnamese text (no markup; channels escape as they need).
        buttons: choices; channels without buttons render them as a numbered list.
        links: (title, url) pairs such as forms to download; shown as links where files can't be sent.
        sender: "bot" or "officer" (officer replies are labelled by channels that show a name).
        image: an image URL (from an external action server); the REST channel and the Rasa API show
            it, other channels leave it out.
        custom: free JSON for the client (an external action server's ``json_message``); likewise only
            the REST channel and the Rasa API carry it.
    """

    key: ConversationKey
    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    sender: str = "bot"
    image: str | None = None
    custom: dict[str, Any] | None = None


_LETTERS = "abcdđeghiklmnopqrstuvxy"
"""Letters for a list inside a message, in the order Vietnamese legal texts use them (a, b, c, d, đ, e ...)."""

_NUMBERED_LINE_RE = re.compile(r"^(\s*)(\d+)\. ", re.MULTILINE)


def _lettered(text: str) -> str:
    """``"1. Tờ khai"`` -> ``"a) Tờ khai"`` on every numbered line (numbers past the letters stay)."""

    def letter(match: re.Match[str]) -> str:
        number = int(match.group(2))
        if not 1 <= number <= len(_LETTERS):
            return match.group(0)
        return f"{match.group(1)}{_LETTERS[number - 1]}) "

    return _NUMBERED_LINE_RE.sub(letter, text)


def _lists_the_choices(text: str, buttons: tuple[Button, ...]) -> bool:
    """Whether the text's own numbered list is the choices themselves (1..n, each line starting with
    its button's title), as in "Bạn thuộc trường hợp nào ạ?": its numbers are the ones to reply."""
    lines = [line.strip() for line in text.splitlines() if _NUMBERED_LINE_RE.match(line)]
    return len(lines) == len(buttons) and all(
        line.startswith(f"{i}. {b.title}") for line, (i, b) in zip(lines, enumerate(buttons, 1), strict=True)
    )


def numbered_fallback(message: OutboundMessage) -> str:
    """Text of a message for a channel with no buttons: the choices become a numbered list.

    The channel remembers the buttons so that a reply "1", "2"... is mapped back to the payload
    (see :func:`resolve_numbered_reply`). When the text has a numbered list of its own that is not
    the choices (the papers of a documents answer), its items are lettered (a, b, c ...) and the
    choices introduced by a line of their own, so that "2" can only mean the second choice.
    """
    text = message.text
    parts = [text]
    if message.buttons:
        choices = "\n".join(f"{i}. {b.title}" for i, b in enumerate(message.buttons, 1))
        if _lists_the_choices(text, message.buttons):
            parts.append("Trả lời bằng số thứ tự để chọn.")  # the text lists them already: not twice
        elif _NUMBERED_LINE_RE.search(text):
            parts = [_lettered(text), "Trả lời bằng số thứ tự để chọn:\n" + choices]
        else:
            parts += [choices, "Trả lời bằng số thứ tự để chọn."]
    if message.links:
        parts.append("\n".join(f"- {title}: {url}" for title, url in message.links))
    return "\n\n".join(p for p in parts if p)


def resolve_numbered_reply(text: str, buttons: tuple[Button, ...]) -> str | None:
    """Map a reply such as ``"2"`` or ``"số 2"`` to the payload of the second button, else None."""
    digits = "".join(ch for ch in text if ch.isdigit())
    stripped = text.strip().lower().removeprefix("số").strip(" .)")
    if not buttons or not digits or stripped != digits:
        return None
    index = int(digits) - 1
    return buttons[index].payload if 0 <= index < len(buttons) else None
