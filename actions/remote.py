"""Actions run on a Rasa action server (rasa-sdk), so a Rasa team's custom actions keep working here.

``config.yml``'s ``action_endpoint:`` names the server and the actions it runs
(:class:`bot.core.config.ActionEndpointConfig`). Each becomes a :class:`RemoteAction`, an ordinary
:class:`bot.core.sdk.Action` the engine runs like any other: it posts Rasa's action call to the server
and turns the answer into drafts and events::

    POST <url>  {"next_action": "action_x", "sender_id": "u1", "tracker": {...}, "domain": {...},
                 "version": "3.6.21"}
    200         {"events": [{"event": "slot", "name": "procedure", "value": "1.000894"}, ...],
                 "responses": [{"text": "...", "buttons": [...]}, {"response": "utter_greet"}, ...]}

* the tracker is the turn's (:func:`action_tracker`): the four slots, the parse of the message with the
  project's ``procedure`` and ``procedure_ranking``, a ``user`` event for it;
* a response naming ``response`` (rasa-sdk's ``utter_message(response=...)``) is rendered from the
  project's catalogue (exported names such as ``utter_part_days`` are read back as ``part_days``), its
  other keys and the slots filling the variables; a response with ``text`` is sent as written, its
  ``image`` and ``custom`` JSON with it; ``bot`` events are sent the same way;
* events go through :func:`bot.core.rasa.events_from_rasa` (slots, resets, restart); events with no
  meaning here are logged and dropped.

When the server cannot be used (down, timing out, a 5xx or malformed answer, the action unknown to it or
rejected), the failure is logged and the citizen still gets an answer: the built-in action of the same
name when there is one, else the catalogue's ``utter_error`` (the apology offering an officer). Calls
are retried after a connection failure or a 502/503/504 (the request never ran), never after a read
timeout (the action may have run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from bot.core.config import ActionEndpointConfig
from bot.core.events import SLOT_NAMES, Event
from bot.core.messages import Button
from bot.core.rasa import (
    ACTION_LISTEN,
    ACTION_SESSION_START,
    RASA_VERSION,
    EventVerbosity,
    action_event,
    conversation_id,
    events_from_rasa,
    parse_data,
    session_started_event,
    slot_event,
    slot_values,
    timestamp,
    tracker_state,
    user_event,
)
from bot.core.responses import ResponseRenderError
from bot.core.sdk import Action, CollectingDispatcher, MessageDraft, Tracker

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({502, 503, 504})
RASA_MESSAGE_FIELDS = frozenset(
    {
        "text",
        "buttons",
        "quick_replies",
        "image",
        "custom",
        "attachment",
        "elements",
        "response",
        "template",
        "utter_action",
        "recipient_id",
    }
)
"""Keys of a rasa-sdk message that are not template variables."""


class RemoteActionError(Exception):
    """The action server could not run the action (the reason is the message)."""


def action_tracker(tracker: Tracker) -> dict[str, Any]:
    """The tracker of Rasa's action call for this turn (``EventVerbosity.ALL``)."""
    state, parse = tracker.state, tracker.latest_message
    at = timestamp()
    latest = parse_data(parse)
    events = [
        action_event(ACTION_SESSION_START, at),
        session_started_event(at),
        action_event(ACTION_LISTEN, at),
        user_event(parse.text, latest, at, input_channel=state.key.channel),
    ]
    events += [
        slot_event(name, value, at)
        for name, value in slot_values(state).items()
        if name in SLOT_NAMES and value is not None
    ]
    return tracker_state(state, events, EventVerbosity.ALL, latest_message=latest)


