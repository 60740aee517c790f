"""Mask identity numbers and phone numbers before text is stored or logged: one function for all.

Citizens type their 12-digit citizen ID (CCCD), 9-digit old ID (CMND), social-insurance numbers and phone
numbers into the chat, spelled every way a keyboard allows: ``001203004567``, ``0012 0300 4567``,
``001-203-004-567``, ``001.203.004.567``, ``0912 345 678``, ``+84 912-345-678``, ``84912345678``. The
conversation log, tickets, officers' notes, the learning inbox, exports and log records must never hold
them in full: :func:`redact` keeps only the last three digits of each, enough to tell two numbers apart
when debugging, and removes NUL characters (PostgreSQL refuses them in text, and a refused insert would
put the raw text into the error log).

What is not personal stays readable: dossier codes (``000.00.12.H57-240115-0001``), procedure codes
(``1.013225``), dates (``12/05/2024``, ``12.05.2024``), amounts (``1.500.000 đồng``) and platform ids
(more than 12 digits in a row).

:func:`redact_record` applies :func:`redact` to a log record (message, arguments and traceback);
:func:`install_log_redaction` applies it to every record the process creates.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "install_log_redaction",
    "log_redaction_installed",
    "redact",
    "redact_record",
    "uninstall_log_redaction",
]

_SEP = r"(?:[ \t]*[.\-][ \t]*|[ \t]+)"
"""What citizens put between digit groups: spaces, a dot or a dash (with or without spaces around)."""
_OPT_SEP = rf"{_SEP}?"
# Vietnamese phone numbers: +84 / 84 / 0084 / 0, then 9 or 10 digits, optionally grouped ("0912 345 678",
# "+84 912.345.678", "(+84) 912 345 678", "+84 (0) 912 345 678", "0912 - 345 - 678"), and landlines
# written "(028) 3829 1234".
_PHONE = re.compile(
    rf"(?<![\w+.\-])(?:\(?(?:\+84|0084|84|0)\)?{_OPT_SEP}(?:\(0\){_OPT_SEP})?[1-9](?:{_OPT_SEP}\d){{8,9}}"
    rf"|\(0\d{{1,3}}\){_OPT_SEP}\d(?:{_OPT_SEP}\d){{6,7}})(?!\d)"
)
# A 12-digit citizen ID typed in groups (4-4-4, 3-3-3-3, 6-6 ...): groups of 2 to 6 digits joined by
# separators, not glued to a letter, a dot or a dash (a dossier code's parts are), and not part of a
# longer grouped number; the callback keeps only spans of exactly 12 digits.
_GROUPED = re.compile(rf"(?<![\w.\-])\d{{2,6}}(?:{_SEP}\d{{2,6}}){{1,5}}(?![\w])(?!{_SEP}\d)")
_GROUPED_DIGITS = 12
# An amount of money is not an ID, however it is grouped ("100.000.000.000 đồng").
_CURRENCY = re.compile(r"[ \t]*(?:đồng|đ\b|vnđ|vnd|usd)", re.IGNORECASE)
# Any other run of 9 to 12 digits (CCCD, CMND, BHXH, bank accounts). Longer runs are platform ids.
_DIGIT_RUN = re.compile(r"(?<!\d)\d{9,12}(?!\d)")


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits_seen = 0
    total = sum(ch.isdigit() for ch in text)
    out = []
    for ch in text:
        if ch.isdigit():
            digits_seen += 1
            out.append(ch if digits_seen > total - 3 else "*")
        else:
            out.append(ch)
    return "".join(out)


def _mask_grouped(match: re.Match[str]) -> str:
    text = match.group(0)
    if sum(ch.isdigit() for ch in text) != _GROUPED_DIGITS or _CURRENCY.match(match.string, match.end()):
        return text
    return _mask(match)


def redact(text: str) -> str:
    """Return ``text`` with ID numbers and Vietnamese phone numbers masked and NUL characters removed.

    Every digit but the last three of each number becomes ``*``; separators are kept so the shape of
    the message stays readable. This is the one masking function: every text stored (conversation log,
    tickets, notes, learning inbox, exports) or logged goes through it.

    Args:
        text: any text that may contain personal numbers.

    Returns:
        The masked text. Text without such numbers (or NUL characters) is returned unchanged.

    Example:
        >>> redact("CCCD 0012 0300 4567, SĐT +84 912-345-678")
        'CCCD **** **** *567, SĐT +** ***-***-678'
    """
    if not text:
        return text
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = _PHONE.sub(_mask, text)
    text = _GROUPED.sub(_mask_grouped, text)
    return _DIGIT_RUN.sub(_mask, text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask one log record in place (idempotent) and return it.

    The traceback is formatted and masked here (``exc_text``), so a handler's formatter prints the masked
    text: a database error quoting the refused row's parameters, for example, no longer shows the
    citizen's ID number.
    """
    if getattr(record, "_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # bad arguments: logging would print its own error; mask what there is
        message = f"{record.msg} {record.args!r}"
    masked = redact(message)
    if masked != message or record.args:
        # The message is formatted once here, so %r and %d print exactly what they would have.
        record.msg, record.args = masked, ()
    # A traceback that cannot be formatted is left to logging, which prints its own error.
    with contextlib.suppress(Exception):
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
    setattr(record, "_redacted", True)  # noqa: B010 - not a LogRecord attribute mypy knows
    return record


_previous_factory: Callable[..., logging.LogRecord] | None = None
"""The record factory before :func:`install_log_redaction` (None: not installed)."""


def install_log_redaction() -> None:
    """Mask every log record this process creates, whatever logger or handler it goes to (idempotent).

    The record factory is wrapped rather than a handler filtered, so handlers added later (uvicorn's,
    a test's) get masked records too.
    """
    global _previous_factory
    if _previous_factory is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _previous_factory = previous


def log_redaction_installed() -> bool:
    """Whether :func:`install_log_redaction` is in force in this process."""
    return _previous_factory is not None


def uninstall_log_redaction() -> None:
    """Give the process its record factory from before :func:`install_log_redaction` back (tests that
    install it leave the next test the process they found)."""
    global _previous_factory
    if _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None
