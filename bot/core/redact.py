"""Mask identity numbers and phone numbers before text reaches a log.

Citizens type their 12-digit citizen ID (CCCD), 9-digit old ID (CMND), social-insurance numbers and phone
numbers into the chat. Logs must never hold them in full: :func:`redact` keeps only the last three
digits, enough to tell two numbers apart when debugging.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_SEP = r"[ .\-]?"
# Vietnamese phone numbers: +84 / 84 / 0, then 9 or 10 digits, optionally grouped by spaces, dots or
# dashes ("0912 345 678", "+84 912.345.678", "(+84) 912 345 678"), and landlines written "(028) 3829 1234".
_PHONE = re.compile(
    rf"(?<![\w+])(?:\(?(?:\+84|84|0)\)?{_SEP}[1-9](?:{_SEP}\d){{8,9}}|\(0\d{{1,3}}\){_SEP}\d(?:{_SEP}\d){{6,7}})(?!\d)"
)
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


def redact(text: str) -> str:
    """Return ``text`` with ID-like digit runs and Vietnamese phone numbers masked.

    Every digit but the last three of each number becomes ``*``; separators are kept so the shape of
    the message stays readable.

    Args:
        text: any text that may contain personal numbers.

    Returns:
        The masked text. Text without such numbers is returned unchanged.

    Example:
        >>> redact("CCCD 001203004567, SĐT 0912 345 678")
        'CCCD *********567, SĐT **** *** 678'
    """
    if not text:
        return text
    return _DIGIT_RUN.sub(_mask, _PHONE.sub(_mask, text))
