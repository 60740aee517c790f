"""The learning API (/api/learning) and pages (/console/learning) over HTTP: login, roles, CSRF, the
inbox, assigning, dismissing, downloads and uploads (a bad file refused with its lines, nothing written)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from bot.app.migrations import migrate
from bot.core.messages import ConversationKey
from bot.core.ports import MessageRecord
from bot.core.responses import ResponseCatalogue
from bot.handoff.service import TicketService
from bot.storage.sql import SqlConversationStore
from console.auth.sessions import ConsoleAuth
from console.auth.users import UserService
from console.learning.service import LearningService
from knowledge.db import make_engine, make_session_factory
from knowledge.domain import FaqEntry
from knowledge.repository import SqlKnowledgeRepository
from tests import factories as f
from tests.console_app import console_app
from tests.integration.test_editor_api import api_login, csrf_of

MISSED = "giấy khai sinh bị rách làm lại sao"


@pytest.fixture
def app(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'learning.sqlite3'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    repo = SqlKnowledgeRepository(sessions)
    repo.upsert([f.birth_registration(aliases=("giấy khai sinh",))])
    repo.save_faq(FaqEntry(None, ("Bộ phận một cửa làm việc giờ nào?",), "Từ 7 giờ 30 đến 17 giờ."))
    store = SqlConversationStore(sessions)
    store.log(
        [
            MessageRecord(ConversationKey("rest", "x"), "in", MISSED, intent="nlu_fallback", confidence=0.1,
                          created_at=datetime(2026, 3, 1, 2, tzinfo=UTC)),
            MessageRecord(ConversationKey("rest", "y"), "in", "alo alo", intent="nlu_fallback", confidence=0.1,
                          created_at=datetime(2026, 3, 1, 3, tzinfo=UTC)),
        ]
    )  # fmt: skip
    users = UserService(sessions)
    users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa")
    users.add("lan", "sen-hong-2026", "officer", "Trần Thị Lan")
    auth = ConsoleAuth(users, "test-secret")
    live: list[str] = []
    service = LearningService(
        sessions,
        repo,
        ["greet", "ask_documents", "ask_procedure_overview"],
        negative_rating_at_most=2,
        went_live=lambda: live.append("x"),
    )
    tickets = TicketService(sessions, store, ResponseCatalogue.load())
    application = console_app(auth, tickets=tickets, learning=service, reload_status=lambda: _Idle())
    application.state.live = live
    yield application
    engine.dispose()


class _Idle:
    state, reason, last_success_at, pending = "idle", None, None, False


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_auth_roles_and_csrf(app) -> None:
    async with client(app) as anon:
        assert (await anon.get("/api/learning/inbox")).status_code == 401
        assert (await anon.get("/console/learning")).headers["location"] == "/console/login"
    async with client(app) as lan:
        await api_login(lan, "lan", "sen-hong-2026")
        assert (await lan.get("/api/learning/inbox")).status_code == 403
        assert (await lan.get("/console/learning")).status_code == 403
    async with client(app) as hoa:
        headers = await api_login(hoa, "hoa", "lua-vang-2026")
        body = {"text": MISSED, "intent": "ask_documents"}
        assert (await hoa.post("/api/learning/assign", json=body)).status_code == 403  # no CSRF token
        assert (await hoa.post("/api/learning/assign", json=body, headers=headers)).status_code == 200


async def test_inbox_assign_and_dismiss_through_the_api(app) -> None:
    async with client(app) as hoa:
        headers = await api_login(hoa, "hoa", "lua-vang-2026")
        inbox = (await hoa.get("/api/learning/inbox")).json()
        assert [i["text"] for i in inbox] == ["alo alo", MISSED]
        choices = (await hoa.get("/api/learning/choices")).json()
        assert {"name": "ask_documents", "label": "Hỏi giấy tờ cần nộp"} in choices["intents"]
        bad = await hoa.post(
            "/api/learning/assign", json={"text": MISSED, "procedure_code": "1.9"}, headers=headers
        )
        assert bad.status_code == 422 and "không đúng dạng" in bad.json()["problems"]["procedure_code"]
        res = await hoa.post(
            "/api/learning/assign",
            json={"text": MISSED, "intent": "ask_documents", "procedure_code": f.BIRTH, "faq_id": 1},
            headers=headers,
        )
        out = res.json()
        assert out["example"]["entities"][0]["value"] == f.BIRTH and out["faq_changed"]
        assert "Trợ lý ảo sẽ trả lời được" in out["message"]
        assert app.state.live == ["x"]
        res = await hoa.post("/api/learning/dismiss", json={"text": "alo alo"}, headers=headers)
        assert res.status_code == 200
        assert (await hoa.get("/api/learning/inbox")).json() == []
        assert [i["text"] for i in (await hoa.get("/api/learning/inbox?status=dismissed")).json()] == [
            "alo alo"
        ]
        assigned = (await hoa.get("/api/learning/inbox?status=assigned")).json()
        assert assigned[0]["faq_id"] == 1 and assigned[0]["resolved_by"] == "Phạm Hoa"
        examples = (await hoa.get("/api/learning/examples")).json()
        assert [(e["text"], e["source"]) for e in examples] == [(MISSED, "learned")]


async def test_export_and_import_files_through_the_api(app) -> None:
    async with client(app) as hoa:
        headers = await api_login(hoa, "hoa", "lua-vang-2026")
        res = await hoa.post(
            "/api/learning/import/training.csv",
            content="text,intent,procedure_code\nchào ad,greet,\ngiấy khai sinh cần gì,ask_documents,1.001193\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert res.status_code == 200 and (res.json()["created"], res.json()["unchanged"]) == (2, 0)
        yml = await hoa.get("/api/learning/export/training.yml")
        assert yml.headers["content-disposition"] == 'attachment; filename="nlu.yml"'
        assert '[giấy khai sinh]{"entity": "procedure", "value": "1.001193"} cần gì' in yml.text
        again = await hoa.post("/api/learning/import/training.yml", content=yml.content, headers=headers)
        assert again.json()["unchanged"] == 2 and again.json()["message"].startswith("Đã nhập câu mẫu")
        faqs = await hoa.get("/api/learning/export/faqs.csv")
        assert faqs.content.startswith("\ufeffid,questions".encode())
        same = await hoa.post("/api/learning/import/faqs.csv", content=faqs.content, headers=headers)
        assert same.json()["unchanged"] == 1
        bad = await hoa.post(
            "/api/learning/import/faqs.yml",
            content="faq:\n- questions: ['Hỏi?']\n  answer: ''\n",
            headers=headers,
        )
        assert bad.status_code == 422
        assert bad.json()["problems"] == ["Dòng 2: câu trả lời đang trống."]
        assert "không có gì thay đổi" in bad.json()["detail"]
        assert (await hoa.get("/api/learning/export/other.csv")).status_code == 422
        broken = await hoa.post(
            "/api/learning/import/faqs.yml", content="faq:\n- questions: [a\n", headers=headers
        )
        assert broken.json()["problems"][0].startswith("Dòng 3: tệp không phải YAML hợp lệ")
        assert "/api/learning/import/{what}.{fmt}" in (await hoa.get("/openapi.json")).json()["paths"]


async def test_pages_assign_dismiss_and_upload(app) -> None:
    async with client(app) as c:
        page = await c.get("/console/login")
        await c.post(
            "/console/login",
            data={"username": "hoa", "password": "lua-vang-2026", "csrf_token": csrf_of(page.text)},
        )
        inbox = await c.get("/console/learning")
        assert inbox.status_code == 200 and "Câu chưa trả lời được" in inbox.text and MISSED in inbox.text
        token = csrf_of(inbox.text)
        bad = await c.post(
            "/console/learning/assign",
            data={"csrf_token": token, "text": MISSED, "procedure_code": "9.999999"},
        )
        assert bad.status_code == 422 and "Chưa có thủ tục mang mã 9.999999" in bad.text
        res = await c.post(
            "/console/learning/assign", data={"csrf_token": token, "text": MISSED, "intent": "ask_documents"}
        )
        assert res.status_code == 303
        page = await c.get(res.headers["location"])
        assert "Đã lưu câu mẫu cho ý định «Hỏi giấy tờ cần nộp»" in page.text and MISSED not in page.text
        res = await c.post("/console/learning/dismiss", data={"csrf_token": token, "text": "alo alo"})
        assert res.status_code == 303
        assert "alo alo" in (await c.get("/console/learning?status=dismissed")).text
        data = await c.get("/console/learning/data")
        assert MISSED in data.text  # the learned example is listed
        upload = await c.post(
            "/console/learning/import",
            data={"csrf_token": token, "what": "training"},
            files={"file": ("mau.csv", "text,intent\nchào,khong_co\n".encode(), "text/csv")},
        )
        assert upload.status_code == 422
        assert "Dòng 2: ý định «khong_co» không có trong dữ liệu huấn luyện." in upload.text
        download = await c.get("/console/learning/export/faqs.yml")
        assert "Bộ phận một cửa" in download.text
        ok = await c.post(
            "/console/learning/import",
            data={"csrf_token": token, "what": "faqs"},
            files={"file": ("faq.yml", download.content, "application/yaml")},
        )
        assert ok.status_code == 200 and "0 mới, 0 cập nhật, 1 không đổi" in ok.text
