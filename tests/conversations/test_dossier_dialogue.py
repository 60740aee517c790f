"""Dossier dialogues through the real engine, with a dossier system that answers.

The YAML transcripts run without a dossier system; these give the same ``build_actions`` in-memory fakes
of the dossier gateway, access guard and subscriptions, and talk to the real
:class:`bot.engine.engine.Engine` with the rule-based FakeInterpreter, turn by turn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from actions.registry import ActionDeps, build_actions
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.ports import (
    DossierStatus,
    InMemoryConversationStore,
    InMemoryDossierAccessGuard,
    InMemoryDossierGateway,
    InMemoryDossierSubscriptions,
    RecordingEventSink,
)
from bot.core.responses import ResponseCatalogue
from bot.core.state import Mode
from bot.dossiers.watcher import DossierWatcher
from bot.engine.engine import Engine
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter

CATALOGUE = ResponseCatalogue.load()
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


class Chat:
    """One citizen talking to the real engine."""

    def __init__(self) -> None:
        self.gateway = InMemoryDossierGateway([DOSSIER], secrets={CODE: {"5678"}})
        self.subscriptions = InMemoryDossierSubscriptions()
        knowledge = f.knowledge()
        deps = ActionDeps(
            knowledge,
            dossiers=self.gateway,
            dossier_guard=InMemoryDossierAccessGuard(clock=lambda: NOW),
            dossier_subscriptions=self.subscriptions,
            clock=lambda: NOW,
        )
        self.store = InMemoryConversationStore()
        self.sink = RecordingEventSink()
        self.engine = Engine(
            FakeInterpreter(),
            knowledge,
            self.store,
            CATALOGUE,
            actions=build_actions(deps),
            events=self.sink,
        )
        self.key = f.key("dialogue")

    async def say(self, text: str, button: bool = False) -> str:
        replies = await self.engine.handle(InboundMessage(key=self.key, text=text, is_button=button))
        self.last = replies
        return "\n---\n".join(r.text for r in replies)

    @property
    def mode(self) -> Mode:
        return self.store.load(self.key).mode


async def test_status_after_verification_then_subscription_and_notice() -> None:
    chat = Chat()
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
    [sub] = await chat.subscriptions.active()
    assert sub.key == chat.key

    chat.gateway.set(DossierStatus(CODE, "Đã có kết quả", current_step="Trả kết quả", done=True))
    sent: list[OutboundMessage] = []

    class Outbox:
        async def deliver(self, message: OutboundMessage) -> None:
            sent.append(message)

    await DossierWatcher(chat.subscriptions, CATALOGUE, clock=lambda: NOW).poll_once(chat.gateway, Outbox())
    assert [m.key for m in sent] == [chat.key] and "Đã có kết quả" in sent[0].text


async def test_five_wrong_answers_lock_and_an_unknown_code_reads_the_same() -> None:
    known, unknown = Chat(), Chat()
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


async def test_other_question_while_awaiting_digits_leaves_the_dossier_dialogue() -> None:
    chat = Chat()
    await chat.say("tra cứu hồ sơ")
    await chat.say(CODE)
    said = await chat.say("đăng ký kết hôn lệ phí bao nhiêu")
    assert "lệ phí" in said.lower()
    assert chat.mode == Mode.ANSWERING
    assert chat.gateway.asked == []


async def test_officer_from_the_dossier_reply_carries_the_code() -> None:
    from bot.core.events import EscalationRequested

    chat = Chat()
    await chat.say("tra cứu hồ sơ")
    await chat.say(CODE)
    await chat.say("5678")
    await chat.say("/request_human", button=True)
    [escalation] = chat.sink.of_type(EscalationRequested)
    assert escalation.dossier_code == CODE
