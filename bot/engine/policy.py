"""The policy: from the parse of a message and the conversation state, decide what the bot does next.

It is a small rule list, read top to bottom in :meth:`Policy.decide`. Intent confidence thresholds are
not applied here: the NLU's fallback already turned an unsure intent into ``nlu_fallback``. What the
policy adds is conversation sense:

* **Carry-over.** A question without a procedure ("lệ phí bao nhiêu?") answers for the procedure being
  discussed, until the citizen names another: close candidates, or a link below
  :attr:`PolicyConfig.answer_min_score`, that no alias in the message names do not replace it; nor does
  an FAQ question take a part asked of it.
* **Every part asked.** A message asking several parts ("làm ở đâu, hồ sơ gồm những gì") gets them in
  one reply (:func:`other_parts_asked`, the action's ``topics``; :attr:`PolicyConfig.answer_every_part`).
* **Ambiguity.** When the top procedure candidates are within :attr:`PolicyConfig.ambiguity_margin` of
  each other (new / adjusted / renewed construction permit), the bot asks with buttons
  (``/choose{"procedure": code}``) and remembers the question to answer it after the pick. A later
  mention of the same family keeps the procedure already chosen. When the message names one of them and
  not the others ("loại 3", "không phải đánh giá rủi ro", the plain "đăng ký khai sinh";
  :func:`dominant_candidate`), that one is answered.
* **No needless choice.** Close candidates whose answers to the part asked read the same (an
  :class:`AnswerComparer` renders them; :attr:`PolicyConfig.answer_alike_variants`) are answered, the
  variants named in one line, with a button for each: none of them is taken as chosen, so the next
  part asked without a procedure is compared again for them (:func:`kept_variants`: alike, answered
  again; not alike, the choice list). A number in the message ("loại 1", "loại một") among candidates
  whose names differ only in numbers answers the one carrying it, else the choice stays. One procedure at several levels is answered for the nearest level, the
  other levels offered under the answer with the part asked in their buttons
  (:attr:`PolicyConfig.offer_other_levels`). The first issue of a procedure with later steps is answered
  when the message names no step and it ranks first (:attr:`PolicyConfig.answer_top_step`). A button
  ``/choose{"procedure": code, "aspect": "ask_fee"}`` answers the part it carries.
* **Two-band fallback.** First miss: clarify with the closest candidates; second miss in a row: offer an
  officer. An out-of-scope question counts as a miss too: the second one in a row offers an officer. The
  part the message asked (the NLU's ``aspect`` entity, :func:`asked_intent`) is remembered, so a candidate
  picked from the buttons answers that part, not an overview. (Answering the best candidate of such an
  unsure link with the others as buttons, :attr:`PolicyConfig.answer_unsure_link`, is measured and off.)
* **Out of scope, but a procedure was found.** When the linker's candidates are strong
  (:attr:`PolicyConfig.out_of_scope_candidate_score`), the bot asks "có phải bạn hỏi …" with them rather
  than saying it only answers procedure questions.
* **The citizen's case.** The words of the message that names a procedure are kept in the ``case`` slot
  (folded, no digits), so that documents published per case ("nhà ở riêng lẻ") are answered for the
  citizen's case after a choice of procedure; a case picked from buttons (``/choose_group``), or typed
  while those buttons are shown, answers the documents of that case.
* **"Xem thêm" typed.** "xem thêm", "tiếp", "còn nữa không" continue the list, whatever the NLU said.
* **Frequently asked questions.** A message close enough to an FAQ question (score from
  :class:`knowledge.faq.FaqMatcher` at least :attr:`PolicyConfig.faq_threshold`) is answered from the FAQ,
  unless the NLU understood a question about a procedure it names (that answer is more specific).
* **Waiting modes.** A dossier code, then the verification digits, are expected after
  ``check_dossier_status`` (see :func:`bot.core.dossier.expects_dossier_reply`); "có" after the officer
  offer means yes, please. A message that names a procedure or clearly asks a part of one
  (:func:`asks_about_a_procedure`) is a question even then: it is answered and the dossier dialogue ends;
  read as feedback while the rating is awaited, it is answered too.

Button payloads that are not NLU intents: ``/start``, ``/help``, ``/more`` ("Xem thêm"), ``/rephrase``
("Hỏi lại"), ``/choose{"procedure": code}``, ``/choose_group{"procedure": code, "group": "2"}`` and
``/procedure_notes{"procedure": code}`` (the "Lưu ý" button under the documents).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.config import PolicyConfig
from bot.core.domain import TOPIC_BY_INTENT, ActionName, Intent, TicketReason, Topic, action_name
from bot.core.dossier import DOSSIER_INTENTS, expects_dossier_reply
from bot.core.events import Event, ModeChanged, SlotSet
from bot.core.parse import Candidate, Parse
from bot.core.responses import parse_payload
from bot.core.sdk import ActionArgs
from bot.core.state import ConversationState, Mode
from knowledge.cases import case_words, match_group
from knowledge.faq import FaqMatcher
from knowledge.text import fold, fold_iy
from nlu.semantic import numerals_only_apart

SMALLTALK_ACTIONS: Mapping[str, ActionName] = {
    Intent.GREET: ActionName.GREET,
    Intent.START: ActionName.GREET,
    Intent.HELP: ActionName.GREET,
    Intent.THANK: ActionName.THANK,
    Intent.GOODBYE: ActionName.GOODBYE,
    Intent.AFFIRM: ActionName.AFFIRM,
    Intent.DENY: ActionName.DENY,
    Intent.GIVE_FEEDBACK: ActionName.FEEDBACK,
    Intent.REPHRASE: ActionName.REPHRASE,
    Intent.ATTACHMENT: ActionName.ATTACHMENT,
}
"""Intents (and payload commands) answered the same way whatever the context."""

_WAITING_MODES = (Mode.AWAITING_CHOICE, Mode.AWAITING_DOSSIER_CODE, Mode.AWAITING_VERIFICATION)

MORE_WORDS = frozenset(
    {
        "xem them",
        "them",
        "xem tiep",
        "tiep",
        "tiep theo",
        "con nua",
        "con nua khong",
        "con gi nua khong",
        "con khong",
        "gui tiep",
        "gui them",
    }
)
"""Typed replies meaning "Xem thêm" (folded, lower case, "ko"/"k"/"hong" read as "khong", without the
particles of :data:`_PARTICLES` at the end)."""

_NO_WORDS = {"ko": "khong", "k": "khong", "hong": "khong", "hok": "khong", "kg": "khong", "kh": "khong"}
_PARTICLES = frozenset({"di", "nhe", "nha", "a", "ban", "voi", "nao", "giup", "minh", "em", "toi"})
_CASE_INTENTS = frozenset(
    {Intent.NLU_FALLBACK, Intent.ASK_DOCUMENTS, Intent.ASK_PROCEDURE_OVERVIEW, Intent.OUT_OF_SCOPE}
)


ASPECT_ENTITY = "aspect"
"""The NLU's entity for a part the message asks (value: an ``ask_*`` intent; confidence 1.0 for the part
asked most clearly, see :mod:`nlu.extractors.asking`)."""

_CLEARLY_ASKED = 0.99
_ALSO_ASKED = 0.6
"""An ``aspect`` entity other than the main one at least this confident is a part asked too (an
interrogative or a field label, see :mod:`nlu.extractors.asking`)."""


def asked_intent(parse: Parse) -> str | None:
    """The ``ask_*`` intent of the part the message asks by an interrogative or a field label ("… nộp ở
    đâu", "Thành phần hồ sơ …"), from the NLU's ``aspect`` entities; None when no part is clearly asked."""
    for ent in parse.entities:
        if (
            ent.entity == ASPECT_ENTITY
            and (ent.confidence or 0.0) >= _CLEARLY_ASKED
            and ent.value in TOPIC_BY_INTENT
        ):
            return ent.value
    return None


def other_parts_asked(parse: Parse, topic: str) -> tuple[str, ...]:
    """The topics of the other parts the message asks by an interrogative or a field label ("… ở đâu,
    hồ sơ gồm những gì"), in the NLU's order, without ``topic`` and the overview (which has them all)."""
    found: list[str] = []
    for ent in sorted(parse.entities, key=lambda e: -(e.confidence or 0.0)):
        other = TOPIC_BY_INTENT.get(ent.value) if ent.entity == ASPECT_ENTITY else None
        if (
            other is not None
            and (ent.confidence or 0.0) >= _ALSO_ASKED
            and other not in (topic, Topic.OVERVIEW)
            and other not in found
        ):
            found.append(other)
    return tuple(found)


def asks_about_a_procedure(parse: Parse) -> bool:
    """The message names a procedure (an alias mention, or a link the NLU kept) or clearly asks a part of
    one: a question, whatever flow the conversation waits in."""
    return (
        parse.entity("procedure") is not None
        or parse.procedure is not None
        or asked_intent(parse) is not None
    )


def is_more_request(text: str) -> bool:
    """True when the message asks for the rest of a list: "xem thêm", "tiếp", "còn nữa không"."""
    words = [_NO_WORDS.get(w, w) for w in fold(text.lower()).translate(str.maketrans("?.!,", "    ")).split()]
    while len(words) > 1 and words[-1] in _PARTICLES:
        words.pop()
    return " ".join(words) in MORE_WORDS


# fmt: off
_NAME_FILLERS = frozenset({
    "thu", "tuc", "doi", "voi", "cua", "cho", "va", "cac", "nhung", "trong", "tai", "ve", "theo", "de", "la",
    "co", "duoc", "thuc", "hien",
})
# fmt: on
"""Folded words of procedure names that tell no two procedures apart (on their own; pairs still count)."""
_RANKED = frozenset({"loai", "hang", "cap", "nhom", "do"})
_ROMAN = {"1": "i", "2": "ii", "3": "iii", "4": "iv", "5": "v", "6": "vi"}
_WORD_RE = re.compile(r"[^\W_]+")


def _name_features(words: Sequence[str]) -> set[str]:
    """Words (but the fillers) and adjacent pairs: pairs tell "trường hợp phải" from "trường hợp không
    phải"."""
    return {w for w in words if w not in _NAME_FILLERS} | {
        f"{a} {b}" for a, b in zip(words, words[1:], strict=False)
    }


def _folded_words(text: str) -> list[str]:
    return [fold_iy(w) for w in _WORD_RE.findall(text.lower())]


def _without_thu_tuc(words: list[str]) -> list[str]:
    """A name's words without its leading "Thủ tục" (most names of the catalogue start with it; no
    citizen says it, so its pairs would only lower the coverage of the name)."""
    return words[2:] if words[:2] == ["thu", "tuc"] and len(words) > 2 else words


def dominant_candidate(text: str, candidates: Sequence[Candidate], coverage: float) -> Candidate | None:
    """The one close candidate the message names and the others do not, if there is one.

    A candidate dominates when the message holds every word (and pair of words) of its name that the
    other candidates' names do not share, at least ``coverage`` of all its name's words and pairs, and
    each other candidate has a word or pair of its own that the message lacks: "cảng cá loại 3" names
    "loại III" and not "loại I, loại II" (a number after "loại", "hạng", "cấp" also reads as a Roman
    numeral); "trường hợp không phải đánh giá rủi ro" names that case and not "phải đánh giá". Names
    that differ in words the message does not use (province or central level) leave the choice open.
    ``coverage`` 0 turns this off.
    """
    if coverage <= 0 or len(candidates) < 2:
        return None
    words = _folded_words(text)
    romans = [
        _ROMAN.get(w, w) if prev in _RANKED else w for prev, w in zip(["", *words], words, strict=False)
    ]
    said = _name_features(words) | _name_features(romans)
    names = [_name_features(_without_thu_tuc(_folded_words(c.name))) for c in candidates]
    if not all(names):
        return None
    shared = set.intersection(*names)
    found = [
        cand
        for i, (cand, name) in enumerate(zip(candidates, names, strict=True))
        if (name - shared) <= said
        and len(name & said) >= coverage * len(name)
        and all((other - shared) - said for j, other in enumerate(names) if j != i)
    ]
    return found[0] if len(found) == 1 else None


_NUMBER_WORDS = {"mot": "i", "hai": "ii", "ba": "iii", "bon": "iv", "tu": "iv", "nam": "v", "sau": "vi"}
_ROMAN_RE = re.compile(r"^[ivx]+$")


def _name_numbers(name: str) -> set[str]:
    """The numbers a procedure's name carries, as Roman numerals ("loại I, loại II" -> {"i", "ii"})."""
    return {_ROMAN.get(w, w) for w in _folded_words(name) if w.isdigit() or _ROMAN_RE.match(w)}


def numbers_apart(candidates: Sequence[Candidate]) -> bool:
    """True when the candidates' names differ only in numbers ("loại III" / "loại I, loại II"): each
    differs from the first only in numbers (the semantic ranker's own test,
    :func:`nlu.semantic.numerals_only_apart`)."""
    if len(candidates) < 2:
        return False
    first, *others = candidates
    return all(numerals_only_apart(first.name, c.name) for c in others)


def numbers_said(text: str) -> set[str]:
    """The numbers a message carries, as Roman numerals: digits anywhere ("loại 1"), and a Roman numeral
    or a number word after "loại", "hạng", "cấp" ("loại I", "loại một")."""
    words = _folded_words(text)
    said: set[str] = set()
    for prev, word in zip(["", *words], words, strict=False):
        if word.isdigit():
            said.add(_ROMAN.get(word, word))
        elif prev in _RANKED and (_ROMAN_RE.match(word) or word in _NUMBER_WORDS):
            said.add(_NUMBER_WORDS.get(word, word))
    return said


def kept_variants(state: ConversationState) -> tuple[Candidate, ...]:
    """The close candidates an answer given alike offered under it (its ``/choose`` buttons, the
    procedure answered among them); empty otherwise."""
    picks = [(b.title, parse_payload(b.payload)) for b in state.choices]
    codes = [
        (title, p[1]["procedure"])
        for title, p in picks
        if p is not None and p[0] == Intent.CHOOSE and p[1].get("procedure")
    ]
    if len(codes) < 2 or state.procedure not in {code for _, code in codes}:
        return ()
    return tuple(Candidate(code, title, 1.0) for title, code in codes)


_LEVEL_RE = re.compile(
    r"\s*\((?:thuc hien )?(?:tai |o )?cap (xa|huyen|tinh|tinh thanh pho|trung uong|tw|bo)\b[^()]*\)\s*$"
)
_LEVEL_ORDER = {"xa": 0, "huyen": 1, "tinh": 2, "tinh thanh pho": 2, "trung uong": 3, "tw": 3, "bo": 3}
"""The levels a procedure of the catalogue is published at ("… (thực hiện tại cấp tỉnh)", "(cấp TW)"),
nearest to the citizen first."""


def level_variant(candidates: Sequence[Candidate]) -> Candidate | None:
    """When the close candidates are one procedure published at several levels (the same name, the level
    in brackets: passports at province and central level, identity cards, visas), the variant nearest
    to the citizen (commune, district, province, then central); None otherwise. The levels share the
    papers, the fee and the time; where to go is what differs, so :meth:`Policy._question` still asks
    when that is the part asked."""
    if len(candidates) < 2:
        return None
    bases: set[str] = set()
    ranked: list[tuple[int, int, Candidate]] = []
    for i, cand in enumerate(candidates):
        name = fold(cand.name.lower()).strip()
        found = _LEVEL_RE.search(name)
        if found is None:
            return None
        bases.add(" ".join(_WORD_RE.findall(name[: found.start()])))
        ranked.append((_LEVEL_ORDER[found.group(1)], i, cand))
    if len(bases) != 1 or len({level for level, _, _ in ranked}) != len(ranked):
        return None
    return min(ranked, key=lambda t: (t[0], t[1]))[2]


_LIFECYCLE = tuple(
    tuple(phrase.split())
    for phrase in (
        "dieu chinh",
        "gia han",
        "cap lai",
        "cap doi",
        "sua doi",
        "bo sung",
        "thu hoi",
        "di doi",
        "dinh chinh",
        "thay doi",
        "chuyen doi",
        "huy bo",
        "cham dut",
        "tam ngung",
        "khoi phuc",
        "dang ky lai",
        "xac nhan lai",
        "cai chinh",
        "sua chua",
        "cai tao",
    )
)
"""What turns a procedure into a later step of another ("cấp lại", "gia hạn", "điều chỉnh" …): a citizen who
means one of them says it."""


_CHANGE_HINTS = frozenset(
    {"chuyen", "doi", "sua", "thay", "them", "mat", "hong", "het", "lai", "rach", "sai", "tach", "gop"}
)
"""Words of a citizen asking about a later step without its name ("chuyển địa chỉ", "bị mất", "hết hạn",
"làm lại"): the first issue is then not assumed."""


def _phrases(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {p for p in _LIFECYCLE if any(tuple(words[i : i + len(p)]) == p for i in range(len(words)))}


def lifecycle_variant(text: str, candidates: Sequence[Candidate]) -> Candidate | None:
    """When the close candidates are one procedure and its later steps ("Cấp giấy phép xây dựng mới" /
    "Cấp điều chỉnh …" / "Gia hạn …" / "Cấp lại …"), the one the message asks for: the step it names
    ("gia hạn giấy phép xây dựng"), or the first issue when it names none and has no word of a change
    (:data:`_CHANGE_HINTS`); None when that leaves more or fewer than one."""
    if len(candidates) < 2:
        return None
    words = [fold_iy(w) for w in _WORD_RE.findall(fold(text.lower()))]
    asked = _phrases(words)
    steps = [_phrases([fold_iy(w) for w in _WORD_RE.findall(fold(c.name.lower()))]) for c in candidates]
    if not any(steps) or (not asked and _CHANGE_HINTS.intersection(words)):
        return None
    kept = [c for c, own in zip(candidates, steps, strict=True) if own <= asked and (own or not asked)]
    return kept[0] if len(kept) == 1 else None


def top_sibling(candidates: Sequence[Candidate], overlap: float) -> Candidate | None:
    """The best of close candidates that are variants of one procedure (every other name shares more than
    ``overlap`` of its word pairs with the best one's, Jaccard on folded pairs, and names no other step):
    "Công bố mở cảng cá loại III" / "… loại I, loại II", the levels of a passport; not "Đăng ký tạm trú" /
    "Đăng ký thường trú", "… khai sinh" / "… khai tử", "Cấp …" / "Cấp lại …", "Đăng ký …" / "Xóa đăng ký …".
    None when the best is tied or a candidate is another procedure."""
    if len(candidates) < 2:
        return None
    top, *others = candidates
    if any(c.score >= top.score - 1e-9 for c in others):
        return None
    own = _name_pairs(top.name)
    for cand in others:
        pairs = _name_pairs(cand.name)
        # more than ``overlap`` of the pairs shared: "Đăng ký khai sinh" / "Đăng ký khai tử" share half
        if not own or len(own & pairs) <= overlap * len(own | pairs):
            return None
        top_words, cand_words = _folded_words(top.name), _folded_words(cand.name)
        if _phrases(top_words) != _phrases(cand_words) or ("xoa" in top_words) != ("xoa" in cand_words):
            return None  # a step of the other ("cấp lại", "thu hồi", "xóa" …): another procedure
    return top


def _name_pairs(name: str) -> set[tuple[str, str]]:
    """A name's adjacent folded word pairs, its leading "Thủ tục" left out."""
    words = _without_thu_tuc(_folded_words(name))
    return set(zip(words, words[1:], strict=False))


class AnswerComparer(Protocol):
    """Tells whether close candidates give the same answer to a part (the knowledge base read through
    the answers themselves: :class:`actions.procedure.variants.RenderedAnswers`)."""

    def same_answer(self, topic: str, codes: Sequence[str], text: str = "", case: str | None = None) -> bool:
        """True when every procedure of ``codes`` answers ``topic`` alike for this message and case."""
        ...


@dataclass(frozen=True)
class Decision:
    """What to do with one message.

    Attributes:
        actions: names of the actions to run, in order.
        events: applied to the state before the actions run (so their tracker sees them).
        args: what the actions get besides the state and the parse (candidates, reason, FAQ entry ...).
        rule: which rule decided, for logs and tests.
    """

    actions: tuple[ActionName, ...]
    events: tuple[Event, ...] = ()
    args: ActionArgs = field(default_factory=ActionArgs)
    rule: str = ""


@dataclass(frozen=True)
class ProcedureResolution:
    """Which procedure a message names.

    Attributes:
        code: the procedure meant, when clear (None: none named, or ambiguous).
        candidates: the close candidates when ambiguous (two or more), else empty.
    """

    code: str | None = None
    candidates: tuple[Candidate, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


class Policy:
    """Decides the next action(s); pure: no I/O, same input, same decision.

    Args:
        config: thresholds and limits.
        faq: the FAQ entries to answer from; None answers no FAQ.
        answers: compares the answers of close candidates (:attr:`PolicyConfig.answer_alike_variants`);
            None: close candidates are always a choice (but the rules of names and levels).
    """

    answer_level_variants = True
    """One procedure at several levels is answered for the nearest level (:func:`level_variant`), but
    where to go; False asks which (for measuring what the rule adds)."""
    answer_lifecycle_variants = False
    """True: a procedure and its later steps are answered for the step named, or the first issue when none
    is (:func:`lifecycle_variant`). Off: measured on the answer sets it adds 1.5 / 1.4 points of right
    first turn (blind dev / blind sealed) but 0 / 2.2 points of wrong answers and 2.7 on real dev, where the
    choices it replaces held no right procedure (benchmarks/README.md, issue 10)."""

    def __init__(
        self,
        config: PolicyConfig | None = None,
        faq: FaqMatcher | None = None,
        answers: AnswerComparer | None = None,
    ) -> None:
        self.config = config or PolicyConfig()
        self.faq = faq
        self.answers = answers

    # --- procedure linking ----------------------------------------------------------------------

    def resolve_procedure(self, parse: Parse, state: ConversationState) -> ProcedureResolution:
        """The procedure named in the message: clear, ambiguous, or none.

        Only a message whose parse has a ``procedure`` names one; the ranking then tells whether others
        are close. If the procedure already chosen is among close candidates, it is kept (the choice is
        remembered).
        """
        top = parse.procedure
        if top is None:
            return ProcedureResolution()
        close: dict[str, Candidate] = {top.code: top}
        for cand in parse.procedure_ranking:
            near = (
                top.score - cand.score <= self.config.ambiguity_margin + 1e-9
            )  # float noise: 0.74 - 0.72 > 0.02
            if (
                cand.code
                and cand.code not in close
                and cand.score >= self.config.min_candidate_score
                and near
            ):
                close[cand.code] = cand
        if len(close) == 1:
            return ProcedureResolution(code=top.code)
        if state.procedure in close:
            return ProcedureResolution(code=state.procedure)
        shown = tuple(list(close.values())[: self.config.max_choices])
        dominant = dominant_candidate(parse.text, shown, self.config.dominant_coverage)
        if dominant is not None:
            return ProcedureResolution(code=dominant.code)
        return ProcedureResolution(candidates=shown)

    def fallback_candidates(self, parse: Parse) -> tuple[Candidate, ...]:
        """Closest procedures to offer when the message was not understood."""
        ranking = [c for c in parse.procedure_ranking if c.score >= self.config.min_candidate_score]
        top = parse.procedure
        if top is not None and all(c.code != top.code for c in ranking):
            ranking.insert(0, top)
        return tuple(ranking[: self.config.max_choices])

    # --- decisions --------------------------------------------------------------------------------

    @staticmethod
    def _settle(state: ConversationState, keep_pending: bool = False) -> list[Event]:
        """Events leaving a waiting mode (and forgetting the pending question) when a turn moves on."""
        events: list[Event] = []
        if state.mode in _WAITING_MODES:
            events.append(ModeChanged(Mode.ANSWERING))
        if state.pending_intent and not keep_pending:
            events.append(SlotSet("pending_intent", None))
        return events

    @staticmethod
    def _case(parse: Parse, state: ConversationState, code: str | None) -> list[Event]:
        """Remember the words of a message naming a procedure as the citizen's case; a case already
        remembered for the same procedure (such as a group picked from buttons) is kept."""
        words = case_words(parse.text)
        if not words or words == state.case:
            return []
        if code is not None and code == state.procedure and state.case is not None:
            return []
        return [SlotSet("case", words)]

    def _answer(
        self,
        topic: str,
        code: str,
        state: ConversationState,
        rule: str,
        parse: Parse | None = None,
        args: ActionArgs | None = None,
    ) -> Decision:
        events = self._settle(state)
        if parse is not None:
            events = self._case(parse, state, code) + events
        if code != state.procedure:
            events.insert(0, SlotSet("procedure", code))
        return Decision((action_name(topic),), tuple(events), args or ActionArgs(), rule=rule)

    def _also_asked(self, parse: Parse, topic: str) -> tuple[str, ...]:
        """The other parts the message asks, to answer in the same reply
        (:attr:`PolicyConfig.answer_every_part`)."""
        if not self.config.answer_every_part:
            return ()
        return other_parts_asked(parse, topic)[: self.config.max_parts - 1]

    def _answer_asked(
        self,
        topic: str,
        code: str,
        state: ConversationState,
        rule: str,
        parse: Parse,
        named: bool,
        variants: tuple[Candidate, ...] = (),
    ) -> Decision:
        """Answer ``topic`` and, in the same reply, the other parts the message asks; ``variants``: the
        close candidates it answers alike (named in one line)."""
        also = self._also_asked(parse, topic)
        args = ActionArgs(topics=also, variants=variants) if also or variants else None
        return self._answer(topic, code, state, rule, parse if named else None, args)

    def _answer_offering(
        self,
        topic: str,
        chosen: Candidate,
        candidates: Sequence[Candidate],
        state: ConversationState,
        rule: str,
        parse: Parse,
    ) -> Decision:
        """Answer ``topic`` for ``chosen`` and offer the other ``candidates`` under the answer ("Nếu bạn
        hỏi thủ tục khác, chọn ở đây"; their buttons carry the part asked, so a press answers it)."""
        decision = self._answer_asked(topic, chosen.code, state, rule, parse, named=True)
        others = tuple(c for c in candidates if c.code != chosen.code)[: self.config.max_choices - 1]
        if not others:
            return decision
        args = ActionArgs(topics=decision.args.topics, candidates=others)
        return Decision(decision.actions, decision.events, args, rule=rule)

    def _alike(
        self, topic: str | None, parse: Parse, state: ConversationState, candidates: tuple[Candidate, ...]
    ) -> Decision | None:
        """Close candidates that give the same answer to every part asked: that answer (for the level
        nearest to the citizen, else the best candidate), naming the variants; None when they differ,
        no part of :attr:`PolicyConfig.alike_topics` is asked, the link is weak or the rule is off
        (:attr:`PolicyConfig.answer_alike_variants`)."""
        config = self.config
        if (
            topic is None
            or self.answers is None
            or not config.answer_alike_variants
            or topic not in config.alike_topics
            or candidates[0].score < config.answer_min_score
        ):
            return None
        said = numbers_said(parse.text)
        if said and numbers_apart(candidates):
            # "loại 1" among "loại III" / "loại I, loại II": the one carrying the number, or the choice.
            carrying = [c for c in candidates if said & _name_numbers(c.name)]
            if len(carrying) != 1:
                return None
            return self._answer_asked(topic, carrying[0].code, state, "numbered", parse, named=True)
        codes = [c.code for c in candidates]
        case = case_words(parse.text) or state.case
        for part in (topic, *self._also_asked(parse, topic)):
            if not self.answers.same_answer(part, codes, parse.text, case):
                return None
        kept = [c for c in candidates if c.code == state.procedure]  # compared again after such an answer
        chosen = level_variant(candidates) or (kept or candidates)[0]
        return self._answer_asked(topic, chosen.code, state, "alike", parse, named=True, variants=candidates)

    def _typed_case(self, intent: str, parse: Parse, state: ConversationState) -> Decision | None:
        """The citizen typed their case ("nhà ở riêng lẻ") instead of pressing one of the case buttons."""
        if intent not in _CASE_INTENTS:
            return None
        named = parse.procedure.code if parse.procedure else None
        if named and named != state.procedure and parse.entity("procedure") is not None:
            return None  # "cấp lại giấy phép nhà ở riêng lẻ" names another procedure: not a case reply
        offered = [(b.title, parse_payload(b.payload)) for b in state.choices]
        cases = [(title, p[1]) for title, p in offered if p is not None and p[0] == Intent.CHOOSE_GROUP]
        index = match_group(parse.text, [title for title, _ in cases])
        if index is None:
            return None
        entities = cases[index][1]
        code = entities.get("procedure") or state.procedure
        if not code:
            return None
        return self._answer(
            Topic.DOCUMENTS, code, state, "case_typed", args=ActionArgs(group=entities.get("group"))
        )

    def _fallback(
        self,
        parse: Parse,
        state: ConversationState,
        candidates: tuple[Candidate, ...] | None = None,
        rule: str = "fallback_clarify",
        asked: str | None = None,
    ) -> Decision:
        """Clarify with the closest candidates (the second miss in a row offers an officer). The part the
        message asks (``asked``, else the one its asking clause names) is remembered, so a candidate picked
        from the buttons answers it."""
        events = self._settle(state, keep_pending=True)
        if state.fallback_streak + 1 >= self.config.officer_after_misses:
            return Decision((ActionName.OFFER_OFFICER,), tuple(events), rule="fallback_officer")
        asked = asked or asked_intent(parse)
        offered = self.fallback_candidates(parse) if candidates is None else candidates
        floor = self.config.unsure_answer_score
        if (
            self.config.answer_unsure_link
            and asked is not None
            and offered
            and offered[0].score >= floor
            and parse.entity("domain") in (None, "procedure")  # nlu/domain.py: not about no / another one
        ):
            # An unsure link with a clear part asked: answer it for the best candidate, the others below.
            topic = TOPIC_BY_INTENT[asked]
            return self._answer_offering(topic, offered[0], offered, state, "unsure_answered", parse)
        if asked is not None and asked != state.pending_intent:
            events.append(SlotSet("pending_intent", asked))
        return Decision((ActionName.CLARIFY,), tuple(events), ActionArgs(candidates=offered), rule=rule)

    def _strong_candidates(self, parse: Parse) -> tuple[Candidate, ...]:
        """Candidates at least :attr:`PolicyConfig.out_of_scope_candidate_score` (best first)."""
        floor = self.config.out_of_scope_candidate_score
        return tuple(c for c in self.fallback_candidates(parse) if c.score >= floor)

    @staticmethod
    def _question_instead(parse: Parse, state: ConversationState) -> bool:
        """While a dossier code (or its verification digits) is awaited, a message that asks about a
        procedure is a question: it is answered and the dossier dialogue ends (the code can be sent again
        later)."""
        return state.mode in (Mode.AWAITING_DOSSIER_CODE, Mode.AWAITING_VERIFICATION) and (
            parse.entity("dossier_code") is None and asks_about_a_procedure(parse)
        )

    def decide(self, parse: Parse, state: ConversationState) -> Decision:
        """The action(s) for this message in this state.

        Args:
            parse: the typed parse (from the NLU, or built from a button payload).
            state: the conversation state before this message.
        """
        intent = parse.intent_name

        if intent == Intent.MORE or is_more_request(parse.text):
            return Decision((ActionName.MORE,), rule="more")

        if intent == Intent.CHOOSE_GROUP:
            code = parse.entity("procedure") or state.procedure
            if not code:
                return self._fallback(parse, state)
            return self._answer(
                Topic.DOCUMENTS, code, state, "choose_group", args=ActionArgs(group=parse.entity("group"))
            )

        typed_case = self._typed_case(intent, parse, state)
        if typed_case is not None:
            return typed_case

        if intent == Intent.PROCEDURE_NOTES:
            code = parse.entity("procedure") or state.procedure
            if not code:
                return self._fallback(parse, state)
            return self._answer(Topic.NOTES, code, state, "procedure_notes")

        if intent == Intent.CHOOSE:
            code = parse.entity("procedure")
            if not code:
                return self._fallback(parse, state)
            part = parse.entity(ASPECT_ENTITY) or state.pending_intent or ""  # the button's part first
            return self._answer(TOPIC_BY_INTENT.get(part, Topic.OVERVIEW), code, state, rule="choose")

        if expects_dossier_reply(state.mode, parse) and not self._question_instead(parse, state):
            # The code or verification digits asked for while awaiting them (the NLU's intent for "5678"
            # means nothing); other questions leave the dossier dialogue below.
            return Decision((ActionName.DOSSIER_STATUS,), rule="dossier_reply")

        if intent == Intent.REQUEST_HUMAN:
            return Decision(
                (ActionName.ESCALATE,),
                tuple(self._settle(state)),
                ActionArgs(reason=TicketReason.REQUEST_HUMAN),
                rule="escalate",
            )

        if intent in DOSSIER_INTENTS:  # check_dossier_status, or the subscribe_dossier button
            return Decision((ActionName.DOSSIER_STATUS,), tuple(self._settle(state)), rule="dossier")

        if state.last_action == ActionName.OFFER_OFFICER and intent in (Intent.AFFIRM, Intent.DENY):
            if intent == Intent.AFFIRM:
                return Decision(
                    (ActionName.ESCALATE,),
                    (),
                    ActionArgs(reason=TicketReason.REPEATED_FALLBACK),
                    rule="officer_accepted",
                )
            return Decision((ActionName.REPHRASE,), (), rule="officer_declined")

        faq = self._faq(intent, parse, state)
        if faq is not None:
            return faq

        if intent == Intent.GIVE_FEEDBACK and state.last_action == ActionName.FEEDBACK:
            # Waiting for a rating, the citizen asks something: answer it (the rating can come later).
            asked = asked_intent(parse)
            if asked is not None and parse.entity("rating") is None:
                return self._question(asked, parse, state)

        if intent in TOPIC_BY_INTENT or (intent == Intent.NLU_FALLBACK and state.pending_intent):
            return self._question(intent, parse, state)

        if intent in SMALLTALK_ACTIONS:
            return Decision((SMALLTALK_ACTIONS[intent],), tuple(self._settle(state)), rule="smalltalk")

        if intent == Intent.OUT_OF_SCOPE:
            # Counted as a miss (the action says so): asking twice for what the bot cannot answer is a
            # reason to offer an officer.
            strong = self._strong_candidates(parse)
            if strong and state.fallback_streak + 1 < self.config.officer_after_misses:
                # Not the bare "I only answer procedures" while a procedure was clearly found: offer it.
                return self._fallback(parse, state, strong, rule="out_of_scope_candidates")
            events = tuple(self._settle(state))
            if state.fallback_streak + 1 >= self.config.officer_after_misses:
                return Decision((ActionName.OFFER_OFFICER,), events, rule="out_of_scope_officer")
            return Decision((ActionName.OUT_OF_SCOPE,), events, rule="out_of_scope")

        return self._fallback(parse, state)

    def _faq(self, intent: str, parse: Parse, state: ConversationState) -> Decision | None:
        """Answer from the FAQ when the message is one of its questions and not a question about a
        procedure the NLU linked ("đăng ký kết hôn cần giấy tờ gì" is answered from the procedure) or
        about the part of the procedure discussed."""
        if self.faq is None or (intent in TOPIC_BY_INTENT and parse.procedure is not None):
            return None
        if intent in TOPIC_BY_INTENT and state.procedure is not None:
            return None  # a part asked of the procedure discussed: "lệ phí nộp online là bao nhiêu" after
            # a question about the passport is the passport's fee, not the FAQ on paying online
        found = self.faq.match(parse.text, self.config.faq_threshold)
        if found is None:
            return None
        entry, score = found
        args = ActionArgs(faq=entry, faq_score=score)
        return Decision((ActionName.FAQ_ANSWER,), tuple(self._settle(state)), args, rule="faq")

    def _lifecycle_step(self, parse: Parse, candidates: Sequence[Candidate]) -> Candidate | None:
        """The step of a procedure the message asks for (:func:`lifecycle_variant`): always with
        :attr:`answer_lifecycle_variants`, else only when it is the best candidate, strictly above the
        others and strong enough (:attr:`PolicyConfig.answer_top_step`): "giấy phép xây dựng nhà ở cần
        giấy tờ gì" is the new permit, ranked first."""
        if not (self.answer_lifecycle_variants or self.config.answer_top_step):
            return None
        step = lifecycle_variant(parse.text, candidates)
        if step is None or self.answer_lifecycle_variants:
            return step
        top, *others = candidates
        strict = all(top.score > c.score + 1e-9 for c in others)
        if step.code == top.code and strict and top.score >= self.config.answer_min_score:
            return step
        return None

    def _question(self, intent: str, parse: Parse, state: ConversationState) -> Decision:
        """A question about a procedure (or a reply naming the procedure of a pending question)."""
        resolution = self.resolve_procedure(parse, state)
        if (
            (resolution.ambiguous or resolution.code not in (None, state.procedure))
            and state.procedure
            and parse.entity("procedure") is None
            and parse.procedure is not None
            and parse.procedure.score < self.config.answer_min_score
        ):
            # "phải nộp những khoản tiền nào" about the land being discussed: candidates below an
            # answer's score that no alias in the message names (two common words of some names) do not
            # override the procedure being discussed; "mở quán karaoke …" strongly found does.
            resolution = ProcedureResolution()
        if not resolution.ambiguous and resolution.code is None:
            # After an answer given alike for close candidates, a question about another part is
            # compared again for them: none was chosen.
            kept = kept_variants(state)
            if kept:
                resolution = ProcedureResolution(candidates=kept)
        asked = (
            TOPIC_BY_INTENT.get(state.pending_intent or "")
            if intent == Intent.NLU_FALLBACK
            else TOPIC_BY_INTENT.get(intent)
        )
        if resolution.ambiguous:
            alike = self._alike(asked, parse, state, resolution.candidates)
            if alike is not None:
                return alike
        if resolution.ambiguous and self.answer_level_variants:
            variant = level_variant(resolution.candidates)
            if variant is not None and asked not in (Topic.WHERE, None):
                if self.config.offer_other_levels:
                    rule = "level_variant"
                    return self._answer_offering(asked, variant, resolution.candidates, state, rule, parse)
                resolution = ProcedureResolution(code=variant.code)
        if resolution.ambiguous:
            step = self._lifecycle_step(parse, resolution.candidates)
            if step is not None:
                resolution = ProcedureResolution(code=step.code)
        if resolution.ambiguous and self.config.answer_top_sibling and asked is not None:
            top = top_sibling(resolution.candidates, self.config.sibling_overlap)
            if top is not None and top.score >= self.config.answer_min_score:
                return self._answer_offering(asked, top, resolution.candidates, state, "top_sibling", parse)
        if resolution.ambiguous:
            return Decision(
                (ActionName.CHOOSE_PROCEDURE,),
                tuple(self._case(parse, state, None) + self._settle(state, keep_pending=True)),
                ActionArgs(candidates=resolution.candidates),
                rule="ambiguous",
            )
        if intent == Intent.NLU_FALLBACK:
            # A pending question, and the reply was not understood: only a clearly named procedure helps.
            if resolution.code is None:
                return self._fallback(parse, state)
            topic = TOPIC_BY_INTENT.get(state.pending_intent or "", Topic.OVERVIEW)
            return self._answer(topic, resolution.code, state, "pending_answered", parse)
        topic = TOPIC_BY_INTENT[intent]
        pending = TOPIC_BY_INTENT.get(state.pending_intent or "")
        if intent == Intent.ASK_PROCEDURE_OVERVIEW and pending is not None and resolution.code:
            # "Bạn hỏi về thủ tục nào?" -> "đăng ký kết hôn": answer the question asked before.
            return self._answer(pending, resolution.code, state, "pending_answered", parse)
        code = resolution.code or state.procedure
        if code is None and self.config.offer_unlinked_candidates:
            offered = self.fallback_candidates(parse)
            if offered:
                # The part is clear, the procedure is not: the closest ones, not a bare question.
                # "bạn hỏi thủ tục nào?" answered with an unsure name: the part asked before stays asked
                part = state.pending_intent if intent == Intent.ASK_PROCEDURE_OVERVIEW else None
                return self._fallback(
                    parse, state, offered, rule="ask_procedure_candidates", asked=part or intent
                )
        if code is None:
            return Decision(
                (ActionName.ASK_PROCEDURE,),
                tuple(self._settle(state, keep_pending=True)),
                rule="ask_procedure",
            )
        if resolution.code is None:
            return self._answer_asked(topic, code, state, "carried_over", parse, named=False)
        return self._answer_asked(topic, code, state, "named", parse, named=True)
