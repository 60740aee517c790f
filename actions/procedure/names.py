"""Names and texts shaped for a chat message: procedure names a citizen recognises, button labels that
never look alike, the short form of a published paper, form and case titles, and the length limits of a
message.

Official names run to 300 characters and published texts to paragraphs; a chat line must stay short.
A short form is always a whole phrase: it ends where the published text has a comma, a semicolon, a
parenthesis or a joining word ("và", "đối với", "theo" ...), never inside a phrase and never with "…"
(:func:`whole_phrase`); the full text stays one tap away ("Xem đầy đủ"). Everything here is plain text
in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.cases import is_usual_case
from knowledge.text import clip, fold, strip_list_marker

ITEM_CHARS = 220
"""Longest list item or step kept in a chat message; the rest is on the portal page."""

DOCUMENT_CHARS = 160
"""Longest short form of a paper in the documents answer."""

ALTERNATIVE_CHARS = 90
"""Longest short form of one alternative of a "one of the following" paper."""

NAME_CHARS = 120
"""Longest procedure name kept in a message (some official names run to 300 characters)."""

BUTTON_CHARS = 64
"""Longest button title."""


def clip_block(text: str, limit: int) -> str:
    """Multi-line text kept line by line, cut to ``limit`` characters."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    joined = "\n".join(lines)
    return joined if len(joined) <= limit else clip(joined, limit)


# --- Whole phrases -----------------------------------------------------------------------------------

_JOINING_WORDS = (
    "và|hoặc|hay|đối với|trong trường hợp|trong|theo|tại|do|của|cho|để|khi|nếu|mà|được|trừ|kèm theo|"
    "thực hiện|chứng minh|bao gồm|gồm|về|với|từ|đã|là|nhưng|sau khi|trước khi|bằng|qua"
)
_BOUNDARY_RE = re.compile(rf"\s*[,;:]\s|\s\(|\s(?=(?:{_JOINING_WORDS})\s)", re.IGNORECASE)
_DANGLING_RE = re.compile(
    rf"(?:\s|^)(?:{_JOINING_WORDS}|các|những|một|mỗi|bị|ở|vào|ra|phải|cần|không|chưa|sẽ|đang|nơi|như|sau|"
    r"đối|quy|căn|trường|dùng|thuộc|là)$"
    # "gồm họ, chữ đệm, tên": a list cut after its first item says only part of it.
    r"|\s(?:gồm|bao gồm|gồm có|như)\s+[^\s,;:]+$",
    re.IGNORECASE,
)
_COMPOUNDS = frozenset({"lý do", "tự do", "hiện tại", "thông qua", "trải qua", "vượt qua", "nơi cho"})
"""Word pairs whose second word is also a joining word ("lý do", "thông qua"): never cut inside one."""


STRETCH = 1.6
"""How much longer than asked a whole phrase may be rather than cut with "…"."""

DIFFERENCE_CHARS = 12
"""How much longer than :data:`BUTTON_CHARS` a label may grow to say how it differs from another."""

CASE_LABEL_SHORTEST = 20
"""Shortest beginning of a long case title kept as its button label: "Hộ kinh doanh" for "Hộ kinh doanh
do thành viên hộ gia đình đăng ký thành lập thay đổi chủ hộ do chủ hộ chết ..." names no case."""


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")")


def phrase_cuts(text: str, punctuation: bool = False) -> list[int]:
    """Where ``text`` may be cut so that what stays is a whole phrase (positions, ascending); with
    ``punctuation``, only the cuts at a comma, semicolon, colon, dash or parenthesis."""
    cuts = []
    for match in _BOUNDARY_RE.finditer(text):
        if punctuation and not match.group(0).strip():
            continue
        head = text[: match.start()].rstrip(" ,;:")
        if not match.group(0).strip() and _splits_compound(head, text[match.end() :]):
            continue
        if head and _balanced(head) and not _DANGLING_RE.search(head):
            cuts.append(len(head))
    return cuts


_OTHER_PAPER_RE = re.compile(r"[\s,]*hoặc\s+[A-ZĐÀ-Ỹ]")


def _splits_compound(head: str, rest: str) -> bool:
    """Whether a cut between ``head`` and ``rest`` would split a compound ("lý | do")."""
    last = head.rsplit(" ", 1)[-1].lower()
    following = rest.split(" ", 1)[0].lower()
    return f"{last} {following}" in _COMPOUNDS


