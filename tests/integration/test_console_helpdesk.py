"""The officer console as a help desk (issue 14, item 3), on the hand-off service production wires.

What the inbox shows of a ticket (the citizen's first question, not "/start"; the procedure's name; the
unread count), the whole conversation copied into the ticket (not its last 20 messages), the citizen told
who claimed it, private notes that never reach the citizen, canned replies editors keep, and the bot's
own answer for the ticket's procedure over the API.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.core.errors import ValidationFailed
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.handoff.model import TicketError
from console.auth.sessions import COOKIE_NAME
from tests.fakes.app import factory_app, settings_for
from tests.fakes.clock import FakeClock

JOINED = "Dạ, cán bộ Trần Thị Lan đang hỗ trợ bạn. Bạn cứ nhắn tiếp, cán bộ sẽ trả lời ngay tại đây."


class Desk:
    """The app on the test's database, a channel that records what the citizen receives, an officer."""

    def __init__(self, db_engine) -> None:
        self.clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        self.app = factory_app(
            settings_for(db_engine.url.render_as_string(hide_password=False)), db=db_engine, clock=self.clock
        )
        self.service = self.app.tickets
        self.sent: list[OutboundMessage] = []
        self.service.use_delivery(self._deliver)
        self.lan = self.app.users.add("lan", "sen-hong-2026", display_name="Trần Thị Lan")
        self.hoa = self.app.users.add("hoa", "lua-vang-2026", role="editor", display_name="Phạm Thị Hoa")

    async def _deliver(self, message: OutboundMessage) -> None:
        self.sent.append(message)

    async def say(self, key: ConversationKey, text: str) -> None:
        await self.app.handler(InboundMessage(key, text, received_at=self.clock.now))
        self.clock.advance(2)


@pytest.fixture
def desk(db_engine) -> Desk:
    return Desk(db_engine)


async def test_the_inbox_shows_the_first_question_the_procedure_name_and_unread(desk: Desk) -> None:
    key = ConversationKey("rest", "web-1")
    await desk.say(key, "/start")  # each reload of the web chat used to show as the ticket's preview
    await desk.say(key, "đăng ký kết hôn cần giấy tờ gì")
    await desk.say(key, "/request_human")
    [ticket] = desk.service.list("waiting")
    assert ticket.first_question == "đăng ký kết hôn cần giấy tờ gì"
    assert ticket.procedure == "1.000894" and ticket.procedure_name == "Đăng ký kết hôn"
    # the bot's answer and the officer notice are not unread; the citizen's three messages are
    assert ticket.unread == 3

    messages = desk.service.messages(ticket.id)
    desk.service.mark_seen(ticket.id, max(m.id for m in messages))
    assert desk.service.get(ticket.id).unread == 0
    await desk.say(key, "tôi cần gấp trong tuần này")
    assert desk.service.get(ticket.id).unread == 1
    assert desk.service.get(ticket.id).last_citizen_at is not None


async def test_the_ticket_holds_the_whole_conversation_since_the_last_ticket(desk: Desk) -> None:
    key = ConversationKey("rest", "web-2")
    await desk.say(key, "đăng ký kết hôn cần giấy tờ gì")  # the first question
    for i in range(14):  # 28 messages more: a copy of the last 20 missed the first question
        await desk.say(key, f"lệ phí bao nhiêu {i}")
    await desk.say(key, "/request_human")
    [ticket] = desk.service.list("waiting")
    texts = [m.text for m in desk.service.messages(ticket.id)]
    assert texts[0] == "đăng ký kết hôn cần giấy tờ gì"
    assert len([t for t in texts if t.startswith("lệ phí bao nhiêu")]) == 14
    # closed, then a second escalation: only what came after the first ticket is copied again
    await desk.service.claim(ticket.id, desk.lan.id)
    await desk.service.close(ticket.id, desk.lan.id, "đã hướng dẫn")
    desk.clock.advance(60)
    await desk.say(key, "cho tôi hỏi thêm về đăng ký khai sinh")
    await desk.say(key, "/request_human")
    second = desk.service.open_ticket(key)
    assert second is not None and second.id != ticket.id
    assert second.first_question == "cho tôi hỏi thêm về đăng ký khai sinh"
    assert "đăng ký kết hôn cần giấy tờ gì" not in [m.text for m in desk.service.messages(second.id)]


