"""A local fake of the Telegram Bot API, served over real HTTP on 127.0.0.1.

python-telegram-bot talks to it through ``base_url`` exactly as it talks to api.telegram.org: form-encoded
bodies (JSON-encoded values for objects such as ``reply_markup``), multipart when uploading, JSON from
other clients. Every call is recorded so tests assert on what the bot did, not on internals.

Implemented methods: getMe, getUpdates (serves queued updates, honours ``offset`` and waits briefly for
``timeout``), sendMessage, answerCallbackQuery, setWebhook, deleteWebhook, getWebhookInfo. Any method can
be made to answer 429 with ``retry_after`` via :meth:`FakeTelegramServer.fail_next`.

Usage::

    async with FakeTelegramServer() as fake:
        bot = Bot(fake.token, base_url=fake.base_url)
        ...
        assert fake.calls_to("sendMessage")[0]["text"] == "..."
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Tổng đài thủ tục",
    "username": "thutuc_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class ApiCall:
    """One request the fake received: the method name and its decoded parameters."""

    method: str
    params: dict[str, Any]
    content_type: str = ""
    at: float = field(default_factory=time.monotonic)


def _decode_value(value: Any) -> Any:
    # PTB form-encodes objects (reply_markup, allowed_updates) as JSON strings; plain strings stay raw.
    if isinstance(value, str) and value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


class FakeTelegramServer:
    """The fake Bot API; start it with ``async with`` (or :meth:`start` / :meth:`stop`).

    Args:
        token: the bot token the fake accepts; other tokens get 401.
        max_poll_wait: cap on how long getUpdates waits for updates, whatever ``timeout`` asks.
    """

    def __init__(self, token: str = "123456:TEST-token", *, max_poll_wait: float = 0.2) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self._max_poll_wait = max_poll_wait
        self._updates: list[dict[str, Any]] = []
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()  # set on every call, so wait_for wakes up without polling
        self._failures: dict[str, list[tuple[int, int, str]]] = {}
        self._message_ids = itertools.count(1)
        self._webhook_url = ""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.files: dict[str, bytes] = {}
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )

    # ----------------------------------------------------------------- test controls

    @property
    def base_url(self) -> str:
        """What to give python-telegram-bot as ``base_url`` (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self._updates.append(update)
        self._update_event.set()

    def add_file(self, file_id: str, data: bytes) -> None:
        """A file the bot can fetch with getFile (a photo a citizen sent)."""
        self.files[file_id] = data

    def fail_next(
        self,
        method: str,
        *,
        retry_after: int = 1,
        times: int = 1,
        error_code: int = 429,
        description: str = "",
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 with ``retry_after`` by default).

        Other codes imitate Telegram's refusals, e.g. ``error_code=403,
        description="Forbidden: bot was blocked by the user"``.
        """
        self._failures.setdefault(method, []).extend([(error_code, retry_after, description)] * times)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every successful-or-not call of ``method``, oldest first."""
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until ``method`` was called at least ``count`` times; return those calls."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.calls_to(method)) < count:
                    self._call_event.clear()
                    await self._call_event.wait()
        except TimeoutError:
            raise AssertionError(
                f"{method} called {len(self.calls_to(method))} times, expected {count}"
            ) from None
        return self.calls_to(method)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve on a free loopback port in the running event loop."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ws="none", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._update_event.set()
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- the API

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await self._params(request)
        self.calls.append(ApiCall(method, params, request.headers.get("content-type", "")))
        self._call_event.set()
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        failures = self._failures.get(method)
        if failures:
            code, retry_after, description = failures.pop(0)
            if code != 429:
                return _error(code, description or "Error")
            return _error(
                429,
                description or f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
            )
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        return await handler(params)

    async def _params(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        params: dict[str, Any] = dict(request.query_params)
        if "application/json" in content_type:
            body = await request.body()
            if body:
                params.update(json.loads(body))
        elif "form" in content_type:  # x-www-form-urlencoded and multipart/form-data
            form = await request.form()
            for key, value in form.multi_items():
                params[key] = _decode_value(value) if isinstance(value, str) else value
        return params

    async def _api_getFile(self, params: dict[str, Any]) -> JSONResponse:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": size,
                "file_path": f"photos/{file_id}.jpg",
            }
        )

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        file_id = request.path_params["path"].removeprefix("photos/").removesuffix(".jpg")
        if file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="image/jpeg")

    async def _api_getMe(self, params: dict[str, Any]) -> JSONResponse:
        return _ok(BOT_USER)

    async def _api_getUpdates(self, params: dict[str, Any]) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        # Telegram forgets updates below the offset: they are confirmed.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._update_event.clear()
            wait = min(float(params.get("timeout") or 0), self._max_poll_wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), wait)
        limit = int(params.get("limit") or 100)
        return _ok(self._updates[:limit])

    async def _api_sendMessage(self, params: dict[str, Any]) -> JSONResponse:
        chat_id = params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id,
                "type": "private",
            },
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return _ok(message)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    async def _api_setWebhook(self, params: dict[str, Any]) -> JSONResponse:
        self._webhook_url = str(params.get("url", ""))
        return _ok(True)

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> JSONResponse:
        self._webhook_url = ""
        return _ok(True)

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> JSONResponse:
        return _ok({"url": self._webhook_url, "has_custom_certificate": False, "pending_update_count": 0})


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": code, "description": description, **extra}, status_code=code
    )
