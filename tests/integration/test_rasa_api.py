"""A Rasa client against the real server: the requests of Rasa 3.6's documentation (the REST channel's
``{"sender", "message"}``, ``/model/parse``'s ``{"text"}``), sent unchanged, answered in Rasa's shapes by
the real NLU over the seeded knowledge base; the conversation they make read back as a Rasa tracker."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from bot.app.bootstrap import bootstrap
from bot.app.server import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_real_settings) -> FastAPI:
    return create_app(bootstrap(module_real_settings))


def client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(host, 5000)), base_url="http://test"
    )


async def test_rasa_s_rest_channel_example(app: FastAPI) -> None:
    async with client(app) as c:
        res = await c.post("/webhooks/rest/webhook", json={"sender": "test_user", "message": "Xin chào"})
    assert res.status_code == 200
    replies = res.json()
    # without the API token the sender is the server's web-chat session, not the one the client named
    assert replies and all(r["recipient_id"] == replies[0]["recipient_id"] != "test_user" for r in replies)
    assert all("text" in r for r in replies) and replies[0]["recipient_id"].startswith("web-")
    assert any("buttons" in r for r in replies)


async def test_rasa_s_model_parse_example(app: FastAPI) -> None:
    async with client(app) as c:
        greet = (await c.post("/model/parse", json={"text": "xin chào"})).json()
        fee = (await c.post("/model/parse", json={"text": "lệ phí đăng ký kết hôn bao nhiêu"})).json()
        button = (await c.post("/model/parse", json={"text": '/choose{"procedure":"1.000894"}'})).json()
    assert greet["intent"]["name"] == "greet" and greet["text"] == "xin chào"
    assert {"text", "intent", "intent_ranking", "entities", "procedure", "procedure_ranking"} <= set(fee)
    assert fee["intent"]["name"] == "ask_fee"
    assert fee["procedure"]["code"] == "1.000894"
    # a button payload is read as Rasa reads it: the intent at confidence 1, the entities
    assert button["intent"] == {"name": "choose", "confidence": 1.0}
    assert button["entities"][0]["entity"] == "procedure" and button["entities"][0]["value"] == "1.000894"


async def test_the_conversation_is_a_rasa_tracker(app: FastAPI) -> None:
    async with client(app) as c:
        replies = await c.post(
            "/webhooks/rest/webhook", json={"sender": "tracked", "message": "đăng ký kết hôn cần giấy tờ gì"}
        )
        tracked = replies.json()[0]["recipient_id"]  # the conversation the server gave this client
        tracker = (await c.get(f"/conversations/{tracked}/tracker")).json()
        logged = await c.post(
            f"/conversations/{tracked}/messages", json={"text": "nộp ở đâu", "sender": "user"}
        )
    assert tracker["sender_id"] == tracked and tracker["slots"]["procedure"] == "1.000894"
    users = [e for e in tracker["events"] if e["event"] == "user"]
    bots = [e for e in tracker["events"] if e["event"] == "bot"]
    assert users[0]["text"] == "đăng ký kết hôn cần giấy tờ gì"
    assert users[0]["parse_data"]["intent"]["name"] == "ask_documents"
    assert bots and "kết hôn" in bots[0]["text"].lower()
    assert logged.status_code == 200
    last = logged.json()["events"][-1]
    assert last["event"] == "user" and last["parse_data"]["intent"]["name"] == "ask_where"


async def test_status_domain_and_the_loopback_rule(app: FastAPI) -> None:
    async with client(app) as c:
        status = (await c.get("/status")).json()
        domain = (await c.get("/domain")).json()
    assert status["model_file"] and status["num_active_training_jobs"] == 0
    assert "choose_group" in domain["intents"] and "utter_greet" in domain["responses"]
    async with client(app, host="198.51.100.7") as c:
        assert (await c.get("/status")).status_code == 403
        assert (await c.get("/version")).status_code == 200
        # the REST channel is public, as in Rasa
        assert (await c.post("/webhooks/rest/webhook", json={"message": "chào"})).status_code == 200
