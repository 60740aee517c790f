"""What every action is built from: the Action protocol, the tracker it reads, the dispatcher it speaks
through and the events it returns.

An action never calls a channel, never saves state and never touches the store. It reads a
:class:`Tracker` (a frozen snapshot), puts drafts into a :class:`CollectingDispatcher` and returns a list
of :class:`Event`. The engine applies the events to the conversation state, turns the drafts into
:class:`bot.core.messages.OutboundMessage` and sends them back, so each action is tested by asserting on two
lists (drafts and events).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.events import Event
from bot.core.messages import Button
from bot.core.responses import ResponseCatalogue
from bot.core.state import ConversationState
from knowledge.domain import FaqEntry, Procedure
from knowledge.ports import KnowledgeRepository

# --- Tracker ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracker:
    """Read-only snapshot handed to an action.

    Attributes:
        state: the conversation state, with the policy's events already applied (so ``state.procedure``
            is the procedure this turn is about).
        latest_message: the parse of the citizen's message (Rasa shape, see :class:`bot.core.ports.Interpreter`).
        knowledge: the knowledge base, to read procedures.
        args: extra arguments the policy passes to the action (e.g. ``candidates`` for a choice, ``faq``
            for the FAQ entry matched).
    """

    state: ConversationState
    latest_message: Mapping[str, Any]
    knowledge: KnowledgeRepository
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What the citizen wrote (or the payload pressed)."""
        return str(self.latest_message.get("text") or "")

    @property
    def intent(self) -> str | None:
        """Name of the understood intent."""
        intent = self.latest_message.get("intent") or {}
        return intent.get("name")

    def entity(self, name: str) -> str | None:
        """Value of the first entity of this type in the latest message."""
        for ent in self.latest_message.get("entities") or ():
            if ent.get("entity") == name and ent.get("value") not in (None, ""):
                return str(ent["value"])
        return None

    def procedure(self) -> Procedure | None:
        """The procedure this turn is about, from the knowledge base (None if unknown)."""
        code = self.state.procedure
        return self.knowledge.get(code) if code else None

    def faq(self) -> FaqEntry | None:
        """The FAQ entry the policy matched to this message (None when the policy matched none)."""
        entry = self.args.get("faq")
        return entry if isinstance(entry, FaqEntry) else None


# --- Dispatcher ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """A reply an action wants sent; the engine addresses it to the conversation.

    Attributes:
        response: the catalogue key it was rendered from (tests assert on it, texts may change).
        text: the rendered text.
        buttons: the action's buttons followed by the catalogue's.
        links: (title, url) pairs.
    """

    response: str
    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[tuple[str, str], ...] = ()


class CollectingDispatcher:
    """Collects the drafts of one turn. Every text comes from the response catalogue."""

    def __init__(self, responses: ResponseCatalogue) -> None:
        self.responses = responses
        self.messages: list[MessageDraft] = []

    def utter(
        self,
        response: str,
        *,
        buttons: tuple[Button, ...] | list[Button] = (),
        links: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
        **variables: Any,
    ) -> MessageDraft:
        """Render ``response`` with ``variables`` and queue it.

        The action's ``buttons`` (candidates, "Xem thêm") come first, then the catalogue's own buttons
        for the key (such as "Không phải" or "Gặp cán bộ").
        """
        rendered = self.responses.render(response, **variables)
        draft = MessageDraft(response, rendered.text, tuple(buttons) + rendered.buttons, tuple(links))
        self.messages.append(draft)
        return draft

    def text(self, key: str, **variables: Any) -> str:
        """A catalogue piece (list line, button title) to build a message from."""
        return self.responses.text(key, **variables)

    @property
    def responses_sent(self) -> list[str]:
        """Keys of the queued drafts, in order (handy in tests)."""
        return [m.response for m in self.messages]


# --- Action -----------------------------------------------------------------------------------------


class Action(Protocol):
    """One job the bot can do in answer to a message."""

    name: str

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        """Speak through ``dispatcher`` and return what changed."""
        ...
