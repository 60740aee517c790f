"""Dossier status (tra cứu hồ sơ): code, then verification, then the status; subscriptions to changes.

The dialogue::

    "Hồ sơ của tôi đến đâu rồi?"        -> asks the code                      (awaiting_dossier_code)
    "H12.22-250301-0001"                -> asks the last 4 digits of the applicant's phone or ID number
                                                                              (awaiting_verification)
    "5678"                              -> procedure, status, step, received / due dates, overdue or done;
                                           buttons "Nhận thông báo khi có thay đổi" / "Gặp cán bộ"

Nothing about a dossier is said before the digits match. An unknown code and wrong digits get the same
reply, and both count as a failed verification for the chat and for the code: after
:attr:`bot.dossiers.DossierConfig.verification_attempts` failures the lookup is locked for a while, so
codes cannot be enumerated. The action speaks only through ports (:class:`bot.core.ports.DossierGateway`,
:class:`bot.core.ports.DossierAccessGuard`, :class:`bot.core.ports.DossierSubscriptions`), bundled in a
:class:`DossierDesk`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from actions.procedure import display_name
from bot.core.events import Event, ModeChanged, SlotSet
from bot.core.messages import Button, ConversationKey
from bot.core.ports import (
    DossierAccessGuard,
    DossierGateway,
    DossierLookupUnavailable,
    DossierStatus,
    DossierSubscriptions,
    InMemoryDossierAccessGuard,
    InMemoryDossierSubscriptions,
)
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode
from bot.core.timeutil import utcnow

logger = logging.getLogger(__name__)

DOSSIER_INTENTS = frozenset({"check_dossier_status", "subscribe_dossier"})
"""Intents (``subscribe_dossier`` is a button payload) answered by :class:`DossierStatusAction`."""

VN_TZ = timezone(timedelta(hours=7), "ICT")
"""Dates are shown as citizens read them on their receipt: Vietnam time (no daylight saving)."""

PROCEDURE_CHARS = 80
"""Longest procedure name in a status reply."""

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{5,40}$")
# Codes printed on receipts: <agency code>-<yymmdd>-<sequence>, the agency code being dot-separated
# groups ("000.00.24.H12-250301-0007", "H12.22-250301-0001"). Same shape as the NLU's entity regex.
_VALID_CODE_RE = re.compile(r"^[0-9A-Z]{1,4}(?:\.[0-9A-Z]{1,4}){1,5}-\d{6}-\d{4,6}$")
_ONE_TOKEN_WITH_DIGIT = re.compile(r"^\S*\d\S*$")
_DIGITS_ONLY = re.compile(r"^[\s\d.\-+()]*\d[\s\d.\-+()]*$")
_LEAVE_INTENTS = frozenset({"request_human", "deny", "goodbye", "subscribe_dossier"})


def looks_like_dossier_code(text: str) -> bool:
    """True for texts shaped like a dossier code (``H12.22-250315-0001``, ``000.00.19.H12-230101-0001``).

    Needs a digit and a ``.``/``-`` separator, so a phone number or a word is not taken for a code. Loose
    on purpose: a near miss is then answered with the right format (see :func:`valid_dossier_code`).
    """
    candidate = text.strip().upper()
    return (
        bool(_CODE_RE.match(candidate))
        and any(ch.isdigit() for ch in candidate)
        and any(ch in ".-" for ch in candidate)
    )


def valid_dossier_code(code: str) -> bool:
    """True for a code in the format printed on receipts (``000.00.24.H12-250301-0007``)."""
    return bool(_VALID_CODE_RE.match(code.strip().upper()))


def _entity(parse: Mapping[str, Any], name: str) -> str | None:
    for ent in parse.get("entities") or ():
        if ent.get("entity") == name and ent.get("value") not in (None, ""):
            return str(ent["value"])
    return None


def expects_dossier_reply(mode: Mode, parse: Mapping[str, Any]) -> bool:
    """Whether a message in a dossier waiting mode is the answer the bot asked for (for the policy).

    While a code is awaited: a dossier code, anything code-like (one word with a digit) or a message the
    NLU did not understand (it is then answered with the right format). While the verification digits
    are awaited: digits, a new code, or a message not understood. Asking for an officer, saying no or
    goodbye, and other questions leave the dossier dialogue.
    """
    intent = str((parse.get("intent") or {}).get("name") or "nlu_fallback")
    if intent in _LEAVE_INTENTS:
        return False
    text = str(parse.get("text") or "").strip()
    coded = bool(_entity(parse, "dossier_code")) or looks_like_dossier_code(text)
    if mode == Mode.AWAITING_DOSSIER_CODE:
        return coded or bool(_ONE_TOKEN_WITH_DIGIT.match(text)) or intent == "nlu_fallback"
    if mode == Mode.AWAITING_VERIFICATION:
        return coded or bool(_DIGITS_ONLY.match(text)) or intent == "nlu_fallback"
    return False


def dossier_code_in(tracker: Tracker) -> str | None:
    """The dossier code of this turn: the NLU's entity, the policy's argument, or the bare text."""
    code = tracker.entity("dossier_code") or tracker.args.get("dossier_code")
    if code:
        return str(code).strip().upper()
    return tracker.text.strip().upper() if looks_like_dossier_code(tracker.text) else None


# --- Wording shared with the watcher -------------------------------------------------------------

TextFn = Callable[..., str]


def format_date(text: TextFn, moment: datetime | None) -> str:
    """``dd/mm/yyyy`` in Vietnam time, or the catalogue's "not known yet"."""
    if moment is None:
        return text("part_dossier_no_date")
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(VN_TZ).strftime("%d/%m/%Y")


