"""Names and texts shaped for a chat message: procedure names a citizen recognises, the first clause of
a long published text, form and case titles, and the length limits of a message.

Official names run to 300 characters and published texts to paragraphs; a chat line must stay short and
never be cut mid-word (:func:`knowledge.text.clip`). Everything here is plain text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.text import clip

ITEM_CHARS = 220
"""Longest list item or step kept in a chat message; the rest is on the portal page."""

DOCUMENT_CHARS = 160
"""Longest document name kept in a list (the first sentence or clause of it)."""

NAME_CHARS = 120
"""Longest procedure name kept in a message (some official names run to 300 characters)."""

BUTTON_CHARS = 64
"""Longest button title."""


def clip_block(text: str, limit: int) -> str:
    """Multi-line text kept line by line, cut to ``limit`` characters."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    joined = "\n".join(lines)
    return joined if len(joined) <= limit else clip(joined, limit)


_THU_TUC_RE = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)
_PAREN_KEEP_CHARS = 40
_REPEATED_LEVEL_RE = re.compile(
    r"\b(cấp|loại|hạng|nhóm) ((?:(?:[IVX]+|\d+), )*(?:[IVX]+|\d+)), \1 (?=(?:[IVX]+|\d+)\b)"
)
_FOR_SPLIT = " đối với "
_LONG_NAME = 60
_TRAILING_PAREN_RE = re.compile(r"^(?P<head>.*\S)\s+(?P<tail>\([^()]*\))$")


def _paren_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level balanced parenthesis, end exclusive; none if unbalanced."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            if depth == 0:
                return []
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans if depth == 0 else []


def _drop_paren_lists(text: str) -> str:
    """Drop parentheses that list cases ("(Công trình không theo tuyến/Theo tuyến/…)"); keep short ones
    such as "(cấp tỉnh)"."""
    out, last = [], 0
    for start, end in _paren_spans(text):
        inner = text[start + 1 : end - 1]
        if "/" in inner or ";" in inner or len(inner) > _PAREN_KEEP_CHARS:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    joined = " ".join("".join(out).split())
    return re.sub(r"\s+([,.;:)])", r"\1", joined)


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def display_name(name: str, limit: int = NAME_CHARS) -> str:
    """A procedure name as a citizen reads it, at most ``limit`` characters, never cut mid-word.

    No leading "Thủ tục" (the messages say it), no parenthetical list of cases, "cấp III, cấp IV" said
    once, and a long "X đối với Y" read as "X (Y)"; a name still too long keeps its first clause::

        "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo
        tuyến/…/Dự án) và nhà ở riêng lẻ"
        -> "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ)"
    """
    name = " ".join(name.split())
    name = _THU_TUC_RE.sub("", name)
    if name.isupper():
        name = name.lower()
    name = _drop_paren_lists(name)
    while (shorter := _REPEATED_LEVEL_RE.sub(r"\1 \2, ", name)) != name:
        name = shorter
    name = name.strip(" :;,.-")
    if len(name) > _LONG_NAME and name.count(_FOR_SPLIT) == 1 and "(" not in name:
        head, tail = name.split(_FOR_SPLIT)
        if len(head) >= 10:
            name = f"{head} ({tail})"
    if len(name) > limit and ";" in name:
        first = name.split(";", 1)[0].strip()
        if len(first) >= 20:
            name = first
    return clip(_sentence_case(name), limit)


def distinct_titles(names: Sequence[str], codes: Sequence[str]) -> list[str]:
    """Button titles for names shown side by side: what they share at the end is dropped, so the
    buttons differ where they should ("Cấp giấy phép xây dựng mới" / "Gia hạn giấy phép xây dựng"),
    and identical names get their code."""
    titles = list(names)
    parts = [_TRAILING_PAREN_RE.match(n) for n in names]
    if len(names) > 1 and all(parts):
        heads = [m.group("head") for m in parts if m]
        tails = {m.group("tail").lower() for m in parts if m}
        if len(tails) == 1 and len(set(heads)) == len(heads):
            titles = heads
    seen = [t.lower() for t in titles]
    return [f"{t} (mã {c})" if seen.count(t.lower()) > 1 else t for t, c in zip(titles, codes, strict=True)]


