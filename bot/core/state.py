"""Explicit conversation state: what the bot remembers between two messages of one chat.

The state is a frozen record. The engine loads it, the policy and actions read it, actions return
events, and the engine derives the next state with :meth:`ConversationState.evolve`; nothing mutates a
state in place. It round-trips through a JSON dict (:meth:`ConversationState.to_dict` /
:meth:`ConversationState.from_dict`) so any store can keep it in one JSON column.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.messages import Button, ConversationKey

STATE_VERSION = 1
"""Version written into every serialised state; bump it when a field changes meaning."""


class Mode(StrEnum):
    """Where the conversation stands.

    Attributes:
        ANSWERING: the bot answers questions (the default).
        AWAITING_CHOICE: the bot offered procedure buttons and waits for a pick.
        AWAITING_DOSSIER_CODE: the bot asked for a dossier code (mã hồ sơ).
        AWAITING_VERIFICATION: reserved for the dossier lookup that will ask for a phone or ID number.
        WITH_OFFICER: an officer owns the chat; the bot stays silent and only records messages.
        CLOSED: the citizen said goodbye; the next message opens a fresh conversation.
    """

    ANSWERING = "answering"
    AWAITING_CHOICE = "awaiting_choice"
    AWAITING_DOSSIER_CODE = "awaiting_dossier_code"
    AWAITING_VERIFICATION = "awaiting_verification"
    WITH_OFFICER = "with_officer"
    CLOSED = "closed"


@dataclass(frozen=True)
class Continuation:
    """Where a long list stopped, so that "Xem thêm" sends the next page.

    Attributes:
        topic: which list (``"documents"``, ``"forms"``, ``"steps"``, ``"legal_basis"``).
        procedure: code of the procedure the list belongs to.
        offset: index of the first item not sent yet (within the group, when there is one).
        group: for documents published per case, the case being listed; None for the whole list.
    """

    topic: str
    procedure: str
    offset: int
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``group`` only when set, so states written before it existed look the same."""
        data: dict[str, Any] = {"topic": self.topic, "procedure": self.procedure, "offset": self.offset}
        if self.group is not None:
            data["group"] = self.group
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Continuation:
        """Build a continuation from :meth:`to_dict` output."""
        group = data.get("group")
        return cls(str(data["topic"]), str(data["procedure"]), int(data["offset"]), group)


@dataclass(frozen=True)
class ConversationState:
    """Everything the bot remembers about one conversation.

    Attributes:
        key: the conversation (channel, chat id); never changes.
        mode: see :class:`Mode`.
        procedure: code of the procedure being discussed; follow-up questions ("lệ phí bao nhiêu?")
            answer for it until the citizen names another.
        pending_intent: a question asked before the procedure was known (or while it was ambiguous);
            answered as soon as the citizen picks or names the procedure.
        dossier_code: the last dossier code the citizen gave.
        case: the citizen's own words about their case (from the question that named the procedure,
            folded, without digits) or the document group they picked; used to answer the matching
            group when a procedure's documents differ per case ("nhà ở riêng lẻ").
        choices: the buttons of the last reply that had buttons, so "2" on a channel without buttons
            maps back to the second payload.
        fallback_streak: consecutive messages the bot did not understand (two-band fallback).
        continuation: the rest of a long list, or None.
        last_intent: intent of the previous message.
        last_action: action that answered the previous message.
        turns: messages handled in this conversation.
    """

    key: ConversationKey
    mode: Mode = Mode.ANSWERING
    procedure: str | None = None
    pending_intent: str | None = None
    dossier_code: str | None = None
    case: str | None = None
    choices: tuple[Button, ...] = ()
    fallback_streak: int = 0
    continuation: Continuation | None = None
    last_intent: str | None = None
    last_action: str | None = None
    turns: int = 0

    def evolve(self, **changes: Any) -> ConversationState:
        """A copy with the given fields changed (the key cannot change)."""
        if "key" in changes:
            raise ValueError("a conversation's key never changes")
        return dataclasses.replace(self, **changes)

    def reopened(self) -> ConversationState:
        """The state for a new conversation after ``closed``: same key and turn count, no context."""
        return ConversationState(key=self.key, turns=self.turns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the key included); :meth:`from_dict` reverses it."""
        return {
            "version": STATE_VERSION,
            "channel": self.key.channel,
            "chat_id": self.key.chat_id,
            "mode": self.mode.value,
            "procedure": self.procedure,
            "pending_intent": self.pending_intent,
            "dossier_code": self.dossier_code,
            "case": self.case,
            "choices": [{"title": b.title, "payload": b.payload} for b in self.choices],
            "fallback_streak": self.fallback_streak,
            "continuation": self.continuation.to_dict() if self.continuation else None,
            "last_intent": self.last_intent,
            "last_action": self.last_action,
            "turns": self.turns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        """Build a state from :meth:`to_dict` output.

        Raises:
            ValueError: the dict was written by a newer version or has an unknown mode.
        """
        version = int(data.get("version", STATE_VERSION))
        if version > STATE_VERSION:
            raise ValueError(f"conversation state version {version} is newer than {STATE_VERSION}")
        cont = data.get("continuation")
        return cls(
            key=ConversationKey(str(data["channel"]), str(data["chat_id"])),
            mode=Mode(data.get("mode", Mode.ANSWERING.value)),
            procedure=data.get("procedure"),
            pending_intent=data.get("pending_intent"),
            dossier_code=data.get("dossier_code"),
            case=data.get("case"),
            choices=tuple(Button(str(b["title"]), str(b["payload"])) for b in data.get("choices") or ()),
            fallback_streak=int(data.get("fallback_streak", 0)),
            continuation=Continuation.from_dict(cont) if cont else None,
            last_intent=data.get("last_intent"),
            last_action=data.get("last_action"),
            turns=int(data.get("turns", 0)),
        )