class RemoteAction:
    """One action run on a Rasa action server (see the module docstring).

    Args:
        name: the action's name (as the server registers it).
        client: the HTTP client (its transport is the network, or a mock in tests).
        endpoint: the ``action_endpoint:`` section (URL, timeout, retries).
        domain: the domain sent with each call (Rasa's ``Domain.as_dict()``).
        fallback: the built-in action of the same name, run when the server cannot be used.
        sleep: waits between retries (tests pass a recorder).
    """

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        endpoint: ActionEndpointConfig,
        domain: Callable[[], Mapping[str, Any]],
        fallback: Action | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._name = name
        self.client = client
        self.endpoint = endpoint
        self.domain = domain
        self.fallback = fallback
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self._name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        """Call the server; its responses are queued and its events returned (or the fallback runs)."""
        body = {
            "next_action": self._name,
            "sender_id": conversation_id(tracker.state.key),
            "tracker": action_tracker(tracker),
            "domain": dict(self.domain()),
            "version": RASA_VERSION,
        }
        try:
            answer = await self._call(body)
            drafts, events = self._read(answer, dispatcher, tracker)
        except RemoteActionError as exc:
            instead = "the built-in action answers" if self.fallback is not None else "apologising"
            log.warning("action server could not run %s (%s): %s", self._name, exc, instead)
            if self.fallback is not None:
                return await self.fallback.run(dispatcher, tracker)
            dispatcher.utter("utter_error")
            return []
        for draft in drafts:
            dispatcher.send(draft)
        return events

    # --- the call --------------------------------------------------------------------------------------

    async def _call(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        attempts = 1 + self.endpoint.retries
        error = RemoteActionError("not called")
        for attempt in range(attempts):
            try:
                response = await self.client.post(
                    self.endpoint.url, json=body, timeout=self.endpoint.timeout_seconds
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = RemoteActionError(f"cannot connect to {self.endpoint.url}: {type(exc).__name__}")
            except httpx.TimeoutException as exc:  # the action may be running: do not run it twice
                raise RemoteActionError(f"no answer within {self.endpoint.timeout_seconds} s") from exc
            except httpx.HTTPError as exc:
                raise RemoteActionError(f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return _answer_of(response)
                error = RemoteActionError(f"the server answered {response.status_code}")
            if attempt + 1 < attempts:
                await self._sleep(self.endpoint.backoff_seconds * 2**attempt)
        raise error

    # --- the answer ------------------------------------------------------------------------------------

    def _read(
        self, answer: Mapping[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> tuple[list[MessageDraft], list[Event]]:
        responses = answer.get("responses") or []
        raw_events = answer.get("events") or []
        if not isinstance(responses, list) or not all(isinstance(r, Mapping) for r in responses):
            raise RemoteActionError(f"'responses' is not a list of objects: {responses!r}")
        if not isinstance(raw_events, list):
            raise RemoteActionError(f"'events' is not a list: {raw_events!r}")
        try:
            result = events_from_rasa(raw_events)
        except ValueError as exc:
            raise RemoteActionError(str(exc)) from exc
        if result.ignored:
            log.warning("events of %s with no meaning here, dropped: %s", self._name, result.ignored)
        variables = {k: v for k, v in slot_values(tracker.state).items() if v is not None}
        if tracker.latest_message.procedure is not None:
            variables.setdefault("procedure_name", tracker.latest_message.procedure.name)
        drafts = [self._draft(m, dispatcher, variables) for m in [*responses, *result.messages]]
        return [d for d in drafts if d is not None], result.events

    def _draft(
        self, message: Mapping[str, Any], dispatcher: CollectingDispatcher, slots: Mapping[str, Any]
    ) -> MessageDraft | None:
        """One rasa-sdk message as a draft (None when it has nothing to show)."""
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        buttons = _buttons(message.get("buttons")) + _buttons(message.get("quick_replies"))
        image = message.get("image") if isinstance(message.get("image"), str) and message["image"] else None
        custom = dict(message["custom"]) if isinstance(message.get("custom"), Mapping) else None
        source = self._name
        named = message.get("response") or message.get("template")
        if isinstance(named, str) and named:
            key = catalogue_key(named, dispatcher.responses.keys)
            if key is None:
                log.warning("%s named response %r, which the catalogue does not have", self._name, named)
            else:
                extra = {k: v for k, v in message.items() if k not in RASA_MESSAGE_FIELDS and v is not None}
                try:
                    rendered = dispatcher.responses.render(key, **{**slots, **extra})
                except ResponseRenderError as exc:
                    log.warning("%s: response %s not rendered: %s", self._name, key, exc)
                else:
                    source = key
                    text = text or rendered.text  # as Rasa: the message's own text wins
                    buttons = rendered.buttons + buttons
        if not (text or buttons or image or custom):
            return None
        return MessageDraft(source, text or "", buttons, image=image, custom=custom or None)


def catalogue_key(name: str, keys: Iterable[str]) -> str | None:
    """The catalogue key a Rasa response name means: itself, or an exported ``utter_part_x`` /
    ``utter_topic_x`` read back as ``part_x`` / ``topic_x``."""
    known = set(keys)
    if name in known:
        return name
    stripped = name.removeprefix("utter_")
    return stripped if stripped != name and stripped in known else None


def _buttons(raw: Any) -> tuple[Button, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, Mapping) and isinstance(item.get("title"), str):
            out.append(Button(item["title"], str(item.get("payload") or item["title"])))
    return tuple(out)


def _answer_of(response: httpx.Response) -> Mapping[str, Any]:
    """The JSON of a 200 answer; any other status is the reason the action did not run."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 200:
        if not isinstance(data, Mapping):
            raise RemoteActionError("the answer is not a JSON object")
        return data
    detail = data.get("error") if isinstance(data, Mapping) else None
    if response.status_code == 400 and isinstance(data, Mapping) and data.get("action_name"):
        raise RemoteActionError(f"the action rejected the call: {detail}")
    if response.status_code == 404:
        raise RemoteActionError(f"the server has no such action: {detail}")
    raise RemoteActionError(f"the server answered {response.status_code}: {detail or response.text[:200]}")


def remote_actions(
    endpoint: ActionEndpointConfig,
    client: httpx.AsyncClient,
    domain: Callable[[], Mapping[str, Any]],
    built_in: Mapping[str, Action],
) -> dict[str, Action]:
    """The actions ``endpoint`` runs remotely, by name, each falling back on the built-in of its name."""
    return {
        name: RemoteAction(name, client, endpoint, domain, fallback=built_in.get(name))
        for name in endpoint.actions
    }