async def test_the_citizen_is_told_which_officer_took_the_conversation(desk: Desk) -> None:
    key = ConversationKey("rest", "web-3")
    await desk.say(key, "/request_human")
    [ticket] = desk.service.list("waiting")
    desk.sent.clear()
    await desk.service.claim(ticket.id, desk.lan.id)
    assert desk.sent == [OutboundMessage(key, JOINED, sender="bot")]
    # on the ticket and in the conversation log, as every bot message
    assert [m.sender for m in desk.service.messages(ticket.id) if m.text == JOINED] == ["bot"]
    assert JOINED in [r.text for r in desk.app.adapters.conversations.recent_messages(key, 10)]
    await desk.service.claim(ticket.id, desk.lan.id)  # a second click tells nobody again
    assert len(desk.sent) == 1


async def test_private_notes_stay_with_the_officers(desk: Desk) -> None:
    key = ConversationKey("rest", "web-4")
    await desk.say(key, "/request_human")
    [ticket] = desk.service.list("waiting")
    desk.sent.clear()
    note = desk.service.add_note(ticket.id, desk.lan.id, "Đã gọi bộ phận hộ tịch, CCCD 001203004567")
    assert note.officer_name == "Trần Thị Lan"
    assert note.text.endswith("*********567")  # masked like every stored text
    assert [n.text for n in desk.service.notes(ticket.id)] == [note.text]
    assert desk.sent == []  # never sent to the citizen
    assert all("hộ tịch" not in m.text for m in desk.service.messages(ticket.id))
    with pytest.raises(TicketError, match="trống"):
        desk.service.add_note(ticket.id, desk.lan.id, "   ")


def test_canned_replies_are_kept_by_editors(desk: Desk) -> None:
    first = desk.service.save_canned_reply(
        None, "  Giờ   làm việc ", "Bộ phận một cửa làm việc giờ hành chính.", "Hoa"
    )
    assert first.title == "Giờ làm việc"
    desk.service.save_canned_reply(None, "Chào hỏi", "Chào bạn, tôi là cán bộ tiếp nhận.", "Hoa")
    assert [c.title for c in desk.service.canned_replies()] == ["Chào hỏi", "Giờ làm việc"]
    changed = desk.service.save_canned_reply(first.id, "Giờ làm việc", "Từ thứ Hai đến thứ Sáu.", "Lan")
    assert (changed.text, changed.updated_by) == ("Từ thứ Hai đến thứ Sáu.", "Lan")
    with pytest.raises(ValidationFailed) as refused:
        desk.service.save_canned_reply(None, "", "x" * 4001, "Hoa")
    assert set(refused.value.problems) == {"title", "text"}
    desk.service.delete_canned_reply(first.id)
    assert [c.title for c in desk.service.canned_replies()] == ["Chào hỏi"]


async def test_the_api_gives_notes_canned_replies_and_the_bots_answer(desk: Desk) -> None:
    from bot.app.server import create_app

    key = ConversationKey("rest", "web-5")
    await desk.say(key, "đăng ký kết hôn cần giấy tờ gì")
    await desk.say(key, "/request_human")
    [ticket] = desk.service.list("waiting")
    auth = desk.app.console_auth

    server = create_app(desk.app)

    def client(user) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server),
            base_url="http://test",
            cookies={COOKIE_NAME: auth.cookie_for(user)},
        )

    async def csrf(c: httpx.AsyncClient) -> None:
        c.headers["X-CSRF-Token"] = (await c.get("/api/csrf")).json()["csrf_token"]

    async with client(desk.lan) as c:
        await csrf(c)
        listed = (await c.get("/api/tickets")).json()
        assert listed[0]["first_question"] == "đăng ký kết hôn cần giấy tờ gì"
        assert listed[0]["procedure_name"] == "Đăng ký kết hôn" and listed[0]["unread"] == 2
        await c.get(f"/api/tickets/{ticket.id}")  # reading the ticket marks it read
        assert (await c.get("/api/tickets")).json()[0]["unread"] == 0

        answer = (await c.get(f"/api/tickets/{ticket.id}/bot-answer", params={"topic": "documents"})).json()
        assert answer["procedure"] == "1.000894" and "kết hôn" in answer["text"]
        res = await c.post(f"/api/tickets/{ticket.id}/notes", json={"text": "Người dân cần gấp"})
        assert res.status_code == 201
        assert [n["text"] for n in (await c.get(f"/api/tickets/{ticket.id}/notes")).json()] == [
            "Người dân cần gấp"
        ]
        # officers read canned replies; only editors write them
        assert (await c.post("/api/canned-replies", json={"title": "A", "text": "B"})).status_code == 403
    async with client(desk.hoa) as c:
        await csrf(c)
        res = await c.post("/api/canned-replies", json={"title": "Giờ làm việc", "text": "Giờ hành chính."})
        assert res.status_code == 201
    async with client(desk.lan) as c:
        assert [r["title"] for r in (await c.get("/api/canned-replies")).json()] == ["Giờ làm việc"]
