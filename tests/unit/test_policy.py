"""The policy: carry-over, ambiguity, two-band fallback, waiting modes, payload commands."""

from __future__ import annotations

import pytest

from bot.core.config import PolicyConfig
from bot.core.domain import TicketReason
from bot.core.events import ModeChanged, SlotSet
from bot.core.messages import Button
from bot.core.sdk import ActionArgs
from bot.core.state import Continuation, ConversationState, Mode
from bot.engine.policy import Policy, is_more_request
from tests import factories as f

KEY = f.key()
GPXD_AMBIGUOUS = [(f.GPXD_NEW, 0.74), (f.GPXD_ADJUST, 0.72), (f.GPXD_RENEW, 0.71), (f.GPXD_REISSUE, 0.70)]
HOUSE = "(1.7) Đối với công trình nhà ở riêng lẻ"
CASE_BUTTONS = tuple(
    Button(title, f'/choose_group{{"procedure":"{f.GPXD_NEW}","group":"{i}"}}')
    for i, title in enumerate(
        ["Công trình không theo tuyến", "Công trình tôn giáo", "Công trình nhà ở riêng lẻ"], 1
    )
)


def state(**fields) -> ConversationState:
    return ConversationState(key=KEY, **fields)


@pytest.fixture
def policy() -> Policy:
    return Policy()


