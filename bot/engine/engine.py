"""The engine: one inbound message in, the replies out.

Follow one message through :meth:`Engine.handle`:

1. **load** the conversation state from the :class:`bot.core.ports.ConversationStore`;
2. if an officer owns the chat (mode ``with_officer``), **record** the message and stay silent;
3. **understand**: a button payload (``/intent{"entity":"value"}``), a number picking one of the last
   buttons ("2" on a channel without buttons) or "xem thêm" is read directly; anything else goes to
   the :class:`bot.core.ports.Interpreter`;
4. the :class:`bot.engine.policy.Policy` **decides** the action(s) and the events to apply first;
5. the **actions run** on a read-only :class:`bot.core.sdk.Tracker`, speaking through a
   :class:`bot.core.sdk.CollectingDispatcher` and returning events;
6. the engine **applies** the events to the state, **saves** it, **logs** the messages, **publishes**
   the events to the :class:`bot.core.ports.EventSink` and returns the replies.

Every failure inside is caught here, in one place (:meth:`Engine.handle`): it is logged with its cause and
the citizen gets the catalogue's apology with an offer of an officer, never a stack trace.

Errors are translated into a small hierarchy, so the log says which step broke::

    EngineError
    ├── StoreFailed        loading or saving state, logging messages
    ├── UnderstandingFailed the interpreter raised or returned something unusable
    └── ActionFailed       an action raised, or returned something that is not an event
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from bot.core.coordination import LocalLocks
from bot.core.domain import Intent
from bot.core.events import (
    SLOT_NAMES,
    ContinuationSet,
    EscalationRequested,
    Event,
    FallbackCounted,
    ModeChanged,
    SlotSet,
    TurnCompleted,
)
from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage, resolve_numbered_reply
from bot.core.parse import Candidate, Entity, IntentScore, Parse
from bot.core.ports import ConversationStore, EventSink, Interpreter, Locks, MessageRecord, TurnSuperseded
from bot.core.responses import ResponseCatalogue, make_payload, parse_payload
from bot.core.sdk import Action, CollectingDispatcher, MessageDraft, Tracker
from bot.core.state import ConversationState, Mode
from bot.engine.policy import Policy, is_more_request
from knowledge.ports import KnowledgeRepository

logger = logging.getLogger(__name__)

T = TypeVar("T")


class EngineError(Exception):
    """Something inside the engine failed; ``stage`` names the step, ``__cause__`` holds the error."""

    stage = "engine"

    def __init__(self, key: ConversationKey, detail: str = "") -> None:
        super().__init__(f"{self.stage} failed for {key}" + (f": {detail}" if detail else ""))
        self.key = key


class StoreFailed(EngineError):
    """Loading or saving the conversation, or logging its messages, failed."""

    stage = "store"


class UnderstandingFailed(EngineError):
    """The interpreter raised, or returned a parse without an intent."""

    stage = "understanding"


class ActionFailed(EngineError):
    """An action raised, or returned something other than a list of events."""

    stage = "action"


def apply_events(state: ConversationState, events: Iterable[Event]) -> ConversationState:
    """The state after ``events`` (events that change nothing stored, such as escalations, pass)."""
    for event in events:
        if isinstance(event, SlotSet):
            if event.name not in SLOT_NAMES:
                raise ValueError(f"unknown slot {event.name!r}")
            state = state.evolve(**{event.name: event.value})
        elif isinstance(event, ModeChanged):
            state = state.evolve(mode=event.mode)
        elif isinstance(event, FallbackCounted):
            state = state.evolve(fallback_streak=event.streak)
        elif isinstance(event, ContinuationSet):
            state = state.evolve(continuation=event.continuation)
    return state


Source = Literal["payload", "number", "more", "nlu"]
"""How a message was understood: a button payload, a number picking a button, "xem thêm", the NLU."""


@dataclass(frozen=True)
class _Understanding:
    parse: Parse
    source: Source


class Engine:
    """Handles inbound messages of every channel.

    Args:
        interpreter: the NLU.
        knowledge: the knowledge base (names the procedure of a button payload).
        store: conversation states and the message log.
        responses: the validated response catalogue.
        actions: every action the policy can name, by name (the composition root builds them with
            :func:`actions.registry.build_actions`; the engine imports no action).
        policy: decides the actions; a default :class:`bot.engine.policy.Policy` when None.
        events: receives each turn's events after the state is saved (the hand-off's ticket sink), off
            the event loop like every blocking call; None drops them (escalations are still logged).
        offload: runs blocking calls (NLU, database) off the event loop; ``asyncio.to_thread`` by default.
        locks: locks shared with the other server processes (PostgreSQL advisory locks), so a chat's
            turns are one at a time whichever process took each message; None: this process only.
    """

    def __init__(
        self,
        interpreter: Interpreter,
        knowledge: KnowledgeRepository,
        store: ConversationStore,
        responses: ResponseCatalogue,
        actions: Mapping[str, Action],
        policy: Policy | None = None,
        events: EventSink | None = None,
        offload: Callable[..., Any] | None = None,
        locks: Locks | None = None,
    ) -> None:
        self.interpreter = interpreter
        self.knowledge = knowledge
        self.store = store
        self.responses = responses
        self.policy = policy or Policy()
        self.actions = dict(actions)
        self.events = events
        self._offload = offload or asyncio.to_thread
        self._turns: Locks = locks if locks is not None else LocalLocks()
        # Rendered once at start-up, so apologising can never fail for want of a text.
        self._apology = responses.render("utter_error")

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._offload(fn, *args)

    def _lock(self, key: ConversationKey) -> AbstractAsyncContextManager[None]:
        """The conversation's turn: one at a time in this process and (PostgreSQL) in the others."""
        return self._turns.hold(f"conversation:{key.channel}:{key.chat_id}")

    # --- the edge ------------------------------------------------------------------------------------

    async def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        """Replies to one inbound message (empty while an officer owns the chat).

        Messages of one conversation are handled one at a time, in arrival order. Never raises for a
        failure inside: it is logged and answered with the apology.
        """
        async with AsyncExitStack() as turn:
            try:
                await turn.enter_async_context(self._lock(message.key))
            except Exception as exc:  # the shared lock's database is unreachable: nothing done yet
                logger.error("could not take the turn of %s: %r", message.key, exc)
                return [self._apology_message(message.key)]
            try:
                return await self._handle(message)
            except TurnSuperseded:  # another worker holds the message now and answers it
                logger.warning("turn of %s rolled back: its message was taken over", message.key)
                return []
            except Exception as exc:
                stage = exc.stage if isinstance(exc, EngineError) else "engine"
                cause = exc.__cause__ if isinstance(exc, EngineError) and exc.__cause__ else exc
                logger.error(
                    "failed to handle a message of %s at %s: %r",
                    message.key,
                    stage,
                    cause,
                    exc_info=(type(cause), cause, cause.__traceback__),
                )
                await self._after_failure(message)
                return [self._apology_message(message.key)]

    def _apology_message(self, key: ConversationKey) -> OutboundMessage:
        return OutboundMessage(key=key, text=self._apology.text, buttons=self._apology.buttons)

    async def _after_failure(self, message: InboundMessage) -> None:
        """Best effort after a failure: log both messages and remember the apology's buttons."""
        try:
            state = await self._blocking(self.store.load, message.key)
            await self._blocking(self.store.save, state.evolve(choices=self._apology.buttons))
            await self._blocking(
                self.store.log,
                [
                    MessageRecord(message.key, "in", message.text, created_at=message.received_at),
                    MessageRecord(message.key, "out", self._apology.text, sender="bot", intent="error"),
                ],
            )
        except Exception:
            logger.exception("could not record the failed turn of %s", message.key)

    async def release_to_bot(self, key: ConversationKey) -> None:
        """The officer is done: the bot answers this conversation again (from the officer console)."""
        async with self._lock(key):
            state = await self._blocking(self.store.load, key)
            if state.mode == Mode.WITH_OFFICER:
                await self._blocking(self.store.save, state.evolve(mode=Mode.ANSWERING, fallback_streak=0))

    async def hold_for_officer(self, key: ConversationKey) -> None:
        """An officer took the conversation (claimed a ticket the bot was still answering): the bot stays
        silent. Under the conversation's lock, so a turn in progress finishes first and cannot undo it."""
        async with self._lock(key):
            state = await self._blocking(self.store.load, key)
            if state.mode != Mode.WITH_OFFICER:
                await self._blocking(self.store.save, state.evolve(mode=Mode.WITH_OFFICER, continuation=None))

    # --- understanding without answering (the Rasa HTTP API) -------------------------------------------

    def understand(self, text: str) -> Parse:
        """The parse of ``text`` outside any conversation: a button payload read directly, anything else
        through the NLU (Rasa's ``/model/parse``). Blocking: call it off the event loop.

        Raises:
            UnderstandingFailed: the interpreter raised or returned an unusable parse.
        """
        key = ConversationKey("parse", "")
        return self._understand(InboundMessage(key=key, text=text), ConversationState(key)).parse

    async def log_message(self, message: InboundMessage, parse: Parse | None = None) -> Parse:
        """Log a citizen's message without answering it (Rasa's ``POST /conversations/{id}/messages``):
        understood (or ``parse`` as given), written to the message log, no action run, the state unchanged.
        Under the conversation's lock, so it never lands inside a turn.

        Raises:
            UnderstandingFailed: the message could not be understood.
            StoreFailed: the log could not be written.
        """
        async with self._lock(message.key):
            if parse is None:
                parse = await self._blocking(self.understand, message.text)
            record = MessageRecord(
                message.key,
                "in",
                message.text,
                intent=parse.intent.name,
                confidence=parse.intent.confidence,
                procedure=parse.procedure.code if parse.procedure else None,
                created_at=message.received_at,
            )
            await self._log(message.key, [record])
            return parse

    # --- one turn --------------------------------------------------------------------------------------

    def _load_and_understand(
        self, message: InboundMessage
    ) -> tuple[ConversationState, _Understanding | None]:
        """The blocking half of a turn's start, in one hand-off: load the state, then understand.

        Returns no understanding while an officer owns the conversation (the bot stays silent).
        """
        try:
            state = self.store.load(message.key)
        except Exception as exc:
            raise StoreFailed(message.key, "load") from exc
        if state.mode == Mode.WITH_OFFICER:
            return state, None
        if state.mode == Mode.CLOSED:
            state = state.reopened()
        return state, self._understand(message, state)

    async def _handle(self, message: InboundMessage) -> list[OutboundMessage]:
        key = message.key
        state, understanding = await self._blocking(self._load_and_understand, message)
        if understanding is None:
            await self._log(key, [MessageRecord(key, "in", message.text, created_at=message.received_at)])
            return []
        parse = understanding.parse
        decision = self.policy.decide(parse, state)
        state = apply_events(state, decision.events)
        turn_events: list[Event] = list(decision.events)

        dispatcher = CollectingDispatcher(self.responses)
        for name in decision.actions:
            action = self.actions.get(name)
            if action is None:
                raise ActionFailed(key, f"no action named {name!r}")
            tracker = Tracker(state=state, latest_message=parse, args=decision.args)
            try:
                events = await action.run(dispatcher, tracker)
                if not isinstance(events, list) or not all(isinstance(e, Event) for e in events):
                    raise TypeError(f"{name} returned {events!r}, not a list of events")
                state = apply_events(state, events)
            except Exception as exc:
                raise ActionFailed(key, name) from exc
            turn_events.extend(events)

        intent, confidence = parse.intent.name, parse.intent.confidence
        state = self._finish_turn(state, dispatcher.messages, turn_events, intent, decision.actions)
        replies = [self._outbound(key, d) for d in dispatcher.messages]

        records = [
            MessageRecord(
                key,
                "in",
                message.text,
                intent=intent,
                confidence=confidence,
                procedure=state.procedure,
                created_at=message.received_at,
            )
        ]
        records += [
            MessageRecord(key, "out", r.text, sender="bot", intent=intent, procedure=state.procedure)
            for r in replies
        ]
        await self._blocking(self._persist_turn, state, records, message, replies)
        done = TurnCompleted(
            state, message.text, message.received_at, intent, confidence, tuple(r.text for r in replies)
        )
        await self._publish(key, [*turn_events, done])
        logger.debug("handled %s: %s via %s -> %s", key, intent, understanding.source, decision.rule)
        return replies

    def _persist_turn(
        self,
        state: ConversationState,
        records: list[MessageRecord],
        message: InboundMessage,
        replies: list[OutboundMessage],
    ) -> None:
        """Save the state and log the turn in one transaction, in one hand-off to a worker thread; for a
        message of the durable inbox the same transaction marks its row done and queues the replies."""
        try:
            self.store.save_turn(state, records, message, replies)
        except TurnSuperseded:
            raise
        except Exception as exc:
            raise StoreFailed(state.key, "save") from exc

    async def _log(self, key: ConversationKey, records: list[MessageRecord]) -> None:
        try:
            await self._blocking(self.store.log, records)
        except Exception as exc:
            raise StoreFailed(key, "log") from exc

    async def _publish(self, key: ConversationKey, events: Sequence[Event]) -> None:
        """Hand the turn's events on, off the event loop (the ticket sink writes to the database); a
        failing sink is logged, the citizen still gets the replies."""
        if self.events is None:
            for event in events:
                if isinstance(event, EscalationRequested):
                    logger.warning("escalation for %s not delivered (no event sink): %r", key, event)
            return
        try:
            await self._blocking(self.events.publish, key, events)
        except Exception:
            logger.exception("event sink failed for %s; events: %r", key, events)

    @staticmethod
    def _finish_turn(
        state: ConversationState,
        drafts: Sequence[MessageDraft],
        events: Sequence[Event],
        intent: str | None,
        actions: Sequence[str],
    ) -> ConversationState:
        offered: tuple[Button, ...] = ()
        for draft in drafts:
            if draft.buttons:
                offered = draft.buttons
        counted = any(isinstance(e, FallbackCounted) for e in events)
        return state.evolve(
            choices=offered,
            fallback_streak=state.fallback_streak if counted else 0,
            last_intent=intent,
            last_action=actions[-1] if actions else None,
            turns=state.turns + 1,
        )

    @staticmethod
    def _outbound(key: ConversationKey, draft: MessageDraft) -> OutboundMessage:
        return OutboundMessage(
            key=key,
            text=draft.text,
            buttons=draft.buttons,
            links=draft.links,
            image=draft.image,
            custom=draft.custom,
        )

    # --- understanding -------------------------------------------------------------------------------

    def _understand(self, message: InboundMessage, state: ConversationState) -> _Understanding:
        """Payload, numbered reply or "xem thêm" read directly; everything else through the NLU."""
        text = message.text.strip()
        source: Source = "payload"
        payload = parse_payload(text)
        if payload is None and state.choices:
            picked = resolve_numbered_reply(text, state.choices)
            if picked is not None:
                payload, source = parse_payload(picked), "number"
        if payload is None and state.continuation and is_more_request(text):
            payload, source = parse_payload(make_payload(Intent.MORE)), "more"
        if payload is not None:
            return _Understanding(self._payload_parse(text, *payload), source)
        try:
            raw = self.interpreter.parse(text)
        except Exception as exc:
            raise UnderstandingFailed(message.key, "interpreter raised") from exc
        try:
            parse = Parse.from_rasa(raw)  # the Rasa dict stops here: what follows reads typed fields
        except ValueError as exc:
            raise UnderstandingFailed(message.key, f"unusable parse {raw!r}") from exc
        return _Understanding(parse, "nlu")

    def _payload_parse(self, text: str, intent: str, entities: dict[str, str]) -> Parse:
        """The parse of a payload: confidence 1, the entities, the procedure they name."""
        procedure = None
        code = entities.get("procedure")
        if code:
            found = self.knowledge.get(code)
            procedure = Candidate(code, found.name if found else "", 1.0)
        sure = IntentScore(intent, 1.0)
        return Parse(
            text=text,
            intent=sure,
            intent_ranking=(sure,),
            entities=tuple(
                Entity(name, value, confidence=1.0, extractor="payload") for name, value in entities.items()
            ),
            procedure=procedure,
            procedure_ranking=(procedure,) if procedure else (),
        )
