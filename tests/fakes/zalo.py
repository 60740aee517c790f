"""httpx.MockTransport fakes of the Zalo OA Open API and the Zalo Bot API, recording every call.

Give ``httpx.AsyncClient(transport=fake.transport)`` to the channel and assert on ``fake.calls``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

OA_MESSAGE_PATH = "/v3.0/oa/message/cs"
OA_TOKEN_PATH = "/v4/oa/access_token"


@dataclass
class Call:
    """One request: method, URL, headers and the decoded body (JSON or form)."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path


def _record(request: httpx.Request) -> Call:
    raw = request.content.decode() if request.content else ""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type and raw:
        body = json.loads(raw)
    elif "form" in content_type:
        body = dict(parse_qsl(raw))
    else:
        body = {}
    return Call(request.method, str(request.url), dict(request.headers), body)


class FakeZaloOA:
    """The OA message API and the OAuth token endpoint.

    Args:
        app_id: the app id the token endpoint expects.
        app_secret_key: the ``secret_key`` header the token endpoint expects.
        access_token: the token the message API accepts at first.
        refresh_token: the refresh token the token endpoint accepts at first (single use).
    """

    def __init__(
        self,
        *,
        app_id: str = "2553928453557884079",
        app_secret_key: str = "app-secret",
        access_token: str = "access-1",
        refresh_token: str = "refresh-1",
    ) -> None:
        self.app_id = app_id
        self.app_secret_key = app_secret_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.calls: list[Call] = []
        self.delivered: list[tuple[str, str]] = []
        """(user_id, text) of every message the fake accepted, in order."""
        self._generation = 1
        self._next_errors: list[tuple[int, dict[str, Any]]] = []
        self._wrong_secret_answer: dict[str, Any] | None = None
        self.transport = httpx.MockTransport(self.handle)

    def answer_wrong_secret_with(self, error: int, error_name: str) -> None:
        """Answer a token call with a wrong ``secret_key`` header with this error instead of the
        refresh-token error (-14014) every refused token call gets by default."""
        self._wrong_secret_answer = {"error": error, "error_name": error_name, "error_reason": ""}

    def expire_token_once(self) -> None:
        """Make the current access token invalid; the next refresh issues a working pair."""
        self.access_token = "expired-" + self.access_token

    def fail_next(
        self, *, status: int = 200, error: int = -201, message: str = "Parameters are invalid"
    ) -> None:
        """Answer the next message call with HTTP ``status`` and Zalo ``error``."""
        self._next_errors.append((status, {"error": error, "message": message}))

    def message_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == OA_MESSAGE_PATH]

    def token_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == OA_TOKEN_PATH]

    def handle(self, request: httpx.Request) -> httpx.Response:
        call = _record(request)
        self.calls.append(call)
        if call.path == OA_MESSAGE_PATH and request.method == "POST":
            return self._message(call)
        if call.path == OA_TOKEN_PATH and request.method == "POST":
            return self._token(call)
        return httpx.Response(404, json={"error": 404, "message": "not found"})

    def _message(self, call: Call) -> httpx.Response:
        if self._next_errors:
            status, body = self._next_errors.pop(0)
            return httpx.Response(status, json=body)
        if call.headers.get("access_token") != self.access_token:
            return httpx.Response(200, json={"error": -216, "message": "Access token is invalid"})
        user_id = call.body["recipient"]["user_id"]
        self.delivered.append((user_id, call.body["message"]["text"]))
        return httpx.Response(
            200,
            json={
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"m{len(self.calls)}", "user_id": user_id},
            },
        )

    def _token(self, call: Call) -> httpx.Response:
        if self._wrong_secret_answer and call.headers.get("secret_key") != self.app_secret_key:
            return httpx.Response(200, json=self._wrong_secret_answer)
        valid = (
            call.headers.get("secret_key") == self.app_secret_key
            and call.body.get("app_id") == self.app_id
            and call.body.get("grant_type") == "refresh_token"
            and call.body.get("refresh_token") == self.refresh_token
        )
        if not valid:
            return httpx.Response(
                200,
                json={
                    "error": -14014,
                    "error_name": "Invalid refresh token",
                    "error_reason": "",
                    "ref_doc": "",
                },
            )
        self._generation += 1
        self.access_token = f"access-{self._generation}"
        self.refresh_token = f"refresh-{self._generation}"  # refresh tokens are single-use
        return httpx.Response(
            200,
            json={
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            },
        )


class FakeZaloBot:
    """The Zalo Bot API ``sendMessage`` (and ``getMe``), for one token."""

    def __init__(self, token: str = "1459232241454765289:bot-secret") -> None:
        self.token = token
        self.calls: list[Call] = []
        self._next_errors: list[tuple[int, dict[str, Any]]] = []
        self.transport = httpx.MockTransport(self.handle)

    def fail_next(
        self, *, status: int = 400, error_code: int = 400, description: str = "Bad Request"
    ) -> None:
        """Answer the next call with HTTP ``status`` and ``error_code``."""
        self._next_errors.append(
            (status, {"ok": False, "error_code": error_code, "description": description})
        )

    def sent(self) -> list[tuple[str, str]]:
        """(chat_id, text) of every sendMessage call, in order."""
        return [(c.body["chat_id"], c.body["text"]) for c in self.calls if c.path.endswith("/sendMessage")]

    def handle(self, request: httpx.Request) -> httpx.Response:
        call = _record(request)
        self.calls.append(call)
        if self._next_errors:
            status, body = self._next_errors.pop(0)
            return httpx.Response(status, json=body)
        prefix = f"/bot{self.token}/"
        if not call.path.startswith(prefix):
            return httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = call.path.removeprefix(prefix)
        if method == "sendMessage":
            return httpx.Response(
                200, json={"ok": True, "result": {"message_id": f"m{len(self.calls)}", "date": 1749632637199}}
            )
        if method == "getMe":
            return httpx.Response(200, json={"ok": True, "result": {"id": "1459232241454765289"}})
        return httpx.Response(404, json={"ok": False, "error_code": 404, "description": "Not Found"})


class FakeZaloServer:
    """:class:`FakeZaloOA` and :class:`FakeZaloBot` over real HTTP on 127.0.0.1, for a server running in
    a process of its own (the soak benchmark): ``/bot<token>/...`` goes to the Bot fake, everything else
    to the OA fake. Start it with ``async with`` in the running event loop.

    The server reaches it through ``HELPLINE_ZALO_BOT_BASE_URL`` = :attr:`base_url` and, for the OA's
    fixed hosts, ``FAKE_ZALO_OA_URL`` = :attr:`base_url` (``tests.fakes.serve`` redirects them).
    """

    def __init__(self, oa: FakeZaloOA | None = None, bot: FakeZaloBot | None = None) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Route

        from tests.fakes.telegram_server import FakeTelegramServer

        self.oa = oa or FakeZaloOA()
        self.bot = bot or FakeZaloBot()
        # The Bot API fake's HTTP server serving this app instead: one way of running a fake in the loop.
        self._http = FakeTelegramServer()
        self._http.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _endpoint(self, request: Any) -> Any:
        """The request as an ``httpx.Request`` to the fake's own handler, its answer back."""
        from starlette.responses import Response

        fake = self.bot if request.url.path.startswith("/bot") else self.oa
        forwarded = httpx.Request(
            request.method, str(request.url), headers=request.headers.raw, content=await request.body()
        )
        answer = fake.handle(forwarded)
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    async def __aenter__(self) -> FakeZaloServer:
        await self._http.start()
        self.port = self._http.port
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.stop()
