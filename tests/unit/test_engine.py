"""The engine: one turn end to end with fakes, payloads, numbered replies, officer silence, the error edge."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from actions.registry import ActionDeps, build_actions
from bot.core.domain import ActionName, TicketReason
from bot.core.events import EscalationRequested
from bot.core.messages import Button
from bot.core.ports import InMemoryConversationStore, RecordingEventSink
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import ConversationState, Mode
from bot.engine.engine import Engine, apply_events
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter

CATALOGUE = ResponseCatalogue.load()
APOLOGY = CATALOGUE.render("utter_error")


@dataclass
class Setup:
    engine: Engine
    nlu: FakeInterpreter
    store: InMemoryConversationStore
    sink: RecordingEventSink = field(default_factory=RecordingEventSink)


def make(**engine_kwargs) -> Setup:
    nlu = FakeInterpreter(fail_on=engine_kwargs.pop("fail_on", ()))
    store = engine_kwargs.pop("store", None) or InMemoryConversationStore()
    sink = RecordingEventSink()
    knowledge = f.knowledge()
    actions = engine_kwargs.pop("actions", None) or build_actions(ActionDeps(knowledge))
    engine = Engine(nlu, knowledge, store, CATALOGUE, actions, events=sink, **engine_kwargs)
    return Setup(engine, nlu, store, sink)


class BrokenAction:
    name = "action_fee"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        raise ZeroDivisionError("boom")


class BadEventsAction:
    name = "action_fee"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return ["not an event"]


class BrokenStore(InMemoryConversationStore):
    def load(self, key):
        raise ConnectionError("database is down")


async def test_a_turn_answers_saves_state_and_logs_both_directions() -> None:
    s = make()
    replies = await s.engine.handle(f.inbound("đăng ký kết hôn cần giấy tờ gì"))
    assert len(replies) == 1
    assert replies[0].key == f.key()
    assert "Tờ khai đăng ký kết hôn" in replies[0].text
    state = s.store.load(f.key())
    assert (state.procedure, state.last_intent, state.last_action, state.turns) == (
        f.MARRIAGE,
        "ask_documents",
        "action_documents",
        1,
    )
    assert [(r.direction, r.intent, r.procedure) for r in s.store.records] == [
        ("in", "ask_documents", f.MARRIAGE),
        ("out", "ask_documents", f.MARRIAGE),
    ]
    assert s.store.records[0].confidence == pytest.approx(0.93)


async def test_payload_is_understood_without_the_nlu() -> None:
    s = make()
    replies = await s.engine.handle(f.inbound('/ask_fee{"procedure":"1.001193"}', is_button=True))
    assert s.nlu.calls == []
    assert "không mất lệ phí" in replies[0].text
    assert s.store.load(f.key()).procedure == f.BIRTH


async def test_telegram_start_command_shows_the_menu() -> None:
    s = make()
    replies = await s.engine.handle(f.inbound("/start"))
    assert replies[0].text == CATALOGUE.render("utter_greet").text
    assert s.store.load(f.key()).choices == CATALOGUE.render("utter_greet").buttons


async def test_number_picks_one_of_the_last_buttons() -> None:
    s = make()
    await s.engine.handle(f.inbound("giấy phép xây dựng cần giấy tờ gì", channel="zalo"))
    replies = await s.engine.handle(f.inbound("2", channel="zalo"))
    assert s.nlu.calls == ["giấy phép xây dựng cần giấy tờ gì"]
    assert "Cấp điều chỉnh giấy phép xây dựng" in replies[0].text
    assert s.store.load(f.key(channel="zalo")).procedure == f.GPXD_ADJUST


async def test_with_officer_the_bot_is_silent_but_records() -> None:
    s = make()
    s.store.save(ConversationState(key=f.key(), mode=Mode.WITH_OFFICER))
    assert await s.engine.handle(f.inbound("cán bộ ơi, còn đó không?")) == []
    assert s.nlu.calls == []
    assert [(r.direction, r.text) for r in s.store.records] == [("in", "cán bộ ơi, còn đó không?")]


async def test_release_to_bot_lets_the_bot_answer_again() -> None:
    s = make()
    s.store.save(ConversationState(key=f.key(), mode=Mode.WITH_OFFICER))
    await s.engine.release_to_bot(f.key())
    assert s.store.load(f.key()).mode == Mode.ANSWERING
    assert await s.engine.handle(f.inbound("xin chào"))


async def test_escalation_is_published_after_the_turn() -> None:
    s = make()
    await s.engine.handle(f.inbound("cho tôi gặp cán bộ"))
    assert s.sink.of_type(EscalationRequested) == [
        EscalationRequested(TicketReason.REQUEST_HUMAN, None, "cho tôi gặp cán bộ", None)
    ]
    assert s.store.load(f.key()).mode == Mode.WITH_OFFICER


async def test_the_event_sink_is_called_off_the_event_loop() -> None:
    """The ticket sink writes to the database: the engine offloads it like every other blocking call."""
    offloaded: list[object] = []

    async def offload(fn, *args):
        offloaded.append(fn)
        return fn(*args)

    s = make(offload=offload)
    await s.engine.handle(f.inbound("cho tôi gặp cán bộ"))
    assert s.sink.publish in offloaded and s.sink.of_type(EscalationRequested)


async def test_goodbye_closes_and_the_next_message_starts_fresh() -> None:
    s = make()
    await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí"))
    await s.engine.handle(f.inbound("tạm biệt"))
    assert s.store.load(f.key()).mode == Mode.CLOSED
    replies = await s.engine.handle(f.inbound("nộp ở đâu"))
    assert replies[0].text == CATALOGUE.text("utter_ask_procedure")


async def test_error_inside_an_action_gives_the_apology_and_logs_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    actions = build_actions(ActionDeps(f.knowledge()))
    actions["action_fee"] = BrokenAction()
    s = make(actions=actions)
    with caplog.at_level(logging.ERROR, logger="bot.engine.engine"):
        replies = await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí bao nhiêu"))
    assert [(r.text, r.buttons) for r in replies] == [(APOLOGY.text, APOLOGY.buttons)]
    assert "Traceback" not in replies[0].text
    record = caplog.records[-1]
    assert "action" in record.getMessage() and "ZeroDivisionError" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert s.store.load(f.key()).choices == APOLOGY.buttons
    assert [r.direction for r in s.store.records] == ["in", "out"]


async def test_apology_then_number_one_reaches_an_officer() -> None:
    actions = build_actions(ActionDeps(f.knowledge()))
    actions["action_fee"] = BrokenAction()
    s = make(actions=actions)
    await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí bao nhiêu"))
    replies = await s.engine.handle(f.inbound("1"))
    assert replies[0].text == CATALOGUE.text("utter_escalate")


async def test_action_returning_non_events_is_an_error() -> None:
    actions = build_actions(ActionDeps(f.knowledge()))
    actions["action_fee"] = BadEventsAction()
    s = make(actions=actions)
    replies = await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí"))
    assert replies[0].text == APOLOGY.text


async def test_nlu_failure_gives_the_apology() -> None:
    s = make(fail_on=["hỏng"])
    replies = await s.engine.handle(f.inbound("câu này làm hỏng NLU"))
    assert replies[0].text == APOLOGY.text


async def test_store_failure_gives_the_apology(caplog: pytest.LogCaptureFixture) -> None:
    s = make(store=BrokenStore())
    with caplog.at_level(logging.ERROR):
        replies = await s.engine.handle(f.inbound("xin chào"))
    assert replies[0].text == APOLOGY.text
    assert any("store" in r.getMessage() and "database is down" in r.getMessage() for r in caplog.records)


async def test_messages_of_one_chat_are_handled_one_at_a_time() -> None:
    s = make()
    await asyncio.gather(
        *(s.engine.handle(f.inbound(t)) for t in ["xin chào", "đăng ký kết hôn lệ phí", "nộp ở đâu"])
    )
    state = s.store.load(f.key())
    assert state.turns == 3
    assert state.procedure == f.MARRIAGE


def test_the_registry_has_one_action_per_name_the_policy_can_decide() -> None:
    import ast
    import inspect

    from bot.core.domain import Topic, action_name
    from bot.engine import policy

    # The policy names actions only through ActionName (no "action_..." literal to get wrong) ...
    tree = ast.parse(inspect.getsource(policy))
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert [v for v in literals if v.startswith("action_")] == []
    decided = {action_name(t) for t in Topic} | set(policy.SMALLTALK_ACTIONS.values())
    decided |= {ActionName[n.attr] for n in ast.walk(tree) if _is_action_name(n)}
    # ... and the registry has an action for every name, under that name.
    registry = build_actions(ActionDeps(f.knowledge()))
    assert decided <= set(registry) == set(ActionName)
    assert all(name == action.name for name, action in registry.items())


def _is_action_name(node: object) -> bool:
    import ast

    return (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ActionName"
    )


def test_apply_events_refuses_unknown_slots() -> None:
    from bot.core.events import SlotSet

    with pytest.raises(ValueError):
        apply_events(ConversationState(key=f.key()), [SlotSet("password", "x")])


def test_state_round_trips_through_json() -> None:
    import json

    from bot.core.state import Continuation

    state = ConversationState(
        key=f.key(),
        mode=Mode.AWAITING_CHOICE,
        procedure=f.GPXD_NEW,
        pending_intent="ask_fee",
        choices=(Button("Cấp mới", '/choose{"procedure":"1.013225"}'),),
        fallback_streak=1,
        continuation=Continuation("documents", f.GPXD_NEW, 5),
        last_intent="ask_fee",
        turns=4,
    )
    assert ConversationState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