def progress_text(text: TextFn, status: DossierStatus, now: datetime) -> str:
    """Done, overdue by N days, on time, or "" when no date was promised."""
    if status.done:
        return text("part_dossier_done")
    if status.due_at is None:
        return ""
    if status.overdue(now):
        due_day = (status.due_at if status.due_at.tzinfo else status.due_at.replace(tzinfo=UTC)).astimezone(
            VN_TZ
        )
        days = max(1, (now.astimezone(VN_TZ).date() - due_day.date()).days)
        return text("part_dossier_overdue", days=days)
    return text("part_dossier_on_time")


# --- The action ------------------------------------------------------------------------------------


@dataclass
class DossierDesk:
    """What the dossier action works with: the gateway, the access guard and the subscriptions.

    It is a :class:`bot.core.ports.DossierGateway` itself (delegating), so the composition root can hand it
    to ``build_actions(dossiers=...)``. The in-memory guard and subscriptions are defaults for tests and
    for a gateway passed alone.
    """

    gateway: DossierGateway
    guard: DossierAccessGuard = field(default_factory=InMemoryDossierAccessGuard)
    subscriptions: DossierSubscriptions = field(default_factory=InMemoryDossierSubscriptions)
    clock: Callable[[], datetime] = utcnow

    async def lookup(self, code: str) -> DossierStatus | None:
        return await self.gateway.lookup(code)

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        return await self.gateway.verify(code, last4)


def _subjects(key: ConversationKey, code: str) -> tuple[str, str]:
    return f"chat:{key}", f"dossier:{code}"


def _grant(key: ConversationKey, code: str) -> str:
    return f"grant:{key}|{code}"


class DossierStatusAction:
    """``check_dossier_status`` and the ``subscribe_dossier`` button (see the module docstring).

    Args:
        dossiers: a :class:`DossierDesk`, or a bare gateway (then wrapped with in-memory guard and
            subscriptions).
    """

    name = "action_dossier_status"

    def __init__(self, dossiers: DossierDesk | DossierGateway) -> None:
        self.desk = dossiers if isinstance(dossiers, DossierDesk) else DossierDesk(dossiers)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        try:
            if tracker.intent == "subscribe_dossier":
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
        if state.mode == Mode.AWAITING_DOSSIER_CODE and tracker.intent not in DOSSIER_INTENTS:
            d.utter("utter_dossier_code_invalid")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        d.utter("utter_ask_dossier_code")
        return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]

    async def _code_given(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        if not valid_dossier_code(code):
            d.utter("utter_dossier_code_invalid")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        if await self.desk.guard.locked(_subjects(tracker.state.key, code)):
            return self._locked(d, tracker, code)
        d.utter("utter_dossier_ask_verification", dossier_code=code)
        return [SlotSet("dossier_code", code), ModeChanged(Mode.AWAITING_VERIFICATION)]

    def _locked(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        logger.info("dossier lookup locked for %s (code %s)", tracker.state.key, code)
        d.utter("utter_dossier_locked")
        return [ModeChanged(Mode.ANSWERING)]

    async def _verify(self, d: CollectingDispatcher, tracker: Tracker, code: str) -> list[Event]:
        digits = "".join(ch for ch in tracker.text if ch.isdigit())
        if len(digits) < 4:
            d.utter("utter_dossier_verification_invalid")
            return [ModeChanged(Mode.AWAITING_VERIFICATION)]
        key = tracker.state.key
        subjects = _subjects(key, code)
        if await self.desk.guard.locked(subjects):
            return self._locked(d, tracker, code)
        status = await self.desk.verify(code, digits[-4:])
        if status is None:
            # Unknown code or wrong digits: the same reply and the same count, on purpose.
            logger.info("dossier verification failed for %s (code %s)", key, code)
            if await self.desk.guard.failed(subjects):
                return self._locked(d, tracker, code)
            d.utter("utter_dossier_verification_failed", dossier_code=code)
            return [ModeChanged(Mode.AWAITING_VERIFICATION)]
        await self.desk.guard.succeeded(subjects, _grant(key, code))
        self._answer(d, tracker, status)
        return [SlotSet("dossier_code", status.code), ModeChanged(Mode.ANSWERING)]

    def _answer(self, d: CollectingDispatcher, tracker: Tracker, status: DossierStatus) -> None:
        procedure = tracker.knowledge.get(status.procedure_code) if status.procedure_code else None
        name = procedure.name if procedure else status.procedure_name or status.procedure_code
        buttons: tuple[Button, ...] = ()
        if not status.done:
            payload = make_payload("subscribe_dossier", dossier_code=status.code)
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
            progress=progress_text(d.text, status, self.desk.clock()),
        )

    async def _subscribe(self, d: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        code = (tracker.entity("dossier_code") or tracker.state.dossier_code or "").strip().upper()
        if not valid_dossier_code(code):
            d.utter("utter_ask_dossier_code")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        key = tracker.state.key
        if not await self.desk.guard.granted(_grant(key, code)):
            # Only a chat that proved it is the applicant's hears about the dossier: verify first.
            return await self._code_given(d, tracker, code)
        try:
            current = await self.desk.lookup(code)
        except DossierLookupUnavailable:
            current = None  # the watcher takes the first status it sees as the starting point
        await self.desk.subscriptions.subscribe(code, key, current.fingerprint if current else None)
        d.utter("utter_dossier_subscribed", dossier_code=code)
        return [SlotSet("dossier_code", code), ModeChanged(Mode.ANSWERING)]
