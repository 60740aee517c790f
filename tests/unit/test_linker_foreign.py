"""The linker reads a foreign element: someone or something abroad named by a country, a nationality or
"Việt kiều" asks the procedure "… có yếu tố nước ngoài", not the one the alias names (issue 10)."""

from __future__ import annotations

import pytest

from nlu.linker import ProcedureLinker
from nlu.message import Message
from tests.unit.test_linker_written_names import DilutingIndex
from tests.unit.test_nlu_asking_new import ASKING, NORMALIZER

MARRIAGE, FOREIGN_MARRIAGE = "1.000894", "2.000806"
NAMES = {
    MARRIAGE: "Thủ tục đăng ký kết hôn",
    FOREIGN_MARRIAGE: "Thủ tục đăng ký kết hôn có yếu tố nước ngoài",
    # kinds of the foreign variant: a later step, another place
    "2.000513": "Thủ tục đăng ký lại kết hôn có yếu tố nước ngoài",
    "1.000094": "Thủ tục đăng ký kết hôn có yếu tố nước ngoài tại khu vực biên giới",
    "1.000656": "Thủ tục đăng ký khai tử",
}


def _linked(text: str, **settings) -> tuple[Message, DilutingIndex]:
    """The message linked with "đăng ký kết hôn" found as an alias of the ordinary marriage, as the
    mention extractor finds it in data/aliases.yml."""
    index = DilutingIndex(NAMES)
    msg = Message.build(text)
    NORMALIZER.process(msg)
    ASKING.process(msg)
    start = msg.text.lower().index("đăng ký kết hôn")
    msg.entities.append(
        {
            "entity": "procedure",
            "value": "đăng ký kết hôn",
            "start": start,
            "end": start + len("đăng ký kết hôn"),
            "codes": [MARRIAGE],
        }
    )
    msg.intent = {"name": "ask_documents", "confidence": 0.9}
    ProcedureLinker(settings, context={"knowledge_index": index}).process(msg)
    return msg, index


@pytest.mark.parametrize(
    "text",
    [
        "lấy chồng bên Hàn thì đăng ký kết hôn cần giấy tờ gì",
        "Mình là người Việt định cư ở Úc, về nước muốn đăng ký kết hôn với bạn gái ở Cần Thơ",
        "vợ sắp cưới của tôi người Philippines, đăng ký kết hôn cần những gì",
        "Việt kiều về nước đăng ký kết hôn cần giấy tờ gì",
    ],
)
def test_someone_abroad_asks_the_procedure_with_a_foreign_element(text: str) -> None:
    msg, index = _linked(text)
    scores = {r["code"]: r["score"] for r in msg.procedure_ranking}
    assert msg.procedure["code"] == FOREIGN_MARRIAGE
    # neither the ordinary marriage nor the kinds of the foreign one are close candidates (the policy's
    # ambiguity margin is 0.05): the foreign variant itself is answered
    assert scores[FOREIGN_MARRIAGE] - max(s for c, s in scores.items() if c != FOREIGN_MARRIAGE) > 0.05
    assert "nước ngoài" in index.queries[0]


def test_saying_nuoc_ngoai_outright_is_a_foreign_element_too() -> None:
    msg, index = _linked("đăng ký kết hôn với người nước ngoài cần giấy tờ gì")
    assert msg.procedure["code"] == FOREIGN_MARRIAGE
    assert index.queries[0].count("nước ngoài") == 1  # not searched twice


def test_without_a_foreign_element_the_alias_names_the_ordinary_procedure() -> None:
    msg, index = _linked("đăng ký kết hôn ở xã cần giấy tờ gì")
    assert msg.procedure["code"] == MARRIAGE
    assert "nước ngoài" not in index.queries[0]


def test_the_foreign_element_can_be_switched_off() -> None:
    msg, _ = _linked("lấy chồng bên Hàn thì đăng ký kết hôn cần giấy tờ gì", foreign_patterns=[])
    assert msg.procedure["code"] == MARRIAGE


@pytest.mark.parametrize(
    ("text", "abroad"),
    [
        ("ly hôn ở Mỹ rồi về nước kết hôn lại", True),
        ("chồng em quốc tịch Hàn Quốc", True),
        ("đi xuất khẩu lao động Đài Loan về", True),
        # folded, these are no countries: "tư pháp" (tu phap), "người lao động" (Lào), "ở y tế" (Ý)
        ("mẫu tờ khai yêu cầu cấp phiếu lý lịch tư pháp", False),
        ("người lao động nghỉ việc hưởng trợ cấp", False),
        ("làm việc ở y tế xã", False),
        # Vietnamese places and words after "ở", "bên", "người", "sang"
        ("đăng ký kết hôn ở Đức Hòa", False),
        ("nhà tôi ở Mỹ Tho", False),
        ("khai sinh ở Nga Sơn", False),
        ("giám hộ cho người hạn chế năng lực hành vi", False),
        ("hỏi bên pháp luật", False),
        ("sang ba lần mà chưa xong", False),
        ("ly hôn ở Mỹ rồi", True),
        ("vợ em người Nhật", True),
        ("đăng ký kết hôn cần giấy tờ gì", False),
    ],
)
def test_what_names_someone_abroad(text: str, abroad: bool) -> None:
    linker = ProcedureLinker()
    msg = Message.build(text)
    NORMALIZER.process(msg)
    assert linker._abroad(msg) is abroad


def test_a_broken_pattern_is_a_config_error() -> None:
    from nlu.component import ConfigError

    with pytest.raises(ConfigError, match="foreign_patterns"):
        ProcedureLinker({"foreign_patterns": ["(unclosed"]})
    with pytest.raises(ConfigError, match="without diacritics"):
        ProcedureLinker({"foreign_patterns": [r"\bbên mỹ\b"]})  # matched on folded words: never
