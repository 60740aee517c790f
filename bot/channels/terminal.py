"""The console channel: ``helpline chat`` talks to the engine in a terminal.

It has no buttons, so it degrades like any text-only channel: choices are numbered and a number
typed back chooses one.
"""

from __future__ import annotations

import asyncio
from typing import IO

from bot.channels.base import MessageHandler
from bot.core.messages import (
    Button,
    ConversationKey,
    InboundMessage,
    OutboundMessage,
    numbered_fallback,
    resolve_numbered_reply,
)

QUIT = {"/quit", "/thoat", "thoát", "/exit"}


async def run_console(
    handler: MessageHandler, stdin: IO[str], stdout: IO[str], chat_id: str = "local"
) -> int:
    """Read lines until end of input or ``/quit``; print each reply. Returns the exit status."""
    key = ConversationKey("console", chat_id)
    buttons: tuple[Button, ...] = ()
    stdout.write("Trợ lý thủ tục hành chính. Gõ câu hỏi, hoặc /quit để thoát.\n")
    replies = await handler(InboundMessage(key=key, text="/start", is_button=True))
    buttons = _show(replies, stdout) or buttons
    loop = asyncio.get_running_loop()
    while True:
        stdout.write("> ")
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT:
            break
        payload = resolve_numbered_reply(text, buttons)
        message = InboundMessage(key=key, text=payload or text, is_button=payload is not None)
        replies = await handler(message)
        buttons = _show(replies, stdout)
    stdout.write("Tạm biệt!\n")
    return 0


def _show(replies: list[OutboundMessage], stdout: IO[str]) -> tuple[Button, ...]:
    last: tuple[Button, ...] = ()
    for reply in replies:
        stdout.write(numbered_fallback(reply) + "\n\n")
        if reply.buttons:
            last = reply.buttons
    stdout.flush()
    return last
