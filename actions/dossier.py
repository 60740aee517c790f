"""Dossier status (tra cứu hồ sơ): ask for the dossier code, then look it up through a gateway.

The lookup goes through :class:`bot.ports.DossierGateway`. Until a real dossier system is wired, the
composition root passes :class:`bot.ports.NotConfiguredDossierGateway`: the action then acknowledges
the code, says automatic lookup is coming and points to the national portal and an officer. That is a
documented first step, not the final behaviour.
"""

from __future__ import annotations

import logging
import re

from actions.base import CollectingDispatcher, Event, ModeChanged, SlotSet, Tracker
from bot.ports import DossierGateway, DossierLookupUnavailable
from bot.state import Mode

logger = logging.getLogger(__name__)

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{5,40}$")


def looks_like_dossier_code(text: str) -> bool:
    """True for texts shaped like a dossier code (``H12.22-250315-0001``, ``000.00.19.H12-230101-0001``).

    Needs a digit and a ``.``/``-`` separator, so a phone number or a word is not taken for a code.
    """
    candidate = text.strip().upper()
    return (
        bool(_CODE_RE.match(candidate))
        and any(ch.isdigit() for ch in candidate)
        and any(ch in ".-" for ch in candidate)
    )


def dossier_code_in(tracker: Tracker) -> str | None:
    """The dossier code of this turn: the NLU's entity, the policy's argument, or the bare text."""
    code = tracker.entity("dossier_code") or tracker.args.get("dossier_code")
    if code:
        return str(code).strip().upper()
    return tracker.text.strip().upper() if looks_like_dossier_code(tracker.text) else None


class DossierStatusAction:
    """``check_dossier_status``: ask for the code (mode ``awaiting_dossier_code``), then look it up.

    Args:
        gateway: the dossier system.
    """

    name = "action_dossier_status"

    def __init__(self, gateway: DossierGateway) -> None:
        self.gateway = gateway

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        code = dossier_code_in(tracker)
        if code is None:
            dispatcher.utter("utter_ask_dossier_code")
            return [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        try:
            status = await self.gateway.lookup(code)
        except DossierLookupUnavailable as exc:
            logger.info("dossier lookup unavailable for %s: %s", tracker.state.key, exc)
            dispatcher.utter("utter_dossier_lookup_unavailable", dossier_code=code)
            return [SlotSet("dossier_code", code), ModeChanged(Mode.ANSWERING)]
        if status is None:
            dispatcher.utter("utter_dossier_not_found", dossier_code=code)
            return [SlotSet("dossier_code", code), ModeChanged(Mode.AWAITING_DOSSIER_CODE)]
        details = []
        if status.procedure_name:
            details.append(dispatcher.text("part_dossier_procedure", procedure_name=status.procedure_name))
        if status.due:
            details.append(dispatcher.text("part_dossier_due", due=status.due))
        dispatcher.utter(
            "utter_dossier_status", dossier_code=status.code, status=status.status, details="\n".join(details)
        )
        return [SlotSet("dossier_code", status.code), ModeChanged(Mode.ANSWERING)]
