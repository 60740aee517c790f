"""A policy that answers (issue 10, item 4): questions while a flow waits, the part asked remembered
through a clarification, out of scope with a procedure found, one candidate the message names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from actions.procedure.actions import ProcedureAnswerAction
from bot.core.config import PolicyConfig
from bot.core.events import ModeChanged, SlotSet
from bot.core.messages import Button
from bot.core.parse import Candidate, Entity
from bot.core.sdk import ActionArgs
from bot.core.state import ConversationState, Mode
from bot.engine.policy import (
    Policy,
    asked_intent,
    asks_about_a_procedure,
    dominant_candidate,
    other_parts_asked,
)
from tests import factories as f

KEY = f.key()
RATING_BUTTONS = tuple(Button(str(n), f'/give_feedback{{"rating":"{n}"}}') for n in range(1, 6))


def state(**fields) -> ConversationState:
    return ConversationState(key=KEY, **fields)


@pytest.fixture
def policy() -> Policy:
    return Policy()


# ------------------------------------------------------------------------------------- the part asked


def test_the_part_asked_is_read_from_the_clearest_aspect_entity() -> None:
    assert asked_intent(f.parse("nlu_fallback", entities={"aspect": "ask_fee"})) == "ask_fee"
    assert asked_intent(f.parse("nlu_fallback")) is None
    assert asked_intent(f.parse("nlu_fallback", entities={"aspect": "greet"})) is None


def test_a_message_asks_about_a_procedure_when_it_names_one_or_asks_a_part() -> None:
    assert asks_about_a_procedure(f.parse("nlu_fallback", procedure=(f.MARRIAGE, 0.9)))
    assert asks_about_a_procedure(f.parse("nlu_fallback", entities={"procedure": "kết hôn"}))
    assert asks_about_a_procedure(f.parse("nlu_fallback", entities={"aspect": "ask_where"}))
    assert not asks_about_a_procedure(f.parse("nlu_fallback", text="5678"))


# ----------------------------------------------------------------------------- a flow waits, a question


def test_a_question_while_a_dossier_code_is_awaited_is_answered(policy: Policy) -> None:
    parse = f.parse(
        "ask_documents", text="đăng ký kết hôn cần giấy tờ gì", procedure=(f.MARRIAGE, 0.9), confidence=0.2
    )
    d = policy.decide(parse, state(mode=Mode.AWAITING_DOSSIER_CODE))
    assert d.actions == ("action_documents",)
    assert ModeChanged(Mode.ANSWERING) in d.events


def test_a_message_not_understood_but_naming_a_procedure_leaves_the_dossier_dialogue(policy: Policy) -> None:
    parse = f.parse("nlu_fallback", text="còn kết hôn thì sao", procedure=(f.MARRIAGE, 0.9))
    d = policy.decide(parse, state(mode=Mode.AWAITING_DOSSIER_CODE))
    assert d.actions != ("action_dossier_status",)
    assert ModeChanged(Mode.ANSWERING) in d.events


@pytest.mark.parametrize("text", ["H12.22-250315-0001", "mã của tôi là 000.00.24.H12-250301-0007"])
def test_the_code_awaited_is_still_the_dossier_reply(policy: Policy, text: str) -> None:
    parse = f.parse("nlu_fallback", text=text, entities={"dossier_code": text.split()[-1]})
    assert policy.decide(parse, state(mode=Mode.AWAITING_DOSSIER_CODE)).rule == "dossier_reply"


def test_a_question_read_as_feedback_while_the_rating_is_awaited_is_answered(policy: Policy) -> None:
    waiting = state(last_action="action_feedback", choices=RATING_BUTTONS, procedure=f.MARRIAGE)
    parse = f.parse("give_feedback", text="thế lệ phí bao nhiêu", entities={"aspect": "ask_fee"})
    d = policy.decide(parse, waiting)
    assert (d.actions, d.rule) == (("action_fee",), "carried_over")


def test_feedback_while_the_rating_is_awaited_is_still_feedback(policy: Policy) -> None:
    waiting = state(last_action="action_feedback", choices=RATING_BUTTONS)
    assert policy.decide(f.parse("give_feedback", text="bot tốt lắm"), waiting).actions == (
        "action_feedback",
    )
    rating = f.parse("give_feedback", text="5 điểm", entities={"rating": "5", "aspect": "ask_fee"})
    assert policy.decide(rating, waiting).actions == ("action_feedback",)


# ------------------------------------------------------------------- clarify, then answer the part asked


def test_a_clarification_remembers_the_part_asked(policy: Policy) -> None:
    parse = f.parse(
        "nlu_fallback",
        text="lệ phí cái giấy phép đó bao nhiêu",
        ranking=[(f.GPXD_NEW, 0.4), (f.GPXD_ADJUST, 0.38)],
        entities={"aspect": "ask_fee"},
    )
    d = policy.decide(parse, state())
    assert d.actions == ("action_clarify",)
    assert SlotSet("pending_intent", "ask_fee") in d.events
    picked = f.parse("choose", entities={"procedure": f.GPXD_NEW}, procedure=(f.GPXD_NEW, 1.0))
    after = policy.decide(picked, state(pending_intent="ask_fee", mode=Mode.AWAITING_CHOICE))
    assert after.actions == ("action_fee",)


def test_a_clarification_without_a_part_asked_keeps_what_was_pending(policy: Policy) -> None:
    d = policy.decide(f.parse("nlu_fallback", text="abc"), state(pending_intent="ask_where"))
    assert not any(isinstance(e, SlotSet) and e.name == "pending_intent" for e in d.events)


# ------------------------------------------------------------------- out of scope, a procedure was found


def test_out_of_scope_with_a_strong_candidate_offers_it(policy: Policy) -> None:
    parse = f.parse("out_of_scope", text="x", ranking=[(f.BIRTH, 0.85), (f.MARRIAGE, 0.3)])
    d = policy.decide(parse, state())
    assert (d.actions, d.rule) == (("action_clarify",), "out_of_scope_candidates")
    assert [c.code for c in d.args.candidates] == [f.BIRTH]


def test_out_of_scope_without_a_strong_candidate_says_what_the_bot_answers(policy: Policy) -> None:
    d = policy.decide(f.parse("out_of_scope", ranking=[(f.BIRTH, 0.4)]), state())
    assert d.actions == ("action_out_of_scope",)


def test_the_second_miss_out_of_scope_still_offers_an_officer(policy: Policy) -> None:
    parse = f.parse("out_of_scope", ranking=[(f.BIRTH, 0.85)])
    assert policy.decide(parse, state(fallback_streak=1)).actions == ("action_offer_officer",)


def test_the_candidate_threshold_is_configurable() -> None:
    strict = Policy(PolicyConfig(out_of_scope_candidate_score=0.9))
    parse = f.parse("out_of_scope", ranking=[(f.BIRTH, 0.85)])
    assert strict.decide(parse, state()).actions == ("action_out_of_scope",)


# ------------------------------------------------------------------------- one candidate named, answered

FISH = [
    Candidate("9.000001", "Cấp phép nhập khẩu cá sống đối với trường hợp phải đánh giá rủi ro", 0.8),
    Candidate("9.000002", "Cấp phép nhập khẩu cá sống đối với trường hợp không phải đánh giá rủi ro", 0.79),
]
PORTS = [
    Candidate("9.000003", "Công bố mở cảng cá loại III", 0.7),
    Candidate("9.000004", "Công bố mở cảng cá loại I, loại II", 0.69),
]
LEVELS = [
    Candidate("9.000005", "Cấp hộ chiếu phổ thông (thực hiện tại cấp tỉnh)", 0.79),
    Candidate("9.000006", "Cấp hộ chiếu phổ thông (thực hiện tại cấp trung ương)", 0.79),
]


@pytest.mark.parametrize(
    ("text", "candidates", "named"),
    [
        ("cấp phép nhập khẩu cá sống trường hợp không phải đánh giá rủi ro cần gì", FISH, "9.000002"),
        ("cấp phép nhập khẩu cá sống trường hợp phải đánh giá rủi ro cần gì", FISH, "9.000001"),
        ("cap phep nhap khau ca song truong hop khong phai danh gia rui ro", FISH, "9.000002"),
        ("thẩm quyền công bố mở cảng cá loại 3", PORTS, "9.000003"),
        # a name listing two ("loại I, loại II") is not named by one of them: the choice stays
        ("công bố mở cảng cá loại 1 ở đâu", PORTS, None),
        ("làm hộ chiếu cần gì", LEVELS, None),
        ("mở cảng cá", PORTS, None),
    ],
)
def test_the_candidate_the_message_names(text: str, candidates: list[Candidate], named: str | None) -> None:
    found = dominant_candidate(text, candidates, 0.8)
    assert (found.code if found else None) == named


def test_no_candidate_is_named_when_turned_off() -> None:
    text = "thẩm quyền công bố mở cảng cá loại 3"
    assert dominant_candidate(text, PORTS, 0.0) is None
    assert dominant_candidate(text, PORTS[:1], 0.8) is None


def test_the_named_candidate_is_answered_instead_of_a_choice() -> None:
    names = {c.code: c.name for c in PORTS}
    parse = f.parse(
        "ask_where",
        text="thẩm quyền công bố mở cảng cá loại 3",
        procedure=("9.000003", 0.7),
        ranking=[("9.000003", 0.7), ("9.000004", 0.69)],
        names=names,
    )
    assert Policy().decide(parse, state()).actions == ("action_where",)
    choosing = Policy(PolicyConfig(dominant_coverage=0)).decide(parse, state())
    assert choosing.actions == ("action_choose_procedure",)


# ------------------------------------------------------------------------------ every part, one reply


def test_every_part_the_message_asks_is_answered_in_one_reply(policy: Policy) -> None:
    parse = f.parse(
        "ask_where",
        text="đăng ký kết hôn làm ở đâu, cần mang những giấy tờ gì",
        procedure=(f.MARRIAGE, 0.96),
        entities={"aspect": "ask_where"},
    )
    parse = replace(
        parse,
        entities=(
            *parse.entities,
            Entity("aspect", "ask_documents", 30, 50, confidence=0.6),
            Entity("aspect", "ask_fee", 51, 55, confidence=0.3),  # a noun only: not asked
        ),
    )
    assert other_parts_asked(parse, "where") == ("documents",)
    d = policy.decide(parse, state())
    assert (d.actions, d.args.topics) == (("action_where",), ("documents",))
    alone = Policy(PolicyConfig(answer_every_part=False)).decide(parse, state())
    assert alone.args.topics == ()


async def test_the_answer_action_answers_the_other_parts_in_the_same_reply() -> None:
    action = ProcedureAnswerAction("fee", f.knowledge())
    on = f.tracker("ask_fee", procedure=f.MARRIAGE, args=ActionArgs(topics=("where",)))
    drafts, _ = await f.run_action(action, on)
    assert drafts[0].response == "utter_answer_many"
    single, _ = await f.run_action(action, f.tracker("ask_fee", procedure=f.MARRIAGE))
    assert single[0].response != "utter_answer_many"
