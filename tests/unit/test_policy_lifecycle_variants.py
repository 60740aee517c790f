"""A procedure and its later steps ("cấp mới" / "điều chỉnh" / "gia hạn" / "cấp lại"): the step a message
names, or the first issue when it names none and says nothing of a change (``lifecycle_variant``; the
policy's rule for any step is measured and shipped off, see ``Policy.answer_lifecycle_variants``; the
first issue ranked first is answered, ``PolicyConfig.answer_top_step``)."""

from __future__ import annotations

import pytest

from bot.core.config import PolicyConfig
from bot.core.events import SlotSet
from bot.core.parse import Candidate
from bot.core.state import ConversationState
from bot.engine.policy import Policy, lifecycle_variant
from tests import factories as f

PERMITS = [
    Candidate("1.013225", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", 0.8),
    Candidate("1.013226", "Cấp điều chỉnh giấy phép xây dựng đối với nhà ở riêng lẻ", 0.78),
    Candidate("1.013227", "Gia hạn giấy phép xây dựng", 0.7),
    Candidate("1.013228", "Cấp lại giấy phép xây dựng", 0.7),
]


@pytest.mark.parametrize(
    "text, code",
    [
        ("làm giấy phép xây dựng nhà ở cần giấy tờ gì", "1.013225"),
        ("gia han giay phep xay dung can gi", "1.013227"),
        ("cấp lại gpxd ở đâu", "1.013228"),
        ("xin điều chỉnh giấy phép xây dựng và gia hạn luôn", None),  # two steps named: ask
        ("giấy phép xây dựng bị mất thì làm sao", None),  # a change without its name: ask
        ("giay phep xay dung het han roi", None),
    ],
)
def test_the_step_named_or_the_first_issue(text: str, code: str | None) -> None:
    found = lifecycle_variant(text, PERMITS)
    assert (found.code if found else None) == code


def test_candidates_that_are_not_steps_of_one_procedure_are_left_to_the_citizen() -> None:
    births = [
        Candidate("1.001193", "Đăng ký khai sinh", 0.6),
        Candidate("1.000893", "Đăng ký khai sinh có yếu tố nước ngoài", 0.6),
    ]
    assert lifecycle_variant("dang ky khai sinh can gi", births) is None


def test_the_rule_answers_the_first_issue_ranked_first_by_default_and_any_step_when_on() -> None:
    names = {c.code: c.name for c in PERMITS}
    ranking = [(c.code, c.score) for c in PERMITS]
    parse = f.parse(
        "ask_documents",
        "làm giấy phép xây dựng nhà ở cần giấy tờ gì",
        procedure=ranking[0],
        ranking=ranking,
        names=names,
    )
    state = ConversationState(key=f.key())
    assert Policy(PolicyConfig(answer_top_step=False)).decide(parse, state).rule == "ambiguous"
    assert SlotSet("procedure", "1.013225") in Policy().decide(parse, state).events  # ranked first
    on = Policy(PolicyConfig(answer_top_step=False))
    on.answer_lifecycle_variants = True
    decided = on.decide(parse, state)
    assert decided.rule != "ambiguous" and decided.events and "1.013225" in repr(decided.events)
