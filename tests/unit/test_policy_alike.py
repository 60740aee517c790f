"""A policy that answers (issue 10, item 4): no choice list when the close candidates give the same
answer to the part asked, or when one of them clearly is what the message names; other levels offered
under the answer, with the part asked in their buttons.

The answers are compared as rendered (:class:`actions.procedure.variants.RenderedAnswers` over real
records and the shipped response texts), so each test says what a citizen would read.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from actions.procedure.actions import ProcedureAnswerAction
from actions.procedure.variants import RenderedAnswers, variant_names
from bot.core.config import PolicyConfig
from bot.core.events import SlotSet
from bot.core.parse import Candidate
from bot.core.responses import parse_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import ConversationState
from bot.engine.policy import Decision, Policy, dominant_candidate
from knowledge.domain import Procedure, SubmissionChannel
from tests import factories as f

PROVINCE, COMMUNE = "9.000001", "9.000002"
NAMES = {
    PROVINCE: "Gia hạn giấy phép xây dựng đối với nhà ở riêng lẻ (thực hiện tại cấp tỉnh)",
    COMMUNE: "Gia hạn giấy phép xây dựng đối với nhà ở riêng lẻ (thực hiện tại cấp xã)",
}


def levels(**commune_changes: Any) -> list[Procedure]:
    """One renewal published at province and commune level; ``commune_changes`` tell them apart."""
    base = f.construction_permit_renewed()
    return [
        replace(base, code=PROVINCE, name=NAMES[PROVINCE], url=""),
        replace(base, code=COMMUNE, name=NAMES[COMMUNE], url="", **commune_changes),
    ]


def policy(records: list[Procedure], **config: object) -> Policy:
    answers = RenderedAnswers(f.knowledge(*records), f.catalogue())
    return Policy(PolicyConfig(**config), answers=answers)  # type: ignore[arg-type]


def ask(
    p: Policy, intent: str, ranking: list[tuple[str, float]], text: str = "gia hạn giấy phép"
) -> Decision:
    parse = f.parse(intent, text, procedure=ranking[0], ranking=ranking, names=NAMES)
    return p.decide(parse, ConversationState(key=f.key()))


def reply(records: list[Procedure], d: Decision, intent: str) -> CollectingDispatcher:
    """What the answer action says for decision ``d``."""
    code = next(e.value for e in d.events if isinstance(e, SlotSet) and e.name == "procedure")
    action = ProcedureAnswerAction(d.actions[0].removeprefix("action_"), f.knowledge(*records))
    dispatcher = CollectingDispatcher(f.catalogue())
    tracker = Tracker(ConversationState(key=f.key(), procedure=code), f.parse(intent, "gia hạn"), d.args)
    asyncio.run(action.run(dispatcher, tracker))
    return dispatcher


BOTH = [(PROVINCE, 0.8), (COMMUNE, 0.8)]


@pytest.mark.parametrize(("intent", "said"), [("ask_fee", "15.000"), ("ask_processing_time", "05 ngày")])
def test_variants_with_the_same_answer_are_answered_and_named_in_one_line(intent: str, said: str) -> None:
    records = levels()
    d = ask(policy(records), intent, BOTH)
    assert d.rule == "alike" and d.actions == (
        f"action_{'fee' if intent == 'ask_fee' else 'processing_time'}",
    )
    assert SlotSet("procedure", COMMUNE) in d.events  # the level nearest to the citizen
    sent = reply(records, d, intent)
    assert said in sent.messages[0].text
    assert sent.messages[-1].text == "Dạ, thông tin trên áp dụng như nhau cho cả cấp tỉnh và cấp xã."
    # No choice list; the variants as buttons under the line (none is taken as chosen; a press
    # answers the part asked for that variant: tests/unit/test_policy_alike_followup.py).
    assert sent.messages[0].response != "utter_choose_procedure"
    assert [parse_payload(b.payload) for b in sent.messages[-1].buttons] == [
        ("choose", {"procedure": PROVINCE, "aspect": intent}),
        ("choose", {"procedure": COMMUNE, "aspect": intent}),
    ]


def test_a_different_fee_is_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Policy, "answer_level_variants", False)  # the levels alone are no reason to answer
    dearer = (
        SubmissionChannel("truc_tiep", "05 Ngày làm việc", "Lệ phí : 30.000 Đồng", days=5, fee_vnd=30000),
    )
    assert ask(policy(levels(channels=dearer)), "ask_fee", BOTH).actions == ("action_choose_procedure",)
    assert ask(policy(levels()), "ask_fee", BOTH).rule == "alike"


def test_a_different_fee_at_another_level_is_answered_for_the_nearest_with_the_other_offered() -> None:
    dearer = (
        SubmissionChannel("truc_tiep", "05 Ngày làm việc", "Lệ phí : 30.000 Đồng", days=5, fee_vnd=30000),
    )
    records = levels(channels=dearer)
    d = ask(policy(records), "ask_fee", BOTH)
    assert d.rule == "level_variant" and SlotSet("procedure", COMMUNE) in d.events
    sent = reply(records, d, "ask_fee")
    assert "30.000" in sent.messages[0].text and "15.000" not in sent.messages[0].text
    assert sent.messages[-1].text == "Dạ, nếu bạn hỏi thủ tục khác, chọn ở đây:"
    (button,) = sent.messages[-1].buttons
    assert parse_payload(button.payload) == ("choose", {"procedure": PROVINCE, "aspect": "ask_fee"})


def test_the_part_in_a_button_is_answered_after_the_pick() -> None:
    pick = f.parse("choose", entities={"procedure": PROVINCE, "aspect": "ask_fee"}, names=NAMES)
    d = Policy().decide(pick, ConversationState(key=f.key()))
    assert d.actions == ("action_fee",) and SlotSet("procedure", PROVINCE) in d.events


def test_variants_that_both_lack_the_part_stay_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Policy, "answer_level_variants", False)
    base = f.construction_permit_reissued()  # no fee in its record
    records = [replace(base, code=c, name=n) for c, n in NAMES.items()]
    assert ask(policy(records), "ask_fee", BOTH).actions == ("action_choose_procedure",)


@pytest.mark.parametrize(
    ("intent", "ranking", "config"),
    [
        ("ask_conditions", BOTH, {}),  # one law cited for a whole field: not a sign of one procedure
        ("ask_fee", [(PROVINCE, 0.5), (COMMUNE, 0.5)], {}),  # a weak link
        ("ask_fee", BOTH, {"answer_alike_variants": False}),
    ],
)
def test_no_alike_answer(intent: str, ranking: list[tuple[str, float]], config: dict[str, object]) -> None:
    d = ask(policy(levels(), **config), intent, ranking)
    assert d.rule != "alike"


def test_variant_names() -> None:
    named = [Candidate(c, n, 0.8) for c, n in NAMES.items()]
    assert variant_names(named) == "cấp tỉnh và cấp xã"
    other = [
        Candidate("a", "Cấp giấy phép xây dựng mới", 0.8),
        Candidate("b", "Gia hạn giấy phép xây dựng", 0.8),
    ]
    assert variant_names(other) == "Cấp giấy phép xây dựng mới và Gia hạn giấy phép xây dựng"


# --- one candidate clearly named -----------------------------------------------------------------------

BIRTH = [
    Candidate("1.004772", "Thủ tục đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân", 0.957),
    Candidate(
        "1.000893",
        "Thủ tục đăng ký khai sinh có yếu tố nước ngoài cho người đã có hồ sơ, giấy tờ cá nhân",
        0.953,
    ),
    Candidate("1.001193", "Thủ tục đăng ký khai sinh", 0.911),
]


@pytest.mark.parametrize("text", ["dang ky khai sinh can giay to gi", "đăng ký khai sinh cần giấy tờ gì"])
def test_the_plain_procedure_named_dominates_its_longer_variants(text: str) -> None:
    found = dominant_candidate(text, BIRTH, 0.8)
    assert found is not None and found.code == "1.001193"


def test_a_message_naming_a_variant_is_that_variant() -> None:
    text = "đăng ký khai sinh có yếu tố nước ngoài cho người đã có hồ sơ giấy tờ cá nhân"
    found = dominant_candidate(text, BIRTH[:2], 0.8)
    assert found is not None and found.code == "1.000893"
    assert dominant_candidate("đăng ký khai sinh cho con", BIRTH[:2], 0.8) is None  # names neither


PERMITS = {
    "1.013225": "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
    "1.013226": "Cấp điều chỉnh giấy phép xây dựng đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
    "1.013227": "Gia hạn giấy phép xây dựng đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
    "1.013228": "Cấp lại giấy phép xây dựng đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
    "1.013229": "Cấp giấy phép xây dựng sửa chữa, cải tạo đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
}


def permit(text: str, top: float, others: float, **config: object) -> Decision:
    ranking = [(code, top if i == 0 else others) for i, code in enumerate(PERMITS)]
    parse = f.parse("ask_documents", text, procedure=ranking[0], ranking=ranking, names=PERMITS)
    return Policy(PolicyConfig(**config)).decide(parse, ConversationState(key=f.key()))  # type: ignore[arg-type]


def test_the_first_issue_ranked_first_is_answered_when_no_later_step_is_named() -> None:
    d = permit("làm giấy phép xây dựng nhà ở cần giấy tờ gì", 0.847, 0.82)
    assert d.actions == ("action_documents",) and SlotSet("procedure", "1.013225") in d.events


@pytest.mark.parametrize(
    ("text", "top", "others", "config"),
    [
        ("làm giấy phép xây dựng nhà ở cần giấy tờ gì", 0.82, 0.82, {}),  # not above the others
        ("làm giấy phép xây dựng nhà ở cần giấy tờ gì", 0.5, 0.48, {}),  # a weak link
        ("giấy phép xây dựng bị mất thì cần giấy tờ gì", 0.847, 0.82, {}),  # a word of a change
        ("làm giấy phép xây dựng nhà ở cần giấy tờ gì", 0.847, 0.82, {"answer_top_step": False}),
    ],
)
def test_the_permits_stay_a_choice(text: str, top: float, others: float, config: dict[str, object]) -> None:
    assert permit(text, top, others, **config).actions == ("action_choose_procedure",)


# --- an unsure link with a clear part asked (measured worse: off) -----------------------------------------


def unsure(**config: object) -> Decision:
    parse = f.parse(
        "nlu_fallback",
        "xin giấy này ở đâu",
        procedure=(f.BIRTH, 0.7),
        ranking=[(f.BIRTH, 0.7), (f.MARRIAGE, 0.65)],
        entities={"aspect": "ask_where"},
    )
    return Policy(PolicyConfig(**config)).decide(parse, ConversationState(key=f.key()))  # type: ignore[arg-type]


def test_an_unsure_link_is_a_question_by_default() -> None:
    assert unsure().actions == ("action_clarify",)


def test_switched_on_an_unsure_link_with_a_part_asked_is_answered_with_the_others_offered() -> None:
    d = unsure(answer_unsure_link=True)
    assert d.actions == ("action_where",) and SlotSet("procedure", f.BIRTH) in d.events
    assert [c.code for c in d.args.candidates] == [f.MARRIAGE]