def split_outside(text: str, sep: str) -> tuple[str, str] | None:
    """``text`` split at the first ``sep`` outside parentheses, or None."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(sep, i):
            return text[:i], text[i + len(sep) :]
    return None


def whole_phrase(text: str, limit: int, shortest: int = 0, stretch: float = 0.0) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest beginning that is a whole phrase.

    The cut is at a comma, semicolon, colon or opening parenthesis, or before a joining word, and
    what stays never ends with one ("... của", "... và"). A text with no such place within ``limit``
    keeps its first whole phrase if that is at most :data:`STRETCH` times ``limit``; only a longer
    run-on phrase is cut at a word, with "…" (:func:`knowledge.text.clip`).

    Args:
        shortest: the shortest beginning worth keeping; default a third of ``limit``.
        stretch: how much longer than ``limit`` a first whole phrase may be (default :data:`STRETCH`;
            1 for none).
    """
    text = " ".join(text.split()).rstrip(" ,;:")
    if len(text) <= limit:
        return text
    shortest = shortest or limit // 3
    stretch = stretch or STRETCH
    cuts = phrase_cuts(text)
    fitting = [cut for cut in cuts if shortest <= cut <= limit]
    if not fitting:
        longer = [cut for cut in cuts if limit < cut <= limit * stretch]
        if longer:
            return text[: longer[0]].rstrip(" ,;:.")
        return text if len(text) <= limit * stretch else clip(text, limit)
    # A cut at punctuation reads better than one before a joining word, unless it loses much more.
    marked = [cut for cut in phrase_cuts(text, punctuation=True) if shortest <= cut <= limit]
    # Before "hoặc" and another paper's name one alternative ends whole ("Tờ khai ... (mẫu CT01) | hoặc
    # Tờ khai ... dùng cho ..."); not inside a list ("..., Giấy chứng nhận căn cước hoặc các giấy tờ khác").
    alternative = [cut for cut in fitting if _OTHER_PAPER_RE.match(text, cut)]
    if marked and marked[-1] >= 0.6 * fitting[-1]:
        cut = marked[-1]
    elif alternative and alternative[-1] >= 0.4 * fitting[-1]:
        cut = alternative[-1]
    else:
        cut = fitting[-1]
    return text[:cut].rstrip(" ,;:.")


# --- Procedure names -----------------------------------------------------------------------------------

_THU_TUC_RE = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)
_PAREN_KEEP_CHARS = 160
_REPEATED_LEVEL_RE = re.compile(
    r"\b(cấp|loại|hạng|nhóm) ((?:(?:[IVX]+|\d+), )*(?:[IVX]+|\d+)), \1 (?=(?:[IVX]+|\d+)\b)"
)
_FOR_SPLIT = " đối với "
_LONG_NAME = 60
_TRAILING_PAREN_RE = re.compile(r"^(?P<head>.*\S)\s+(?P<tail>\([^()]*\))$")
_DONE_AT_RE = re.compile(r"\((?:thực hiện|giải quyết) (?:tại|ở) (cấp [^()]+)\)", re.IGNORECASE)
_LEVELS_RE = re.compile(r"\s+thực hiện (?:tại|ở) cấp [^,()]+(?:, cấp [^,()]+)+$", re.IGNORECASE)
_BY_SERVICE_RE = re.compile(r"\s+thực hiện bằng dịch vụ công\b", re.IGNORECASE)
# Phrases the law repeats in full in many names; a button says them the way citizens do.
_LABEL_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"Giấy chứng nhận quyền sử dụng đất, quyền sở hữu (?:nhà ở và )?tài sản (?:khác )?gắn liền với đất",
            re.IGNORECASE,
        ),
        "Giấy chứng nhận quyền sử dụng đất",
    ),
    (re.compile(r"\bđất đai, tài sản gắn liền với đất\b", re.IGNORECASE), "đất đai"),
    (re.compile(r"\s+thực hiện tại cấp [^,()]+(?:, cấp [^,()]+)*$", re.IGNORECASE), ""),
    (
        re.compile(r"\s+(?:thực hiện )?bằng dịch vụ công (?:trực tuyến )?một phần hoặc trực tiếp\b", re.I),
        " (trực tiếp, trực tuyến một phần)",
    ),
    (
        re.compile(r"\s+(?:thực hiện )?bằng dịch vụ công trực tuyến toàn trình\b", re.I),
        " (trực tuyến toàn trình)",
    ),
    (re.compile(r"\s+(?:thực hiện )?bằng dịch vụ công\b", re.IGNORECASE), " bằng dịch vụ công"),
)


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
    """Drop parentheses that list cases ("(Công trình không theo tuyến/Theo tuyến/…)"), keep the others
    ("(cấp tỉnh)", "(trường hợp ...)": a name said once more is said the same)."""
    out, last = [], 0
    for start, end in _paren_spans(text):
        inner = text[start + 1 : end - 1]
        if "/" in inner or ";" in inner or len(inner) > _PAREN_KEEP_CHARS:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    joined = " ".join("".join(out).split())
    return re.sub(r"\s+([,.;:)])", r"\1", joined)


