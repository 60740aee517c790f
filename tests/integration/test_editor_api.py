"""The editor API (/api/editor) and pages (/console/editor) over HTTP: login, roles, CSRF, saves,
validation messages, rollback, status and the try box."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from actions.registry import ActionDeps, build_actions
from bot.app.migrations import migrate
from bot.core.live import InterpreterHolder, LiveResponses
from bot.core.responses import DEFAULT_PATH, ResponseCatalogue, load_responses
from bot.engine.engine import Engine
from bot.engine.live import LiveReloader
from bot.handoff.service import TicketService
from bot.storage.memory import ScratchConversationStore
from bot.storage.overrides import SqlResponseOverrides
from bot.storage.sql import SqlConversationStore
from console.auth.sessions import ConsoleAuth
from console.auth.users import UserService
from console.editor.service import EditorService
from knowledge.db import make_engine, make_session_factory
from knowledge.repository import SqlKnowledgeRepository
from tests import factories as f
from tests.console_app import console_app
from tests.fakes.interpreter import FakeInterpreter


@pytest.fixture
def app(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'editor.sqlite3'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    repo = SqlKnowledgeRepository(sessions)
    repo.upsert([f.marriage_registration(), f.birth_registration()])
    users = UserService(sessions)
    users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa")
    users.add("lan", "sen-hong-2026", "officer", "Trần Thị Lan")
    users.add("an", "nui-cao-2026", "admin", "Quản trị An")
    auth = ConsoleAuth(users, "test-secret")
    overrides = SqlResponseOverrides(sessions)
    responses = LiveResponses(load_responses(DEFAULT_PATH, overrides))
    holder = InterpreterHolder(FakeInterpreter())
    reloader = LiveReloader(holder, lambda: object())
    scratch = ScratchConversationStore()
    service = EditorService(
        sessions,
        repo,
        responses,
        DEFAULT_PATH,
        overrides,
        reloader=reloader,
        try_engine=Engine(holder, repo, scratch, responses, build_actions(ActionDeps(repo))),
        scratch=scratch,
    )
    tickets = TicketService(sessions, SqlConversationStore(sessions), ResponseCatalogue.load())
    application = console_app(auth, tickets=tickets, editor=service)
    yield application
    reloader.wait(5)
    engine.dispose()


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def api_login(c: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    token = (await c.get("/api/csrf")).json()["csrf_token"]
    res = await c.post(
        "/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token}
    )
    assert res.status_code == 200, res.text
    return {"X-CSRF-Token": (await c.get("/api/csrf")).json()["csrf_token"]}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_auth_roles_and_csrf(app) -> None:
    async with client(app) as anon:
        assert (await anon.get("/api/editor/status")).status_code == 401
        assert (await anon.get("/console/editor")).headers["location"] == "/console/login"
    async with client(app) as lan:
        await api_login(lan, "lan", "sen-hong-2026")
        assert (await lan.get("/api/editor/status")).status_code == 403
        assert (await lan.get("/console/editor")).status_code == 403
    async with client(app) as hoa:
        headers = await api_login(hoa, "hoa", "lua-vang-2026")
        assert (await hoa.get("/api/editor/status")).json()["state"] == "idle"
        body = (await hoa.get(f"/api/editor/procedures/{f.BIRTH}")).json()
        body["result"] = "Giấy khai sinh bản chính"
        assert (await hoa.put(f"/api/editor/procedures/{f.BIRTH}", json=body)).status_code == 403  # no token
        res = await hoa.put(f"/api/editor/procedures/{f.BIRTH}", json=body, headers=headers)
        assert res.status_code == 200 and res.json()["changed"] and res.json()["audit_id"]
    async with client(app) as an:  # admins edit too
        await api_login(an, "an", "nui-cao-2026")
        assert (await an.get("/api/editor/status")).status_code == 200


async def test_editor_login_lands_on_the_editor_console(app) -> None:
    async with client(app) as c:
        page = await c.get("/console/login")
        res = await c.post(
            "/console/login",
            data={"username": "hoa", "password": "lua-vang-2026", "csrf_token": csrf_of(page.text)},
        )
        assert res.status_code == 303 and res.headers["location"] == "/console/editor"
        home = await c.get("/console/editor")
        assert home.status_code == 200 and "Biên tập" in home.text and "Thử câu hỏi" in home.text


async def test_api_procedure_validation_rollback_and_audit(app) -> None:
    async with client(app) as c:
        headers = await api_login(c, "hoa", "lua-vang-2026")
        found = (await c.get("/api/editor/procedures", params={"q": "kết hôn"})).json()
        assert [p["code"] for p in found] == [f.MARRIAGE]
        body = (await c.get(f"/api/editor/procedures/{f.MARRIAGE}")).json()
        original_name = body["name"]
        bad = {**body, "name": "", "documents": [{**body["documents"][0], "originals": "một"}]}
        res = await c.put(f"/api/editor/procedures/{f.MARRIAGE}", json=bad, headers=headers)
        assert res.status_code == 422
        assert res.json()["problems"]["name"] == "Tên thủ tục không được để trống."
        assert "«một»" in res.json()["problems"]["documents.0.originals"]

        res = await c.put(
            f"/api/editor/procedures/{f.MARRIAGE}",
            json={**body, "name": "Đăng ký kết hôn (sửa)"},
            headers=headers,
        )
        saved = res.json()
        assert saved["changed"] and "Đã lưu" in saved["message"]
        # the same version again: someone else's edit in between is refused
        res = await c.put(
            f"/api/editor/procedures/{f.MARRIAGE}", json={**body, "result": "x"}, headers=headers
        )
        assert res.status_code == 409

        entry = (await c.get(f"/api/editor/audit/{saved['audit_id']}")).json()
        assert entry["user_name"] == "Phạm Hoa" and '+  "name": "Đăng ký kết hôn (sửa)",' in entry["diff"]
        assert entry["before"]["name"] == original_name
        res = await c.post(
            f"/api/editor/audit/{saved['audit_id']}/rollback", json={"side": "before"}, headers=headers
        )
        assert res.status_code == 200 and res.json()["changed"]
        assert (await c.get(f"/api/editor/procedures/{f.MARRIAGE}")).json()["name"] == original_name
        log = (await c.get("/api/editor/audit", params={"entity": "procedure", "key": f.MARRIAGE})).json()
        assert [e["action"] for e in log] == ["rollback", "update"]
        assert (await c.post("/api/editor/audit/999/rollback", headers=headers)).status_code == 404

        created = await c.post(
            "/api/editor/procedures", json={"code": "1.2345678", "name": "Sai mã"}, headers=headers
        )
        assert created.status_code == 422 and "không đúng dạng" in created.json()["problems"]["code"]


async def test_api_responses_faq_and_try(app) -> None:
    async with client(app) as c:
        headers = await api_login(c, "hoa", "lua-vang-2026")
        res = await c.put(
            "/api/editor/responses/utter_fee_free",
            json={"variants": [{"text": "Thủ tục {ten} miễn phí."}]},
            headers=headers,
        )
        assert res.status_code == 422 and "{ten}" in res.json()["problems"]["variants.0.text"]
        res = await c.put(
            "/api/editor/responses/utter_fee_free",
            json={"variants": [{"text": "Dạ, làm {procedure_name} không tốn đồng nào."}]},
            headers=headers,
        )
        assert res.status_code == 200 and res.json()["changed"]
        info = (await c.get("/api/editor/responses/utter_fee_free")).json()
        assert info["overridden"] and info["variables"] == ["procedure_name"]
        reply = (
            await c.post("/api/editor/try", json={"text": "khai sinh lệ phí bao nhiêu"}, headers=headers)
        ).json()
        assert "không tốn đồng nào" in reply["replies"][0]["text"]
        assert (await c.delete("/api/editor/responses/utter_fee_free", headers=headers)).json()["changed"]
        assert not (await c.get("/api/editor/responses/utter_fee_free")).json()["overridden"]
        assert (await c.get("/api/editor/responses/utter_nope")).status_code == 404

        res = await c.post(
            "/api/editor/faqs",
            json={"questions": ["Mấy giờ mở cửa?"], "answer": "7 giờ 30."},
            headers=headers,
        )
        assert res.status_code == 201
        faqs = (await c.get("/api/editor/faqs")).json()
        assert faqs[0]["questions"] == ["Mấy giờ mở cửa?"] and faqs[0]["enabled"]
        res = await c.put(
            f"/api/editor/faqs/{faqs[0]['id']}", json={"questions": [], "answer": ""}, headers=headers
        )
        assert res.status_code == 422 and set(res.json()["problems"]) == {"questions", "answer"}
        schema = (await c.get("/openapi.json")).json()
        assert "/api/editor/procedures/{code}" in schema["paths"] and "/api/editor/status" in schema["paths"]


async def test_pages_edit_procedure_with_fieldsets_and_show_errors(app) -> None:
    async with client(app) as c:
        await api_login(c, "hoa", "lua-vang-2026")
        page = await c.get(f"/console/editor/procedures/{f.MARRIAGE}")
        assert (
            page.status_code == 200
            and "Sửa thủ tục" in page.text
            and 'name="channels-0-fee_text"' in page.text
        )
        token = csrf_of(page.text)
        version = re.search(r'name="version" value="([^"]+)"', page.text).group(1)
        form = {
            "csrf_token": token,
            "version": version,
            "name": "Đăng ký kết hôn",
            "aliases": "đăng ký kết hôn\nlàm giấy kết hôn\ncưới",
            "steps": "Nộp tờ khai.\nNhận giấy.",
            "online_level": "mot_phan",
            "channels-0-kind": "truc_tiep",
            "channels-0-fee_text": "Lệ phí : 0 Đồng",
            "channels-0-fee_vnd": "0",
            "channels-0-time_text": "Ngay trong ngày",
            "channels-0-days": "0",
            "channels-1-kind": "truc_tuyen",  # an empty added row: dropped
            "documents-0-name": "Tờ khai đăng ký kết hôn",
            "documents-0-originals": "hai",
            "documents-1-name": "Giấy tờ bỏ đi",
            "documents-1-remove": "1",
        }
        res = await c.post(f"/console/editor/procedures/{f.MARRIAGE}", data=form)
        assert res.status_code == 422
        assert "Giấy tờ số 1: số bản chính phải là một số nguyên" in res.text and 'value="hai"' in res.text
        res = await c.post(
            f"/console/editor/procedures/{f.MARRIAGE}", data={**form, "documents-0-originals": "2"}
        )
        assert res.status_code == 303 and "notice=" in res.headers["location"]
        page = await c.get(res.headers["location"])
        assert "Đã lưu" in page.text
        proc = (await c.get(f"/api/editor/procedures/{f.MARRIAGE}")).json()
        assert proc["aliases"] == ["đăng ký kết hôn", "làm giấy kết hôn", "cưới"]
        assert [d["name"] for d in proc["documents"]] == ["Tờ khai đăng ký kết hôn"]
        assert proc["documents"][0]["originals"] == 2 and len(proc["channels"]) == 1

        audit = await c.get("/console/editor/audit")
        entry_id = re.search(r'data-id="(\d+)"', audit.text).group(1)
        detail = await c.get(f"/console/editor/audit/{entry_id}")
        assert "cưới" in detail.text and "Quay về bản trước thay đổi này" in detail.text
        res = await c.post(
            f"/console/editor/audit/{entry_id}/rollback", data={"csrf_token": token, "side": "before"}
        )
        assert res.status_code == 303
        assert len((await c.get(f"/api/editor/procedures/{f.MARRIAGE}")).json()["documents"]) == 3

        res = await c.post(
            "/console/editor/responses/utter_thank",
            data={"csrf_token": token, "variants-0-text": "Dạ {khong_co}", "variants-0-buttons": ""},
        )
        assert res.status_code == 422 and "{khong_co}" in res.text
        res = await c.post("/console/editor/try", data={"csrf_token": token, "text": "cảm ơn"})
        assert res.status_code == 200 and 'id="try-replies"' in res.text
