"""Dossier status (tra cứu hồ sơ): code, then verification, then the status; subscriptions to changes.

The dialogue::

    "Hồ sơ của tôi đến đâu rồi?"        -> asks the code                      (awaiting_dossier_code)
    "H12.22-250301-0001"                -> asks the last 4 digits of the applicant's phone or ID number
                                                                              (awaiting_verification)
    "5678"                              -> procedure, status, step, received / due dates, overdue or done;
                                           buttons "Nhận thông báo khi có thay đổi" / "Gặp cán bộ"

Nothing about a dossier is said before the digits match. An unknown code and wrong digits get the same
reply, and both count as a failed verification for the chat and for the code: after
:attr:`bot.core.config.DossierConfig.verification_attempts` failures the lookup is locked for a while,
so codes cannot be enumerated. The action speaks only through ports (:class:`bot.core.ports.DossierGateway`,
:class:`bot.core.ports.DossierAccessGuard`, :class:`bot.core.ports.DossierSubscriptions`), one constructor
parameter each. The code shapes, the policy's rule and the wording it shares with the watcher are in
:mod:`bot.core.dossier`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from actions.procedure.names import display_name
from bot.core.domain import ActionName, Intent
from bot.core.dossier import (
    DOSSIER_INTENTS,
    format_date,
    last4_of,
    looks_like_dossier_code,
    progress_text,
    valid_dossier_code,
)
from bot.core.events import Event, ModeChanged, SlotSet
from bot.core.messages import Button, ConversationKey
from bot.core.ports import (
    DossierAccessGuard,
    DossierGateway,
    DossierLookupUnavailable,
    DossierStatus,
    DossierSubscriptions,
)
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode
from bot.core.timeutil import utcnow
from knowledge.ports import KnowledgeRepository

logger = logging.getLogger(__name__)

PROCEDURE_CHARS = 80
"""Longest procedure name in a status reply."""


def dossier_code_in(tracker: Tracker) -> str | None:
    """The dossier code of this turn: the NLU's entity, the policy's argument, or the bare text."""
    text = tracker.latest_message.text
    code = tracker.latest_message.entity("dossier_code") or tracker.args.dossier_code
    if code:
        return code.strip().upper()
    return text.strip().upper() if looks_like_dossier_code(text) else None


# --- The action ------------------------------------------------------------------------------------


def _subjects(key: ConversationKey, code: str) -> tuple[str, str]:
    return f"chat:{key}", f"dossier:{code}"


def _grant(key: ConversationKey, code: str) -> str:
    return f"grant:{key}|{code}"


class DossierStatusAction:
    """``check_dossier_status`` and the ``subscribe_dossier`` button (see the module docstring).

    Args:
        gateway: the dossier system.
        guard: failed verifications and locks per chat and per dossier, and recent grants (shared by
            every worker in production; the editor's "try it" box passes an in-memory one).
        subscriptions: who is told about changes.
        knowledge: the knowledge base, for the procedure's name.
        clock: current time (overdue or not).
    """

    name = ActionName.DOSSIER_STATUS

    def __init__(
        self,
        gateway: DossierGateway,
        guard: DossierAccessGuard,
        subscriptions: DossierSubscriptions,
        knowledge: KnowledgeRepository,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.gateway = gateway
        self.guard = guard
        self.subscriptions = subscriptions
        self.knowledge = knowledge
        self.clock = clock

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        try:
            if tracker.latest_message.intent_name == Intent.SUBSCRIBE_DOSSIER:
                return await self._subscribe(dispatcher, tracker)
            return await self._dialogue(dispatcher, tracker)
        except DossierLookupUnavailable as exc:
            logger.warning("dossier lookup unavailable for %s: %s", tracker.state.key, exc)
            dispatcher.utter("utter_dossier_unavailable")
            return [ModeChanged(Mode.ANSWERING)]

    async def _dialogue(self, d: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        state = tracker.state
        code = dossier_code_in(tracker)
        if state.mode == Mode.AWAITING_VERIFICATION and state.dossier_code:
            if code is not None and valid_dossier_code(code):
                return await self._code_given(d, tracker, code)  # a new (or repeated) code: ask again
            return await self._verify(d, tracker, state.dossier_code)
        if code is not None:
            return await self._code_given(d, tracker, code)
        asked = tracker.latest_message.intent_name in DOSSIER_INTENTS
        if state.mode == Mode.AWAITING_DOSSIER_CODE and not asked:
            d.utter("utter_dossier_code_invalid")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        d.utter("utter_ask_dossier_code")
        return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]

    async def _code_given(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        if not valid_dossier_code(code):
            d.utter("utter_dossier_code_invalid")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        if await self.guard.locked(_subjects(tracker.state.key, code)):
            return self._locked(d, tracker, code)
        d.utter("utter_dossier_ask_verification", dossier_code=code)
        return [SlotSet("dossier_code", code), ModeChanged(Mode.AWAITING_VERIFICATION)]

    def _locked(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        logger.info("dossier lookup locked for %s (code %s)", tracker.state.key, code)
        d.utter("utter_dossier_locked")
        return [ModeChanged(Mode.ANSWERING)]

    async def _verify(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        last4 = last4_of(tracker.latest_message.text)
        if not last4:
            d.utter("utter_dossier_verification_invalid")
            return [ModeChanged(Mode.AWAITING_VERIFICATION)]
        key = tracker.state.key
        subjects = _subjects(key, code)
        if await self.guard.locked(subjects):
            return self._locked(d, tracker, code)
        status = await self.gateway.verify(code, last4)
        if status is None:
            # Unknown code or wrong digits: the same reply and the same count, on purpose.
            logger.info("dossier verification failed for %s (code %s)", key, code)
            if await self.guard.failed(subjects):
                return self._locked(d, tracker, code)
            d.utter("utter_dossier_verification_failed", dossier_code=code)
            return [ModeChanged(Mode.AWAITING_VERIFICATION)]
        await self.guard.succeeded(subjects, _grant(key, code))
        self._answer(d, tracker, status)
        return [SlotSet("dossier_code", status.code), ModeChanged(Mode.ANSWERING)]

    def _answer(self, d: CollectingDispatcher, tracker: Tracker, status: DossierStatus) -> None:
        procedure = self.knowledge.get(status.procedure_code) if status.procedure_code else None
        name = procedure.name if procedure else status.procedure_name or status.procedure_code
        buttons: tuple[Button, ...] = ()
        if not status.done:
            payload = make_payload(Intent.SUBSCRIBE_DOSSIER, dossier_code=status.code)
            buttons = (Button(d.text("part_dossier_subscribe_button"), payload),)
        d.utter(
            "utter_dossier_result",
            buttons=buttons,
            dossier_code=status.code,
            procedure_name=display_name(name, PROCEDURE_CHARS) if name else "-",
            status=status.status,
            current_step=status.current_step or "-",
            received=format_date(d.text, status.received_at),
            due=format_date(d.text, status.due_at),
            progress=progress_text(d.text, status, self.clock()),
        )

    async def _subscribe(self, d: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        code = tracker.latest_message.entity("dossier_code") or tracker.state.dossier_code or ""
        code = code.strip().upper()
        if not valid_dossier_code(code):
            d.utter("utter_ask_dossier_code")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        key = tracker.state.key
        if not await self.guard.granted(_grant(key, code)):
            # Only a chat that proved it is the applicant's hears about the dossier: verify first.
            return await self._code_given(d, tracker, code)
        try:
            current = await self.gateway.lookup(code)
        except DossierLookupUnavailable:
            current = None  # the watcher takes the first status it sees as the starting point
        await self.subscriptions.subscribe(code, key, current.fingerprint if current else None)
        d.utter("utter_dossier_subscribed", dossier_code=code)
        return [SlotSet("dossier_code", code), ModeChanged(Mode.ANSWERING)]