def test_question_naming_a_procedure_sets_it_and_answers(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_documents", procedure=(f.MARRIAGE, 0.96)), state())
    assert d.actions == ("action_documents",)
    assert d.events == (SlotSet("procedure", f.MARRIAGE),)
    assert d.rule == "named"


def test_follow_up_without_procedure_carries_the_current_one_over(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_fee"), state(procedure=f.MARRIAGE))
    assert d.actions == ("action_fee",)
    assert d.events == ()
    assert d.rule == "carried_over"


def test_a_weak_link_no_word_names_does_not_override_the_procedure_discussed(policy: Policy) -> None:
    # "phải nộp những khoản tiền nào" about the marriage: linked to a procedure at 0.56 through two
    # common words, no alias of it in the message: the marriage's fee
    weak = f.parse("ask_fee", procedure=(f.BIRTH, 0.56))
    assert policy.decide(weak, state(procedure=f.MARRIAGE)).rule == "carried_over"
    # nothing discussed, a link at the answer's score, or the procedure's name in the message: that one
    assert policy.decide(weak, state()).rule == "named"
    strong = f.parse("ask_fee", procedure=(f.BIRTH, 0.6))
    assert policy.decide(strong, state(procedure=f.MARRIAGE)).rule == "named"
    said = f.parse("ask_fee", procedure=(f.BIRTH, 0.56), entities={"procedure": "khai sinh"})
    assert policy.decide(said, state(procedure=f.MARRIAGE)).rule == "named"


def test_naming_another_procedure_replaces_the_current_one(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_where", procedure=(f.BIRTH, 0.97)), state(procedure=f.MARRIAGE))
    assert d.events == (SlotSet("procedure", f.BIRTH),)


def test_question_without_any_procedure_asks_which(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_fee"), state())
    assert d.actions == ("action_ask_procedure",)


def test_question_with_only_unsure_candidates_offers_them_and_remembers_the_part(policy: Policy) -> None:
    # The linker found procedures but none surely (no procedure linked): not the bare "thủ tục nào?".
    weak = [(f.MARRIAGE, 0.42), (f.BIRTH, 0.35), (f.GPXD_NEW, 0.2)]
    d = policy.decide(f.parse("ask_where", ranking=weak), state())
    assert d.actions == ("action_clarify",)
    assert d.rule == "ask_procedure_candidates"
    # the permit scores below min_candidate_score: not offered
    assert [c.code for c in d.args.candidates] == [f.MARRIAGE, f.BIRTH]
    assert SlotSet("pending_intent", "ask_where") in d.events


def test_an_unsure_reply_to_which_procedure_keeps_the_part_asked_before(policy: Policy) -> None:
    # "lệ phí bao nhiêu?" -> "bạn hỏi thủ tục nào?" -> a name the linker is unsure of: the fee stays asked
    weak = [(f.MARRIAGE, 0.42), (f.BIRTH, 0.35)]
    d = policy.decide(f.parse("ask_procedure_overview", ranking=weak), state(pending_intent="ask_fee"))
    assert d.rule == "ask_procedure_candidates"
    assert not any(e == SlotSet("pending_intent", "ask_procedure_overview") for e in d.events)


def test_unsure_candidates_on_the_second_miss_offer_an_officer(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_where", ranking=[(f.MARRIAGE, 0.42)]), state(fallback_streak=1))
    assert d.actions == ("action_offer_officer",)


def test_unsure_candidates_can_be_left_to_the_bare_question() -> None:
    policy = Policy(PolicyConfig(offer_unlinked_candidates=False))
    d = policy.decide(f.parse("ask_where", ranking=[(f.MARRIAGE, 0.42)]), state())
    assert d.actions == ("action_ask_procedure",)


STEPS_ASKED = PolicyConfig(answer_top_step=False)
"""The permit family as a choice: with ``answer_top_step`` the new permit ranked first would be answered
(tests/unit/test_policy_alike.py)."""


def test_close_candidates_ask_with_choices() -> None:
    policy = Policy(STEPS_ASKED)
    d = policy.decide(f.parse("ask_documents", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS), state())
    assert d.actions == ("action_choose_procedure",)
    assert [c.code for c in d.args.candidates] == [
        f.GPXD_NEW,
        f.GPXD_ADJUST,
        f.GPXD_RENEW,
        f.GPXD_REISSUE,
    ]


def test_candidates_outside_the_margin_are_not_close() -> None:
    policy = Policy(PolicyConfig(ambiguity_margin=0.025))
    resolution = policy.resolve_procedure(
        f.parse("ask_fee", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS), state()
    )
    assert [c.code for c in resolution.candidates] == [f.GPXD_NEW, f.GPXD_ADJUST]


def test_choice_already_made_is_remembered_when_the_family_is_named_again(policy: Policy) -> None:
    d = policy.decide(
        f.parse("ask_fee", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS), state(procedure=f.GPXD_RENEW)
    )
    assert d.actions == ("action_fee",)
    assert d.events == ()


def test_choose_payload_answers_the_pending_question(policy: Policy) -> None:
    parse = f.parse("choose", entities={"procedure": f.GPXD_ADJUST}, procedure=(f.GPXD_ADJUST, 1.0))
    d = policy.decide(parse, state(mode=Mode.AWAITING_CHOICE, pending_intent="ask_documents"))
    assert d.actions == ("action_documents",)
    assert d.events == (
        SlotSet("procedure", f.GPXD_ADJUST),
        ModeChanged(Mode.ANSWERING),
        SlotSet("pending_intent", None),
    )


def test_choose_without_pending_question_gives_the_overview(policy: Policy) -> None:
    parse = f.parse("choose", entities={"procedure": f.BIRTH}, procedure=(f.BIRTH, 1.0))
    assert policy.decide(parse, state()).actions == ("action_overview",)


def test_naming_the_procedure_after_being_asked_answers_the_pending_question(policy: Policy) -> None:
    d = policy.decide(
        f.parse("ask_procedure_overview", procedure=(f.MARRIAGE, 0.96)), state(pending_intent="ask_fee")
    )
    assert d.actions == ("action_fee",)
    assert d.rule == "pending_answered"


def test_first_fallback_clarifies_with_candidates(policy: Policy) -> None:
    parse = f.parse(
        "nlu_fallback", confidence=0.4, ranking=[(f.GPXD_ADJUST, 0.45), (f.GPXD_NEW, 0.42), (f.BIRTH, 0.1)]
    )
    d = policy.decide(parse, state())
    assert d.actions == ("action_clarify",)
    assert [c.code for c in d.args.candidates] == [f.GPXD_ADJUST, f.GPXD_NEW]


def test_second_fallback_in_a_row_offers_an_officer(policy: Policy) -> None:
    d = policy.decide(f.parse("nlu_fallback", confidence=0.2), state(fallback_streak=1))
    assert d.actions == ("action_offer_officer",)


def test_yes_after_the_officer_offer_escalates(policy: Policy) -> None:
    d = policy.decide(f.parse("affirm"), state(last_action="action_offer_officer", fallback_streak=2))
    assert d.actions == ("action_escalate",)
    assert d.args.reason == TicketReason.REPEATED_FALLBACK


def test_dossier_code_is_taken_while_awaiting_it(policy: Policy) -> None:
    parse = f.parse("nlu_fallback", text="H12.22-250315-0001", confidence=0.2)
    d = policy.decide(parse, state(mode=Mode.AWAITING_DOSSIER_CODE))
    assert d.actions == ("action_dossier_status",)


def test_other_question_while_awaiting_dossier_code_leaves_the_mode(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_fee", procedure=(f.BIRTH, 0.97)), state(mode=Mode.AWAITING_DOSSIER_CODE))
    assert d.actions == ("action_fee",)
    assert ModeChanged(Mode.ANSWERING) in d.events


@pytest.mark.parametrize("intent", ["start", "help", "greet"])
def test_start_help_and_greeting_show_the_menu(policy: Policy, intent: str) -> None:
    assert policy.decide(f.parse(intent), state()).actions == ("action_greet",)


@pytest.mark.parametrize(
    ("intent", "action"),
    [
        ("request_human", "action_escalate"),
        ("check_dossier_status", "action_dossier_status"),
        ("more", "action_more"),
    ],
)
def test_routing(policy: Policy, intent: str, action: str) -> None:
    assert policy.decide(f.parse(intent), state()).actions == (action,)


def test_unknown_intent_is_a_fallback(policy: Policy) -> None:
    assert policy.decide(f.parse("something_new"), state()).actions == ("action_clarify",)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        PolicyConfig(officer_after_misses=0)


# --- "xem thêm" typed, the citizen's case, out of scope ---------------------------------------------


@pytest.mark.parametrize(
    "text", ["xem thêm", "Xem them", "tiếp", "còn nữa không?", "con nua ko", "xem tiếp đi"]
)
def test_typed_xem_them_continues_whatever_the_nlu_said(policy: Policy, text: str) -> None:
    pending = state(continuation=Continuation("documents", f.GPXD_NEW, 5))
    for intent in ("nlu_fallback", "out_of_scope", "ask_documents"):
        assert policy.decide(f.parse(intent, text=text), pending).actions == ("action_more",)


@pytest.mark.parametrize("text", ["thêm lệ phí thì sao", "tiếp theo làm gì", "nộp ở đâu"])
def test_other_messages_are_not_xem_them(text: str) -> None:
    assert not is_more_request(text)


def test_naming_a_procedure_remembers_the_citizens_words_as_the_case(policy: Policy) -> None:
    parse = f.parse("ask_documents", text="xây nhà ở riêng lẻ cần gì", procedure=(f.GPXD_NEW, 0.9))
    d = policy.decide(parse, state())
    assert d.events == (SlotSet("procedure", f.GPXD_NEW), SlotSet("case", "xay nha o rieng le can gi"))


def test_the_case_is_remembered_across_the_choice_of_procedure() -> None:
    policy = Policy(STEPS_ASKED)
    parse = f.parse(
        "ask_documents", text="giấy phép xây dựng nhà ở", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS
    )
    d = policy.decide(parse, state())
    assert d.actions == ("action_choose_procedure",)
    assert SlotSet("case", "giay phep xay dung nha o") in d.events
    pick = f.parse("choose", text="1", entities={"procedure": f.GPXD_NEW}, procedure=(f.GPXD_NEW, 1.0))
    d = policy.decide(pick, state(case="giay phep xay dung nha o", pending_intent="ask_documents"))
    assert not any(isinstance(e, SlotSet) and e.name == "case" for e in d.events)


def test_a_picked_case_is_kept_when_the_same_procedure_is_named_again(policy: Policy) -> None:
    parse = f.parse("ask_documents", text="giấy phép xây dựng cần gì", procedure=(f.GPXD_NEW, 0.9))
    d = policy.decide(parse, state(procedure=f.GPXD_NEW, case=HOUSE))
    assert d.events == ()


def test_a_follow_up_without_procedure_does_not_touch_the_case(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_fee", text="lệ phí bao nhiêu"), state(procedure=f.GPXD_NEW))
    assert d.events == ()


def test_choose_group_payload_answers_the_documents_of_that_case(policy: Policy) -> None:
    parse = f.parse("choose_group", entities={"procedure": f.GPXD_NEW, "group": "3"})
    d = policy.decide(parse, state(procedure=f.GPXD_NEW))
    assert d.actions == ("action_documents",)
    assert d.args == ActionArgs(group="3")
    assert d.rule == "choose_group"


@pytest.mark.parametrize("intent", ["nlu_fallback", "ask_documents"])
def test_a_case_typed_while_its_buttons_are_shown_is_taken(policy: Policy, intent: str) -> None:
    shown = state(procedure=f.GPXD_NEW, choices=CASE_BUTTONS)
    d = policy.decide(f.parse(intent, text="nha o rieng le"), shown)
    assert d.actions == ("action_documents",)
    assert d.args == ActionArgs(group="3")
    assert d.rule == "case_typed"


def test_a_question_while_case_buttons_are_shown_is_answered(policy: Policy) -> None:
    shown = state(procedure=f.GPXD_NEW, choices=CASE_BUTTONS)
    assert policy.decide(f.parse("ask_fee", text="lệ phí bao nhiêu"), shown).actions == ("action_fee",)


def test_an_unsure_link_no_word_names_does_not_override_the_procedure_discussed(policy: Policy) -> None:
    # "giấy đó có giá trị bao lâu": the linker finds "giấy tờ có giá" procedures, all close and below an
    # answer's score, without any mention
    weak = [(code, score - 0.2) for code, score in GPXD_AMBIGUOUS]
    parse = f.parse("ask_documents", text="giay do co gia tri bao lau", procedure=weak[0], ranking=weak)
    assert parse.entities == ()
    d = policy.decide(parse, state(procedure=f.MARRIAGE))
    assert d.actions == ("action_documents",)
    assert d.rule == "carried_over"
    # found strongly, they are a new question (here the first issue, ranked first, is answered)
    strong = f.parse("ask_documents", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS)
    d = policy.decide(strong, state(procedure=f.MARRIAGE))
    assert d.rule != "carried_over" and SlotSet("procedure", f.GPXD_NEW) in d.events


def test_out_of_scope_counts_as_a_miss(policy: Policy) -> None:
    assert policy.decide(f.parse("out_of_scope"), state()).actions == ("action_out_of_scope",)
    second = policy.decide(f.parse("out_of_scope"), state(fallback_streak=1))
    assert second.actions == ("action_offer_officer",)
    assert second.rule == "out_of_scope_officer"


def test_a_typed_case_naming_another_procedure_is_a_new_question(policy: Policy) -> None:
    shown = state(procedure=f.GPXD_NEW, choices=CASE_BUTTONS)
    parse = f.parse(
        "ask_documents",
        text="cấp lại giấy phép nhà ở riêng lẻ",
        procedure=(f.GPXD_REISSUE, 0.93),
        entities={"procedure": "cấp lại giấy phép"},
    )
    d = policy.decide(parse, shown)
    assert d.rule == "named"
    assert SlotSet("procedure", f.GPXD_REISSUE) in d.events


def test_a_typed_case_with_an_unsure_link_and_no_mention_is_still_the_case(policy: Policy) -> None:
    shown = state(procedure=f.GPXD_NEW, choices=CASE_BUTTONS)
    parse = f.parse("out_of_scope", text="nhà ở riêng lẻ", procedure=("1.009791", 0.82))
    assert policy.decide(parse, shown).rule == "case_typed"
