"""The engine: one turn end to end, payloads, numbered replies, officer silence, the error edge.

Most tests talk to the engine production wires (``tests/fakes/app.py``: :func:`bot.app.bootstrap.bootstrap`
with the rule-based NLU, the factory procedures, SQL stores on a private temporary database, the ticket
sink, a clock on a Monday morning): they fail when the wiring does. The tests at the end build an
:class:`bot.engine.engine.Engine` by hand with explicit fakes, because they check the engine's own
contract against collaborators production never builds: an action that raises or returns something other
than events, an ``offload`` that holds a turn half-way (the per-conversation lock), a sink that records
where it was called from.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from actions.registry import ActionDeps, build_actions
from bot.app.bootstrap import App
from bot.core.domain import ActionName
from bot.core.events import EscalationRequested
from bot.core.messages import Button
from bot.core.ports import InMemoryConversationStore, RecordingEventSink
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.settings import Settings
from bot.core.state import ConversationState, Mode
from bot.engine.engine import Engine, apply_events
from tests import factories as f
from tests.fakes.app import factory_app
from tests.fakes.clock import FakeClock
from tests.fakes.interpreter import FakeInterpreter

MONDAY_9AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # officers at work (Vietnam is UTC+7)
APOLOGY = f.catalogue().render("utter_error")


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


# --- through the composition root ------------------------------------------------------------------------


@pytest.fixture
def nlu() -> FakeInterpreter:
    return FakeInterpreter(fail_on=["hỏng"])


@pytest.fixture
def make_app(factory_settings: Settings, nlu: FakeInterpreter) -> Callable[..., App]:
    """The app for this test's database, with adapters replaced by keyword."""

    def make(**fields: Any) -> App:
        return factory_app(factory_settings, interpreter=nlu, clock=FakeClock(MONDAY_9AM), **fields)

    return make


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


def state_of(app: App, chat_id: str = "100", channel: str = "telegram") -> ConversationState:
    return app.adapters.conversations.load(f.key(chat_id, channel))


async def test_a_turn_answers_saves_state_and_logs_both_directions(app: App) -> None:
    replies = await app.engine.handle(f.inbound("đăng ký kết hôn cần giấy tờ gì"))
    assert len(replies) == 1
    assert replies[0].key == f.key()
    assert "Tờ khai đăng ký kết hôn" in replies[0].text
    state = state_of(app)
    assert (state.procedure, state.last_intent, state.last_action, state.turns) == (
        f.MARRIAGE,
        "ask_documents",
        "action_documents",
        1,
    )
    records = app.adapters.conversations.recent_messages(f.key())
    assert [(r.direction, r.intent, r.procedure) for r in records] == [
        ("in", "ask_documents", f.MARRIAGE),
        ("out", "ask_documents", f.MARRIAGE),
    ]
    assert records[0].confidence == pytest.approx(0.93)


async def test_payload_is_understood_without_the_nlu(app: App, nlu: FakeInterpreter) -> None:
    replies = await app.engine.handle(f.inbound('/ask_fee{"procedure":"1.001193"}', is_button=True))
    assert nlu.calls == []
    assert "không mất lệ phí" in replies[0].text
    assert state_of(app).procedure == f.BIRTH


async def test_telegram_start_command_shows_the_menu(app: App) -> None:
    replies = await app.engine.handle(f.inbound("/start"))
    greeting = app.responses.render("utter_greet")
    assert replies[0].text == greeting.text
    assert state_of(app).choices == greeting.buttons


async def test_number_picks_one_of_the_last_buttons(app: App, nlu: FakeInterpreter) -> None:
    # a later step of the permit is named: the choice between its procedures stays (a bare "giấy phép
    # xây dựng" is answered for the new permit: tests/unit/test_policy_alike.py)
    await app.engine.handle(f.inbound("giấy phép xây dựng sửa lại cần giấy tờ gì", channel="zalo"))
    replies = await app.engine.handle(f.inbound("2", channel="zalo"))
    assert nlu.calls == ["giấy phép xây dựng sửa lại cần giấy tờ gì"]
    assert "Cấp điều chỉnh giấy phép xây dựng" in replies[0].text
    assert state_of(app, channel="zalo").procedure == f.GPXD_ADJUST


async def test_with_officer_the_bot_is_silent_but_records(app: App, nlu: FakeInterpreter) -> None:
    app.adapters.conversations.save(ConversationState(key=f.key(), mode=Mode.WITH_OFFICER))
    assert await app.engine.handle(f.inbound("cán bộ ơi, còn đó không?")) == []
    assert nlu.calls == []
    records = app.adapters.conversations.recent_messages(f.key())
    assert [(r.direction, r.text) for r in records] == [("in", "cán bộ ơi, còn đó không?")]


async def test_release_to_bot_lets_the_bot_answer_again(app: App) -> None:
    app.adapters.conversations.save(ConversationState(key=f.key(), mode=Mode.WITH_OFFICER))
    await app.engine.release_to_bot(f.key())
    assert state_of(app).mode == Mode.ANSWERING
    assert await app.engine.handle(f.inbound("xin chào"))


async def test_an_escalation_opens_a_ticket_after_the_turn(app: App) -> None:
    [reply] = await app.engine.handle(f.inbound("cho tôi gặp cán bộ"))
    assert reply.text == app.responses.text("utter_escalate_queued", position=1)
    ticket = app.tickets.open_ticket(f.key())
    assert ticket is not None and (ticket.reason, ticket.procedure, ticket.dossier_code) == (
        "request_human",
        None,
        None,
    )
    # the ticket copies the conversation so far: the turn was logged before the event was published
    assert [m.text for m in app.tickets.messages(ticket.id)][0] == "cho tôi gặp cán bộ"
    assert state_of(app).mode == Mode.WITH_OFFICER