def sentence_case(text: str) -> str:
    """First letter upper case, the rest as published."""
    return text[:1].upper() + text[1:]


def display_name(name: str, limit: int = NAME_CHARS) -> str:
    """A procedure name as a citizen reads it, at most ``limit`` characters, a whole phrase.

    No leading "Thủ tục" (the messages say it), no parenthetical list of cases, "cấp III, cấp IV" said
    once, "(thực hiện tại cấp tỉnh)" said "(cấp tỉnh)", and a long "X đối với Y" read as "X (Y)"; a name
    still too long keeps its first clause, then its longest beginning that is a whole phrase::

        "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo
        tuyến/…/Dự án) và nhà ở riêng lẻ"
        -> "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ)"
    """
    name = " ".join(name.split())
    name = _THU_TUC_RE.sub("", name)
    if name.isupper():
        name = name.lower()
    name = _DONE_AT_RE.sub(r"(\1)", name)
    name = _LEVELS_RE.sub("", name)
    name = _BY_SERVICE_RE.sub(" bằng dịch vụ công", name)
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
    return whole_phrase(sentence_case(name), limit)


def label_name(name: str) -> str:
    """A procedure name for a button: :func:`display_name` with the law's long repeated phrases said
    the way citizens do ("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất" ->
    "Giấy chứng nhận quyền sử dụng đất") and no trailing list of levels ("thực hiện tại cấp trung
    ương, cấp tỉnh, cấp xã")."""
    name = display_name(name, 10_000)
    for pattern, repl in _LABEL_REWRITES:
        name = pattern.sub(repl, name)
    return " ".join(name.split())


def _pieces(text: str) -> list[str]:
    """``text`` split where a whole phrase may end (see :func:`phrase_cuts`)."""
    bounds = [0, *phrase_cuts(text), len(text)]
    parts = [text[a:b].strip(" ,;:()–—-") for a, b in zip(bounds, bounds[1:], strict=False)]
    return [p for p in parts if p]


def _words(text: str, folded: bool = True) -> frozenset[str]:
    text = text.lower()
    return frozenset(re.findall(r"[^\W_]+", fold(text) if folded else text))


def _look_alike(a: str, b: str) -> bool:
    """Two labels a citizen would take for the same: equal, or the same words in another order (tone
    marks count: "lái" is not "lại")."""
    return a.lower() == b.lower() or _words(a, folded=False) == _words(b, folded=False)


def distinct_labels(names: Sequence[str], limit: int = BUTTON_CHARS, shortest: int = 12) -> list[str | None]:
    """Labels of at most ``limit`` characters for texts shown side by side, each a whole phrase, no two
    alike; None for a text whose label would still look like another's.

    Each label is the text's longest beginning that is a whole phrase (:func:`whole_phrase`). When two
    look alike ("Điều chỉnh quyết định giao đất, cho thuê đất" twice; "Hộ gia đình, cá nhân" and "Cá
    nhân, hộ gia đình"), one gets the first part of its text no other text has: "Điều chỉnh quyết định
    giao đất (do sai sót về ranh giới, vị trí)", "Đã có Thông báo xác nhận kết quả đăng ký đất đai".
    What all the texts share at their end ("(công trình cấp III, IV và nhà ở riêng lẻ)") is dropped
    first.
    """
    texts = [" ".join(n.split()) for n in names]
    parts = [_TRAILING_PAREN_RE.match(t) for t in texts]
    if len(texts) > 1 and all(parts):
        tails = {m.group("tail").lower() for m in parts if m}
        heads = [m.group("head") for m in parts if m]
        if len(tails) == 1 and len({fold(h.lower()) for h in heads}) == len(heads):
            texts = heads
    labels: list[str | None] = [whole_phrase(t, limit, shortest) for t in texts]
    folded = [fold(t.lower()) for t in texts]
    for i in range(len(labels)):
        alike = [j for j in range(len(labels)) if _alike_at(labels, i, j)]
        if not alike:
            continue
        # Tell apart as many of the group as their texts allow, one at a time, until none is alike.
        for j in [i, *alike]:
            if not any(_alike_at(labels, j, k) for k in range(len(labels))):
                continue
            everyone = [folded[k] for k in range(len(texts)) if k != j]
            twins = [folded[k] for k in range(len(texts)) if _alike_at(labels, j, k)]
            labels[j] = (
                _with_difference(texts[j], everyone, limit)
                or _with_difference(texts[j], twins, limit)
                or labels[j]
            )
        still = [j for j in [i, *alike] if any(_alike_at(labels, j, k) for k in range(len(labels)))]
        for j in still:
            labels[j] = None
    return labels


