"""The action-server client (actions/remote.py) on a mock transport: Rasa's action call, responses and events
applied, retries, timeouts and the fallback; the intent routes (bot/engine/routes.py); the config section."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from actions.remote import RemoteAction, action_tracker, catalogue_key, remote_actions
from bot.core.config import ActionEndpointConfig, HelplineConfig
from bot.core.errors import ConfigurationError
from bot.core.events import Event, ModeChanged, SlotSet
from bot.core.messages import Button, ConversationKey
from bot.core.parse import Candidate, IntentScore, Parse
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import ConversationState, Mode
from bot.engine.policy import Policy
from bot.engine.routes import RoutedPolicy

URL = "http://127.0.0.1:5055/webhook"
CATALOGUE = ResponseCatalogue.from_mapping(
    {
        "responses": {
            "utter_greet": [
                {"text": "Chào bạn", "buttons": [{"title": "Gặp cán bộ", "payload": "/request_human"}]}
            ],
            "utter_fee": [{"text": "Lệ phí {procedure_name}: {items}"}],
            "part_days": [{"text": "{days} ngày"}],
            "utter_error": [{"text": "Xin lỗi, có trục trặc."}],
        }
    },
    schema={
        "utter_greet": frozenset(),
        "utter_fee": frozenset({"procedure_name", "items"}),
        "part_days": frozenset({"days"}),
        "utter_error": frozenset(),
    },
)
MARRIAGE = Candidate("1.000894", "Đăng ký kết hôn", 0.97)


def tracker(**state: Any) -> Tracker:
    key = ConversationKey("rest", "u1")
    fee = IntentScore("ask_fee", 0.9)
    parse = Parse("lệ phí kết hôn", fee, (fee,), procedure=MARRIAGE, procedure_ranking=(MARRIAGE,))
    return Tracker(ConversationState(key, **state), parse)


class Server:
    """A mock action server: each call gets the next answer (a response, or an exception to raise)."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[dict], httpx.Response]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(json.loads(request.content))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(self.calls[-1])
        return answer


class Fallback:
    name = "action_dossier_status"

    def __init__(self) -> None:
        self.ran = 0

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        self.ran += 1
        dispatcher.utter("utter_greet")
        return [SlotSet("dossier_code", "BUILTIN")]


async def run(
    server: Server, name: str = "action_x", fallback: Any = None, retries: int = 1, **state: Any
) -> tuple[CollectingDispatcher, list[Event], list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    endpoint = ActionEndpointConfig(url=URL, actions=[name], retries=retries, backoff_seconds=0.5)
    action = RemoteAction(name, client, endpoint, lambda: {"version": "3.1", "intents": []}, fallback, sleep)
    dispatcher = CollectingDispatcher(CATALOGUE)
    events = await action.run(dispatcher, tracker(**state))
    await client.aclose()
    return dispatcher, events, waits


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


async def test_the_call_is_rasa_s_action_call() -> None:
    server = Server(ok({"events": [], "responses": []}))
    await run(server, procedure="1.000894", case="nhà riêng lẻ")
    call = server.calls[0]
    assert set(call) == {"next_action", "sender_id", "tracker", "domain", "version"}
    assert call["next_action"] == "action_x" and call["sender_id"] == "u1" and call["version"] == "3.6.21"
    assert call["domain"] == {"version": "3.1", "intents": []}
    state = call["tracker"]
    assert state["sender_id"] == "u1" and state["slots"]["procedure"] == "1.000894"
    assert state["latest_message"]["intent"] == {"name": "ask_fee", "confidence": 0.9}
    assert state["latest_message"]["procedure"]["code"] == "1.000894"
    assert state["latest_action_name"] == "action_listen" and state["paused"] is False
    kinds = [e["event"] for e in state["events"]]
    assert kinds[:4] == ["action", "session_started", "action", "user"]
    assert {(e["name"], e["value"]) for e in state["events"] if e["event"] == "slot"} == {
        ("procedure", "1.000894"),
        ("case", "nhà riêng lẻ"),
    }


async def test_responses_and_events_are_applied() -> None:
    answer = {
        "events": [
            {"event": "slot", "timestamp": None, "name": "procedure", "value": "1.001193"},
            {"event": "slot", "name": "cuisine", "value": "thai"},
            {"event": "bot", "text": "Từ một sự kiện", "data": {}},
        ],
        "responses": [
            # what rasa-sdk's utter_message(text=, buttons=, image=) sends
            {"text": "Trời nắng", "buttons": [{"title": "Cảm ơn", "payload": "/thank"}], "elements": [],
             "custom": {}, "template": None, "response": None, "image": "https://x/s.png", "attachment": None},
            {"text": None, "buttons": [], "elements": [], "custom": {"kind": "forecast"}, "response": None},
            {"text": None, "buttons": [], "response": "utter_fee", "template": "utter_fee", "items": "miễn phí"},
            {"text": None, "response": "utter_part_days", "days": 5},
            {"text": None, "response": "utter_greet", "buttons": [{"title": "Thêm", "payload": "/more"}]},
            {"text": None, "response": "utter_nobody_wrote"},
            {"text": None, "response": "utter_fee"},  # a variable missing: not rendered, left out
        ],
    }  # fmt: skip
    dispatcher, events, _ = await run(Server(ok(answer)))
    assert events == [SlotSet("procedure", "1.001193")]
    drafts = dispatcher.messages
    assert [d.response for d in drafts] == [
        "action_x",
        "action_x",
        "utter_fee",
        "part_days",
        "utter_greet",
        "action_x",
    ]
    assert drafts[0].text == "Trời nắng" and drafts[0].buttons == (Button("Cảm ơn", "/thank"),)
    assert drafts[0].image == "https://x/s.png" and drafts[0].custom is None
    assert drafts[1].text == "" and drafts[1].custom == {"kind": "forecast"}
    assert drafts[2].text == "Lệ phí Đăng ký kết hôn: miễn phí"  # procedure_name from the parse
    assert drafts[3].text == "5 ngày"
    assert drafts[4].buttons == (Button("Gặp cán bộ", "/request_human"), Button("Thêm", "/more"))
    assert drafts[5].text == "Từ một sự kiện"


async def test_a_connection_failure_is_retried_with_backoff() -> None:
    server = Server(httpx.ConnectError("refused"), ok({"responses": [{"text": "Được rồi"}]}))
    dispatcher, _, waits = await run(server, retries=2)
    assert len(server.calls) == 2 and waits == [0.5]
    assert [d.text for d in dispatcher.messages] == ["Được rồi"]


async def test_a_server_that_stays_down_falls_back_on_the_built_in_action() -> None:
    fallback = Fallback()
    server = Server(httpx.Response(503))
    dispatcher, events, waits = await run(server, "action_dossier_status", fallback, retries=2)
    assert len(server.calls) == 3 and waits == [0.5, 1.0]
    assert fallback.ran == 1 and events == [SlotSet("dossier_code", "BUILTIN")]
    assert dispatcher.responses_sent == ["utter_greet"]


async def test_without_a_built_in_action_the_citizen_gets_the_apology() -> None:
    dispatcher, events, _ = await run(Server(httpx.ConnectError("refused")), retries=0)
    assert dispatcher.responses_sent == ["utter_error"] and events == []


async def test_a_read_timeout_is_not_retried() -> None:
    server = Server(httpx.ReadTimeout("slow"))
    dispatcher, _, waits = await run(server, retries=3)
    assert len(server.calls) == 1 and waits == [] and dispatcher.responses_sent == ["utter_error"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json={"error": "not today", "action_name": "action_x"}),
        httpx.Response(
            404, json={"error": "No registered action found for name 'action_x'.", "action_name": "action_x"}
        ),
        httpx.Response(500, json={"error": "boom"}),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json=[1, 2]),
        ok({"events": {"event": "slot"}}),
        ok({"events": [{"name": "no event key"}]}),
        ok({"responses": ["text"]}),
    ],
)
async def test_an_answer_that_cannot_be_used_falls_back(answer: httpx.Response) -> None:
    fallback = Fallback()
    server = Server(answer)
    dispatcher, _, _ = await run(server, "action_dossier_status", fallback)
    assert len(server.calls) == 1 and fallback.ran == 1 and dispatcher.responses_sent == ["utter_greet"]


