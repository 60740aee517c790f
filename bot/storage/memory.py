"""In-memory adapters of the bot's ports: the "try it" box's conversation store and a response
override store for tests."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import MessageRecord
from bot.core.state import ConversationState


class ScratchConversationStore:
    """Conversation store of the editors' "try it" box: states in memory (the newest ``limit``),
    messages dropped.

    Implements :class:`bot.core.ports.ConversationStore`; nothing reaches the message log, so analytics never
    counts an editor's tries.
    """

    def __init__(self, limit: int = 200) -> None:
        self._states: OrderedDict[ConversationKey, ConversationState] = OrderedDict()
        self._limit = limit

    def load(self, key: ConversationKey) -> ConversationState:
        return self._states.get(key) or ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        self._states[state.key] = state
        self._states.move_to_end(state.key)
        while len(self._states) > self._limit:
            self._states.popitem(last=False)

    def forget(self, key: ConversationKey) -> None:
        """Start the conversation over."""
        self._states.pop(key, None)

    def log(self, records: Iterable[MessageRecord]) -> None:
        """Dropped on purpose: tries are not conversations."""

    def save_turn(
        self,
        state: ConversationState,
        records: Sequence[MessageRecord],
        message: InboundMessage,
        replies: Sequence[OutboundMessage],
    ) -> None:
        """The state kept, the messages dropped (a try never comes from the inbox)."""
        self.save(state)

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        return []


class InMemoryResponseOverrides:
    """Fake :class:`bot.core.ports.ResponseOverrides`: a dict of key -> variants, with who wrote each.

    Args:
        overrides: the stored overrides to start with.
    """

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.overrides: dict[str, Any] = dict(overrides or {})
        self.written_by: dict[str, str] = {}

    def read(self) -> dict[str, Any]:
        return dict(self.overrides)

    def put(self, key: str, variants: list[dict[str, Any]], by: str) -> None:
        self.overrides[key] = variants
        self.written_by[key] = by

    def drop(self, key: str) -> None:
        self.overrides.pop(key, None)
