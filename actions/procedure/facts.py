"""Fees and processing times as published, read for a chat answer.

Each submission row (in person, online, by post) publishes its own fee and time text, and the portal's
texts vary: "Lệ phí : 75.000 Đồng", "Miễn phí (Theo quy định của Hội đồng nhân dân cấp tỉnh)", a bare
"1" for one day, or no text at all when the importer read the days from the record's prose. These
helpers say what a row means (:func:`fee_kind`), phrase it (:func:`fee_text`, :func:`time_text`) and
merge rows that say the same (:func:`grouped`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from actions.procedure.names import ITEM_CHARS
from bot.core.sdk import CollectingDispatcher
from knowledge.domain import CHANNEL_LABELS, SubmissionChannel
from knowledge.text import clip, fold

FeeKind = Literal["none", "free", "council", "amount"]


def channel_label(kind: str) -> str:
    """How citizens call a submission kind (``truc_tiep`` -> "Trực tiếp")."""
    return CHANNEL_LABELS.get(kind, kind)


_FEE_LABEL_RE = re.compile(r"^\s*(?:lệ phí|le phi)\s*:\s*", re.IGNORECASE)


def _published(text: str) -> str:
    """Published fee/time text tidied for chat.

    ``"Lệ phí : 75.000 Đồng"`` -> ``"75.000 Đồng"`` (the message already says it is the fee); a text
    listing several charges (``"Lệ phí : 50.000 Đồng; Phí : 10.000 Đồng"``) keeps its labels.
    """
    text = re.sub(r"\s+:", ":", text.strip())
    stripped = _FEE_LABEL_RE.sub("", text)
    if ":" not in stripped:
        text = stripped
    return clip(text, ITEM_CHARS)


def time_text(dispatcher: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """Published processing time for chat.

    A bare number ("1", as some records give it) gets its unit; a row whose time the importer read from
    the record's prose has ``days`` but no text: "khoảng N ngày làm việc".
    """
    text = channel.time_text.strip()
    days = None
    if channel.days is not None:
        days = int(channel.days) if float(channel.days).is_integer() else channel.days
    if not text and days is not None:
        return dispatcher.text(
            "part_about_working_days" if channel.working_days else "part_about_days", days=days
        )
    if days is not None and re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return dispatcher.text("part_working_days" if channel.working_days else "part_days", days=days)
    return _published(text)


def has_time(channel: SubmissionChannel) -> bool:
    """Whether the row publishes a processing time (a text, or days read from the prose)."""
    return bool(channel.time_text.strip()) or channel.days is not None


_NO_FEE_INFO_RE = re.compile(r"^khong co thong tin\b")
_COUNCIL = "hoi dong nhan dan"
_AMOUNT_RE = re.compile(r"(?<![\d.,])[1-9][\d.,]*\s*(?:đồng|vnđ|vnd|usd|việt nam đồng)", re.IGNORECASE)


def fee_kind(channel: SubmissionChannel) -> FeeKind:
    """What a row says about the fee: ``"none"`` (nothing usable), ``"free"``, ``"council"`` (the
    provincial council sets it; the portal often labels such rows "Miễn phí") or ``"amount"``."""
    text = channel.fee_text.strip()
    folded = fold(text.lower())
    if (not text and channel.fee_vnd is None) or _NO_FEE_INFO_RE.match(folded):
        return "none"
    if not channel.fee_vnd and _COUNCIL in folded:
        return "council"
    if channel.fee_vnd == 0 and not _AMOUNT_RE.search(text):
        return "free"
    return "amount"


def fee_text(dispatcher: CollectingDispatcher, channel: SubmissionChannel) -> str:
    """One row's fee for chat: "Miễn phí", the council sentence, or the published amount without the
    paragraph of notes that often follows it in parentheses."""
    kind = fee_kind(channel)
    if kind == "none":
        return ""
    if kind == "free":
        return dispatcher.text("part_fee_free")
    if kind == "council":
        return dispatcher.text("part_fee_council")
    text = " ".join(channel.fee_text.split())
    head = text.split(" (", 1)[0]
    if head != text and _AMOUNT_RE.search(head):
        text = head
        if _COUNCIL in fold(channel.fee_text.lower()):
            text += " " + dispatcher.text("part_fee_council_note")
    return _published(text)


def grouped(
    channels: Sequence[SubmissionChannel], text_of: Callable[[SubmissionChannel], str]
) -> list[tuple[str, str]]:
    """(channels, text) pairs with channels sharing the same published text merged into one line."""
    groups: dict[str, list[str]] = {}
    for channel in channels:
        text = text_of(channel)
        if text:
            groups.setdefault(text, []).append(channel_label(channel.kind))
    out = []
    for text, labels in groups.items():
        labels = dedupe(labels)
        out.append((", ".join([labels[0], *(label.lower() for label in labels[1:])]), text))
    return out


def dedupe(lines: Sequence[str]) -> list[str]:
    """``lines`` without repeats, in first-seen order."""
    return list(dict.fromkeys(lines))