def _alike_at(labels: Sequence[str | None], i: int, j: int) -> bool:
    a, b = labels[i], labels[j]
    return i != j and a is not None and b is not None and _look_alike(a, b)


_TAIL_PAREN_RE = re.compile(r"\s*\((?P<inner>[^()]+)\)$")
_CASE_WORD_RE = re.compile(r"^(?:đối với |trong )?(?:các )?trường hợp\s+", re.IGNORECASE)
_STARTS_JOINED_RE = re.compile(
    r"^(?:do|cho|của|để|theo|tại|trong|với|về|và|hoặc|hay|mà|đối với|khi|nếu|từ|bằng|qua|trừ)\s",
    re.IGNORECASE,
)


def _with_difference(text: str, others: Sequence[str], limit: int) -> str | None:
    """A label for ``text`` saying what none of ``others`` (folded) says: its trailing parenthesis or
    the first part after its beginning that no other has, in parentheses after that beginning ("Cấp lại
    chứng nhận đăng ký xe, biển số xe (trực tuyến toàn trình)"), or that part alone when it says enough
    by itself ("Đã có Thông báo xác nhận kết quả đăng ký đất đai"); None when there is no such part or
    it does not fit. The longest beginning that leaves room for the difference is kept."""
    target, limit = limit, limit + DIFFERENCE_CHARS
    tail = _TAIL_PAREN_RE.search(text)
    body = text[: tail.start()] if tail else text
    folded = fold(body.lower())
    heads = [cut for cut in phrase_cuts(body) if 12 <= cut <= target] or [len(body)]
    if len(body) <= target:
        heads.append(len(body))
    for cut in sorted(set(heads), reverse=True):
        head = body[:cut].rstrip(" ,;:.")
        room = limit - len(head) - 3
        candidates = [tail.group("inner")] if tail else []
        candidates += [p for p in _pieces(body) if folded.find(fold(p.lower())) >= cut]
        for piece in candidates:
            if any(fold(piece.lower()) in other for other in others):
                continue
            piece = _CASE_WORD_RE.sub("", piece)
            start = body.find(piece)
            joined = (
                start > 0 and body[:start].endswith(" ") and not body[:start].rstrip().endswith((",", ";"))
            )
            alone = len(piece.split()) >= 4 and len(piece) <= target and not _STARTS_JOINED_RE.match(piece)
            alone = alone and (joined or piece == (tail.group("inner") if tail else None))
            difference = whole_phrase(piece, room, 4, stretch=1) if room >= 8 else "…"
            if not difference.endswith("…") and len(difference) <= room:
                both = f"{head} ({difference})"
                # A part that says enough by itself reads better than a beginning and a long addition.
                return sentence_case(piece) if alone and len(both) > target else both
            if alone:
                return sentence_case(piece)
    return None


def distinct_titles(names: Sequence[str], codes: Sequence[str], limit: int = BUTTON_CHARS) -> list[str]:
    """Button titles for procedures shown side by side: short (at most ``limit``), whole phrases, no
    two alike ("Cấp giấy phép xây dựng mới" / "Gia hạn giấy phép xây dựng";
    "Cấp hộ chiếu phổ thông ở trong nước (cấp tỉnh)" / "(cấp trung ương)").

    Only procedures whose names say nothing apart (the same name in two catalogues) get their code.
    """
    labels = distinct_labels([label_name(n) for n in names], limit)
    return [
        label if label is not None else f"{whole_phrase(label_name(n), limit - 14, 12)} (mã {c})"
        for label, n, c in zip(labels, names, codes, strict=True)
    ]


# --- Published texts of papers -------------------------------------------------------------------------

