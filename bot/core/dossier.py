"""Dossier status (tra cứu hồ sơ) rules and wording shared by the policy, the action and the watcher.

The policy needs :func:`expects_dossier_reply` and :data:`DOSSIER_INTENTS` to route a turn,
:class:`actions.dossier.DossierStatusAction` answers it, and :class:`bot.dossiers.watcher.DossierWatcher`
tells subscribers of a change in the same words (:func:`progress_text`). They live here, below all three,
because neither the policy nor an adapter may import an action. Pure functions over
:class:`bot.core.ports.DossierStatus` and the parse; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from bot.core.parse import Parse
from bot.core.ports import DossierStatus
from bot.core.state import Mode
from bot.core.timeutil import as_utc

DOSSIER_INTENTS = frozenset({"check_dossier_status", "subscribe_dossier"})
"""Intents (``subscribe_dossier`` is a button payload) answered by the dossier action."""

VN_TZ = timezone(timedelta(hours=7), "ICT")
"""Dates are shown as citizens read them on their receipt: Vietnam time (no daylight saving)."""

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{5,40}$")
# Codes printed on receipts: <agency code>-<yymmdd>-<sequence>, the agency code being dot-separated
# groups ("000.00.24.H12-250301-0007", "H12.22-250301-0001"). Same shape as the NLU's entity regex.
_CODE_SHAPE = r"[0-9A-Z]{1,4}(?:\.[0-9A-Z]{1,4}){1,5}-\d{6}-\d{4,6}"
_VALID_CODE_RE = re.compile(f"^{_CODE_SHAPE}$")
_CODE_IN_TEXT_RE = re.compile(f"(?<![0-9A-Z.\\-]){_CODE_SHAPE}(?![0-9A-Z\\-])")
_ONE_TOKEN_WITH_DIGIT = re.compile(r"^\S*\d\S*$")
_DIGITS_ONLY = re.compile(r"^[\s\d.\-+()]*\d[\s\d.\-+()]*$")
_LEAVE_INTENTS = frozenset({"request_human", "deny", "goodbye", "subscribe_dossier"})


# --- Codes and verification digits -----------------------------------------------------------------


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


def find_dossier_code(text: str) -> str | None:
    """The first code in the receipt's format inside ``text`` (a QR code's look-up address, several lines
    of a receipt), upper-cased; None when there is none."""
    match = _CODE_IN_TEXT_RE.search(text.upper())
    return match.group(0) if match else None


def last4_of(number: str) -> str:
    """The last 4 digits of a phone or ID number, or of a citizen's reply ("" when it has fewer than 4).

    The one reduction of an identity number: the action applies it to what the citizen typed, the
    gateways to what the dossier system holds, so both sides compare the same 4 digits.
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else ""


# --- The dialogue rule -----------------------------------------------------------------------------


def expects_dossier_reply(mode: Mode, parse: Parse) -> bool:
    """Whether a message in a dossier waiting mode is the answer the bot asked for (for the policy).

    While a code is awaited: a dossier code, anything code-like (one word with a digit) or a message the
    NLU did not understand (it is then answered with the right format). While the verification digits
    are awaited: digits, a new code, or a message not understood. Asking for an officer, saying no or
    goodbye, and other questions leave the dossier dialogue.
    """
    intent = parse.intent_name
    if intent in _LEAVE_INTENTS:
        return False
    text = parse.text.strip()
    coded = bool(parse.entity("dossier_code")) or looks_like_dossier_code(text)
    if mode == Mode.AWAITING_DOSSIER_CODE:
        return coded or bool(_ONE_TOKEN_WITH_DIGIT.match(text)) or intent == "nlu_fallback"
    if mode == Mode.AWAITING_VERIFICATION:
        return coded or bool(_DIGITS_ONLY.match(text)) or intent == "nlu_fallback"
    return False


# --- Wording shared by the action and the watcher ----------------------------------------------------

TextFn = Callable[..., str]
"""The catalogue's ``text(key, **values)``: a response part rendered as plain text."""


def format_date(text: TextFn, moment: datetime | None) -> str:
    """``dd/mm/yyyy`` in Vietnam time, or the catalogue's "not known yet"."""
    if moment is None:
        return text("part_dossier_no_date")
    return as_utc(moment).astimezone(VN_TZ).strftime("%d/%m/%Y")


def progress_text(text: TextFn, status: DossierStatus, now: datetime) -> str:
    """Done, overdue by N days, on time, or "" when no date was promised."""
    if status.done:
        return text("part_dossier_done")
    if status.due_at is None:
        return ""
    if status.overdue(now):
        due_day = as_utc(status.due_at).astimezone(VN_TZ)
        days = max(1, (now.astimezone(VN_TZ).date() - due_day.date()).days)
        return text("part_dossier_overdue", days=days)
    return text("part_dossier_on_time")
