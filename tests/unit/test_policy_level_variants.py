"""One procedure published at several levels (issue 10, item 4: no choice list when the candidates give
the same answer): answered for the level nearest to the citizen, except where to go."""

from __future__ import annotations

import pytest

from bot.core.events import SlotSet
from bot.core.parse import Candidate
from bot.core.state import ConversationState
from bot.engine.policy import Decision, Policy, level_variant
from tests import factories as f

PROVINCE, CENTRAL = "1.001456", "1.001471"
NAMES = {
    CENTRAL: "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp trung ương)",
    PROVINCE: "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)",
    "1.000001": "Đăng ký thường trú",
    "1.000002": "Xóa đăng ký thường trú",
}
PASSPORT = [(CENTRAL, 0.7), (PROVINCE, 0.7)]


def ask(intent: str, ranking: list[tuple[str, float]]) -> Decision:
    parse = f.parse(intent, "làm hộ chiếu", procedure=ranking[0], ranking=ranking, names=NAMES)
    return Policy().decide(parse, ConversationState(key=f.key()))


@pytest.mark.parametrize(
    "intent", ["ask_fee", "ask_documents", "ask_processing_time", "ask_procedure_overview"]
)
def test_the_nearest_level_is_answered_when_the_levels_give_the_same_answer(intent: str) -> None:
    d = ask(intent, PASSPORT)
    assert d.actions[0] != "action_choose_procedure"
    assert SlotSet("procedure", PROVINCE) in d.events


def test_where_to_go_differs_by_level_so_the_bot_asks() -> None:
    d = ask("ask_where", PASSPORT)
    assert d.actions == ("action_choose_procedure",)
    assert {c.code for c in d.args.candidates} == {PROVINCE, CENTRAL}


def test_different_procedures_still_get_a_choice() -> None:
    d = ask("ask_documents", [("1.000001", 0.7), ("1.000002", 0.69)])
    assert d.actions == ("action_choose_procedure",)


def test_turned_off_the_levels_are_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Policy, "answer_level_variants", False)
    assert ask("ask_fee", PASSPORT).actions == ("action_choose_procedure",)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Cấp giấy phép nhận chìm ở biển (cấp TW)", "Cấp giấy phép nhận chìm ở biển (cấp tỉnh)"], "b"),
        (["Cấp giấy thông hành (thực hiện tại cấp tỉnh)", "Cấp giấy thông hành (thực hiện tại cấp xã)"], "b"),
        (["Cấp A (cấp tỉnh)", "Cấp B (cấp tỉnh)"], None),  # two procedures at one level
        (["Cấp A (cấp tỉnh)", "Cấp A"], None),  # one without a level
        (["Cấp A (cấp tỉnh)", "Cấp A (cấp tỉnh)"], None),  # the same level twice: not levels
    ],
)
def test_level_variant(names: list[str], expected: str | None) -> None:
    found = level_variant([Candidate(code, name, 0.7) for code, name in zip("ab", names, strict=True)])
    assert (found.code if found else None) == expected