_SENTENCE_END_RE = re.compile(r"\.\s+(?=[^\W\d_])|\.(?=[A-ZĐ][a-zà-ỹđ])")
_CLAUSE_END_RE = re.compile(r"\s*(?:[;:]|\s\+\s)\s*")
_TRAILING_GOM_RE = re.compile(r"(?:,?\s*(?:bao gồm|gồm có|gồm|như sau|sau đây|sau))+$", re.IGNORECASE)
_LEGAL_TAIL_RE = re.compile(
    r"\s(?:được cấp |được ban hành |được lập )?(?:theo quy định|quy định tại|căn cứ|theo các quy định)\b"
)
_LEGAL_TAIL_FROM = 60
_DATE_RE = re.compile(r"\s+ngày\s+\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4}")
_DOC_NUMBER = r"\d+(?:/\d{4})?/[\wĐđ-]+"
_ISSUER_RE = re.compile(
    rf"({_DOC_NUMBER})\s+của\s+(?:Bộ trưởng|Bộ|Chính phủ|Thủ tướng)[^,;.()]*?(?=\s+(?:quy định|hướng dẫn|về)\b|[,;.()]|$)"
)
_DOC_TITLE_RE = re.compile(rf"({_DOC_NUMBER})\s+(?:quy định|hướng dẫn)\b[^()]*?(?=\)|$|\.\s)")
_TEMPLATE_AT_RE = re.compile(r"\btheo mẫu quy định tại\b", re.IGNORECASE)
_ISSUED_WITH_RE = re.compile(r"\s+ban hành kèm theo\s+", re.IGNORECASE)
_NUMBER_WORD_RE = re.compile(r"\b(Thông tư|Nghị định|Quyết định) số\s+(?=\d)")
_TEMPLATE_RE = re.compile(
    r"\b(?:[Mm]ẫu(?: số)?|Phụ lục(?: số)?)\s+(?!hộ tịch|điện tử|đơn|tờ|quy định|theo|ban)"
    r"[A-ZĐ]{0,6}[\dIVX][\w./-]*"
)
_GENERIC_HEAD_RE = re.compile(r"(?:giấy tờ|tài liệu|văn bản|thông tin|hồ sơ|loại)$", re.IGNORECASE)
_IF_ANY_RE = re.compile(r"\((?:nếu có|nếu có yêu cầu)\)", re.IGNORECASE)
_CONDITION_START_RE = re.compile(r"^(?:trường hợp|nếu|trừ|riêng|đối với|trong trường hợp)\b", re.IGNORECASE)


def compact_legal(text: str) -> str:
    """Legal references said shortly: no dates, no issuer, no title after the number ("Thông tư số
    53/2025/TT-BCA ngày 01/7/2025 của Bộ Công an" -> "Thông tư 53/2025/TT-BCA")."""
    text = _DATE_RE.sub("", text)
    text = _ISSUER_RE.sub(r"\1", text)
    text = _DOC_TITLE_RE.sub(r"\1", text)
    text = _ISSUED_WITH_RE.sub(", ", text)
    text = _TEMPLATE_AT_RE.sub("theo mẫu tại", text)
    text = _NUMBER_WORD_RE.sub(r"\1 ", text)
    return re.sub(r"\s+([,.;:)])", r"\1", " ".join(text.split()))


def _drop_legal_tail(text: str, short: bool = False) -> str:
    """ "... được cấp theo quy định của Luật Đất đai qua các thời kỳ" -> "..."; the citizen needs the
    paper's name. A template reference ("theo mẫu quy định tại Phụ lục XII") or a head that names no
    paper by itself ("Một trong các loại giấy tờ quy định tại Điều 137 ...") keeps it."""
    if len(text) <= _LEGAL_TAIL_FROM and not short:
        return text
    legal = _LEGAL_TAIL_RE.search(text, 12 if short else 25)
    if legal is None:
        return text
    stop = re.search(r"[;(]|\.\s", text[legal.end() :])
    end = legal.end() + stop.start() if stop else len(text)
    span = text[legal.start() : end]
    head = text[: legal.start()].rstrip(" ,")
    if _TEMPLATE_RE.search(span) or _GENERIC_HEAD_RE.search(head) or len(head.split()) < (2 if short else 4):
        return text
    return (head + " " + text[end:].lstrip()).strip() if end < len(text) else head


def first_clause(text: str, limit: int = DOCUMENT_CHARS) -> str:
    """The first sentence or clause of a long published text, at most ``limit`` characters.

    Cut at a sentence end (". " before a capital), else at ";", ":" or a " + " list; a long clause
    loses its legal reference ("... theo quy định của Luật Đất đai"); one still too long is cut where a
    whole phrase ends (:func:`whole_phrase`).
    """
    text = strip_list_marker(" ".join(text.split()))
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
    text = _drop_legal_tail(text)
    if text.count("(") > text.count(")"):
        text = text[: text.rfind("(")].rstrip(" ,")
    return whole_phrase(text, limit)


def _first_sentence(text: str) -> str:
    """The first sentence (a sentence inside parentheses does not end it)."""
    for match in _SENTENCE_END_RE.finditer(text):
        head = text[: match.start()]
        if match.start() >= 12 and text[match.end()].isupper() and _balanced(head):
            return head
    return text


