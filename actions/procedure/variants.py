"""Close candidates that answer alike: the same fee, time, papers or place for every one of them.

When the procedures a message may mean (a passport at province or central level, a permit and its
variants) give the same answer to the part asked, the citizen gains nothing from a choice: the policy
answers (:meth:`bot.engine.policy.Policy._question`) and the answer names the variants in one line
(:func:`variants_line`). "The same answer" is read from the answers themselves: each candidate's answer
to the part asked is rendered as the citizen would read it (:func:`actions.procedure.answers.answer`),
its procedure's name and code taken out, folded and its spacing evened (:class:`RenderedAnswers`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from actions.procedure.answers import answer
from actions.procedure.lists import forms_of
from actions.procedure.names import display_name, distinct_titles
from bot.core.domain import Topic
from bot.core.messages import Button
from bot.core.parse import Candidate
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import CollectingDispatcher
from knowledge.domain import Procedure
from knowledge.ports import KnowledgeRepository
from knowledge.text import fold

NO_SHARED_ANSWER = frozenset(
    {
        "utter_missing_detail",
        "utter_missing_detail_no_link",
        "utter_catalogue_only",
        "utter_catalogue_where",
        "utter_ask_document_case",
        "utter_ask_document_case_list",
    }
)
"""Replies that say the part is not in the data, or ask the citizen's case instead of answering: such
replies are no shared answer (the choice stays, the citizen may know which one they mean)."""

_SPACE_RE = re.compile(r"\s+")


def _names(proc: Procedure) -> list[str]:
    """The forms a procedure's name takes in an answer, longest first."""
    full = display_name(proc.name, 10_000)
    forms = {proc.name, display_name(proc.name), full, full.split(" (", 1)[0], proc.code}
    return sorted((f for f in forms if f), key=len, reverse=True)


def normalised(dispatcher: CollectingDispatcher, proc: Procedure) -> str:
    """What the answer in ``dispatcher`` says, without its procedure's name or code: its texts and the
    titles of its buttons (the cases of the papers, "Xem đầy đủ"), folded, spacing evened; links and
    payloads (which name the procedure) left out."""
    parts: list[str] = []
    for message in dispatcher.messages:
        parts.append(message.text)
        parts.extend(b.title for b in message.buttons)
    return _without_names("\n".join(parts), proc)


def _without_names(said: str, proc: Procedure) -> str:
    for name in _names(proc):
        said = said.replace(name, "\x00")
    return _SPACE_RE.sub(" ", fold(said.lower())).strip()


def _whole_part(topic: str, proc: Procedure) -> str:
    """The whole of a list part, as the record holds it (an answer shows its first papers and steps cut
    with "…"): every paper with its notes, counts, form and case; every step; every form."""
    if topic == Topic.DOCUMENTS:
        return _without_names(repr(proc.documents), proc)
    if topic == Topic.STEPS:
        return _without_names("\n".join(proc.steps), proc)
    if topic == Topic.FORMS:
        return _without_names(repr(forms_of(proc)), proc)
    return ""


class RenderedAnswers:
    """Answers of close candidates to one part, compared as the citizen would read them.

    Args:
        knowledge: the knowledge base the procedures are read from.
        responses: the response texts the answers are rendered with.
    """

    def __init__(self, knowledge: KnowledgeRepository, responses: ResponseCatalogue) -> None:
        self.knowledge = knowledge
        self.responses = responses

    def rendered(self, topic: str, code: str, text: str = "", case: str | None = None) -> str | None:
        """The normalised answer of procedure ``code`` to ``topic`` and, for a list, the whole list
        (None: unknown procedure, or the part is not in its data)."""
        proc = self.knowledge.get(code)
        if proc is None or proc.catalogue_only:
            return None
        dispatcher = CollectingDispatcher(self.responses)
        answer(dispatcher, proc, topic, text, case)
        if not dispatcher.messages or any(m.response in NO_SHARED_ANSWER for m in dispatcher.messages):
            return None
        return normalised(dispatcher, proc) + "\n" + _whole_part(topic, proc)

    def same_answer(self, topic: str, codes: Sequence[str], text: str = "", case: str | None = None) -> bool:
        """True when every procedure of ``codes`` (two or more) answers ``topic`` the same way."""
        if len(codes) < 2:
            return False
        first = self.rendered(topic, codes[0], text, case)
        if first is None:
            return False
        return all(self.rendered(topic, code, text, case) == first for code in codes[1:])


_LEVEL_TAIL_RE = re.compile(r"^(?P<base>.+?)\s*\((?P<level>cấp [^()]+)\)$")


_TW_RE = re.compile(r"\btw\b")


def _level_said(level: str) -> str:
    """A level as a sentence says it: lower case, "trung ương" in full ("cấp TW" -> "cấp trung ương")."""
    return _TW_RE.sub("trung ương", level.lower())


def variant_names(candidates: Sequence[Candidate]) -> str:
    """The variants an answer applies to, said once: "cấp tỉnh và cấp trung ương" for one procedure at
    several levels, else their short distinct names ("Cấp giấy phép …, Gia hạn … và Cấp lại …")."""
    names = [display_name(c.name or c.code, 10_000) for c in candidates]
    levels = [_LEVEL_TAIL_RE.match(n) for n in names]
    if all(levels) and len({m.group("base") for m in levels if m}) == 1:
        said = [_level_said(m.group("level")) for m in levels if m]
    else:
        said = distinct_titles([c.name or c.code for c in candidates], [c.code for c in candidates])
    if len(said) == 1:
        return said[0]
    return ", ".join(said[:-1]) + " và " + said[-1]


def variants_line(
    dispatcher: CollectingDispatcher, candidates: Sequence[Candidate], buttons: tuple[Button, ...] = ()
) -> None:
    """After the answer, the line naming the variants it applies to as well (a message of its own, so
    the answer's text stays the answer); ``buttons``: one per variant, so none is taken as chosen (the
    conversation keeps them, :func:`bot.engine.policy.kept_variants`, and the next part asked is
    compared again)."""
    if len(candidates) > 1 and dispatcher.messages:
        dispatcher.utter("utter_same_for_variants", buttons=buttons, variants=variant_names(candidates))
