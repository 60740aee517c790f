"""Console accounts, sessions, CSRF and role checks; the /api routes and the /console pages over HTTP."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from bot.app.migrations import migrate
from bot.core.domain import TicketReason
from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.responses import ResponseCatalogue
from bot.handoff.service import TicketService
from bot.storage.sql import SqlConversationStore
from console.auth.passwords import hash_password, verify_password
from console.auth.sessions import COOKIE_NAME, ConsoleAuth, SessionSigner
from console.auth.users import UserService
from knowledge.db import make_engine, make_session_factory
from tests.console_app import console_app

# --- passwords and signed sessions -----------------------------------------------------------------------


def test_password_hash_verifies_and_is_salted() -> None:
    first, second = hash_password("mật khẩu dài"), hash_password("mật khẩu dài")
    assert first != second and first.startswith("$argon2id$")
    assert verify_password("mật khẩu dài", first) and not verify_password("mat khau dai", first)
    assert not verify_password("x", "not-a-hash")


def test_session_cookie_is_signed_and_expires() -> None:
    now = [1000.0]
    signer = SessionSigner("s3cret", max_age=60, clock=lambda: now[0])
    value = signer.dumps({"uid": 7, "csrf": "t"})
    assert signer.loads(value)["uid"] == 7
    body, sig = value.split(".")
    assert signer.loads(body[:-2] + "xx." + sig) is None
    assert SessionSigner("other").loads(value) is None
    now[0] += 61
    assert signer.loads(value) is None


# --- over HTTP ---------------------------------------------------------------------------------------------


class Channels:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def deliver(self, message: OutboundMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def setup(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    channels = Channels()
    service = TicketService(
        sessions, SqlConversationStore(sessions), ResponseCatalogue.load(), deliver=channels.deliver
    )
    users = UserService(sessions)
    users.add("lan", "sen-hong-2026", "officer", "Trần Thị Lan")
    users.add("minh", "tre-xanh-2026", "officer", "Lê Văn Minh")
    users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa")
    auth = ConsoleAuth(users, "test-secret")
    app = console_app(auth, tickets=service)
    yield app, service, channels
    engine.dispose()


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def api_login(c: httpx.AsyncClient, username: str, password: str) -> str:
    token = (await c.get("/api/csrf")).json()["csrf_token"]
    res = await c.post(
        "/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token}
    )
    assert res.status_code == 200, res.text
    return (await c.get("/api/csrf")).json()["csrf_token"]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_login_page_wrong_password_and_csrf(setup) -> None:
    app, _, _ = setup
    async with client(app) as c:
        assert (await c.get("/console")).headers["location"] == "/console/login"
        page = await c.get("/console/login")
        assert "Đăng nhập" in page.text
        cookie = page.headers["set-cookie"].lower()
        assert COOKIE_NAME in cookie and "httponly" in cookie and "samesite=lax" in cookie  # plain http
        token = csrf_of(page.text)
        # no CSRF token: refused
        res = await c.post("/console/login", data={"username": "lan", "password": "sen-hong-2026"})
        assert res.status_code == 403
        res = await c.post("/console/login", data={"username": "lan", "password": "sai", "csrf_token": token})
        assert res.status_code == 401 and "không đúng" in res.text
        res = await c.post(
            "/console/login", data={"username": "lan", "password": "sen-hong-2026", "csrf_token": token}
        )
        assert res.status_code == 303 and res.headers["location"] == "/console"
        inbox = await c.get("/console")
        assert inbox.status_code == 200 and "Trần Thị Lan" in inbox.text and "Đang chờ" in inbox.text
        # the session's token changed at login; the old one no longer works
        res = await c.post("/console/logout", data={"csrf_token": token})
        assert res.status_code == 403
        res = await c.post("/console/logout", data={"csrf_token": csrf_of(inbox.text)})
        assert res.status_code == 303
        assert (await c.get("/api/me")).status_code == 401


async def test_roles_editor_cannot_work_tickets(setup) -> None:
    app, _, _ = setup
    async with client(app) as c:
        await api_login(c, "hoa", "lua-vang-2026")
        assert (await c.get("/api/me")).json()["role"] == "editor"
        assert (await c.get("/api/tickets")).status_code == 403
        assert (await c.get("/console")).status_code == 403


async def test_api_claim_reply_close_flow(setup) -> None:
    app, service, channels = setup
    key = ConversationKey("rest", "web-1")
    ticket = service.open(key, TicketReason.REQUEST_HUMAN)
    async with client(app) as lan, client(app) as minh:
        lan_token = await api_login(lan, "lan", "sen-hong-2026")
        minh_token = await api_login(minh, "minh", "tre-xanh-2026")
        waiting = (await lan.get("/api/tickets", params={"status": "waiting"})).json()
        assert [t["id"] for t in waiting] == [ticket.id] and waiting[0]["position"] == 1
        summary = (await lan.get("/api/tickets/summary")).json()
        assert summary == {"waiting": 1, "mine": 0, "claimed": 0, "newest_waiting_id": ticket.id}
        # POST without the CSRF header is refused
        assert (await lan.post(f"/api/tickets/{ticket.id}/claim")).status_code == 403
        res = await lan.post(f"/api/tickets/{ticket.id}/claim", headers={"X-CSRF-Token": lan_token})
        assert res.status_code == 200 and res.json()["owner_name"] == "Trần Thị Lan"
        res = await minh.post(f"/api/tickets/{ticket.id}/claim", headers={"X-CSRF-Token": minh_token})
        assert res.status_code == 409 and "Trần Thị Lan" in res.json()["detail"]
        res = await minh.post(
            f"/api/tickets/{ticket.id}/reply",
            json={"text": "chen ngang"},
            headers={"X-CSRF-Token": minh_token},
        )
        assert res.status_code == 403
        res = await lan.post(
            f"/api/tickets/{ticket.id}/reply", json={"text": "Chào bạn"}, headers={"X-CSRF-Token": lan_token}
        )
        assert res.status_code == 200 and res.json()["delivered"] is True
        assert channels.sent[-1] == OutboundMessage(key, "Chào bạn", sender="officer")
        mine = (await lan.get("/api/tickets", params={"status": "claimed", "mine": True})).json()
        assert [t["id"] for t in mine] == [ticket.id]
        detail = (await lan.get(f"/api/tickets/{ticket.id}")).json()
        assert detail["messages"][-1]["sender"] == "officer"
        res = await lan.post(
            f"/api/tickets/{ticket.id}/close", json={"note": "xong"}, headers={"X-CSRF-Token": lan_token}
        )
        assert res.status_code == 200 and res.json()["status"] == "closed"
        assert channels.sent[-1].buttons and channels.sent[-1].buttons[0].payload.startswith("/give_feedback")
        closed = (await lan.get("/api/tickets", params={"status": "closed"})).json()
        assert closed[0]["close_note"] == "xong"
        assert (await lan.get("/api/tickets/999")).status_code == 404


async def test_console_pages_claim_and_reply_by_form(setup) -> None:
    app, service, channels = setup
    ticket = service.open(ConversationKey("rest", "web-2"), TicketReason.REQUEST_HUMAN)
    async with client(app) as c:
        token = csrf_of((await c.get("/console/login")).text)
        await c.post(
            "/console/login", data={"username": "lan", "password": "sen-hong-2026", "csrf_token": token}
        )
        page = await c.get(f"/console/tickets/{ticket.id}")
        assert "Nhận xử lý" in page.text
        token = csrf_of(page.text)
        res = await c.post(f"/console/tickets/{ticket.id}/claim", data={"csrf_token": token})
        assert res.status_code == 303
        page = await c.get(f"/console/tickets/{ticket.id}")
        assert "Trả lại cho trợ lý ảo" in page.text and "Đóng" in page.text and "reply-text" in page.text
        res = await c.post(f"/console/tickets/{ticket.id}/reply", data={"csrf_token": token, "text": "Dạ"})
        assert res.status_code == 303 and channels.sent[-1].text == "Dạ"
        res = await c.post(f"/console/tickets/{ticket.id}/hand-back", data={"csrf_token": token})
        assert res.status_code == 303 and service.get(ticket.id).outcome == "handed_back"


async def test_openapi_documents_the_api(setup) -> None:
    app, _, _ = setup
    async with client(app) as c:
        spec = (await c.get("/openapi.json")).json()
    assert "/api/tickets/{ticket_id}/claim" in spec["paths"]
    assert "TicketOut" in spec["components"]["schemas"]
    assert not any(p.startswith("/console") for p in spec["paths"])


async def test_an_id_above_64_bits_is_refused_not_a_server_error(setup) -> None:
    # SQLite raised OverflowError (a 500) on ids above 2**63 - 1 in these paths
    app, _, _ = setup
    huge = 2**64
    async with client(app) as c:
        token = await api_login(c, "lan", "sen-hong-2026")
        headers = {"X-CSRF-Token": token}
        assert (await c.get(f"/api/tickets/{huge}")).status_code == 422
        assert (await c.post(f"/api/tickets/{huge}/claim", headers=headers)).status_code == 422
        assert (await c.post(f"/api/tickets/1/messages/{huge}/retry", headers=headers)).status_code == 422
        assert (await c.get(f"/api/tickets/{2**63 - 1}")).status_code == 404  # the largest id is just unknown
