"""Rasa 3.6's wire formats, in one place: trackers, events, bot messages, error bodies.

Two adapters speak Rasa to the outside: the Rasa HTTP API (:mod:`bot.channels.rasa_http`: a Rasa client
reads ``/conversations/{id}/tracker``) and the action-server client (:mod:`actions.remote`: a rasa-sdk
server reads the tracker in ``POST /webhook`` and answers with events and responses). Both build and
read the same JSON, so it is written once, here, from the shapes of Rasa 3.6 (``Tracker.current_state``,
``Event.as_dict``, ``CollectingOutputChannel``, ``ErrorResponse``; checked against Rasa 3.6.21).

The project keeps no Rasa event log: its state is a :class:`bot.core.state.ConversationState` and a
message log (:class:`bot.core.ports.MessageRecord`). A tracker is therefore *derived*:

* slots are the state's four slots (``procedure``, ``pending_intent``, ``dossier_code``, ``case``);
* events are rebuilt from the message log: ``action_session_start``, ``session_started`` and
  ``action_listen`` first, then a ``user`` event per citizen message (its intent and confidence as
  logged) and a ``bot`` event per reply (officers' replies carry ``metadata.sender = "officer"``), with
  ``action_listen`` after each turn. Which action answered is not logged, so there are no ``action``
  events for the project's own actions;
* ``paused`` is true while an officer owns the conversation (``with_officer``).

A Rasa conversation id is the REST channel's sender (``"u1"``); other channels' conversations are
named ``"channel:chat_id"`` (``"telegram:12345"``): :func:`conversation_id` and
:func:`conversation_key`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.events import SLOT_NAMES, ContinuationSet, Event, ModeChanged, SlotSet
from bot.core.messages import Button, ConversationKey
from bot.core.parse import Parse
from bot.core.ports import MessageRecord
from bot.core.state import ConversationState, Mode

RASA_VERSION = "3.6.21"
"""The Rasa version whose HTTP API and action-server protocol this project speaks."""
MINIMUM_COMPATIBLE_VERSION = "3.6.21"
"""What Rasa 3.6.21's ``/version`` reports as the oldest model version it loads."""
DEFAULT_SENDER_ID = "default"
"""Rasa's sender id for a message without one (``rasa.shared.constants.DEFAULT_SENDER_ID``)."""
REST_CHANNEL = "rest"
ACTION_LISTEN = "action_listen"
ACTION_SESSION_START = "action_session_start"
SESSION_STARTED_METADATA = "session_started_metadata"
"""The slot Rasa adds to every domain (metadata of the session start)."""


class EventVerbosity(StrEnum):
    """Which events a tracker carries (the ``include_events`` query parameter of Rasa's API)."""

    ALL = "ALL"
    AFTER_RESTART = "AFTER_RESTART"
    APPLIED = "APPLIED"
    NONE = "NONE"


# --- conversation ids ----------------------------------------------------------------------------------


def conversation_id(key: ConversationKey) -> str:
    """The Rasa conversation id of a conversation: the sender for the REST channel, else
    ``"channel:chat_id"``."""
    return key.chat_id if key.channel == REST_CHANNEL else f"{key.channel}:{key.chat_id}"


def conversation_key(conversation: str, channels: Collection[str] = ()) -> ConversationKey:
    """The conversation a Rasa conversation id names (:func:`conversation_id` reversed).

    ``"telegram:12345"`` is a Telegram chat when ``telegram`` is one of ``channels``; anything else is a
    REST channel sender, as in Rasa (its REST channel's sender is the conversation id).
    """
    channel, sep, chat = conversation.partition(":")
    if sep and chat and channel in channels and channel != REST_CHANNEL:
        return ConversationKey(channel, chat)
    return ConversationKey(REST_CHANNEL, conversation)


# --- events ----------------------------------------------------------------------------------------


def timestamp(moment: datetime | None = None) -> float:
    """Seconds since the epoch, Rasa's event time (now when ``moment`` is None)."""
    return time.time() if moment is None else moment.timestamp()