_BULLET_RE = re.compile(r"^(?:[-+•*]\s*|[a-zđ]\)\s*|\d+(?:\.\d+)*[.)]\s+)", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\.\s+(?=[^\W\d_])")
_CLAUSE_END_RE = re.compile(r"\s*(?:[;:]|\s\+\s)\s*")
_TRAILING_GOM_RE = re.compile(r"(?:,?\s*(?:bao gồm|gồm có|gồm|như sau))+$", re.IGNORECASE)
_LEGAL_TAIL_RE = re.compile(r"\s(?:được cấp |được ban hành )?(?:theo quy định|quy định tại|căn cứ)\b")
_LEGAL_TAIL_FROM = 60


def first_clause(text: str, limit: int = DOCUMENT_CHARS) -> str:
    """The first sentence or clause of a long published text, at most ``limit`` characters.

    Cut at a sentence end (". " before a capital), else at ";", ":" or a " + " list; a long clause
    loses its legal reference ("... theo quy định của Luật Đất đai"); one still too long is cut at its
    last comma, then at a word (with "…"). Never mid-word.
    """
    text = _BULLET_RE.sub("", " ".join(text.split()))
    cuts = []
    for match in _SENTENCE_END_RE.finditer(text):
        if match.start() >= 12 and text[match.end()].isupper():
            cuts.append(match.start())
            break
    clause = _CLAUSE_END_RE.search(text, 12)
    if clause:
        cuts.append(clause.start())
    if cuts:
        text = text[: min(cuts)]
    text = _TRAILING_GOM_RE.sub("", text).rstrip(" ,.;:")
    if len(text) > _LEGAL_TAIL_FROM:
        # "... được cấp theo quy định của Luật Đất đai qua các thời kỳ": the citizen needs the paper's name.
        legal = _LEGAL_TAIL_RE.search(text, 25)
        if legal:
            text = text[: legal.start()].rstrip(" ,")
    if text.count("(") > text.count(")"):
        text = text[: text.rfind("(")].rstrip(" ,")
    if len(text) > limit:
        comma = text.rfind(", ", 0, limit)
        if comma >= limit // 2:
            return text[:comma] + "…"
    return clip(text, limit)


_FORM_EXT_RE = re.compile(r"\.(docx?|pdf|xlsx?|odt|rtf)$", re.IGNORECASE)


def form_title(form: str) -> str:
    """A form's file name as a citizen reads it: no extension (``Mẫu số 01.docx`` -> ``Mẫu số 01``)."""
    return _FORM_EXT_RE.sub("", form.strip()).strip()


_GROUP_NUMBER_RE = re.compile(r"^(?:\(\d+(?:\.\d+)*\)|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s*", re.IGNORECASE)
_GROUP_LEAD_RE = re.compile(r"^(?:đối với|trường hợp)\s+", re.IGNORECASE)
_GROUP_TAIL_RE = re.compile(r"(?:,?\s*(?:hồ sơ )?(?:bao gồm|gồm có|gồm))+$", re.IGNORECASE)


def group_title(group: str, limit: int = BUTTON_CHARS) -> str:
    """A case heading as a button title: ``"(1.7) Đối với công trình nhà ở riêng lẻ"`` ->
    ``"Công trình nhà ở riêng lẻ"``."""
    title = _GROUP_NUMBER_RE.sub("", " ".join(group.split()))
    title = _GROUP_LEAD_RE.sub("", title).rstrip(" :;,.")
    title = _GROUP_TAIL_RE.sub("", title).rstrip(" :;,.") or title
    return clip(_sentence_case(title), limit)
