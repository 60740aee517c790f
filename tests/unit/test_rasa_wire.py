"""Rasa 3.6's wire formats (bot/core/rasa.py): conversation ids, events rebuilt from the message log, the
tracker's shape, and an action server's events read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.events import ContinuationSet, ModeChanged, SlotSet
from bot.core.messages import Button, ConversationKey
from bot.core.parse import Candidate, IntentScore, Parse
from bot.core.ports import MessageRecord
from bot.core.rasa import (
    EventVerbosity,
    bot_data,
    conversation_id,
    conversation_key,
    error_body,
    events_from_rasa,
    log_events,
    parse_data,
    tracker_state,
)
from bot.core.state import ConversationState, Mode

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
KEY = ConversationKey("rest", "u1")


def test_conversation_ids_are_rest_senders_or_channel_prefixed() -> None:
    assert conversation_id(KEY) == "u1"
    assert conversation_id(ConversationKey("telegram", "42")) == "telegram:42"
    assert conversation_key("u1") == KEY
    assert conversation_key("telegram:42", {"rest", "telegram"}) == ConversationKey("telegram", "42")
    # an unknown prefix is part of a REST sender, as Rasa would read it
    assert conversation_key("a:b", {"telegram"}) == ConversationKey("rest", "a:b")
    assert conversation_key("rest:x", {"rest"}) == ConversationKey("rest", "rest:x")


def records() -> list[MessageRecord]:
    return [
        MessageRecord(
            KEY, "in", "lệ phí kết hôn", intent="ask_fee", confidence=0.9, procedure="1.000894", created_at=T0
        ),  # fmt: skip
        MessageRecord(
            KEY, "out", "Dạ, không mất lệ phí.", sender="bot", created_at=T0 + timedelta(seconds=1)
        ),
        MessageRecord(
            KEY,
            "in",
            "cho gặp cán bộ",
            intent="request_human",
            confidence=0.8,
            created_at=T0 + timedelta(seconds=5),
        ),  # fmt: skip
        MessageRecord(KEY, "out", "Chào bạn", sender="officer", created_at=T0 + timedelta(seconds=9)),
    ]


def test_the_message_log_becomes_rasa_events() -> None:
    events = log_events(records(), "rest")
    assert [(e["event"], e.get("name")) for e in events] == [
        ("action", "action_session_start"),
        ("session_started", None),
        ("action", "action_listen"),
        ("user", None),
        ("bot", None),
        ("action", "action_listen"),
        ("user", None),
        ("bot", None),
        ("action", "action_listen"),
    ]
    user = events[3]
    assert user["text"] == "lệ phí kết hôn" and user["input_channel"] == "rest"
    assert user["timestamp"] == T0.timestamp()
    assert user["parse_data"]["intent"] == {"name": "ask_fee", "confidence": 0.9}
    assert user["parse_data"]["procedure"] == {"code": "1.000894"}
    assert set(user) == {
        "event",
        "timestamp",
        "text",
        "parse_data",
        "input_channel",
        "message_id",
        "metadata",
    }
    assert events[4]["data"]["buttons"] is None and events[4]["metadata"] == {}
    assert events[7]["metadata"] == {"sender": "officer"}
    assert set(events[2]) == {
        "event",
        "timestamp",
        "name",
        "policy",
        "confidence",
        "action_text",
        "hide_rule_turn",
    }


def test_a_new_conversation_has_only_its_session_start() -> None:
    assert [e["event"] for e in log_events([], "rest")] == ["action", "session_started", "action"]


def test_the_tracker_has_rasa_s_keys_and_the_state_s_slots() -> None:
    state = ConversationState(KEY, mode=Mode.WITH_OFFICER, procedure="1.000894", case="nhà riêng lẻ")
    events = log_events(records(), "rest")
    tracker = tracker_state(state, events)
    assert set(tracker) == {
        "sender_id", "slots", "latest_message", "latest_event_time", "followup_action", "paused", "events",
        "latest_input_channel", "active_loop", "latest_action", "latest_action_name",
    }  # fmt: skip
    assert tracker["sender_id"] == "u1" and tracker["paused"] is True
    assert tracker["slots"] == {
        "case": "nhà riêng lẻ", "dossier_code": None, "pending_intent": None, "procedure": "1.000894",
        "session_started_metadata": None,
    }  # fmt: skip
    assert tracker["latest_message"]["text"] == "cho gặp cán bộ"
    assert tracker["latest_event_time"] == events[-1]["timestamp"]
    assert tracker["latest_action"] == {"action_name": "action_listen"}
    assert tracker["active_loop"] == {} and tracker["latest_input_channel"] == "rest"
    assert tracker_state(state, events, EventVerbosity.NONE)["events"] is None


def test_parse_data_carries_the_project_s_procedure() -> None:
    parse = Parse(
        "lệ phí kết hôn",
        IntentScore("ask_fee", 0.9),
        (IntentScore("ask_fee", 0.9),),
        procedure=Candidate("1.000894", "Đăng ký kết hôn", 0.97),
        procedure_ranking=(Candidate("1.000894", "Đăng ký kết hôn", 0.97),),
    )
    data = parse_data(parse, message_id="m1")
    assert data["intent"] == {"name": "ask_fee", "confidence": 0.9}
    assert data["procedure"]["code"] == "1.000894" and data["message_id"] == "m1" and data["metadata"] == {}
    assert parse_data(None) == {
        "intent": {},
        "entities": [],
        "text": None,
        "message_id": None,
        "metadata": {},
    }


def test_bot_data_is_rasa_s_create_bot_utterance() -> None:
    assert bot_data((Button("Có", "/affirm"),), image="https://x/y.png", custom={"a": 1}) == {
        "elements": None,
        "quick_replies": None,
        "buttons": [{"title": "Có", "payload": "/affirm"}],
        "attachment": "https://x/y.png",
        "image": "https://x/y.png",
        "custom": {"a": 1},
    }


def test_an_action_server_s_events_are_read_back() -> None:
    result = events_from_rasa(
        [
            {"event": "slot", "timestamp": None, "name": "procedure", "value": "1.000894"},
            {"event": "slot", "name": "dossier_code", "value": None},
            {"event": "slot", "name": "cuisine", "value": "thai"},
            {"event": "followup", "name": "action_x"},
            {"event": "action_execution_rejected", "name": "x"},
            {
                "event": "bot",
                "text": "Xin chào",
                "data": {"buttons": [{"title": "A", "payload": "/a"}], "image": None},
            },
        ]
    )
    assert result.events == [SlotSet("procedure", "1.000894"), SlotSet("dossier_code", None)]
    assert result.messages == [{"text": "Xin chào", "buttons": [{"title": "A", "payload": "/a"}]}]
    assert result.ignored == ["slot cuisine", "followup"]


def test_reset_and_restart_forget_the_slots() -> None:
    reset = events_from_rasa([{"event": "reset_slots"}]).events
    assert reset == [SlotSet(n, None) for n in ("case", "dossier_code", "pending_intent", "procedure")]
    restart = events_from_rasa([{"event": "restart"}]).events
    assert restart[-2:] == [ModeChanged(Mode.ANSWERING), ContinuationSet(None)]


@pytest.mark.parametrize("bad", [{"name": "x"}, "slot", {"event": 3}])
def test_something_that_is_not_an_event_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        events_from_rasa([bad])


def test_error_body_is_rasa_s() -> None:
    assert error_body(401, "NotAuthenticated", "User is not authenticated.") == {
        "version": "3.6.21",
        "status": "failure",
        "message": "User is not authenticated.",
        "reason": "NotAuthenticated",
        "details": {},
        "help": None,
        "code": 401,
    }
