"""Documents per case: which of a procedure's document groups are alternative cases, and which one the
citizen's words name.

The construction permit publishes its papers in 7 groups ("(1.1) Đối với công trình không theo
tuyến", ..., "(1.7) Đối với công trình nhà ở riêng lẻ"); a citizen building a house needs only the
last. Both the policy (a case typed while the case buttons are shown, the words kept in the ``case``
slot) and the answers (list only the citizen's case) match words to groups, so the matching lives here,
beside the records, and reads plain text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.domain import Procedure
from knowledge.text import clip, fold

CASE_CHARS = 150
"""Longest ``case`` slot kept (the citizen's words, folded)."""

_CASE_WORDS_RE = re.compile(r"\b(?:doi voi|truong hop)\b")
_GROUP_STOP_BIGRAMS = frozenset({"doi voi", "truong hop", "ho so", "bao gom", "gom co"})


def document_cases(proc: Procedure) -> list[str]:
    """The document groups of ``proc`` when they are alternative cases, in published order.

    Groups count as cases when at least half their headings say "Đối với ..." or "Trường hợp ...";
    other headings ("Giấy tờ phải nộp" / "Giấy tờ phải xuất trình") are sections of one dossier, and a
    single group is an addition to it: both are listed whole. Empty when there is no choice to make.
    """
    groups = list(dict.fromkeys(doc.group for doc in proc.documents if doc.group.strip()))
    if len(groups) < 2:
        return []
    cases = sum(1 for g in groups if _CASE_WORDS_RE.search(fold(g.lower())))
    return groups if cases * 2 >= len(groups) else []


def _bigrams(text: str) -> set[str]:
    words = [w for w in re.findall(r"[^\W_]+", fold(text.lower())) if not w.isdigit()]
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)} - _GROUP_STOP_BIGRAMS


def match_group(text: str | None, groups: Sequence[str]) -> int | None:
    """Index of the one group whose heading the citizen's words name, or None (none, or a tie).

    Word pairs are compared without diacritics ("nha o" names "(1.7) Đối với công trình nhà ở riêng
    lẻ"); pairs every heading has ("công trình") tell nothing and are ignored.
    """
    if not text or len(groups) < 2:
        return None
    keys = [_bigrams(g) for g in groups]
    common = set.intersection(*keys)
    said = _bigrams(text)
    scores = [len((k - common) & said) for k in keys]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def case_words(text: str) -> str | None:
    """The words of a message worth remembering as the citizen's case: folded, no digits (no ID or
    phone number is kept), at most :data:`CASE_CHARS`; None for a button payload or an empty text."""
    if not text.strip() or text.lstrip().startswith("/"):
        return None
    words = [w for w in re.findall(r"[^\W_]+", fold(text.lower())) if not any(ch.isdigit() for ch in w)]
    return clip(" ".join(words), CASE_CHARS).rstrip("…") or None
