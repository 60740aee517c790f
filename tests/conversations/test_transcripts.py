"""Runs every ``tests/conversations/*.yaml`` dialogue through the real engine.

The engine gets the rule-based :class:`tests.fakes.interpreter.FakeInterpreter`, the factory procedures
in an in-memory knowledge base, an in-memory store and the shipped response catalogue. A transcript::

    description: what the dialogue shows
    channel: zalo                    # optional, default telegram
    faq: true                        # optional: the policy answers from the shipped data/faq.yml
    broken_actions: [action_fee]     # optional: these actions raise
    turns:
      - user: "lệ phí bao nhiêu?"     # typed text ...
        button: '/choose{"procedure":"1.013225"}'   # ... or a button payload
        reply: ["fragment", ...]     # each occurs in the replies' texts
        not_reply: ["fragment", ...] # none occurs
        buttons: ["title", ...]      # exactly the button titles of the replies, in order
        payloads: ["/payload", ...]  # exactly their payloads
        silent: true                 # no reply at all
        state: {procedure: "1.000894", mode: answering}   # fields of the saved state
        nlu_called: false            # whether the NLU saw this turn
        escalations: 1               # escalation events published so far
        logged_in: 3                 # inbound messages logged so far
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.registry import ActionDeps, build_actions
from bot.core.events import EscalationRequested
from bot.core.messages import InboundMessage
from bot.core.ports import InMemoryConversationStore, RecordingEventSink
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.engine.engine import Engine
from bot.engine.policy import Policy
from knowledge.faq import FaqMatcher, load_faq_file
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter

HERE = Path(__file__).parent
TRANSCRIPTS = sorted(HERE.glob("*.yaml"))
CATALOGUE = ResponseCatalogue.load()
TURN_KEYS = {
    "user",
    "button",
    "reply",
    "not_reply",
    "buttons",
    "payloads",
    "silent",
    "state",
    "nlu_called",
    "escalations",
    "logged_in",
}


class _BrokenAction:
    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        raise ZeroDivisionError(f"{self.name} broken on purpose")


def test_transcripts_exist() -> None:
    assert len(TRANSCRIPTS) >= 8


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec.get("description"), f"{path.name}: say what the dialogue shows"
    knowledge = f.knowledge()
    actions = build_actions(ActionDeps(knowledge))
    for name in spec.get("broken_actions") or ():
        assert name in actions, f"{path.name}: no action {name}"
        actions[name] = _BrokenAction(name)
    nlu = FakeInterpreter()
    store = InMemoryConversationStore()
    sink = RecordingEventSink()
    policy = Policy(faq=FaqMatcher(load_faq_file())) if spec.get("faq") else None
    engine = Engine(nlu, knowledge, store, CATALOGUE, actions, policy=policy, events=sink)
    key = f.key("transcript", spec.get("channel", "telegram"))

    for number, turn in enumerate(spec["turns"], 1):
        where = f"{path.name} turn {number}"
        assert set(turn) <= TURN_KEYS, f"{where}: unknown keys {set(turn) - TURN_KEYS}"
        is_button = "button" in turn
        text = turn["button"] if is_button else turn["user"]
        calls_before = len(nlu.calls)
        replies = await engine.handle(InboundMessage(key=key, text=text, is_button=is_button))
        said = "\n---\n".join(r.text for r in replies)
        context = f"{where} ({text!r}) replied:\n{said}"

        if turn.get("silent"):
            assert replies == [], context
        elif "reply" in turn or "buttons" in turn:
            assert replies, f"{where}: no reply"
        for fragment in turn.get("reply") or ():
            assert fragment in said, f"{context}\n-- missing: {fragment!r}"
        for fragment in turn.get("not_reply") or ():
            assert fragment not in said, f"{context}\n-- unexpected: {fragment!r}"
        buttons = [b for r in replies for b in r.buttons]
        if "buttons" in turn:
            assert [b.title for b in buttons] == turn["buttons"], context
        if "payloads" in turn:
            assert [b.payload for b in buttons] == turn["payloads"], context
        if "nlu_called" in turn:
            assert (len(nlu.calls) > calls_before) is turn["nlu_called"], context
        if "escalations" in turn:
            assert len(sink.of_type(EscalationRequested)) == turn["escalations"], context
        if "logged_in" in turn:
            assert len([r for r in store.records if r.direction == "in"]) == turn["logged_in"], context
        saved: dict[str, Any] = store.load(key).to_dict()
        for field_name, expected in (turn.get("state") or {}).items():
            assert field_name in saved, f"{where}: state has no field {field_name!r}"
            assert saved[field_name] == expected, (
                f"{where}: state.{field_name} = {saved[field_name]!r}\n{context}"
            )
