"""The server end to end with the real NLU, the seeded knowledge base and SQLite conversation state.

Building a server migrates, indexes 4,259 procedures and loads the model (seconds), so the tests share
one per module (the ``app`` fixture), each in conversations of its own; the two about a restart build theirs.
Every test here is ``slow``: it needs the session's trained model.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from bot.app.bootstrap import bootstrap as _bootstrap
from bot.app.server import create_app

API_TOKEN = "rest-api-" + "7f3c9a51d2e84b06a9c1e5f27d4b8e30"
"""These tests speak Rasa's REST protocol as a trusted API client, naming each conversation's sender (the
web page's own sessions are tests/integration/test_webchat_sessions.py)."""


def bootstrap(settings):
    return _bootstrap(settings.model_copy(update={"rasa_auth_token": API_TOKEN}))


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )


async def post(client: httpx.AsyncClient, sender: str, message: str) -> list[dict]:
    res = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
    assert res.status_code == 200, res.text
    return res.json()


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_real_settings) -> FastAPI:
    """One server for the module's tests that need no fresh database (each uses its own sender id)."""
    return create_app(bootstrap(module_real_settings))


async def test_web_chat_page_and_health(app) -> None:
    async with await _client(app) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert "Trợ lý thủ tục hành chính" in page.text and "/static/chat.js" in page.text
        assert (await client.get("/static/chat.js")).status_code == 200
        health = (await client.get("/healthz")).json()
        assert health["procedures"] > 4000 and "rest" in health["channels"]


async def test_rest_protocol_greeting_buttons_and_payload(app) -> None:
    async with await _client(app) as client:
        replies = await post(client, "u1", "xin chào")
        assert replies and all(r["recipient_id"] == "u1" for r in replies)
        buttons = [b for r in replies for b in r.get("buttons", [])]
        assert buttons, "the greeting offers a menu of topics"
        marriage = next(b for b in buttons if "kết hôn" in b["title"].lower())
        # a button's payload sent back as the message is understood
        chosen = await post(client, "u1", marriage["payload"])
        assert "kết hôn" in texts(chosen).lower()


async def test_context_carries_over_and_survives_a_restart(real_settings) -> None:
    first = create_app(bootstrap(real_settings))
    async with await _client(first) as client:
        replies = await post(client, "u2", "đăng ký kết hôn cần giấy tờ gì")
        assert "kết hôn" in texts(replies).lower()
    # a new process on the same database: the conversation continues
    second = create_app(bootstrap(real_settings))
    async with await _client(second) as client:
        fee = texts(await post(client, "u2", "lệ phí bao nhiêu?")).lower()
        assert "kết hôn" in fee and ("lệ phí" in fee or "miễn" in fee)
        where = texts(await post(client, "u2", "nop o dau")).lower()
        assert "kết hôn" in where


# No sender, or an empty one, is Rasa's "default" (tests/unit/test_rasa_rest.py): only unreadable bodies are refused.
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"sender": ["u1"]}', b'{"message": {"a": 1}}'])
async def test_bad_requests_get_a_clear_message(app, body: bytes) -> None:
    async with await _client(app) as client:
        res = await client.post(
            "/webhooks/rest/webhook", content=body, headers={"content-type": "application/json"}
        )
        assert res.status_code == 400
        assert "không hợp lệ" in res.json()["error"]


ODD = ["", "😀😀😀", "x" * 20_000, "\x00\x01\x02", "天气怎么样", "   "]


@pytest.mark.parametrize(("n", "message"), list(enumerate(ODD)))
async def test_odd_messages_get_an_answer_not_an_error(app, n: int, message: str) -> None:
    async with await _client(app) as client:
        replies = await post(client, f"u3-{n}", message)  # each a first message, as on a fresh server
        assert replies and all(r["text"] for r in replies)
        assert "Traceback" not in texts(replies)


async def test_officer_message_reaches_web_chat_by_polling(app) -> None:
    from bot.core.messages import ConversationKey, OutboundMessage

    async with await _client(app) as client:
        await post(client, "u4", "xin chào")
        outbox = app.state.app.adapters.web_outbox
        await outbox.send(
            OutboundMessage(ConversationKey("rest", "u4"), "Chào bạn, tôi là cán bộ.", sender="officer")
        )
        polled = (await client.get("/webhooks/rest/poll", params={"sender": "u4", "after": 0})).json()
        assert [p["text"] for p in polled] == ["Chào bạn, tôi là cán bộ."]
        assert polled[0]["custom"]["sender"] == "officer"
        seq = polled[0]["custom"]["seq"]
        again = (await client.get("/webhooks/rest/poll", params={"sender": "u4", "after": seq})).json()
        assert again == []


async def test_dossier_lookup_verification_subscription_and_notification(app) -> None:
    code = "000.00.24.H12-250301-0007"  # a demo dossier seeded on start-up (knowledge/seed/demo_dossiers.yml)
    async with await _client(app) as client:
        asked = texts(await post(client, "u5", "hồ sơ của tôi đến đâu rồi")).lower()
        assert "mã hồ sơ" in asked
        verify = texts(await post(client, "u5", code)).lower()
        assert "4 số" in verify or "bốn số" in verify
        wrong = texts(await post(client, "u5", "0000")).lower()
        assert "đang giải quyết" not in wrong
        # the wrong answer revealed nothing; the right one reveals the status
        await post(client, "u5", code)
        status = await post(client, "u5", "5678")
        shown = texts(status).lower()
        assert "đang giải quyết" in shown and "/" in shown  # dates dd/mm/yyyy
        subscribe = next(b for r in status for b in r.get("buttons", []) if "thông báo" in b["title"].lower())
        await post(client, "u5", subscribe["payload"])

        container = app.state.app
        registry = app.state.app.registry
        await container.dossier_watcher.poll_once(
            container.adapters.dossiers, registry
        )  # remembers the status
        container.adapters.dossiers.update_status(code, status="Đã có kết quả", done=True)
        await container.dossier_watcher.poll_once(container.adapters.dossiers, registry)
        polled = (await client.get("/webhooks/rest/poll", params={"sender": "u5", "after": 0})).json()
        assert any(code in p["text"] and "kết quả" in p["text"].lower() for p in polled), polled


async def test_faq_is_answered_from_the_seeded_entries(app) -> None:
    async with await _client(app) as client:
        answer = texts(await post(client, "u6", "bo phan mot cua lam viec may gio")).lower()
        assert "giờ hành chính" in answer


async def test_an_officer_reply_waiting_for_the_web_chat_survives_a_restart(real_settings) -> None:
    from bot.core.messages import ConversationKey, OutboundMessage

    first = create_app(bootstrap(real_settings))
    await first.state.app.adapters.web_outbox.send(
        OutboundMessage(ConversationKey("rest", "u7"), "Hồ sơ của bạn đã xong.", sender="officer")
    )
    second = create_app(bootstrap(real_settings))  # the server restarted before the page polled
    async with await _client(second) as client:
        polled = (await client.get("/webhooks/rest/poll", params={"sender": "u7", "after": 0})).json()
    assert [p["text"] for p in polled] == ["Hồ sơ của bạn đã xong."]
    assert polled[0]["custom"]["sender"] == "officer"
