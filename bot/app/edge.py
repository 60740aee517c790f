"""The server's edge: every request body is limited in size and in JSON nesting before a route reads it.

Without it a body of any size is read into memory, and JSON nested a few thousand levels deep makes
Python's parser raise ``RecursionError``: a 500 from ``/webhooks/rest/webhook`` (issue 13). The
:class:`BodyLimit` ASGI middleware reads the body first (refusing it as soon as it passes
:data:`MAX_BODY_BYTES`, whatever ``Content-Length`` claims), then refuses a body that looks like JSON and
nests deeper than :data:`MAX_JSON_DEPTH`, and only then hands the body on. Answers are JSON with a plain
Vietnamese message: 413 for a body too large, 400 for one too deep.

The limits are the same on every endpoint: no message of any platform comes near them (a Telegram update is
a few kilobytes and nests less than ten levels), and the largest body is a file the editors import
(:data:`console.learning.transfer.MAX_FILE_BYTES`) in a multipart form.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from console.learning.transfer import MAX_FILE_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = MAX_FILE_BYTES + 256 * 1024
"""The largest body accepted: an editor's import file plus room for the multipart form around it."""
MAX_JSON_DEPTH = 64
"""The deepest JSON nesting accepted (arrays and objects); Rasa's and the platforms' bodies use < 10."""

TOO_LARGE = "Yêu cầu quá lớn."
TOO_DEEP = "Yêu cầu không hợp lệ: dữ liệu JSON lồng nhau quá sâu."


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``body`` nests arrays and objects, counted up to ``limit + 1`` (brackets inside strings
    are not counted). Not a validator: malformed JSON is the route's to refuse."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case, counted in C
        return min(body.count(b"[") + body.count(b"{"), limit)
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _looks_like_json(body: bytes) -> bool:
    head = body.lstrip()[:1]
    return head in (b"{", b"[")


class BodyLimit:
    """ASGI middleware: a request body larger than ``max_bytes`` is a 413, one nesting JSON deeper than
    ``max_depth`` a 400, before any route runs.

    Args:
        app: the application to protect.
        max_bytes: the largest body accepted.
        max_depth: the deepest JSON nesting accepted.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, 413, TOO_LARGE)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, 413, TOO_LARGE)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _looks_like_json(body) and json_depth(body, self.max_depth) > self.max_depth:
            await _refuse(send, 400, TOO_DEEP)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the client's disconnect, as the server reports it

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
