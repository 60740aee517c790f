"""What every action is built from: the Action protocol, the tracker it reads, the dispatcher it speaks
through and the events it returns.

An action never calls a channel, never saves state and never touches the store. It reads a
:class:`Tracker` (a frozen snapshot: the state, the typed parse, the policy's :class:`ActionArgs`), puts
drafts into a :class:`CollectingDispatcher` and returns a list of :class:`Event`; the ports it reads (the
knowledge base, a dossier system) come in its constructor (:mod:`actions.registry`). The engine applies
the events to the conversation state, turns the drafts into :class:`bot.core.messages.OutboundMessage`
and sends them back, so each action is tested by asserting on two lists (drafts and events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.domain import TicketReason
from bot.core.events import Event
from bot.core.messages import Button
from bot.core.parse import Candidate, Parse
from bot.core.responses import ResponseCatalogue
from bot.core.state import ConversationState
from knowledge.domain import FaqEntry

# --- Tracker ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionArgs:
    """What the policy hands an action besides the state and the parse (all optional).

    Attributes:
        candidates: the procedures to offer as buttons (an ambiguous name, or a message not understood).
        reason: why the citizen is handed to an officer (the ticket's reason).
        faq: the FAQ entry the policy matched to the message.
        faq_score: how close the match was.
        group: a case of the documents picked from buttons (1-based index, as in the payload).
        dossier_code: a dossier code the policy read from the message.
        topics: other parts of the procedure the same message asks ("ở đâu, hồ sơ gồm những gì"),
            answered in the same reply after the action's own topic.
        variants: close candidates that give the same answer to the part asked (the procedure
            answered among them): the answer names them in one line.
    """

    candidates: tuple[Candidate, ...] = ()
    reason: TicketReason | None = None
    faq: FaqEntry | None = None
    faq_score: float | None = None
    group: str | None = None
    dossier_code: str | None = None
    topics: tuple[str, ...] = ()
    variants: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class Tracker:
    """Read-only snapshot handed to an action: pure data, no port (an action that reads the knowledge
    base or a dossier system gets it in its constructor).

    Attributes:
        state: the conversation state, with the policy's events already applied (so ``state.procedure``
            is the procedure this turn is about).
        latest_message: the typed parse of the citizen's message (or of the button pressed).
        args: what the policy passes to the action (candidates for a choice, the FAQ entry matched ...).
    """

    state: ConversationState
    latest_message: Parse
    args: ActionArgs = field(default_factory=ActionArgs)


# --- Dispatcher ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """A reply an action wants sent; the engine addresses it to the conversation.

    Attributes:
        response: the catalogue key it was rendered from (tests assert on it, texts may change).
        text: the rendered text.
        buttons: the action's buttons followed by the catalogue's.
        links: (title, url) pairs.
        image: an image URL (only an external action server's replies have one).
        custom: free JSON for the client (likewise).
    """

    response: str
    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None


class CollectingDispatcher:
    """Collects the drafts of one turn. Every text comes from the response catalogue, but for the replies
    of an external action server (:meth:`send`)."""

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

    def send(self, draft: MessageDraft) -> MessageDraft:
        """Queue a reply that is not rendered from the catalogue: an external action server's
        (:mod:`actions.remote`), whose texts are that server's."""
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

    @property
    def name(self) -> str:
        """The :class:`bot.core.domain.ActionName` the policy decides it by."""
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        """Speak through ``dispatcher`` and return what changed."""
        ...