_PLAIN_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bngười (?:có yêu cầu|yêu cầu) (?:lựa chọn )?(?=nộp|gửi)", re.IGNORECASE), ""),
    (re.compile(r"\bnộp hồ sơ theo hình thức (trực tiếp|trực tuyến)", re.IGNORECASE), r"nộp \1"),
    (re.compile(r"\bgửi hồ sơ qua hệ thống bưu chính", re.IGNORECASE), "gửi qua bưu chính"),
    (re.compile(r"\btheo hình thức (trực tiếp|trực tuyến)", re.IGNORECASE), r"\1"),
)
_LIST_OF_PAPERS_RE = re.compile(
    r"^(?P<head>.{0,40}?)\s*các (?:giấy tờ|tài liệu|văn bản) sau(?: đây)?\s*:\s*[-–•+]?\s*(?P<first>[^;]+)",
    re.IGNORECASE,
)
_CALLED_RE = re.compile(
    r"^(?P<head>.{12,}?)\s*\(sau đây (?:gọi tắt là|gọi là|viết tắt là)\s+(?P<name>[^()]{4,60})\)"
)
_FALLBACK_RE = re.compile(
    r"[;.]\s*(?:trường hợp|nếu|trong trường hợp) (?:không có|chưa có)\b\s*(?P<missing>[^;.]*?)\s*(?:\bthì\b|,(?![^;.]*\bthì\b))\s*"
    r"(?:(?:phải |được )?(?:nộp|có|xuất trình|cung cấp)\s+)?(?P<instead>[^;.]{6,})",
    re.IGNORECASE,
)


def plain_words(text: str) -> str:
    """The records' set phrases said plainly ("nếu người có yêu cầu lựa chọn nộp hồ sơ theo hình thức
    trực tiếp" -> "nếu nộp trực tiếp")."""
    for pattern, repl in _PLAIN_REWRITES:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


MISSING_CHARS = 50
"""Longest name of the missing paper said before what to bring instead."""


def fallbacks(text: str) -> tuple[tuple[str, str], ...]:
    """What to bring instead when a paper is missing, as published: (the missing paper, or "" when its
    name is long; what to bring instead), each a whole phrase. "Giấy chứng sinh; trường hợp không có
    Giấy chứng sinh thì nộp văn bản của người làm chứng ...; nếu không có người làm chứng thì phải có
    giấy cam đoan ..." -> ("Giấy chứng sinh", "văn bản của người làm chứng ..."), ("người làm chứng",
    "giấy cam đoan ...")."""
    out = []
    for match in _FALLBACK_RE.finditer(" ".join(text.split())):
        instead = match.group("instead")
        if instead.count(")") > instead.count("("):
            instead = instead[: instead.rfind(")")]
        instead = _drop_legal_tail(plain_words(compact_legal(instead)), short=True)
        missing = match.group("missing").strip(" ,")
        missing = missing if len(missing) <= MISSING_CHARS and _balanced(missing) else ""
        out.append((missing, whole_phrase(instead, ALTERNATIVE_CHARS, 12)))
    return tuple(out)


def short_paper(text: str, limit: int = DOCUMENT_CHARS) -> str:
    """A paper's published text as an officer says it: a whole phrase of at most ``limit`` characters.

    Its first sentence, legal references said shortly (:func:`compact_legal`), without what follows a
    ";" that starts a condition ("; trường hợp không có ... thì ...": the full text says it), without
    a long legal tail; a text still too long keeps its longest beginning that is a whole phrase. A
    published "(nếu có)" is kept.
    """
    tidy = plain_words(strip_list_marker(" ".join(text.split())))
    listed = _LIST_OF_PAPERS_RE.match(tidy)
    if listed:  # "Bản sao các giấy tờ sau đây: - Giấy tờ pháp lý ...; - ...": said by its first item
        tidy = (
            f"{listed.group('head')} {listed.group('first')[:1].lower()}{listed.group('first')[1:]}".strip()
        )
    called = _CALLED_RE.match(tidy)
    if called:
        # "Hộ chiếu/Thẻ căn cước/... (sau đây gọi tắt là giấy tờ tùy thân)": the name it is called by.
        name = sentence_case(called.group("name").strip())
        room = limit - len(name) - 3
        head = whole_phrase(called.group("head").replace("/", ", "), room, 12)
        return name if head.endswith("…") or room < 20 else f"{name} ({head})"
    short = compact_legal(_first_sentence(tidy)).rstrip(" .")
    sub = split_outside(
        short, " + "
    )  # "Hồ sơ thiết kế xây dựng: + Đối với ...: ...": the paper, not its parts
    if sub is not None and len(sub[0].rstrip(" :")) >= 8:
        short = sub[0].rstrip(" :")
    parts = split_outside(short, ";")
    if parts is not None:
        main, rest = parts
        if len(main.strip()) >= 8 and (_CONDITION_START_RE.match(rest.strip()) or len(short) > limit):
            short = main.strip()
    parts = split_outside(short, ":")
    if len(short) > limit and parts is not None and len(parts[0]) >= 12:
        short = parts[0]
    short = _drop_legal_tail(short)
    short = _TRAILING_GOM_RE.sub("", short).rstrip(" ,.;:")
    short = whole_phrase(short, limit, 20)
    if _IF_ANY_RE.search(tidy) and not _IF_ANY_RE.search(short) and len(short) + 10 <= limit:
        short += " (nếu có)"
    return sentence_case(short)


