"""The web chat's server-issued sessions (issue 13 §4): a client's ``sender`` does not choose whose
conversation it speaks in, reads or restores; only a trusted API client (the Rasa HTTP API's token) names
one, as Rasa's REST protocol lets it. And the outbox behind the page: its poll and its history."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, insert

from bot.channels.rest import (
    SESSION_COOKIE,
    RestOutbox,
    SqlRestOutbox,
    WebChatSessions,
    WebOutboxRow,
    rest_router,
    web_sender,
)
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from knowledge.db import make_session_factory
from tests.fakes.app import factory_app

TOKEN = secrets.token_urlsafe(32)


def _server(settings, **fields):
    from bot.app.server import create_app

    return create_app(factory_app(settings.model_copy(update=fields)))


def _client(api, host: str = "203.0.113.9") -> httpx.AsyncClient:
    """A client from another machine (the web chat's visitors are)."""
    transport = httpx.ASGITransport(app=api, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://chat.test")


async def _say(client: httpx.AsyncClient, message: str, **body) -> list[dict]:
    res = await client.post("/webhooks/rest/webhook", json={"message": message, **body})
    assert res.status_code == 200, res.text
    return res.json()


@pytest.fixture
def api(factory_settings):
    return _server(factory_settings)


async def test_the_page_gets_an_httponly_session_and_its_empty_history(api) -> None:
    async with _client(api) as page:
        res = await page.get("/webhooks/rest/history")
    assert res.status_code == 200 and res.json() == {"messages": [], "after": 0}
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/webhooks/rest", "Max-Age=604800"):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # a plain-HTTP site cannot keep a Secure cookie


async def test_a_chosen_sender_does_not_act_as_another_conversation(api) -> None:
    async with _client(api) as alice, _client(api) as mallory:
        alice_id = (await _say(alice, "xin chào"))[0]["recipient_id"]
        assert alice_id.startswith("web-")
        await api.state.app.adapters.web_outbox.send(
            OutboundMessage(
                ConversationKey("rest", alice_id), "Hồ sơ của chị đã có kết quả.", sender="officer"
            )
        )
        # Mallory names Alice's conversation everywhere a sender can be written
        replies = await _say(mallory, "tôi muốn gặp cán bộ", sender=alice_id)
        stolen = (await mallory.get("/webhooks/rest/poll", params={"sender": alice_id, "after": 0})).json()
        restored = (await mallory.get("/webhooks/rest/history", params={"sender": alice_id})).json()
        mine = (await alice.get("/webhooks/rest/poll", params={"after": 0})).json()
        alice_history = (await alice.get("/webhooks/rest/history")).json()["messages"]
    assert {r["recipient_id"] for r in replies} != {alice_id}  # answered in Mallory's own conversation
    assert stolen == []
    assert all("kết quả" not in m.get("text", "") for m in restored["messages"])
    assert [m["text"] for m in mine] == ["Hồ sơ của chị đã có kết quả."]
    assert all("gặp cán bộ" not in m.get("text", "") for m in alice_history)


async def test_a_made_up_cookie_is_a_new_conversation_never_a_named_one(api) -> None:
    async with _client(api) as client:
        client.cookies.set(SESSION_COOKIE, "test_user", domain="chat.test", path="/webhooks/rest")
        replies = await _say(client, "xin chào", sender="test_user")
        issued = replies[0]["recipient_id"]
        assert issued != "test_user" and issued.startswith("web-")
        # a well-formed token chosen by the client is only ever its own hashed conversation
        chosen = "A" * 43
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, chosen, domain="chat.test", path="/webhooks/rest")
        again = await _say(client, "xin chào", sender="test_user")
    assert again[0]["recipient_id"] == web_sender(chosen) != "test_user"


async def test_the_conversation_id_does_not_give_the_session(api) -> None:
    async with _client(api) as alice:
        alice_id = (await _say(alice, "xin chào"))[0]["recipient_id"]
        token = alice.cookies[SESSION_COOKIE]
    assert token not in alice_id and web_sender(token) == alice_id
    async with _client(api) as other:
        other.cookies.set(SESSION_COOKIE, alice_id, domain="chat.test", path="/webhooks/rest")
        assert (await _say(other, "xin chào"))[0]["recipient_id"] != alice_id


async def test_a_trusted_api_client_names_its_sender(factory_settings) -> None:
    api = _server(factory_settings, rasa_auth_token=TOKEN)
    async with _client(api) as client:
        bearer = await client.post(
            "/webhooks/rest/webhook",
            json={"sender": "crm-42", "message": "xin chào"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        rasa_style = await client.post(
            "/webhooks/rest/webhook", params={"token": TOKEN}, json={"sender": "crm-43", "message": "chào"}
        )
        wrong = await client.post(
            "/webhooks/rest/webhook",
            json={"sender": "crm-42", "message": "chào"},
            headers={"Authorization": "Bearer " + secrets.token_urlsafe(32)},
        )
        await api.state.app.adapters.web_outbox.send(
            OutboundMessage(ConversationKey("rest", "crm-42"), "Trả lời của cán bộ", sender="officer")
        )
        polled = await client.get("/webhooks/rest/poll", params={"sender": "crm-42", "token": TOKEN})
    assert {r["recipient_id"] for r in bearer.json()} == {"crm-42"}
    assert "set-cookie" not in bearer.headers  # an API client gets no web-chat session
    assert {r["recipient_id"] for r in rasa_style.json()} == {"crm-43"}
    assert {r["recipient_id"] for r in wrong.json()} != {"crm-42"}
    assert [m["text"] for m in polled.json()] == ["Trả lời của cán bộ"]


async def test_without_a_token_configured_no_client_is_trusted(api) -> None:
    async with _client(api, host="127.0.0.1") as local:  # not even this machine
        replies = await _say(local, "xin chào", sender="crm-42")
        bearer = await local.post(
            "/webhooks/rest/webhook",
            json={"sender": "crm-42", "message": "chào"},
            headers={"Authorization": "Bearer "},
        )
    assert {r["recipient_id"] for r in replies} != {"crm-42"}
    assert {r["recipient_id"] for r in bearer.json()} != {"crm-42"}


async def test_behind_https_the_cookie_is_secure(factory_settings) -> None:
    api = _server(factory_settings, public_url="https://dichvucong.example.vn")
    async with _client(api) as page:
        res = await page.get("/webhooks/rest/history")
    assert "secure" in res.headers["set-cookie"].lower()


async def test_the_history_is_what_the_page_showed_in_order(api) -> None:
    async with _client(api) as page:
        greeting = await _say(page, "/start")  # the page's own greeting request: no message of the citizen
        chosen = greeting[0]["buttons"][0]
        await _say(page, chosen["payload"], title=chosen["title"])
        await _say(page, "lệ phí bao nhiêu")
        await api.state.app.adapters.web_outbox.send(
            OutboundMessage(
                ConversationKey("rest", greeting[0]["recipient_id"]), "Cán bộ đây", sender="officer"
            )
        )
        history = (await page.get("/webhooks/rest/history")).json()
        polled = (await page.get("/webhooks/rest/poll", params={"after": 0})).json()
        after = (await page.get("/webhooks/rest/poll", params={"after": history["after"]})).json()
    people = [
        (m["custom"]["sender"] if m["custom"].get("sender") in ("user", "officer") else "bot")
        for m in history["messages"]
    ]
    texts = [m["text"] for m in history["messages"]]
    assert "/start" not in texts and chosen["payload"] not in texts
    assert texts[0] == greeting[0]["text"] and history["messages"][0]["buttons"] == greeting[0]["buttons"]
    assert people[0] == "bot" and people[-1] == "officer" and people.count("user") == 2
    assert texts[people.index("user")] == chosen["title"]  # a button as the citizen saw it
    assert "lệ phí bao nhiêu" in texts
    seqs = [m["custom"]["seq"] for m in history["messages"]]
    assert seqs == sorted(seqs) and history["after"] == seqs[-1]
    assert [m["text"] for m in polled] == ["Cán bộ đây"]  # the poll brings only what the page has not had
    assert after == []


async def test_the_sql_outbox_keeps_pushed_and_shown_apart(db_engine: Engine) -> None:
    outbox = SqlRestOutbox(make_session_factory(db_engine))
    with db_engine.begin() as conn:  # a row written before entries said how they reached the page
        conn.execute(
            insert(WebOutboxRow).values(
                chat_id="web-a", message={"recipient_id": "web-a", "text": "cũ"}, created_at=datetime.now(UTC)
            )
        )
    await outbox.record("web-a", [{"text": "câu hỏi", "custom": {"sender": "user"}}], "user")
    await outbox.record("web-a", [{"recipient_id": "web-a", "text": "trả lời"}], "reply")
    await outbox.send(OutboundMessage(ConversationKey("rest", "web-a"), "cán bộ", sender="officer"))
    await outbox.send(OutboundMessage(ConversationKey("rest", "web-b"), "người khác", sender="officer"))
    pending = await outbox.pending("web-a", 0)
    history = await outbox.history("web-a")
    assert [m["text"] for m in pending] == ["cũ", "cán bộ"]
    assert [m["text"] for m in history] == ["cũ", "câu hỏi", "trả lời", "cán bộ"]
    assert all("via" not in m for m in history)
    assert [m["text"] for m in await outbox.history("web-a", limit=2)] == ["trả lời", "cán bộ"]
    assert await outbox.pending("web-a", int(pending[-1]["custom"]["seq"])) == []


async def test_the_history_keeps_no_personal_number_in_full(api) -> None:
    async with _client(api) as page:
        await _say(page, "số căn cước của tôi là 001 085 001 234, điện thoại 0912 345 678")
        history = (await page.get("/webhooks/rest/history")).json()["messages"]
    said = next(m["text"] for m in history if m["custom"].get("sender") == "user")
    assert "001 085 001 234" not in said and "0912 345 678" not in said
    assert said.startswith("số căn cước của tôi là") and "234" in said  # masked, still readable


class CountingEngine:
    """Answers "Đã nhận: <text>", counting its turns; ``gate`` (when set) holds every turn until opened."""

    def __init__(self) -> None:
        self.turns: list[str] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        self.turns.append(message.text)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return [OutboundMessage(message.key, f"Đã nhận: {message.text}")]


def _page_app(engine: CountingEngine) -> FastAPI:
    app = FastAPI()
    app.include_router(rest_router(engine, RestOutbox(), WebChatSessions()))
    return app


async def test_a_resent_message_gets_its_first_answer_again_without_a_second_turn() -> None:
    """The web chat's "Gửi lại" after a response lost on the way sends the same message id again: the
    citizen gets the answer once given, the engine runs once; another id is another question."""
    engine = CountingEngine()
    async with _client(_page_app(engine)) as page:
        first = await _say(page, "lệ phí bao nhiêu", message_id="w-1")
        again = await _say(page, "lệ phí bao nhiêu", message_id="w-1", resend=True)
        other = await _say(page, "lệ phí bao nhiêu", message_id="w-2")
        history = (await page.get("/webhooks/rest/history")).json()["messages"]
    assert [m["text"] for m in again] == [m["text"] for m in first] == ["Đã nhận: lệ phí bao nhiêu"]
    assert [m["text"] for m in other] == ["Đã nhận: lệ phí bao nhiêu"]
    assert engine.turns == ["lệ phí bao nhiêu", "lệ phí bao nhiêu"]  # w-1 once, w-2 once
    assert [m["text"] for m in history].count(
        "lệ phí bao nhiêu"
    ) == 2  # the citizen's message kept once per id


async def test_a_resend_while_the_first_try_still_runs_waits_for_its_answer() -> None:
    engine = CountingEngine()
    engine.gate = asyncio.Event()
    async with _client(_page_app(engine)) as page:
        await page.get("/webhooks/rest/history")  # the page's session, as when it loaded
        slow = asyncio.create_task(_say(page, "mất bao lâu", message_id="w-9"))
        await asyncio.wait_for(engine.started.wait(), 10)
        resend = asyncio.create_task(_say(page, "mất bao lâu", message_id="w-9", resend=True))
        await asyncio.sleep(0.3)  # the resend is waiting for the first try's replies
        assert not resend.done()
        engine.gate.set()
        first, again = await asyncio.wait_for(asyncio.gather(slow, resend), 10)
    assert [m["text"] for m in again] == [m["text"] for m in first] == ["Đã nhận: mất bao lâu"]
    assert engine.turns == ["mất bao lâu"]


async def test_a_resend_in_an_officers_chat_is_not_handed_over_twice() -> None:
    """While an officer has the chat the bot answers nothing; a resend of such a message is not handled
    (and so not added to the ticket) again, and it does not wait for replies that never come."""

    class Silent(CountingEngine):
        async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
            self.turns.append(message.text)
            return []

    engine = Silent()
    async with _client(_page_app(engine)) as page:
        await page.get("/webhooks/rest/history")
        assert await _say(page, "cán bộ ơi, tôi gửi thêm ảnh", message_id="w-5") == []
        again = await asyncio.wait_for(
            _say(page, "cán bộ ơi, tôi gửi thêm ảnh", message_id="w-5", resend=True), 5
        )
        history = (await page.get("/webhooks/rest/history")).json()["messages"]
    assert again == [] and engine.turns == ["cán bộ ơi, tôi gửi thêm ảnh"]
    assert [m.get("text") for m in history] == ["cán bộ ơi, tôi gửi thêm ảnh"]  # the mark is never shown


async def test_a_first_send_does_not_search_the_transcript() -> None:
    """Every message of the page carries an id; only a resend ("Gửi lại") looks for an earlier answer."""

    class Counting(RestOutbox):
        reads = 0

        async def history(self, chat_id: str, limit: int = 200) -> list[dict[str, object]]:
            Counting.reads += 1
            return await super().history(chat_id, limit)

    app = FastAPI()
    app.include_router(rest_router(CountingEngine(), Counting(), WebChatSessions()))
    async with _client(app) as page:
        for i in range(3):
            await _say(page, "lệ phí bao nhiêu", message_id=f"w-{i}")
        assert Counting.reads == 0
        await _say(page, "lệ phí bao nhiêu", message_id="w-2", resend=True)
    assert Counting.reads == 1
