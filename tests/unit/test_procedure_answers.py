"""Procedure answers on records shaped like the real portal data: readable names, documents per case,
document lines, fees set by the provincial council, deadlines read from prose, catalogue-only records.

Each action is asserted on two lists: the drafts it dispatched and the events it returned.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.procedure.actions import MoreAction, ProcedureAnswerAction, candidate_buttons
from actions.procedure.answers import ANSWERED_TOPICS
from actions.procedure.lists import PAGED_LISTS
from actions.procedure.names import display_name, first_clause, group_title
from bot.core.domain import LIST_TOPICS, TOPIC_BY_INTENT, Topic
from bot.core.events import ContinuationSet, SlotSet
from bot.core.messages import Button
from bot.core.parse import Candidate
from bot.core.sdk import ActionArgs
from bot.core.state import Continuation, ConversationState
from knowledge.cases import case_words, document_cases, match_group
from knowledge.domain import Document, SubmissionChannel
from knowledge.ports import KnowledgeRepository
from tests import factories as f

HOUSE = "(1.7) Đối với công trình nhà ở riêng lẻ"
RELIGION = "(1.3) Đối với công trình tôn giáo"


def answering(topic: str, knowledge: KnowledgeRepository | None = None) -> ProcedureAnswerAction:
    """The action answering ``topic`` over ``knowledge`` (default: the permit published per case)."""
    return ProcedureAnswerAction(topic, knowledge or f.knowledge(f.construction_permit_per_case()))


def _words(text: str) -> set[str]:
    return set(text.replace("(", " ").replace(")", " ").replace(",", " ").split())


# --- 1. names ----------------------------------------------------------------------------------------


def test_official_name_loses_its_list_of_cases_and_reads_whole() -> None:
    assert display_name(f.OFFICIAL_GPXD_NEW_NAME) == (
        "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ)"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Thủ tục đăng ký kết hôn", "Đăng ký kết hôn"),
        ("Quyết định đóng cửa mỏ khoáng sản (cấp Tỉnh)", "Quyết định đóng cửa mỏ khoáng sản (cấp Tỉnh)"),
        (
            "THỦ TỤC ĐĂNG KÝ PHÁP NHÂN PHI THƯƠNG MẠI (CẤP TỈNH)",
            "Đăng ký pháp nhân phi thương mại (cấp tỉnh)",
        ),
        (
            "Cấp giấy phép xây dựng sửa chữa, cải tạo đối với công trình cấp III, cấp IV (công trình Không theo "
            "tuyến/Theo tuyến trong đô thị/Dự án) và nhà ở riêng lẻ:",
            "Cấp giấy phép xây dựng sửa chữa, cải tạo (công trình cấp III, IV và nhà ở riêng lẻ)",
        ),
    ],
)
def test_display_names(name: str, expected: str) -> None:
    assert display_name(name) == expected


def test_a_long_name_is_never_cut_mid_word() -> None:
    name = (
        "Xét hưởng chế độ trợ cấp một lần đối với sĩ quan, hạ sĩ quan, cán bộ, chiến sĩ, công nhân viên "
        "Công an nhân dân trực tiếp tham gia kháng chiến chống Mỹ cứu nước ở chiến trường B, C, K trong "
        "khoảng thời gian từ ngày 20-7-1954 đến 30-4-1975"
    )
    short = display_name(name, 80)
    assert len(short) <= 80
    assert "…" not in short  # a whole phrase: "Xét hưởng chế độ trợ cấp một lần"
    assert _words(short) <= _words(name)


def test_choice_buttons_of_the_permit_family_differ_visibly() -> None:
    tail = (
        " đối với công trình cấp III, cấp IV (Công trình không theo tuyến/Theo tuyến trong đô thị/Tín "
        "ngưỡng, tôn giáo/Dự án) và nhà ở riêng lẻ"
    )
    heads = [
        "Cấp giấy phép xây dựng mới",
        "Cấp điều chỉnh giấy phép xây dựng",
        "Gia hạn giấy phép xây dựng",
        "Cấp lại giấy phép xây dựng",
        "Cấp giấy phép xây dựng sửa chữa, cải tạo",
    ]
    candidates = [Candidate(f"1.01322{i}", h + tail, 0.8) for i, h in enumerate(heads, 5)]
    buttons = candidate_buttons(candidates)
    assert [b.title for b in buttons] == heads
    assert buttons[0].payload == '/choose{"procedure":"1.013225"}'


def test_choice_buttons_with_the_same_name_get_their_codes() -> None:
    candidates = [
        Candidate("3.000348", "Cấp lại giấy phép lái xe", 0.64),
        Candidate("1.002820", "Cấp lại giấy phép lái xe", 0.6),
    ]
    assert [b.title for b in candidate_buttons(candidates)] == [
        "Cấp lại giấy phép lái xe (mã 3.000348)",
        "Cấp lại giấy phép lái xe (mã 1.002820)",
    ]


def test_short_names_are_kept_as_they_are_on_buttons() -> None:
    candidates = [Candidate(f.MARRIAGE, "Thủ tục đăng ký kết hôn", 0.9)]
    assert candidate_buttons(candidates) == (Button("Đăng ký kết hôn", '/choose{"procedure":"1.000894"}'),)


# --- 2. documents per case -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "làm giấy phép xây dựng nhà ở cần giấy tờ gì",
        "lam giay phep xay dung nha o can giay to gi",
        "xây nhà ở riêng lẻ cần những gì",
    ],
)
async def test_the_case_named_in_the_message_is_answered(text: str) -> None:
    drafts, events = await f.run_action(answering("documents"), f.tracker(text=text, procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_documents_case"]
    assert "trường hợp công trình nhà ở riêng lẻ, gồm 6 loại giấy tờ" in drafts[0].text
    assert "tôn giáo" not in drafts[0].text and "Văn bản chấp thuận" not in drafts[0].text
    assert [b.title for b in drafts[0].buttons] == ["Xem đầy đủ", "Lệ phí", "Thời gian", "Nơi nộp"]
    assert events == [
        SlotSet("case", HOUSE),
        ContinuationSet(Continuation("documents", f.GPXD_NEW, 1, HOUSE)),  # the full texts, from the 1st
    ]


async def test_the_remembered_case_is_answered_after_a_choice() -> None:
    t = f.tracker(text="/choose", procedure=f.GPXD_NEW, case="lam giay phep xay dung nha o can giay to gi")
    drafts, events = await f.run_action(answering("documents"), t)
    assert [d.response for d in drafts] == ["utter_documents_case"]
    assert events[0] == SlotSet("case", HOUSE)


async def test_without_a_case_the_bot_asks_which_with_one_button_per_group() -> None:
    drafts, events = await f.run_action(
        answering("documents"), f.tracker(text="giấy phép xây dựng cần gì", procedure=f.GPXD_NEW)
    )
    assert [d.response for d in drafts] == ["utter_ask_document_case"]
    assert [b.title for b in drafts[0].buttons] == [
        "Công trình không theo tuyến",
        "Công trình tôn giáo",
        "Công trình nhà ở riêng lẻ",
    ]
    assert drafts[0].buttons[2].payload == '/choose_group{"procedure":"1.013225","group":"3"}'
    assert events == [ContinuationSet(None)]


async def test_the_case_picked_from_the_buttons_is_answered_and_remembered() -> None:
    drafts, events = await f.run_action(
        answering("documents"), f.tracker(text="2", args=ActionArgs(group="2"), procedure=f.GPXD_NEW)
    )
    assert [d.response for d in drafts] == ["utter_documents_case"]
    assert "trường hợp công trình tôn giáo, gồm 1 loại giấy tờ" in drafts[0].text
    assert "1. Văn bản chấp thuận của tổ chức tôn giáo cơ sở (bản chính)" in drafts[0].text
    assert events == [SlotSet("case", RELIGION), ContinuationSet(None)]


async def test_xem_them_continues_within_the_case() -> None:
    t = f.tracker(procedure=f.GPXD_NEW, continuation=Continuation("documents", f.GPXD_NEW, 5, HOUSE))
    drafts, events = await f.run_action(MoreAction(f.knowledge(f.construction_permit_per_case())), t)
    assert [d.response for d in drafts] == ["utter_list_more"]
    assert drafts[0].text.endswith("\n6. Bản cam kết bảo đảm an toàn đối với công trình liền kề (bản chính)")
    assert "tôn giáo" not in drafts[0].text
    assert events == [ContinuationSet(None)]


def test_group_titles_for_buttons() -> None:
    assert group_title(HOUSE) == "Công trình nhà ở riêng lẻ"
    assert group_title("(1.1) Đối với công trình không theo tuyến:") == "Công trình không theo tuyến"
    assert group_title("2. Trường hợp thay đổi địa điểm trụ sở") == "Thay đổi địa điểm trụ sở"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nhà ở", 2),
        ("nha o rieng le", 2),
        ("công trình tôn giáo", 1),
        ("cong trinh khong theo tuyen", 0),
        ("nộp ở đâu", None),  # "ở" alone names nothing
        ("công trình", None),  # every group says it
        ("", None),
        (None, None),
    ],
)
def test_match_group(text: str | None, expected: int | None) -> None:
    groups = ["(1.1) Đối với công trình không theo tuyến:", RELIGION, HOUSE]
    assert match_group(text, groups) == expected


def test_sections_of_one_dossier_are_not_cases() -> None:
    proc = f.birth_registration(
        documents=(
            Document("Tờ khai đăng ký khai sinh", group="Giấy tờ phải nộp", originals=1),
            Document("Giấy tờ tùy thân", group="Giấy tờ phải xuất trình", originals=1),
        )
    )
    assert document_cases(proc) == []
    # "Đối với ..." is a case even alone: its papers are offered under a button, after everyone's.
    assert document_cases(f.construction_permit_new()) == ["Đối với công trình gần sân bay"]
    assert len(document_cases(f.construction_permit_per_case())) == 3


def test_case_words_keep_no_number() -> None:
    assert case_words("Nhà ở riêng lẻ, SĐT 0912345678") == "nha o rieng le sdt"
    assert case_words('/choose{"procedure":"1.013225"}') is None
    assert case_words("2") is None


# --- 3. document lines -----------------------------------------------------------------------------


async def test_document_lines_first_clause_counts_and_form() -> None:
    drafts, _ = await f.run_action(answering("documents"), f.tracker(text="nhà ở", procedure=f.GPXD_NEW))
    lines = drafts[0].text.splitlines()[1:]
    assert lines == [
        "1. Đơn đề nghị cấp giấy phép xây dựng theo Mẫu số 1 Phụ lục số II Nghị định 175/2024/NĐ-CP "
        "(1 bản chính và 1 bản sao) — tải mẫu: «Tải mẫu đơn, tờ khai»",
        "2. Giấy chứng nhận quyền sử dụng đất (1 bản chính và 1 bản sao)",
        "3. Giấy chứng nhận quyền sở hữu nhà ở và quyền sử dụng đất ở (1 bản chính và 1 bản sao)",
        "4. Hồ sơ thiết kế xây dựng (2 bản chính và 2 bản sao)",
        "5. Bản vẽ mặt bằng công trình trên lô đất (2 bản chính)",
        "6. Bản cam kết bảo đảm an toàn đối với công trình liền kề (bản chính)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đơn khiếu nại.", "Đơn khiếu nại"),
        ("- Tờ khai theo mẫu; kèm bản sao giấy tờ", "Tờ khai theo mẫu"),
        ("Bản kê khai (theo mẫu: Mẫu 01)", "Bản kê khai"),
        ("Giấy tờ hợp pháp về đất đai bao gồm: + Giấy chứng nhận", "Giấy tờ hợp pháp về đất đai"),
    ],
)
def test_first_clause(text: str, expected: str) -> None:
    assert first_clause(text) == expected


def test_first_clause_of_a_long_unbroken_text_ends_on_a_whole_word() -> None:
    text = " ".join(["giấy tờ chứng minh nơi cư trú hợp pháp của người yêu cầu"] * 6)
    short = first_clause(text, 100)
    assert len(short) <= 100 and "…" not in short  # ends where a phrase ends (before "của", "giấy tờ")
    assert _words(short) <= _words(text)


# --- 5. time and fee --------------------------------------------------------------------------------


async def test_time_read_from_prose_is_said_as_about_n_days() -> None:
    drafts, events = await f.run_action(answering("processing_time"), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_processing_time"]
    assert drafts[0].text.endswith("- Trực tiếp: không quá 15 ngày\n- Trực tuyến: khoảng 20 ngày làm việc")
    assert events == [ContinuationSet(None)]


async def test_fee_set_by_the_provincial_council_is_said_plainly() -> None:
    drafts, events = await f.run_action(answering("fee"), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_fee_council"]
    assert "do Hội đồng nhân dân tỉnh, thành phố nơi bạn nộp hồ sơ quyết định" in drafts[0].text
    assert "bộ phận một cửa" in drafts[0].text
    assert "Miễn phí" not in drafts[0].text
    assert events == [ContinuationSet(None)]


async def test_fee_rows_free_amount_and_council_side_by_side() -> None:
    proc = f.construction_permit_per_case(
        channels=(
            SubmissionChannel("truc_tiep", fee_text="Miễn phí", fee_vnd=0),
            SubmissionChannel(
                "truc_tuyen",
                fee_text="150,000 Việt Nam Đồng (- Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định "
                "(căn cứ quy định tại Thông tư số 85/2019/TT-BTC). - Người nộp hồ sơ nộp lệ phí.)",
                fee_vnd=150000,
            ),
            SubmissionChannel("buu_chinh", fee_text="Không có thông tin (1)"),
        )
    )
    drafts, _ = await f.run_action(answering("fee", f.knowledge(proc)), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_fee"]
    assert drafts[0].text.endswith(
        "- Trực tiếp: Miễn lệ phí\n- Trực tuyến: 150.000 đồng (mức cụ thể do Hội đồng nhân dân tỉnh quy định)"
    )


async def test_free_with_a_published_amount_is_not_called_free() -> None:
    proc = f.construction_permit_per_case(
        channels=(
            SubmissionChannel("truc_tiep", fee_text="Miễn phí (2.400.000 Đồng (Cấp lại do mất)", fee_vnd=0),
        )
    )
    drafts, _ = await f.run_action(answering("fee", f.knowledge(proc)), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_fee"]
    assert "2.400.000 Đồng" in drafts[0].text


async def test_no_fee_information_is_missing_data() -> None:
    proc = f.construction_permit_per_case(
        channels=(SubmissionChannel("truc_tiep", fee_text="Không có thông tin (2)"),)
    )
    drafts, _ = await f.run_action(answering("fee", f.knowledge(proc)), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_missing_detail"]


async def test_overview_uses_the_same_time_and_fee_wording() -> None:
    drafts, _ = await f.run_action(answering("overview"), f.tracker(procedure=f.GPXD_NEW))
    assert "- Thời gian: không quá 15 ngày" in drafts[0].text
    assert "- Lệ phí: do Hội đồng nhân dân tỉnh, thành phố quyết định" in drafts[0].text
    assert "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ):" in drafts[0].text
    assert "1.013225" not in drafts[0].text  # no national code in what citizens read


# --- 6. catalogue-only procedures ----------------------------------------------------------------------


# where has its own answer (tests/unit/test_catalogue_only.py)
@pytest.mark.parametrize("topic", ["documents", "fee", "processing_time", "overview"])
async def test_catalogue_only_says_what_is_known_and_offers_the_portal_and_an_officer(topic: str) -> None:
    t = f.tracker(procedure=f.CATALOGUE_ONLY)
    drafts, events = await f.run_action(answering(topic, f.knowledge(f.catalogue_only_procedure())), t)
    assert [d.response for d in drafts] == ["utter_catalogue_only"]
    text = drafts[0].text
    assert "Đổi tên trung tâm giáo dục nghề nghiệp" in text
    assert "- Lĩnh vực: Giáo dục nghề nghiệp" in text
    assert "- Nộp được trên mạng (dịch vụ công trực tuyến một phần)" in text
    assert "chưa có thông tin về " + f.catalogue().text(f"topic_{topic}") in text
    assert drafts[0].links == (("Tìm trên Cổng Dịch vụ công", "https://dichvucong.gov.vn"),)
    assert drafts[0].buttons == (Button("Gặp cán bộ", "/request_human"),)
    assert events == [ContinuationSet(None)]


async def test_catalogue_only_without_field_or_level_leaves_no_empty_line() -> None:
    proc = f.catalogue_only_procedure(field="", online_level=None)
    drafts, _ = await f.run_action(answering("fee", f.knowledge(proc)), f.tracker(procedure=f.CATALOGUE_ONLY))
    assert not drafts[0].text.endswith("\n")
    assert "Lĩnh vực" not in drafts[0].text


# --- notes of papers and of the procedure (the portal's "Lưu ý") ----------------------------------------

MARRIAGE_NOTES = (
    "Người tiếp nhận có trách nhiệm tiếp nhận đúng, đủ hồ sơ đăng ký hộ tịch.",
    "Đối với giấy tờ nộp, xuất trình nếu người yêu cầu nộp hồ sơ theo hình thức trực tiếp:",
    "Bản chụp các giấy tờ gửi kèm theo hồ sơ trực tuyến phải bảo đảm rõ nét.",
)


def _marriage_with_notes() -> Any:
    long_note = "Trường hợp giấy tờ tùy thân là hộ chiếu thì " + "chỉ cần cung cấp số định danh cá nhân " * 5
    docs = f.marriage_registration().documents
    documents = (
        docs[0],
        Document(docs[1].name, originals=1, note=long_note.strip()),
        docs[2],
        Document("Giấy tờ chứng minh nơi cư trú", originals=1, note="Một dòng.\nHai dòng."),
    )
    return f.marriage_registration(documents=documents, notes=MARRIAGE_NOTES)


async def test_a_short_note_is_shown_under_its_paper_a_long_one_is_not() -> None:
    t = f.tracker(procedure=f.MARRIAGE)
    drafts, events = await f.run_action(answering("documents", f.knowledge(_marriage_with_notes())), t)
    assert [d.response for d in drafts] == ["utter_documents"]
    text = drafts[0].text
    assert "gồm 4 loại giấy tờ" in text  # procedure notes are not papers
    assert "3. Giấy tờ tùy thân có ảnh (xuất trình)\n   (Hộ chiếu, căn cước công dân)" in text
    assert "số định danh" not in text and "Một dòng" not in text
    assert "Người tiếp nhận" not in text
    # The long notes are in the full texts, one tap away.
    assert drafts[0].buttons[0] == Button("Xem đầy đủ", "/more")
    assert drafts[0].buttons[1] == Button("Lưu ý", '/procedure_notes{"procedure":"1.000894"}')
    assert [b.title for b in drafts[0].buttons[2:]] == ["Lệ phí", "Thời gian", "Nơi nộp"]
    assert events == [ContinuationSet(Continuation("documents", f.MARRIAGE, 1))]


async def test_the_notes_button_lists_the_procedure_notes() -> None:
    t = f.tracker(procedure=f.MARRIAGE)
    drafts, events = await f.run_action(answering("notes", f.knowledge(_marriage_with_notes())), t)
    assert [d.response for d in drafts] == ["utter_procedure_notes"]
    assert drafts[0].text.startswith("Dạ, khi làm hồ sơ Đăng ký kết hôn bạn lưu ý:\n• Người tiếp nhận")
    assert "• Bản chụp các giấy tờ" in drafts[0].text
    assert "hình thức trực tiếp:" not in drafts[0].text  # a lead-in without its points says nothing
    assert events == [ContinuationSet(None)]


async def test_no_notes_button_without_procedure_notes() -> None:
    t = f.tracker(procedure=f.MARRIAGE)
    drafts, _ = await f.run_action(answering("documents", f.knowledge(f.marriage_registration())), t)
    assert [b.title for b in drafts[0].buttons] == ["Lệ phí", "Thời gian", "Nơi nộp"]


def test_notes_payload_answers_the_notes_of_that_procedure() -> None:
    from bot.engine.policy import Policy

    parse = f.parse("procedure_notes", entities={"procedure": f.MARRIAGE})
    decision = Policy().decide(parse, ConversationState(key=f.key()))
    assert decision.actions == ("action_notes",)
    assert decision.events[0] == SlotSet("procedure", f.MARRIAGE)


# --- the topics --------------------------------------------------------------------------------------


def test_every_topic_is_answered_and_the_list_topics_are_paged() -> None:
    assert set(PAGED_LISTS) == LIST_TOPICS
    assert set(Topic) == ANSWERED_TOPICS
    assert {*TOPIC_BY_INTENT.values(), Topic.NOTES} == set(Topic)  # notes: from a button, not an intent
    with pytest.raises(ValueError):
        ProcedureAnswerAction("weather", f.knowledge())
