"""One runner for every YAML transcript, with the fake NLU or the real one, through production's wiring.

Each transcript is a conversation with the :class:`bot.app.bootstrap.App` that
:func:`bot.app.bootstrap.bootstrap` builds for the server: the ``policy:`` of config.yml with the FAQ
matcher seeded from data/faq.yml, the actions with the working hours and the ticket queue, the hand-off's
ticket sink and inbound recorder, the SQL stores on a private temporary SQLite database. Each turn goes
to ``app.handler``, what every channel calls (the engine, with messages of open tickets recorded for
the officer first). Two sets differ only in the NLU and the knowledge base:

* ``tests/conversations/*.yaml``: the rule-based :class:`tests.fakes.interpreter.FakeInterpreter` over the
  six procedures of :mod:`tests.factories` (``tests/fakes/app.py``), so replies can be asserted exactly;
* ``tests/conversations/real/*.yaml``: the NLU trained once per test session (``nlu_model_dir``) over the
  4,259 seed procedures (``seeded_db_template``), loaded the way the server loads it. The NLU is being
  tuned and the catalogue texts may change, so these assert the meaningful parts: the procedure code in
  the state, words of the right answer, counts.

The format (every key works in both sets; an unknown key fails the transcript)::

    description: what the dialogue shows              # required
    channel: zalo                                     # optional, default telegram
    broken_actions: [action_fee]                      # optional: these actions raise
    dossier_system: down                              # optional: every dossier lookup is unavailable
                                                      #   (default: the local table with the demo dossiers)
    turns:
      - user: "lệ phí bao nhiêu?"                      # typed text ... or
        button: '/choose{"procedure":"1.013225"}'    # a button payload (exactly one of the two)
        reply: ["fragment", ...]                       # each occurs in the replies' texts
        reply_any: ["a", "b"]                          # at least one occurs
        not_reply: ["fragment", ...]                   # none occurs
        buttons: ["title", ...]                        # exactly the replies' button titles, in order
        has_buttons: ["title", ...]                    # each is the title of a reply button
        not_buttons: ["title", ...]                    # none is
        payloads: ["/payload", ...]                    # exactly the buttons' payloads, in order
        links: ["https://...", ...]                    # each is the address of a reply link
        silent: true                                   # no reply at all (without it, every turn replies)
        state: {procedure: "1.013225"}                 # fields of the saved state, equal
        state_contains: {case: "nha o"}                # fields of the saved state containing a text
        nlu_called: false                              # whether the NLU saw this turn
        tickets: 1                                     # officer tickets of the conversation so far
        logged_in: 3                                   # citizen messages in its log so far

A transcript that breaks actions or the dossier system gets an app of its own; the others of the real set
share one (their conversations have distinct keys), since loading the model and indexing the seed takes
seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.app.bootstrap import App, NluModels, bootstrap
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import Interpreter, NotConfiguredDossierGateway
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.settings import Settings
from bot.handoff.model import STATUSES
from knowledge.search import SearchIndex
from nlu.training_data import TrainingData
from tests.fakes.adapters import fake_adapters
from tests.fakes.app import factory_app
from tests.fakes.interpreter import FakeInterpreter

HERE = Path(__file__).parent
FAKE_NLU = sorted(HERE.glob("*.yaml"))
"""Transcripts run with the fake NLU over the factory procedures."""
REAL_NLU = sorted((HERE / "real").glob("*.yaml"))
"""Transcripts run with the trained NLU over the seed."""

TOP_KEYS = frozenset({"description", "channel", "broken_actions", "dossier_system", "turns"})
TURN_KEYS = frozenset(
    {
        "user",
        "button",
        "reply",
        "reply_any",
        "not_reply",
        "buttons",
        "has_buttons",
        "not_buttons",
        "payloads",
        "links",
        "silent",
        "state",
        "state_contains",
        "nlu_called",
        "tickets",
        "logged_in",
    }
)
DOSSIER_SYSTEMS = {"down": NotConfiguredDossierGateway}


@dataclass(frozen=True)
class Transcript:
    """One YAML file, checked: known keys only, a description, one message per turn."""

    path: Path
    description: str
    turns: tuple[Mapping[str, Any], ...]
    channel: str = "telegram"
    broken_actions: tuple[str, ...] = ()
    dossier_system: str | None = None

    @classmethod
    def load(cls, path: Path) -> Transcript:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(spec) <= TOP_KEYS, f"{path.name}: unknown keys {sorted(set(spec) - TOP_KEYS)}"
        assert spec.get("description"), f"{path.name}: say what the dialogue shows"
        assert spec.get("dossier_system") in (None, *DOSSIER_SYSTEMS), f"{path.name}: dossier_system"
        for number, turn in enumerate(spec["turns"], 1):
            where = f"{path.name} turn {number}"
            assert set(turn) <= TURN_KEYS, f"{where}: unknown keys {sorted(set(turn) - TURN_KEYS)}"
            assert ("user" in turn) != ("button" in turn), f"{where}: say either user or button"
        return cls(
            path,
            spec["description"],
            tuple(spec["turns"]),
            spec.get("channel", "telegram"),
            tuple(spec.get("broken_actions") or ()),
            spec.get("dossier_system"),
        )

    @property
    def needs_own_app(self) -> bool:
        """Whether it changes the app (broken actions, a dossier system down), so shares it with no one."""
        return bool(self.broken_actions or self.dossier_system)

    def adapters(self) -> dict[str, Any]:
        """The adapters this transcript replaces."""
        return {"dossiers": DOSSIER_SYSTEMS[self.dossier_system]()} if self.dossier_system else {}


@dataclass
class RecordingModels:
    """An :class:`bot.app.bootstrap.NluModels` that records every text its interpreter is given."""

    inner: NluModels
    calls: list[str] = field(default_factory=list)

    def interpreter(
        self, index: Callable[[], SearchIndex], learned: Callable[[], TrainingData | None]
    ) -> Interpreter:
        return _Recording(self.inner.interpreter(index, learned), self.calls)

    def trainer(self, learned: Callable[[], TrainingData | None]) -> Callable[[], Path] | None:
        return self.inner.trainer(learned)

    def loader(self) -> Callable[[Path | None, Any], Interpreter] | None:
        return self.inner.loader()


@dataclass(frozen=True)
class _Recording:
    inner: Interpreter
    calls: list[str]

    def parse(self, text: str) -> dict[str, Any]:
        self.calls.append(text)
        return self.inner.parse(text)


@dataclass(frozen=True)
class World:
    """An app and the texts its NLU has seen."""

    app: App
    nlu_calls: list[str]


def fake_nlu_world(settings: Settings, transcript: Transcript) -> World:
    """The app over the factory procedures with the rule-based NLU (a new database per transcript)."""
    nlu = FakeInterpreter()
    return World(factory_app(settings, interpreter=nlu, **transcript.adapters()), nlu.calls)


def real_nlu_world(settings: Settings, transcript: Transcript | None = None) -> World:
    """The app over the seeded database of ``settings`` with the trained model of ``settings.model_dir``."""
    adapters = fake_adapters(settings, **(transcript.adapters() if transcript else {}))
    recording = RecordingModels(adapters.nlu)
    app = bootstrap(settings, adapters=replace(adapters, nlu=recording))
    app.prepare()
    return World(app, recording.calls)


class _BrokenAction:
    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Any]:
        raise ZeroDivisionError(f"{self.name} broken on purpose")


def _tickets(app: App, key: ConversationKey) -> int:
    return sum(1 for status in STATUSES for t in app.tickets.list(status, limit=500) if t.key == key)


def _titles(replies: Sequence[OutboundMessage]) -> list[str]:
    return [b.title for r in replies for b in r.buttons]


async def run_transcript(world: World, transcript: Transcript, chat_id: str) -> None:
    """Play every turn of ``transcript`` in the conversation ``chat_id`` and check what it says."""
    app, name = world.app, transcript.path.name
    for action in transcript.broken_actions:
        assert action in app.engine.actions, f"{name}: no action {action}"
        app.engine.actions[action] = _BrokenAction(action)  # the one part no adapter can replace
    key = ConversationKey(transcript.channel, chat_id)
    store = app.adapters.conversations

    for number, turn in enumerate(transcript.turns, 1):
        where = f"{name} turn {number}"
        is_button = "button" in turn
        text = turn["button"] if is_button else turn["user"]
        calls_before = len(world.nlu_calls)
        replies = await app.handler(InboundMessage(key=key, text=text, is_button=is_button))
        said = "\n---\n".join(r.text for r in replies)
        titles = _titles(replies)
        saved: dict[str, Any] = store.load(key).to_dict()
        context = f"{where} ({text!r}) replied:\n{said}\nbuttons: {titles}\nstate: {saved}"

        if turn.get("silent"):
            assert replies == [], context
        else:
            assert replies, f"{context}\n-- no reply"
        for fragment in turn.get("reply") or ():
            assert fragment in said, f"{context}\n-- missing: {fragment!r}"
        if "reply_any" in turn:
            assert any(x in said for x in turn["reply_any"]), f"{context}\n-- none of {turn['reply_any']}"
        for fragment in turn.get("not_reply") or ():
            assert fragment not in said, f"{context}\n-- unexpected: {fragment!r}"
        if "buttons" in turn:
            assert titles == turn["buttons"], f"{context}\n-- buttons are not {turn['buttons']}"
        for title in turn.get("has_buttons") or ():
            assert title in titles, f"{context}\n-- no button {title!r}"
        for title in turn.get("not_buttons") or ():
            assert title not in titles, f"{context}\n-- unexpected button {title!r}"
        if "payloads" in turn:
            payloads = [b.payload for r in replies for b in r.buttons]
            assert payloads == turn["payloads"], f"{context}\n-- payloads {payloads}"
        urls = [url for r in replies for _, url in r.links]
        for url in turn.get("links") or ():
            assert url in urls, f"{context}\n-- no link {url!r} in {urls}"
        for field_name, expected in (turn.get("state") or {}).items():
            assert field_name in saved, f"{where}: state has no field {field_name!r}"
            assert saved[field_name] == expected, f"{context}\n-- state.{field_name} != {expected!r}"
        for field_name, fragment in (turn.get("state_contains") or {}).items():
            assert fragment in str(saved.get(field_name) or ""), (
                f"{context}\n-- state.{field_name} lacks {fragment!r}"
            )
        if "nlu_called" in turn:
            assert (len(world.nlu_calls) > calls_before) is turn["nlu_called"], context
        if "tickets" in turn:
            assert _tickets(app, key) == turn["tickets"], context
        if "logged_in" in turn:
            logged = [r for r in store.recent_messages(key, limit=1000) if r.direction == "in"]
            assert len(logged) == turn["logged_in"], context
