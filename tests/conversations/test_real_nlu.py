"""Dialogues through the real engine with the REAL trained NLU and the REAL seed knowledge base.

The NLU pipeline is the one trained once per test session from ``config.yml`` and ``data/nlu.yml``
(``nlu_model_dir`` in tests/conftest.py), loaded with a search index over the 4,259 seed procedures
(with ``data/aliases.yml`` and the abbreviation map), the way :mod:`bot.app.bootstrap` builds them.
The policy takes the ``policy:`` section of ``config.yml``. Each ``tests/conversations/real/*.yaml`` is
run turn by turn::

    description: what the dialogue shows
    turns:
      - user: "lệ phí bao nhiêu?"          # typed text ... or
        button: '/choose{"procedure":"1.013225"}'   # a button payload
        reply: ["fragment", ...]           # each occurs in the replies' texts
        reply_any: ["a", "b"]              # at least one occurs
        not_reply: ["fragment", ...]       # none occurs
        buttons: ["title", ...]            # each is the title of a reply button
        not_buttons: ["title", ...]        # none is
        links: ["https://...", ...]        # each is the address of a reply link
        state: {procedure: "1.013225"}     # fields of the saved state, equal
        state_contains: {case: "nha o"}    # fields of the saved state containing a text
        escalations: 1                     # escalation events published so far

Fragments are the meaningful parts (procedure code in the state, words of the right group, counts), not
whole texts: the NLU is being tuned, and the catalogue texts may change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.registry import ActionDeps, build_actions
from bot.core.config import PolicyConfig
from bot.core.events import EscalationRequested
from bot.core.messages import InboundMessage
from bot.core.ports import InMemoryConversationStore, RecordingEventSink
from bot.core.responses import ResponseCatalogue
from bot.engine.engine import Engine
from bot.engine.policy import Policy
from knowledge.ports import InMemoryKnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import PROJECT_ROOT, read_records, with_aliases
from knowledge.text import ABBREVIATIONS_PATH, ALIASES_PATH, load_abbreviations, load_aliases
from tests import factories as f

HERE = Path(__file__).parent / "real"
TRANSCRIPTS = sorted(HERE.glob("*.yaml"))
CONFIG = PROJECT_ROOT / "config.yml"
TURN_KEYS = {
    "user",
    "button",
    "reply",
    "reply_any",
    "not_reply",
    "buttons",
    "not_buttons",
    "links",
    "state",
    "state_contains",
    "escalations",
}


class RealWorld:
    """The trained NLU, the seed knowledge base and the config's policy, shared by the session."""

    def __init__(self, model_dir: Path) -> None:
        from nlu.models import load_model

        records, errors = read_records()
        assert not errors, errors[:3]
        records = with_aliases(records, load_aliases(ALIASES_PATH))
        self.knowledge = InMemoryKnowledgeRepository(records)
        index = SearchIndex.build(records, abbreviations=load_abbreviations(ABBREVIATIONS_PATH))
        self.interpreter = load_model(model_dir, lambda: index)
        section = (yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}).get("policy") or {}
        self.policy = Policy(PolicyConfig(**section))
        self.responses = ResponseCatalogue.load()

    def engine(self, sink: RecordingEventSink) -> tuple[Engine, InMemoryConversationStore]:
        store = InMemoryConversationStore()
        engine = Engine(
            self.interpreter,
            self.knowledge,
            store,
            self.responses,
            policy=self.policy,
            actions=build_actions(ActionDeps(self.knowledge)),
            events=sink,
            offload=_inline,
        )
        return engine, store


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)


@pytest.fixture(scope="session")
def world(nlu_model_dir: Path) -> RealWorld:
    return RealWorld(nlu_model_dir)


def test_real_transcripts_exist() -> None:
    assert len(TRANSCRIPTS) >= 6


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_real_transcript(world: RealWorld, path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec.get("description"), f"{path.name}: say what the dialogue shows"
    sink = RecordingEventSink()
    engine, store = world.engine(sink)
    key = f.key("real-" + path.stem, spec.get("channel", "telegram"))

    for number, turn in enumerate(spec["turns"], 1):
        where = f"{path.name} turn {number}"
        assert set(turn) <= TURN_KEYS, f"{where}: unknown keys {set(turn) - TURN_KEYS}"
        is_button = "button" in turn
        text = turn["button"] if is_button else turn["user"]
        replies = await engine.handle(InboundMessage(key=key, text=text, is_button=is_button))
        said = "\n---\n".join(r.text for r in replies)
        titles = [b.title for r in replies for b in r.buttons]
        saved: dict[str, Any] = store.load(key).to_dict()
        context = f"{where} ({text!r}) replied:\n{said}\nbuttons: {titles}\nstate: {saved}"

        assert replies, f"{context}\n-- no reply"
        for fragment in turn.get("reply") or ():
            assert fragment in said, f"{context}\n-- missing: {fragment!r}"
        if "reply_any" in turn:
            assert any(x in said for x in turn["reply_any"]), f"{context}\n-- none of {turn['reply_any']}"
        for fragment in turn.get("not_reply") or ():
            assert fragment not in said, f"{context}\n-- unexpected: {fragment!r}"
        for title in turn.get("buttons") or ():
            assert title in titles, f"{context}\n-- no button {title!r}"
        for title in turn.get("not_buttons") or ():
            assert title not in titles, f"{context}\n-- unexpected button {title!r}"
        urls = [url for r in replies for _, url in r.links]
        for url in turn.get("links") or ():
            assert url in urls, f"{context}\n-- no link {url!r} in {urls}"
        for name, expected in (turn.get("state") or {}).items():
            assert name in saved, f"{where}: state has no field {name!r}"
            assert saved[name] == expected, f"{context}\n-- state.{name} != {expected!r}"
        for name, fragment in (turn.get("state_contains") or {}).items():
            assert fragment in str(saved.get(name) or ""), f"{context}\n-- state.{name} lacks {fragment!r}"
        if "escalations" in turn:
            assert len(sink.of_type(EscalationRequested)) == turn["escalations"], context
