"""Rasa's HTTP API router (bot/channels/rasa_http.py) on fakes: Rasa 3.6's shapes, its token auth, loopback
only without a token, and its error bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import yaml
from fastapi import FastAPI

from bot.channels.rasa_http import RasaApi, rasa_router
from bot.core.messages import ConversationKey, InboundMessage
from bot.core.parse import Candidate, Entity, IntentScore, Parse
from bot.core.ports import InMemoryConversationStore, MessageRecord
from bot.core.state import ConversationState, Mode

DOMAIN = {"version": "3.1", "intents": ["greet"], "responses": {"utter_greet": [{"text": "Chào"}]}}
RASA_ERROR_KEYS = {"version", "status", "message", "reason", "details", "help", "code"}


def parse(text: str) -> Parse:
    if text == "boom":
        raise RuntimeError("the NLU broke")
    fee = IntentScore("ask_fee", 0.91)
    marriage = Candidate("1.000894", "Đăng ký kết hôn", 0.97)
    return Parse(text, fee, (fee,), (Entity("procedure", "kết hôn", 7, 14),), marriage, (marriage,))


class Api:
    def __init__(self, token: str = "") -> None:
        self.store = InMemoryConversationStore()
        self.logged: list[tuple[InboundMessage, Parse | None]] = []
        self.api = RasaApi(
            parse=parse,
            log_message=self.log_message,
            store=self.store,
            domain=lambda: DOMAIN,
            status=lambda: {"model_file": "nlu-1.pkl.gz", "model_id": "nlu-1"},
            channels=lambda: ("rest", "telegram"),
            auth_token=token,
            version="0.1.0",
        )

    async def log_message(self, message: InboundMessage, given: Parse | None) -> Parse:
        self.logged.append((message, given))
        understood = given or parse(message.text)
        self.store.log(
            [MessageRecord(message.key, "in", message.text, intent=understood.intent.name, confidence=0.5)]
        )
        return understood

    def client(self, host: str = "127.0.0.1") -> httpx.AsyncClient:
        app = FastAPI()
        app.include_router(rasa_router(self.api))
        transport = httpx.ASGITransport(app=app, client=(host, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_version_is_rasa_s_and_needs_no_token() -> None:
    async with Api(token="s3cret").client("203.0.113.9") as c:
        res = await c.get("/version")
    assert res.json() == {
        "version": "3.6.21",
        "minimum_compatible_version": "3.6.21",
        "helpline_version": "0.1.0",
    }


async def test_status_names_the_model() -> None:
    async with Api().client() as c:
        res = await c.get("/status")
    assert res.json() == {"model_file": "nlu-1.pkl.gz", "model_id": "nlu-1", "num_active_training_jobs": 0}


async def test_model_parse_answers_rasa_s_shape_with_the_procedure() -> None:
    async with Api().client() as c:
        res = await c.post("/model/parse", json={"text": "lệ phí kết hôn", "message_id": "m1"})
    assert res.status_code == 200
    body = res.json()
    assert body["text"] == "lệ phí kết hôn"
    assert body["intent"] == {"name": "ask_fee", "confidence": 0.91}
    assert body["intent_ranking"] == [{"name": "ask_fee", "confidence": 0.91}]
    assert body["entities"][0] == {
        "entity": "procedure", "value": "kết hôn", "start": 7, "end": 14, "confidence": None, "extractor": None,
    }  # fmt: skip
    assert body["procedure"] == {"code": "1.000894", "name": "Đăng ký kết hôn", "score": 0.97}
    assert body["procedure_ranking"] == [body["procedure"]]


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({}, 400, "BadRequest"),
        ({"json": {"message": "x"}}, 400, "BadRequest"),
        ({"json": {"text": "boom"}}, 400, "ParsingError"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "BadRequest"),
    ],
)
async def test_model_parse_errors_have_rasa_s_body(kwargs: dict, status: int, reason: str) -> None:
    async with Api().client() as c:
        res = await c.post("/model/parse", **kwargs)
    assert res.status_code == status
    assert set(res.json()) == RASA_ERROR_KEYS
    assert (
        res.json()["reason"] == reason and res.json()["status"] == "failure" and res.json()["code"] == status
    )


async def test_an_emulation_mode_is_refused() -> None:
    async with Api().client() as c:
        res = await c.post("/model/parse?emulation_mode=LUIS", json={"text": "x"})
    assert res.status_code == 400 and res.json()["details"] == {"parameter": "emulation_mode", "in": "query"}


async def test_with_a_token_every_route_but_version_needs_it() -> None:
    api = Api(token="s3cret")
    async with api.client("127.0.0.1") as c:
        for method, path in [("GET", "/status"), ("POST", "/model/parse"), ("GET", "/conversations/u1/tracker"),
                             ("POST", "/conversations/u1/messages"), ("GET", "/domain")]:  # fmt: skip
            res = await c.request(method, path, json={"text": "x", "sender": "user"})
            assert res.status_code == 401, path
            assert res.json()["reason"] == "NotAuthenticated"
            wrong = await c.request(method, path + "?token=nope", json={"text": "x", "sender": "user"})
            assert wrong.status_code == 401
    async with api.client("203.0.113.9") as c:  # any machine, with the token
        res = await c.post("/model/parse?token=s3cret", json={"text": "x"})
    assert res.status_code == 200


async def test_without_a_token_only_this_machine_is_answered() -> None:
    api = Api()
    async with api.client("203.0.113.9") as c:
        res = await c.post("/model/parse", json={"text": "x"})
        assert res.status_code == 403
        assert res.json()["reason"] == "NotAuthorized"
        assert (await c.get("/conversations/u1/tracker")).status_code == 403
    for host in ("127.0.0.1", "::1", "127.8.9.10"):
        async with api.client(host) as c:
            assert (await c.post("/model/parse", json={"text": "x"})).status_code == 200, host


async def test_the_tracker_of_a_conversation() -> None:
    api = Api()
    key = ConversationKey("rest", "u1")
    api.store.save(ConversationState(key, procedure="1.000894", mode=Mode.WITH_OFFICER))
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    api.store.log([MessageRecord(key, "in", "lệ phí", intent="ask_fee", confidence=0.9, created_at=at),
                   MessageRecord(key, "out", "Không mất lệ phí", sender="bot", created_at=at)])  # fmt: skip
    async with api.client() as c:
        tracker = (await c.get("/conversations/u1/tracker")).json()
        none = (await c.get("/conversations/u1/tracker?include_events=NONE")).json()
        early = (await c.get(f"/conversations/u1/tracker?until={at.timestamp() - 1}")).json()
        bad = await c.get("/conversations/u1/tracker?include_events=SOME")
    assert tracker["sender_id"] == "u1" and tracker["paused"] is True
    assert tracker["slots"]["procedure"] == "1.000894"
    assert [e["event"] for e in tracker["events"]][-3:] == ["user", "bot", "action"]
    assert tracker["latest_message"]["intent"] == {"name": "ask_fee", "confidence": 0.9}
    assert none["events"] is None
    assert early["events"] == []
    assert bad.status_code == 400 and bad.json()["details"] == {"parameter": "include_events", "in": "query"}


async def test_other_channels_conversations_and_ids_with_slashes() -> None:
    api = Api()
    api.store.log([MessageRecord(ConversationKey("telegram", "42"), "in", "chào", intent="greet")])
    async with api.client() as c:
        telegram = (await c.get("/conversations/telegram:42/tracker")).json()
        slashed = (await c.get("/conversations/a/b/tracker")).json()
    assert telegram["sender_id"] == "telegram:42" and telegram["latest_input_channel"] == "telegram"
    assert telegram["latest_message"]["text"] == "chào"
    assert slashed["sender_id"] == "a/b"


async def test_a_new_conversation_s_tracker_has_its_session_start() -> None:
    async with Api().client() as c:
        tracker = (await c.get("/conversations/nobody/tracker")).json()
    assert [e["event"] for e in tracker["events"]] == ["action", "session_started", "action"]
    assert tracker["latest_message"] == {
        "intent": {},
        "entities": [],
        "text": None,
        "message_id": None,
        "metadata": {},
    }


async def test_messages_are_logged_without_an_answer() -> None:
    api = Api()
    async with api.client() as c:
        res = await c.post("/conversations/u1/messages", json={"text": "lệ phí kết hôn", "sender": "user"})
        given = await c.post(
            "/conversations/u1/messages",
            json={
                "text": "chào",
                "sender": "user",
                "parse_data": {"intent": {"name": "greet", "confidence": 1.0}},
            },
        )
    assert res.status_code == 200
    assert [e["event"] for e in res.json()["events"]][-1] == "user"
    assert api.logged[0][0].key == ConversationKey("rest", "u1") and api.logged[0][1] is None
    assert api.logged[1][1] is not None and api.logged[1][1].intent == IntentScore("greet", 1.0)
    assert given.json()["latest_message"]["intent"]["name"] == "greet"


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x", "sender": "bot"},
        {"text": "x"},
        {"sender": "user"},
        {"text": "x", "sender": "user", "parse_data": {"intent": {"name": ""}}},
    ],  # fmt: skip
)
async def test_a_message_rasa_would_refuse_is_refused(body: dict) -> None:
    async with Api().client() as c:
        res = await c.post("/conversations/u1/messages", json=body)
    assert res.status_code == 400 and set(res.json()) == RASA_ERROR_KEYS


async def test_the_domain_as_json_or_yaml() -> None:
    async with Api().client() as c:
        default = await c.get("/domain")
        as_json = await c.get("/domain", headers={"accept": "application/json"})
        as_yaml = await c.get("/domain", headers={"accept": "application/x-yml"})
        refused = await c.get("/domain", headers={"accept": "text/html"})
    assert default.json() == DOMAIN and as_json.json() == DOMAIN
    assert as_yaml.headers["content-type"].startswith("application/x-yml")
    assert yaml.safe_load(as_yaml.text) == DOMAIN
    assert refused.status_code == 406 and refused.json()["reason"] == "NotAcceptable"