def test_exported_response_names_are_read_back() -> None:
    keys = {"utter_greet", "part_days", "topic_fee"}
    assert catalogue_key("utter_greet", keys) == "utter_greet"
    assert catalogue_key("utter_part_days", keys) == "part_days"
    assert catalogue_key("utter_topic_fee", keys) == "topic_fee"
    assert catalogue_key("part_days", keys) == "part_days"
    assert catalogue_key("utter_other", keys) is None


def test_remote_actions_fall_back_on_the_built_in_of_their_name() -> None:
    built_in = {"action_dossier_status": Fallback()}
    endpoint = ActionEndpointConfig(url=URL, actions=["action_dossier_status", "action_weather"])
    actions = remote_actions(endpoint, httpx.AsyncClient(), dict, built_in)  # type: ignore[arg-type]
    assert set(actions) == {"action_dossier_status", "action_weather"}
    assert actions["action_dossier_status"].fallback is built_in["action_dossier_status"]  # type: ignore[attr-defined]
    assert actions["action_weather"].fallback is None  # type: ignore[attr-defined]


def test_the_tracker_of_a_waiting_conversation_with_an_officer_is_paused() -> None:
    state = action_tracker(tracker(mode=Mode.WITH_OFFICER))
    assert state["paused"] is True and state["events"][-1]["event"] == "user"


def test_routed_intents_run_their_action_and_leave_a_waiting_mode() -> None:
    policy = RoutedPolicy({"ask_weather": "action_weather"})
    weather = Parse("thời tiết", IntentScore("ask_weather", 0.8))
    state = ConversationState(
        ConversationKey("rest", "u1"), mode=Mode.AWAITING_CHOICE, pending_intent="ask_fee"
    )
    decision = policy.decide(weather, state)
    assert decision.actions == ("action_weather",)
    assert decision.events == (ModeChanged(Mode.ANSWERING), SlotSet("pending_intent", None))
    greet = Parse("chào", IntentScore("greet", 0.9))
    plain = ConversationState(ConversationKey("rest", "u1"))
    assert policy.decide(greet, plain) == Policy().decide(greet, plain)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"actions": ["action_x"]}, "url"),
        ({"url": "ftp://x", "actions": ["action_x"]}, "http"),
        ({"url": URL, "actions": ["action x"]}, "action names"),
        ({"url": URL, "actions": ["action_x"], "intents": {"ask": "action_y"}}, "action_y"),
        ({"url": URL, "timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_a_bad_action_endpoint_section_stops_the_start(tmp_path, section: dict, problem: str) -> None:
    import yaml

    from bot.core.config import load_config

    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({"action_endpoint": section}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=problem):
        load_config(path)


def test_the_section_is_off_by_default() -> None:
    assert HelplineConfig().action_endpoint == ActionEndpointConfig()
    assert ActionEndpointConfig().actions == [] and ActionEndpointConfig().url == ""