def said_in_full(short: str, text: str) -> bool:
    """Whether ``short`` says all of ``text`` (then there is nothing more to show)."""
    return fold(short.lower()).rstrip(" .") == fold(strip_list_marker(" ".join(text.split())).lower()).rstrip(
        " ."
    )


# --- "One of the following" ------------------------------------------------------------------------------

_ONE_OF_RE = re.compile(
    r"(?P<lead>^.{0,120}?\bmột trong (?:các|những|số)?\s*(?:loại\s+)?[^:+•;]{0,200}?)\s*"
    r"(?:,?\s*(?:bao gồm|gồm có|gồm|sau đây|như sau|sau))?\s*:\s*(?P<alts>\S.+)$",
    re.IGNORECASE | re.DOTALL,
)
_ONE_OF_PLUS_RE = re.compile(
    r"(?P<lead>^.{0,120}?\bmột trong (?:các|những|số)?\s*(?:loại\s+)?.{0,250}?)\s*(?:bao gồm|gồm)?\s*:?\s*"
    r"(?P<alts>\+\s.+)$",
    re.IGNORECASE | re.DOTALL,
)
_ALT_SPLIT_RES = (
    re.compile(r"(?:^|\s)\+\s+"),
    re.compile(r"\s*•\s*"),
    re.compile(r"\s*;\s*"),
    re.compile(r"\s+hoặc\s+", re.IGNORECASE),
)


@dataclass(frozen=True)
class OneOf:
    """A paper that is one of several: "Một trong các giấy tờ sau: A; B; C".

    Attributes:
        lead: what the paper is ("Một trong các giấy tờ hợp pháp về đất đai").
        alternatives: each alternative's published text.
    """

    lead: str
    alternatives: tuple[str, ...]


def one_of(text: str) -> OneOf | None:
    """The alternatives of a "one of the following" paper, or None for any other paper."""
    tidy = " ".join(text.split())
    if not re.search(r"\bmột trong\b", tidy[:200], re.IGNORECASE):
        return None
    match = _ONE_OF_PLUS_RE.match(tidy) or _ONE_OF_RE.match(tidy)
    if match is None:
        return None
    alts_text = match.group("alts")
    for splitter in _ALT_SPLIT_RES:
        alts = [a.strip(" .;,") for a in splitter.split(alts_text) if a.strip(" .;,")]
        if len(alts) >= 2:
            lead = re.sub(
                r"\b([Mm])ột trong những\b", lambda m: f"{m.group(1)}ột trong các", match.group("lead")
            )
            return OneOf(lead.strip(" ,:"), tuple(alts))
    return None


def one_of_heading(group: str) -> bool:
    """Whether a group heading says its papers are alternatives ("... một trong những giấy tờ sau")."""
    return bool(
        re.search(r"\bmột trong (?:các|những|số)?\s*(?:loại\s+)?(?:giấy tờ|tài liệu|văn bản)\b", group, re.I)
    )


# --- Forms, copies, cases ------------------------------------------------------------------------------

_FORM_NAME_RE = re.compile(
    r"^(?:tờ khai|đơn|phiếu|bản khai|giấy khai|giấy đề nghị|văn bản đề nghị|văn bản yêu cầu|mẫu|"
    r"đề nghị [^.;]{0,80}theo mẫu)\b",
    re.IGNORECASE,
)
_FORM_EXT_RE = re.compile(r"\.(docx?|pdf|xlsx?|odt|rtf)$", re.IGNORECASE)
_CERTIFIED_RE = re.compile(
    r"bản sao (?:có |được )?chứng thực|bản sao hợp lệ|bản sao có công chứng", re.IGNORECASE
)
_SAYS_COPY_RE = re.compile(r"^(?:bản sao|bản chính|bản chụp|ảnh|bản in|\d+ (?:bản|ảnh|bộ))\b", re.IGNORECASE)


def form_title(form: str) -> str:
    """A form's file name as a citizen reads it: no extension (``Mẫu số 01.docx`` -> ``Mẫu số 01``)."""
    return _FORM_EXT_RE.sub("", form.strip()).strip()


def is_form(text: str, form: str = "") -> bool:
    """Whether a paper is the application itself (tờ khai, đơn, phiếu, "... theo mẫu"), which an officer
    names first."""
    return bool(form.strip()) or bool(_FORM_NAME_RE.match(strip_list_marker(text.strip())))


def template_number(text: str) -> str:
    """The template a form follows, as published ("Mẫu số 01/2025/LLTP", "mẫu CT01"), or ""."""
    match = _TEMPLATE_RE.search(compact_legal(_first_sentence(" ".join(text.split()))))
    return match.group(0) if match else ""