async def test_goodbye_closes_and_the_next_message_starts_fresh(app: App) -> None:
    await app.engine.handle(f.inbound("đăng ký kết hôn lệ phí"))
    await app.engine.handle(f.inbound("tạm biệt"))
    assert state_of(app).mode == Mode.CLOSED
    replies = await app.engine.handle(f.inbound("nộp ở đâu"))
    assert replies[0].text == app.responses.text("utter_ask_procedure")


async def test_apology_then_number_one_reaches_an_officer(app: App) -> None:
    app.engine.actions["action_fee"] = BrokenAction()  # actions are no adapter: replaced in the engine built
    [apology] = await app.engine.handle(f.inbound("đăng ký kết hôn lệ phí bao nhiêu"))
    assert (apology.text, apology.buttons) == (APOLOGY.text, APOLOGY.buttons)
    replies = await app.engine.handle(f.inbound("1"))
    assert replies[0].text == app.responses.text("utter_escalate_queued", position=1)
    assert app.tickets.open_ticket(f.key()) is not None


async def test_nlu_failure_gives_the_apology(app: App) -> None:
    replies = await app.engine.handle(f.inbound("câu này làm hỏng NLU"))
    assert replies[0].text == APOLOGY.text


async def test_store_failure_gives_the_apology(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(conversations=BrokenStore())
    with caplog.at_level(logging.ERROR):
        replies = await app.engine.handle(f.inbound("xin chào"))
    assert replies[0].text == APOLOGY.text
    assert any("store" in r.getMessage() and "database is down" in r.getMessage() for r in caplog.records)


# --- the Engine alone, with explicit fakes -----------------------------------------------------------------


@dataclass
class Setup:
    engine: Engine
    nlu: FakeInterpreter
    store: InMemoryConversationStore
    sink: RecordingEventSink


def make(**engine_kwargs: Any) -> Setup:
    """An Engine over in-memory fakes; ``actions=`` replaces the registry, the rest goes to Engine."""
    nlu, store, sink = FakeInterpreter(), InMemoryConversationStore(), RecordingEventSink()
    knowledge = f.knowledge()
    actions = engine_kwargs.pop("actions", None) or build_actions(ActionDeps(knowledge))
    engine = Engine(nlu, knowledge, store, f.catalogue(), actions, events=sink, **engine_kwargs)
    return Setup(engine, nlu, store, sink)


def with_action(action: Any) -> dict[str, Any]:
    actions = build_actions(ActionDeps(f.knowledge()))
    actions[action.name] = action
    return actions


class HeldOffload:
    """The engine's ``offload``, run inline on the event loop; the first call waits until released (a
    turn caught inside its first blocking step, after taking the conversation's lock)."""

    def __init__(self) -> None:
        self.started = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.started += 1
        if self.started == 1:
            self.holding.set()
            await self.release.wait()
        return fn(*args)


async def test_the_event_sink_is_called_off_the_event_loop() -> None:
    """The ticket sink writes to the database: the engine offloads it like every other blocking call."""
    offloaded: list[object] = []

    async def offload(fn, *args):
        offloaded.append(fn)
        return fn(*args)

    s = make(offload=offload)
    await s.engine.handle(f.inbound("cho tôi gặp cán bộ"))
    assert s.sink.publish in offloaded and s.sink.of_type(EscalationRequested)


async def test_error_inside_an_action_gives_the_apology_and_logs_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = make(actions=with_action(BrokenAction()))
    with caplog.at_level(logging.ERROR, logger="bot.engine.engine"):
        replies = await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí bao nhiêu"))
    assert [(r.text, r.buttons) for r in replies] == [(APOLOGY.text, APOLOGY.buttons)]
    assert "Traceback" not in replies[0].text
    record = caplog.records[-1]
    assert "action" in record.getMessage() and "ZeroDivisionError" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert s.store.load(f.key()).choices == APOLOGY.buttons
    assert [r.direction for r in s.store.records] == ["in", "out"]


async def test_action_returning_non_events_is_an_error() -> None:
    s = make(actions=with_action(BadEventsAction()))
    replies = await s.engine.handle(f.inbound("đăng ký kết hôn lệ phí"))
    assert replies[0].text == APOLOGY.text


async def test_messages_of_one_chat_are_handled_one_at_a_time() -> None:
    """The second message waits for the first turn to finish, so it reads the state the first saved.

    Deterministic: the first turn is held inside its first blocking call, and the second gets the event
    loop until it must wait; without the lock it would reach the store (a second offloaded call) at once.
    """
    held = HeldOffload()
    s = make(offload=held)
    first = asyncio.create_task(s.engine.handle(f.inbound("đăng ký kết hôn lệ phí")))
    await held.holding.wait()
    second = asyncio.create_task(s.engine.handle(f.inbound("nộp ở đâu")))
    await asyncio.sleep(0)  # the second message runs as far as it can
    assert held.started == 1 and s.nlu.calls == []
    held.release.set()
    await first
    [where] = await second
    assert "Ủy ban nhân dân xã, phường, thị trấn" in where.text  # answered for the marriage the first named
    assert s.nlu.calls == ["đăng ký kết hôn lệ phí", "nộp ở đâu"]
    assert s.store.load(f.key()).turns == 2


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
