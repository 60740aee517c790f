"""Dossier dialogues through production's wiring, with a dossier system that answers.

The app is the one :func:`bot.app.bootstrap.bootstrap` builds (``tests/fakes/app.py``: the rule-based NLU,
the factory procedures): its SQL access guard, its SQL subscriptions, its dossier watcher, its tickets.
Only the provincial dossier system (an in-memory gateway knowing one dossier) and the clock are fakes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app.bootstrap import App
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.ports import DossierStatus, InMemoryDossierGateway
from bot.core.settings import Settings
from bot.core.state import Mode
from tests import factories as f
from tests.fakes.app import factory_app
from tests.fakes.clock import FakeClock

NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
CODE = "000.00.24.H12-250301-0007"
DOSSIER = DossierStatus(
    CODE,
    "Đang giải quyết",
    procedure_name="Cấp giấy phép xây dựng mới",
    procedure_code=f.GPXD_NEW,
    current_step="Thẩm định hồ sơ",
    received_at=datetime(2025, 3, 1, 1, 30, tzinfo=UTC),
    due_at=datetime(2025, 3, 16, 1, 30, tzinfo=UTC),
)


@pytest.fixture
def gateway() -> InMemoryDossierGateway:
    return InMemoryDossierGateway([DOSSIER], secrets={CODE: {"5678"}})


@pytest.fixture
def app(factory_settings: Settings, gateway: InMemoryDossierGateway) -> App:
    return factory_app(factory_settings, dossiers=gateway, clock=FakeClock(NOW))


class Chat:
    """One citizen talking to the app, through the handler every channel calls."""

    def __init__(self, app: App, chat_id: str = "dialogue") -> None:
        self.app = app
        self.key = f.key(chat_id)

    async def say(self, text: str, button: bool = False) -> str:
        replies = await self.app.handler(InboundMessage(key=self.key, text=text, is_button=button))
        self.last = replies
        return "\n---\n".join(r.text for r in replies)

    @property
    def mode(self) -> Mode:
        return self.app.adapters.conversations.load(self.key).mode


async def test_status_after_verification_then_subscription_and_notice(
    app: App, gateway: InMemoryDossierGateway
) -> None:
    chat = Chat(app)
    assert "mã hồ sơ" in await chat.say("Hồ sơ của tôi đến đâu rồi?")
    assert chat.mode == Mode.AWAITING_DOSSIER_CODE

    said = await chat.say(CODE.lower())
    assert "4 số cuối" in said and "Thẩm định" not in said
    assert chat.mode == Mode.AWAITING_VERIFICATION

    said = await chat.say("5678")
    assert f"Dạ, hồ sơ {CODE} (Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ):" in said
    assert "Ngày tiếp nhận: 01/03/2025" in said and "Ngày hẹn trả kết quả: 16/03/2025" in said
    assert "quá hạn 4 ngày" in said
    assert [b.title for b in chat.last[0].buttons] == ["Nhận thông báo khi có thay đổi", "Gặp cán bộ"]
    assert chat.mode == Mode.ANSWERING

    # Channels without buttons: "1" picks the first one.
    assert "tôi sẽ nhắn cho bạn" in await chat.say("1")
    [sub] = await app.adapters.dossier_subscriptions.active()
    assert sub.key == chat.key

    gateway.set(DossierStatus(CODE, "Đã có kết quả", current_step="Trả kết quả", done=True))
    sent: list[OutboundMessage] = []

    class Outbox:
        async def deliver(self, message: OutboundMessage) -> None:
            sent.append(message)

    await app.dossier_watcher.poll_once(gateway, Outbox())
    assert [m.key for m in sent] == [chat.key] and "Đã có kết quả" in sent[0].text


async def test_five_wrong_answers_lock_and_an_unknown_code_reads_the_same(app: App) -> None:
    known, unknown = Chat(app, "known"), Chat(app, "unknown")
    unknown_code = "000.00.24.H12-250301-9999"
    for chat, code in ((known, CODE), (unknown, unknown_code)):
        await chat.say("tra cứu hồ sơ")
        await chat.say(code)
    for _ in range(4):
        a = await known.say("1111")
        b = await unknown.say("1111")
        assert b.replace(unknown_code, CODE) == a and "chưa khớp" in a
        assert known.mode == unknown.mode == Mode.AWAITING_VERIFICATION
    a, b = await known.say("1111"), await unknown.say("1111")
    assert a == b and "tạm khóa" in a
    assert known.mode == Mode.ANSWERING
    # Locked: starting again in the same chat with the right digits reveals nothing.
    await known.say("tra cứu hồ sơ")
    assert "tạm khóa" in await known.say(CODE)


async def test_other_question_while_awaiting_digits_leaves_the_dossier_dialogue(
    app: App, gateway: InMemoryDossierGateway
) -> None:
    chat = Chat(app)
    await chat.say("tra cứu hồ sơ")
    await chat.say(CODE)
    said = await chat.say("đăng ký kết hôn lệ phí bao nhiêu")
    assert "lệ phí" in said.lower()
    assert chat.mode == Mode.ANSWERING
    assert gateway.asked == []


async def test_officer_from_the_dossier_reply_carries_the_code(app: App) -> None:
    chat = Chat(app)
    await chat.say("tra cứu hồ sơ")
    await chat.say(CODE)
    await chat.say("5678")
    await chat.say("/request_human", button=True)
    ticket = app.tickets.open_ticket(chat.key)
    assert ticket is not None and ticket.reason == "request_human" and ticket.dossier_code == CODE
