"""The policy: carry-over, ambiguity, two-band fallback, waiting modes, payload commands."""

from __future__ import annotations

import pytest

from actions.base import ModeChanged, SlotSet
from bot.policy import Policy, PolicyConfig
from bot.state import ConversationState, Mode
from tests import factories as f

KEY = f.key()
GPXD_AMBIGUOUS = [(f.GPXD_NEW, 0.74), (f.GPXD_ADJUST, 0.72), (f.GPXD_RENEW, 0.71), (f.GPXD_REISSUE, 0.70)]


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


def test_naming_another_procedure_replaces_the_current_one(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_where", procedure=(f.BIRTH, 0.97)), state(procedure=f.MARRIAGE))
    assert d.events == (SlotSet("procedure", f.BIRTH),)


def test_question_without_any_procedure_asks_which(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_fee"), state())
    assert d.actions == ("action_ask_procedure",)


def test_close_candidates_ask_with_choices(policy: Policy) -> None:
    d = policy.decide(f.parse("ask_documents", procedure=GPXD_AMBIGUOUS[0], ranking=GPXD_AMBIGUOUS), state())
    assert d.actions == ("action_choose_procedure",)
    assert [c["code"] for c in d.args["candidates"]] == [
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
    assert [c["code"] for c in resolution.candidates] == [f.GPXD_NEW, f.GPXD_ADJUST]


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
    assert [c["code"] for c in d.args["candidates"]] == [f.GPXD_ADJUST, f.GPXD_NEW]


def test_second_fallback_in_a_row_offers_an_officer(policy: Policy) -> None:
    d = policy.decide(f.parse("nlu_fallback", confidence=0.2), state(fallback_streak=1))
    assert d.actions == ("action_offer_officer",)


def test_yes_after_the_officer_offer_escalates(policy: Policy) -> None:
    d = policy.decide(f.parse("affirm"), state(last_action="action_offer_officer", fallback_streak=2))
    assert d.actions == ("action_escalate",)
    assert d.args["reason"] == "not_understood"


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
