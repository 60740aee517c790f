"""The REST channel is as lenient as Rasa 3.6's: the sender defaults to "default", numbers are read as text,
``?stream=true`` streams one JSON message a line, and images and custom JSON are messages of their own
(on the other channels an image is its link, custom JSON is left out)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from bot.channels.base import ChannelRegistry
from bot.channels.rest import WebChatSessions, rest_messages, rest_router
from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage


class Recorder:
    """A handler that answers with fixed replies and keeps what it was given."""

    def __init__(self, *extra: OutboundMessage) -> None:
        self.received: list[InboundMessage] = []
        self.extra = extra

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        self.received.append(message)
        first = OutboundMessage(message.key, f"Bạn nói: {message.text}", (Button("Có", "/affirm"),))
        return [
            first,
            *(OutboundMessage(message.key, m.text, image=m.image, custom=m.custom) for m in self.extra),
        ]


def client(handler: Recorder) -> httpx.AsyncClient:
    api = FastAPI()
    api.include_router(rest_router(handler, sessions=WebChatSessions(raw_senders=True)))  # Rasa's own rule
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test")


@pytest.mark.parametrize(
    ("body", "sender", "text"),
    [
        ({"message": "xin chào"}, "default", "xin chào"),
        ({"sender": None, "message": "a"}, "default", "a"),
        ({"sender": "", "message": "a"}, "default", "a"),
        ({"sender": 42, "message": "a"}, "42", "a"),
        ({"sender": 4.5, "message": 7}, "4.5", "7"),
        ({"sender": "u1"}, "u1", ""),
        ({"sender": "u1", "message": None}, "u1", ""),
        ({}, "default", ""),
    ],
)
async def test_what_rasa_accepts_is_accepted(body: dict, sender: str, text: str) -> None:
    handler = Recorder()
    async with client(handler) as c:
        res = await c.post("/webhooks/rest/webhook", json=body)
    assert res.status_code == 200, res.text
    assert handler.received[0].key == ConversationKey("rest", sender)
    assert handler.received[0].text == text
    assert res.json()[0]["recipient_id"] == sender


async def test_metadata_and_message_id_are_kept() -> None:
    handler = Recorder()
    async with client(handler) as c:
        body = {"sender": "u1", "message": "hi", "metadata": {"page": "/thu-tuc"}, "message_id": 9}
        await c.post("/webhooks/rest/webhook", json=body)
    assert handler.received[0].metadata == {"page": "/thu-tuc"}
    assert handler.received[0].message_id == "9"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"sender": ["a"]}',
        b'{"sender": true}',
        ('{"sender": "%s"}' % ("x" * 200)).encode(),
    ],
)
async def test_what_cannot_be_read_is_still_refused(body: bytes) -> None:
    async with client(Recorder()) as c:
        res = await c.post(
            "/webhooks/rest/webhook", content=body, headers={"content-type": "application/json"}
        )
    assert res.status_code == 400
    assert "không hợp lệ" in res.json()["error"]


async def test_stream_true_sends_one_json_message_a_line() -> None:
    extra = OutboundMessage(ConversationKey("rest", "u1"), "", image="https://example.org/a.png")
    async with client(Recorder(extra)) as c:
        res = await c.post("/webhooks/rest/webhook?stream=true", json={"sender": "u1", "message": "hi"})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    lines = [json.loads(line) for line in res.text.splitlines()]
    assert lines == [
        {"recipient_id": "u1", "text": "Bạn nói: hi", "buttons": [{"title": "Có", "payload": "/affirm"}]},
        {"recipient_id": "u1", "image": "https://example.org/a.png"},
    ]
    assert res.text.endswith("\n")


@pytest.mark.parametrize("value", ["false", "1", "yes"])
async def test_only_stream_true_streams(value: str) -> None:
    async with client(Recorder()) as c:
        res = await c.post(f"/webhooks/rest/webhook?stream={value}", json={"sender": "u1", "message": "hi"})
    assert res.headers["content-type"] == "application/json"
    assert isinstance(res.json(), list)


def test_images_and_custom_json_are_messages_of_their_own() -> None:
    key = ConversationKey("rest", "u1")
    both = OutboundMessage(
        key, "Trời nắng", (Button("Cảm ơn", "/thank"),), image="https://x/s.png", custom={"d": 3}
    )
    assert rest_messages(both) == [
        {"recipient_id": "u1", "text": "Trời nắng", "buttons": [{"title": "Cảm ơn", "payload": "/thank"}]},
        {"recipient_id": "u1", "image": "https://x/s.png"},
        {"recipient_id": "u1", "custom": {"d": 3}},
    ]
    assert rest_messages(OutboundMessage(key, "", custom={"d": 3})) == [
        {"recipient_id": "u1", "custom": {"d": 3}}
    ]
    # an officer's reply keeps its shipped shape, custom.sender beside the text
    officer = OutboundMessage(key, "Chào bạn", sender="officer")
    assert rest_messages(officer) == [
        {"recipient_id": "u1", "text": "Chào bạn", "custom": {"sender": "officer"}}
    ]
    assert rest_messages(OutboundMessage(key, "")) == [{"recipient_id": "u1", "text": ""}]


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> None:
        self.sent.append(message)


async def test_text_channels_get_the_image_as_a_link_and_no_custom_json() -> None:
    telegram, web = Recording("telegram"), Recording("rest")
    registry = ChannelRegistry([telegram, web])
    tg, rest = ConversationKey("telegram", "1"), ConversationKey("rest", "u1")
    await registry.deliver(OutboundMessage(tg, "Trời nắng", image="https://x/s.png", custom={"d": 3}))
    await registry.deliver(OutboundMessage(tg, "", custom={"d": 3}))  # nothing to show: not sent
    await registry.deliver(OutboundMessage(tg, "Chào", (Button("Có", "/affirm"),)))
    await registry.deliver(OutboundMessage(rest, "", custom={"d": 3}))
    assert [(m.text, m.image, m.custom) for m in telegram.sent] == [
        ("Trời nắng\nhttps://x/s.png", None, None),
        ("Chào", None, None),
    ]
    assert web.sent == [OutboundMessage(rest, "", custom={"d": 3})]
