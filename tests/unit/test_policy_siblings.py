"""Close candidates that are variants of one procedure (``answer_top_sibling``, off by default): the best
answered, the others offered under it (issue 10, item 4)."""

from __future__ import annotations

from bot.core.config import PolicyConfig
from bot.core.parse import Candidate
from bot.core.state import ConversationState
from bot.engine.policy import Policy, top_sibling
from tests import factories as f

PORT_III = Candidate("1.004478", "Công bố mở cảng cá loại III", 0.82)
PORT_I_II = Candidate("1.004694", "Công bố mở cảng cá loại I, loại II", 0.80)
RESIDENCE = Candidate("1.004222", "Đăng ký thường trú", 0.78)
DELETE_RESIDENCE = Candidate("1.003197", "Xóa đăng ký thường trú", 0.77)
TEMPORARY = Candidate("1.004194", "Đăng ký tạm trú", 0.76)
PASSPORT_PROVINCE = Candidate("1.001456", "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)", 0.8)
PASSPORT_CENTRAL = Candidate(
    "1.001471", "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp trung ương)", 0.78
)
BIRTH = Candidate("1.001193", "Thủ tục đăng ký khai sinh", 0.8)
DEATH = Candidate("1.000656", "Thủ tục đăng ký khai tử", 0.78)
PERMIT = Candidate("1.013225", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", 0.8)
PERMIT_REISSUE = Candidate("1.013228", "Cấp lại giấy phép xây dựng đối với nhà ở riêng lẻ", 0.78)


def test_variants_of_one_procedure_have_a_top_sibling() -> None:
    assert top_sibling((PORT_III, PORT_I_II), 0.5) == PORT_III
    assert top_sibling((PASSPORT_PROVINCE, PASSPORT_CENTRAL), 0.5) == PASSPORT_PROVINCE


def test_another_procedure_among_them_or_a_tie_has_none() -> None:
    assert top_sibling((RESIDENCE, TEMPORARY), 0.5) is None  # tạm trú is another one
    assert top_sibling((BIRTH, DEATH), 0.5) is None  # half the pairs shared is not more than half
    assert top_sibling((PERMIT, PERMIT_REISSUE), 0.5) is None  # a later step is another procedure
    assert top_sibling((RESIDENCE, DELETE_RESIDENCE), 0.5) is None  # "xóa" is a step too
    tied = Candidate("1.004694", "Công bố mở cảng cá loại I, loại II", 0.82)
    assert top_sibling((PORT_III, tied), 0.5) is None
    assert top_sibling((PORT_III,), 0.5) is None


def _decide(config: PolicyConfig):
    ranking = [(PORT_III.code, PORT_III.score), (PORT_I_II.code, PORT_I_II.score)]
    names = {PORT_III.code: PORT_III.name, PORT_I_II.code: PORT_I_II.name}
    parse = f.parse("ask_where", procedure=ranking[0], ranking=ranking, names=names)
    return Policy(config).decide(parse, ConversationState(key=f.key()))


def test_on_the_best_variant_is_answered_and_the_others_offered() -> None:
    d = _decide(PolicyConfig(answer_top_sibling=True))
    assert d.actions == ("action_where",)
    assert d.rule == "top_sibling"
    assert [c.code for c in d.args.candidates] == [PORT_I_II.code]


def test_off_by_default_the_variants_are_a_choice() -> None:
    assert _decide(PolicyConfig()).actions == ("action_choose_procedure",)
