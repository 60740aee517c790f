"""The asking clause (nlu/extractors/asking.py), the intent resolver (nlu/asking.py) and aliases checked
against their context (nlu/extractors/mentions.py, data/aliases.yml ``contexts:``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge.text import fold, load_alias_contexts
from nlu.asking import AskedIntentResolver
from nlu.component import ConfigError
from nlu.extractors.asking import AskingClauseExtractor
from nlu.extractors.mentions import OUT_OF_CONTEXT, ProcedureMentionExtractor
from nlu.linker import ProcedureLinker
from nlu.message import Message, TrainingSet
from nlu.normalizer import VietnameseNormalizer
from nlu.training_data import TrainingData

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"
ROOT = Path(__file__).resolve().parents[2]


def _normalizer() -> VietnameseNormalizer:
    comp = VietnameseNormalizer({"abbreviations_path": "abbreviations.yml"})
    comp.train(TrainingSet(TrainingData(), []), {"base_dir": str(DATA)})
    return comp


NORMALIZER = _normalizer()
ASKING = AskingClauseExtractor()


def read(text: str) -> Message:
    msg = Message.build(text)
    NORMALIZER.process(msg)
    ASKING.process(msg)
    return msg


def aspects(text: str) -> list[str]:
    """The parts asked, the main one first."""
    found = [e for e in read(text).entities if e["entity"] == "aspect"]
    return [str(e["value"]) for e in sorted(found, key=lambda e: -e["confidence"])]


def signs(text: str) -> set[str]:
    return {str(e["value"]) for e in read(text).entities if e["entity"] == "not_procedure"}


# --------------------------------------------------------------------------------------- asking clause


@pytest.mark.parametrize(
    ("text", "main"),
    [
        ("Thành phần hồ sơ cấp giấy phép xây dựng nhà ở gồm những gì?", "ask_documents"),
        ("Trình tự thực hiện thủ tục đăng ký khai sinh?", "ask_steps"),
        ("Thời hạn giải quyết thủ tục cấp lại giấy phép lái xe?", "ask_processing_time"),
        ("Cơ quan có thẩm quyền cấp giấy phép xây dựng?", "ask_where"),
        ("làm giấy khai sinh cho con nộp ở đâu", "ask_where"),
        ("lam giay khai sinh cho con nop o dau", "ask_where"),
        ("đổi bằng lái mất bao lâu vậy", "ask_processing_time"),
        ("cấp lại sổ đỏ có mất phí không", "ask_fee"),
        ("con tôi 15 tuổi có được làm căn cước không", "ask_conditions"),
        ("hồ sơ xin phép xây dựng nộp online được không", "ask_channels"),
        ("đăng ký kết hôn làm thế nào", "ask_steps"),
        ("điều kiện đăng ký hộ kinh doanh là gì", "ask_conditions"),
        ("hồ sơ đăng ký tạm trú như thế nào", "ask_documents"),
        ("lam so do lan dau can gi", "ask_documents"),
        ("giấy xác nhận độc thân dùng được bao lâu", "ask_result"),
        # where to get a form is the form; where a form is handed in is where
        ("mẫu tờ khai đăng ký khai sinh tải ở đâu vậy", "ask_forms"),
        ("to khai ct01 lay o dau", "ask_forms"),
        ("mẫu đơn nộp ở đâu", "ask_where"),
        ("tờ khai đăng ký thường trú làm ở đâu", "ask_where"),
        # whether a paper is needed is the documents; whether a permit is needed the conditions
        ("lam can cuoc lan dau cho con 14 tuoi co can giay khai sinh ko", "ask_documents"),
        ("đăng ký tạm trú có cần mang sổ hộ khẩu không", "ask_documents"),
        ("xây nhà cấp 4 có cần xin phép không", "ask_conditions"),
        ("làm hộ chiếu có cần phải xuất trình căn cước không", "ask_documents"),
        ("có cần bạn đi cùng không", "ask_conditions"),  # "bạn", "số điện thoại" are no papers
        ("có cần số điện thoại không", "ask_conditions"),
        ("mẫu đơn nộp hồ sơ ở đâu", "ask_where"),
    ],
)
def test_the_part_asked(text: str, main: str) -> None:
    assert aspects(text)[:1] == [main]


def test_the_story_around_the_question_does_not_count() -> None:
    # "mẫu đơn" is in the story, the question is the time
    text = "Năm ngoái tôi đã điền mẫu đơn ở phường. Cho tôi hỏi đăng ký tạm trú mất bao lâu?"
    assert aspects(text) == ["ask_processing_time"]


def test_two_questions_in_one_message_are_both_read() -> None:
    found = aspects("Cấp lại căn cước làm ở đâu, cần mang những giấy tờ gì?")
    assert found[0] == "ask_where"
    assert "ask_documents" in found


def test_a_word_typed_with_other_diacritics_is_no_cue() -> None:
    assert "ask_fee" not in aspects("khai thuế đất phi nông nghiệp ở đâu")
    assert "ask_where" not in aspects("cấp sổ đỏ lần đầu cần gì")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Sổ hộ khẩu là gì?", "definition"),
        ("thế nào là hộ kinh doanh", "definition"),
        ("không đăng ký tạm trú bị phạt bao nhiêu tiền", "penalty"),
        ("nghỉ thai sản được hưởng bao nhiêu", "amount"),
    ],
)
def test_signs_of_a_question_about_no_procedure(text: str, kind: str) -> None:
    assert kind in signs(text)


def test_a_named_part_is_no_definition() -> None:
    assert signs("điều kiện cấp giấy phép lái xe là gì") == set()


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂", "\x00\x01", "ایران", "a" * 20_000, "? ? ? . ; !"])
def test_any_input_is_read_without_error(text: str) -> None:
    msg = read(text)
    assert all(0 <= e["start"] <= e["end"] <= len(msg.text) for e in msg.entities)


def test_entities_carry_offsets_into_the_typed_text() -> None:
    text = "Cho em hỏi làm hộ chiếu ở đâu ạ"
    (where,) = [e for e in read(text).entities if e["entity"] == "aspect"]
    assert text[where["start"] : where["end"]] == "ở đâu"


def test_cue_lists_can_be_replaced_in_the_config() -> None:
    comp = AskingClauseExtractor({"aspect_cues": {"ask_fee": {"asks": ["mấy đồng"]}}})
    msg = Message.build("làm giấy khai sinh mấy đồng")
    NORMALIZER.process(msg)
    comp.process(msg)
    assert [e["value"] for e in msg.entities if e["entity"] == "aspect"] == ["ask_fee"]
    with pytest.raises(ConfigError):
        AskingClauseExtractor({"secondary_at_least": 7})


# ------------------------------------------------------------------------------------------- resolver


def resolved(
    text: str,
    intent: str,
    confidence: float = 0.8,
    *,
    mention: bool = False,
    top: float = 0.0,
    entities: list[dict[str, Any]] | None = None,
    **settings: Any,
) -> Message:
    msg = read(text)
    msg.intent = {"name": intent, "confidence": confidence}
    msg.intent_ranking = [dict(msg.intent), {"name": "ask_steps", "confidence": 0.05}]
    if mention:
        msg.entities.append({"entity": "procedure", "value": "x", "start": 0, "end": 1})
    msg.entities.extend(entities or [])
    if top:
        msg.procedure_ranking = [{"code": "1.000001", "name": "a", "score": top}]
    AskedIntentResolver(settings).process(msg)
    return msg


def test_a_question_read_as_feedback_is_the_question() -> None:
    msg = resolved("Thành phần hồ sơ xin giấy phép khai thác gồm những gì?", "give_feedback", 0.6)
    assert msg.intent == {"name": "ask_documents", "confidence": 0.7}
    assert msg.intent_ranking[1]["name"] == "give_feedback"
    assert msg.diagnostics["asking"] == "flow_hijack"


def test_feedback_and_dossier_words_keep_the_flow() -> None:
    assert resolved("cảm ơn, lệ phí bao nhiêu thì tôi biết rồi", "give_feedback").intent["name"] == (
        "give_feedback"
    )
    assert resolved("hồ sơ của tôi nộp rồi bao lâu thì có", "check_dossier_status").intent["name"] == (
        "check_dossier_status"
    )
    rating = {"entity": "rating", "value": "5", "start": 0, "end": 1}
    assert resolved("5 sao, giấy tờ gì cũng nhanh", "give_feedback", entities=[rating]).intent["name"] == (
        "give_feedback"
    )


@pytest.mark.parametrize(
    "text, intent, becomes",
    [
        # a long formal question read as "yes" / an officer request: the part asked, else not understood
        ("Đồ án quy hoạch chung xây dựng xã gồm các nội dung nào?", "affirm", "nlu_fallback"),
        # "gặp" and "cán bộ" alone are no officer request
        (
            "Cán bộ công chức cấp xã có phải học lớp bồi dưỡng quản lý nhà nước không?",
            "request_human",
            "ask_conditions",
        ),
        ("tôi gặp khó khăn khi nộp hồ sơ trực tuyến thì nộp trực tiếp ở đâu", "request_human", "ask_where"),
        (
            "Những người làm công tác quản lý trong các phòng ban có phải học lớp bồi dưỡng không",
            "request_human",
            "ask_conditions",
        ),
        ("Chào anh chị, tôi muốn hỏi hồ sơ đăng ký khai sinh nộp ở đâu ạ", "greet", "ask_where"),
        ("chào ad, lệ phí bao nhiêu", "greet", "ask_fee"),  # a greeting that asks: short or long
    ],
)
def test_a_long_message_is_no_small_talk_without_its_words(text: str, intent: str, becomes: str) -> None:
    msg = resolved(text, intent, 0.5)
    assert msg.intent["name"] == becomes
    assert msg.diagnostics["asking"] == "long_small_talk"


@pytest.mark.parametrize("intent", ["affirm", "deny", "greet", "thank", "goodbye", "request_human"])
@pytest.mark.parametrize("text", ["", "...", "\x00\x01", "😀😀"])
def test_a_message_without_words_keeps_its_small_talk_intent(text: str, intent: str) -> None:
    # no word to read: nothing to correct, and no error (an IndexError here once)
    assert resolved(text, intent, 0.5).intent["name"] == intent


@pytest.mark.parametrize(
    "text, intent",
    [
        ("vâng đúng rồi", "affirm"),  # short: small talk whatever its words
        ("ok", "affirm"),
        ("xin chào", "greet"),
        ("Chào buổi sáng, cho em hỏi chút được không ạ", "greet"),  # asks to ask: no part
        ("dạ vâng, đúng là thủ tục đăng ký khai sinh cho con tôi đó ạ", "affirm"),
        ("cảm ơn bạn nhiều nhé, mình đã biết phải nộp hồ sơ ở đâu rồi", "thank"),
        ("bot trả lời không đúng, cho tôi gặp cán bộ để hỏi cho rõ về hồ sơ của tôi", "request_human"),
        ("tôi muốn gặp trực tiếp người giải quyết hồ sơ vì đã quá hạn mà chưa có kết quả", "request_human"),
        # long yes / no replies to "có phải bạn hỏi …"
        ("phải, tôi hỏi về thủ tục đăng ký khai sinh cho con tôi", "affirm"),
        ("không, ý tôi là thủ tục cấp lại chứ không phải cấp mới", "deny"),
    ],
)
def test_small_talk_keeps_its_intent_when_short_or_with_its_words(text: str, intent: str) -> None:
    assert resolved(text, intent, 0.5).intent["name"] == intent


@pytest.mark.parametrize(
    "text, asked",
    [
        ("Thủ tục chấm dứt giám hộ cần giấy tờ gì?", "ask_documents"),
        ("Xin bản sao giấy khai sinh nộp ở đâu?", "ask_where"),
        ("đăng ký địa điểm kinh doanh mất bao lâu", "ask_processing_time"),
    ],
)
def test_a_procedure_word_that_sounds_like_a_rating_is_no_feedback(text: str, asked: str) -> None:
    # "chấm", "sao", "điểm" are syllables of procedures; only a rating ("chấm 5", "4 sao") keeps feedback
    assert resolved(text, "give_feedback", 0.6).intent["name"] == asked


def test_a_rating_in_words_keeps_the_feedback() -> None:
    assert resolved("tôi chấm 4 điểm vì chờ hơi lâu, giấy tờ gì cũng hỏi", "give_feedback").intent[
        "name"
    ] == ("give_feedback")


@pytest.mark.parametrize(
    "text",
    [
        "hồ sơ cấp sổ đỏ nhà mình nộp 2 tháng rồi bao giờ mới có kết quả",
        "cho hỏi hồ sơ căn cước của em khi nào lấy được",
        "hồ sơ nộp online rồi mà chưa thấy ai gọi, làm sao biết",
        "em đã gửi hồ sơ hôm qua, bao lâu thì xong",
    ],
)
def test_a_dossier_in_progress_keeps_the_dossier_look_up(text: str) -> None:
    assert resolved(text, "check_dossier_status").intent["name"] == "check_dossier_status"


def test_flow_patterns_must_be_regular_expressions() -> None:
    with pytest.raises(ConfigError, match="flow_patterns"):
        AskedIntentResolver({"flow_patterns": {"check_dossier_status": ["(unclosed"]}})


def test_out_of_scope_with_a_named_procedure_is_the_question() -> None:
    text = "giấy phép khai thác cát nộp ở đâu"
    assert resolved(text, "out_of_scope", top=0.7).intent["name"] == "ask_where"
    assert resolved(text, "out_of_scope", mention=True).intent["name"] == "ask_where"
    assert resolved(text, "out_of_scope", top=0.4).intent["name"] == "out_of_scope"


def test_a_penalty_or_a_definition_is_out_of_scope() -> None:
    assert resolved("vượt đèn đỏ bị phạt bao nhiêu tiền", "ask_fee").intent["name"] == "out_of_scope"
    assert resolved("hộ kinh doanh là gì", "ask_procedure_overview").intent["name"] == "out_of_scope"
    penalty_and_where = resolved("chậm khai sinh có bị phạt không, làm ở đâu", "ask_where")
    assert penalty_and_where.intent["name"] == "ask_where"


@pytest.mark.parametrize(
    ("text", "intent", "becomes"),
    [
        # a yes or no about a penalty asks no condition of the procedure it names
        ("chua sang ten ma bi csgt thoi thi co bi phat ko", "ask_conditions", "out_of_scope"),
        # money received, however it is said, is an amount, not a fee
        ("gia đình nhận tuất một lần thì được khoảng bao nhiêu tiền", "ask_fee", "out_of_scope"),
        # a condition asked beside the penalty stays the question; a fee paid stays the fee
        ("tạm trú cần điều kiện gì, không đăng ký có bị phạt không", "ask_conditions", "ask_conditions"),
        ("làm sổ đỏ mất khoảng bao nhiêu tiền", "ask_fee", "ask_fee"),
    ],
)
def test_penalties_and_amounts_asked_in_other_words(text: str, intent: str, becomes: str) -> None:
    assert resolved(text, intent).intent["name"] == becomes


def test_a_field_label_names_the_part() -> None:
    msg = resolved("Hồ sơ thực hiện thủ tục cấp giấy phép khai thác thủy sản", "ask_steps")
    assert (msg.intent["name"], msg.diagnostics["asking"]) == ("ask_documents", "asked_part")


def test_an_unsure_intent_takes_the_part_clearly_asked() -> None:
    msg = resolved("giấy phép khai thác thủy sản lệ phí bao nhiêu", "ask_result", 0.2)
    assert msg.intent == {"name": "ask_fee", "confidence": 0.7}


def test_the_classifier_is_kept_when_its_part_is_asked_too() -> None:
    msg = resolved("Đăng ký kết hôn ở đâu, cần mang những giấy tờ gì?", "ask_documents")
    assert msg.intent["name"] == "ask_documents"


def test_rules_can_be_turned_off() -> None:
    msg = resolved("Thành phần hồ sơ xin giấy phép khai thác gồm những gì?", "give_feedback", rules=[])
    assert msg.intent["name"] == "give_feedback"
    assert "asking" not in msg.diagnostics


# ----------------------------------------------------------------------------- aliases in their context


def _mentions(tmp_path: Path) -> ProcedureMentionExtractor:
    (tmp_path / "aliases.yml").write_text(
        "version: 1\n"
        "procedures:\n"
        '  - code: "1.004222"\n'
        '    aliases: ["nhập khẩu", "đăng ký thường trú"]\n'
        "contexts:\n"
        '  - alias: "nhập khẩu"\n'
        '    not_with: ["hàng hoá", "mỹ phẩm", "hải quan"]\n',
        encoding="utf-8",
    )

    def preprocess(text: str) -> Message:
        msg = Message.build(text)
        NORMALIZER.process(msg)
        return msg

    comp = ProcedureMentionExtractor({"aliases_path": "aliases.yml"})
    comp.train(TrainingSet(TrainingData(), []), {"base_dir": str(tmp_path), "preprocess": preprocess})
    return comp


def _mentioned(comp: ProcedureMentionExtractor, text: str) -> Message:
    msg = Message.build(text)
    NORMALIZER.process(msg)
    comp.process(msg)
    return msg


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("nhập khẩu cho con vào nhà ông bà", True),
        ("nhap khau cho con vao nha thue", True),
        ("nhập khẩu mỹ phẩm cần giấy phép gì", False),
        ("nhap khau hang hoa qua hai quan", False),
    ],
)
def test_an_alias_names_nothing_next_to_its_not_with_words(tmp_path: Path, text: str, named: bool) -> None:
    msg = _mentioned(_mentions(tmp_path), text)
    assert any(e["entity"] == "procedure" for e in msg.entities) is named
    assert (OUT_OF_CONTEXT in msg.diagnostics) is not named


def test_contexts_survive_persist_and_load(tmp_path: Path) -> None:
    comp = _mentions(tmp_path)
    fresh = ProcedureMentionExtractor({"aliases_path": None})
    fresh.load(comp.persist())
    assert OUT_OF_CONTEXT in _mentioned(fresh, "nhập khẩu mỹ phẩm").diagnostics


class _AliasIndex:
    def search(self, text: str, k: int = 10) -> list[Any]:
        from knowledge.ports import SearchHit

        return [SearchHit("1.004222", "Đăng ký thường trú", 0.9, "nhập khẩu")]


def test_the_linker_drops_hits_found_through_an_alias_out_of_context(tmp_path: Path) -> None:
    comp = _mentions(tmp_path)
    linker = ProcedureLinker(context={"knowledge_index": _AliasIndex()})
    for text, linked in (("nhập khẩu mỹ phẩm ở đâu", False), ("nhập khẩu cho con ở đâu", True)):
        msg = _mentioned(comp, text)
        msg.intent = {"name": "ask_where", "confidence": 0.9}
        linker.process(msg)
        assert (msg.procedure is not None) is linked


def test_the_shipped_contexts_are_readable() -> None:
    contexts = load_alias_contexts(ROOT / "data" / "aliases.yml")
    assert "nhập khẩu" in contexts and all(words for words in contexts.values())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("đăng ký vneid ở đâu", True),  # the electronic-identity account itself
        ("tài khoản vneid bị khoá", True),
        ("lam tren vneid dc ko hay phai len cong an", False),  # the app a procedure is done on
        ("có đăng ký qua app vneid được không", False),
    ],
)
def test_vneid_names_the_account_except_as_the_app_a_procedure_is_done_on(text: str, named: bool) -> None:
    comp = ProcedureMentionExtractor({"aliases_path": "data/aliases.yml"})

    def preprocess(raw: str) -> Message:
        msg = Message.build(raw)
        NORMALIZER.process(msg)
        return msg

    comp.train(TrainingSet(TrainingData(), []), {"base_dir": str(ROOT), "preprocess": preprocess})
    msg = _mentioned(comp, text)
    vneid = [e for e in msg.entities if e["entity"] == "procedure" and "vneid" in fold(e["value"]).lower()]
    assert bool(vneid) is named