def _event(kind: str, at: float, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"event": kind, "timestamp": at}
    if metadata:
        out["metadata"] = dict(metadata)
    return out


def action_event(
    name: str, at: float, policy: str | None = None, confidence: float | None = None
) -> dict[str, Any]:
    """Rasa's ``ActionExecuted`` as JSON."""
    return {
        **_event("action", at),
        "name": name,
        "policy": policy,
        "confidence": confidence,
        "action_text": None,
        "hide_rule_turn": False,
    }


def session_started_event(at: float) -> dict[str, Any]:
    """Rasa's ``SessionStarted`` as JSON."""
    return _event("session_started", at)


def slot_event(name: str, value: Any, at: float) -> dict[str, Any]:
    """Rasa's ``SlotSet`` as JSON."""
    return {**_event("slot", at), "name": name, "value": value}


def parse_data(
    parse: Parse | None,
    text: str | None = None,
    message_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``UserUttered.parse_data``: the parse (with the project's ``procedure`` and
    ``procedure_ranking``) and the message's id and metadata. Without a parse, Rasa's empty one."""
    if parse is None:
        base: dict[str, Any] = {"intent": {}, "entities": [], "text": text}
    else:
        base = parse.to_rasa()
    return {**base, "message_id": message_id, "metadata": dict(metadata or {})}


def user_event(
    text: str,
    data: Mapping[str, Any],
    at: float,
    input_channel: str | None = None,
    message_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Rasa's ``UserUttered`` as JSON."""
    return {
        **_event("user", at),
        "text": text,
        "parse_data": dict(data),
        "input_channel": input_channel,
        "message_id": message_id,
        "metadata": dict(metadata or {}),
    }


def bot_data(
    buttons: Sequence[Button] = (),
    image: str | None = None,
    custom: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``data`` of a ``BotUttered`` (Rasa's ``create_bot_utterance``)."""
    return {
        "elements": None,
        "quick_replies": None,
        "buttons": [{"title": b.title, "payload": b.payload} for b in buttons] or None,
        "attachment": image,
        "image": image,
        "custom": dict(custom) if custom else None,
    }


def bot_event(
    text: str, at: float, data: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Rasa's ``BotUttered`` as JSON."""
    return {
        **_event("bot", at),
        "text": text,
        "data": dict(data) if data is not None else bot_data(),
        "metadata": dict(metadata or {}),
    }


def log_events(records: Sequence[MessageRecord], input_channel: str) -> list[dict[str, Any]]:
    """The Rasa events of a conversation's message log (see the module docstring), oldest first; a
    conversation with no message yet has only its session start, as Rasa gives a new tracker."""
    start = timestamp(records[0].created_at) if records else timestamp()
    events = [
        action_event(ACTION_SESSION_START, start),
        session_started_event(start),
        action_event(ACTION_LISTEN, start),
    ]
    for i, record in enumerate(records):
        at = timestamp(record.created_at)
        if record.direction == "in":
            events.append(user_event(record.text, logged_parse(record), at, input_channel))
        else:
            meta = {"sender": record.sender} if record.sender != "bot" else None
            events.append(bot_event(record.text, at, metadata=meta))
            turn_over = i + 1 == len(records) or records[i + 1].direction == "in"
            if turn_over:
                events.append(action_event(ACTION_LISTEN, at))
    return events


def logged_parse(record: MessageRecord) -> dict[str, Any]:
    """The parse data a logged citizen message still has: text, intent and confidence, procedure code."""
    intent: dict[str, Any] = {}
    if record.intent:
        intent = {"name": record.intent, "confidence": record.confidence}
    data: dict[str, Any] = {"intent": intent, "entities": [], "text": record.text}
    if record.procedure:
        data["procedure"] = {"code": record.procedure}
    return {**data, "message_id": None, "metadata": {}}


def latest_user_message(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The ``parse_data`` of the last ``user`` event, or None."""
    for event in reversed(events):
        if event.get("event") == "user":
            return dict(event.get("parse_data") or {})
    return None


# --- trackers ----------------------------------------------------------------------------------------


def slot_values(state: ConversationState) -> dict[str, Any]:
    """The tracker's slots: the state's four and Rasa's own ``session_started_metadata``."""
    values: dict[str, Any] = {name: getattr(state, name) for name in sorted(SLOT_NAMES)}
    values[SESSION_STARTED_METADATA] = None
    return values


def tracker_state(
    state: ConversationState,
    events: Sequence[Mapping[str, Any]],
    verbosity: EventVerbosity = EventVerbosity.AFTER_RESTART,
    latest_message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``Tracker.current_state`` of Rasa 3.6 for a conversation.

    Args:
        state: the conversation's state (slots, mode).
        events: its Rasa events (:func:`log_events`), oldest first.
        verbosity: ``NONE`` gives ``"events": null``; the others every event (nothing here is undone or
            restarted, so ``ALL``, ``AFTER_RESTART`` and ``APPLIED`` are the same list).
        latest_message: the latest ``parse_data``; by default the last ``user`` event's.
    """
    latest = dict(latest_message) if latest_message is not None else latest_user_message(events)
    if latest is None:
        latest = parse_data(None)
    last_action = ACTION_LISTEN if events else None
    return {
        "sender_id": conversation_id(state.key),
        "slots": slot_values(state),
        "latest_message": latest,
        "latest_event_time": events[-1]["timestamp"] if events else None,
        "followup_action": None,
        "paused": state.mode == Mode.WITH_OFFICER,
        "events": None if verbosity == EventVerbosity.NONE else [dict(e) for e in events],
        "latest_input_channel": state.key.channel,
        "active_loop": {},
        "latest_action": {"action_name": last_action} if last_action else {},
        "latest_action_name": last_action,
    }


# --- events and messages from an action server ---------------------------------------------------------


@dataclass
class RasaResult:
    """What an action server's events mean here.

    Attributes:
        events: the project's events (slot changes, resets).
        messages: ``bot`` events the server returned, as message dicts (sent like its ``responses``).
        ignored: the Rasa event types that have no meaning here (logged by the caller).
    """

    events: list[Event] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


_NOTHING_TO_DO = frozenset(
    {"user", "action", "session_started", "user_featurization", "entities", "action_execution_rejected"}
)
"""Rasa events an action may return that change nothing the project keeps."""


def events_from_rasa(items: Iterable[Any]) -> RasaResult:
    """The project's events for an action server's ``events`` list.

    ``slot`` events of the four slots become :class:`SlotSet` (other slots are not kept: ignored);
    ``reset_slots`` forgets the four slots; ``restart`` forgets them too and leaves any waiting mode and
    list; ``bot`` events are messages to send. Everything else is reported in ``ignored``.

    Raises:
        ValueError: an item is not an event (no ``event`` name).
    """
    result = RasaResult()
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("event"), str):
            raise ValueError(f"not a Rasa event: {item!r}")
        kind = item["event"]
        if kind == "slot" and item.get("name") in SLOT_NAMES:
            value = item.get("value")
            result.events.append(SlotSet(str(item["name"]), None if value is None else str(value)))
        elif kind in ("reset_slots", "restart"):
            result.events += [SlotSet(name, None) for name in sorted(SLOT_NAMES)]
            if kind == "restart":
                result.events += [ModeChanged(Mode.ANSWERING), ContinuationSet(None)]
        elif kind == "bot":
            raw = item.get("data")
            data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            result.messages.append({"text": item.get("text"), **{k: v for k, v in data.items() if v}})
        elif kind in _NOTHING_TO_DO:
            continue
        else:
            result.ignored.append(kind if kind != "slot" else f"slot {item.get('name')}")
    return result


def error_body(
    status: int,
    reason: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    help_url: str | None = None,
) -> dict[str, Any]:
    """The body of a Rasa API error (``rasa.server.ErrorResponse``)."""
    return {
        "version": RASA_VERSION,
        "status": "failure",
        "message": message,
        "reason": reason,
        "details": dict(details or {}),
        "help": help_url,
        "code": status,
    }