def certified_copy(text: str) -> bool:
    """Whether the copies a paper asks for must be certified ("bản sao có chứng thực", "hợp lệ")."""
    return bool(_CERTIFIED_RE.search(text))


def says_copy(short: str) -> bool:
    """Whether a paper's words already say original or copy ("Bản sao giấy khai sinh ...")."""
    return bool(_SAYS_COPY_RE.match(short))


_GROUP_NUMBER_RE = re.compile(
    r"^(?:\(\d+(?:\.\d+)*\)|\d+(?:\.\d+)*[.)]|[a-zđ](?:\.\d+)?\)|[a-zđ]\d*\.|[IVX]+\.)\s*", re.IGNORECASE
)
_GROUP_LEAD_RE = re.compile(
    r"^(?:đối với (?:các )?trường hợp|trong (?:các )?trường hợp|đối với|trường hợp(?: \d+:)?|nếu|về)\s+",
    re.IGNORECASE,
)
_GROUP_TAIL_RE = re.compile(
    r"(?:,?\s*(?:thì\s+)?(?:hồ sơ\s*)?(?:phải kèm theo|kèm theo|bao gồm|gồm có|gồm|như sau)[^,;]*)+$",
    re.IGNORECASE,
)


def group_title(group: str, limit: int = BUTTON_CHARS) -> str:
    """A case heading as a title: ``"(1.7) Đối với công trình nhà ở riêng lẻ"`` ->
    ``"Công trình nhà ở riêng lẻ"``; a whole phrase of at most ``limit`` characters."""
    title = _GROUP_NUMBER_RE.sub("", " ".join(group.split()))
    title = _GROUP_LEAD_RE.sub("", title).rstrip(" :;,.")
    title = _GROUP_TAIL_RE.sub("", title).rstrip(" :;,.") or title
    title = compact_legal(title)
    return whole_phrase(sentence_case(title), limit, 12)


USUAL_CASE = "Thông thường"
"""The title of the case most citizens are in, when the record heads it with the procedure's own name."""

_FILLER_RE = re.compile(r"^(?:việc\s+)?(?:thực hiện|làm|giải quyết) (?:các )?thủ tục\s+", re.IGNORECASE)
_PREPOSITION_RE = re.compile(r"^(?:vào|tại|ở|cho|của|đối với|về)\s+", re.IGNORECASE)
_BENEFICIARY_RE = re.compile(r"\s(?:cho(?! (?:thuê|mượn|ở|tặng|phép|vay)\b)|đối với)\s")
"""Where a case names whom it is for ("... cấp Giấy chứng nhận cho hộ gia đình, cá nhân"); "cho thuê",
"cho mượn" ... are what is done, not for whom."""


def case_title(case: str, procedure_name: str = "", limit: int = BUTTON_CHARS) -> str:
    """A case as the citizen picks it, at most ``limit`` characters, a whole phrase.

    Said without the procedure's own words ("Đăng ký thường trú vào chỗ ở hợp pháp do thuê, mượn, ở
    nhờ" for "Đăng ký thường trú" -> "Chỗ ở hợp pháp do thuê, mượn, ở nhờ"; "thực hiện thủ tục đăng
    ký, cấp Giấy chứng nhận cho hộ gia đình, cá nhân" for the land certificate -> "Hộ gia đình, cá
    nhân"; "khai sinh cho trẻ em sinh ra do mang thai hộ" -> "Trẻ em sinh ra do mang thai hộ") and
    without its legal reference. The procedure's own dossier beside special ones ("Hồ sơ đăng ký tạm trú
    gồm" beside "... theo danh sách") is "Thông thường" (:data:`USUAL_CASE`).
    """
    if procedure_name and is_usual_case(case, procedure_name):
        return USUAL_CASE
    title = _FILLER_RE.sub("", group_title(case, 10_000))
    if procedure_name:
        name = display_name(procedure_name, 10_000).split(" (", 1)[0]
        name_words = _words(procedure_name)
        if fold(title.lower()).startswith(fold(name.lower()) + " "):
            rest = _PREPOSITION_RE.sub("", title[len(name) :].strip())
            title = rest if len(rest) >= 8 else title
        else:
            split = _BENEFICIARY_RE.search(title)
            if (
                split is not None
                and ";" not in title[: split.start()]
                and _words(title[: split.start()]) <= name_words
            ):
                rest = title[split.end() :].strip()
                title = rest if len(rest) >= 8 else title
    title = re.sub(
        r"\s+(?:đối với|trong) (?:những|các) trường hợp quy định\b.*$", "", title, flags=re.IGNORECASE
    )
    title = _drop_legal_tail(title)
    return whole_phrase(sentence_case(title), limit, 12)
