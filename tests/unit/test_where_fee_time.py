"""Where, fee, time, result and conditions in plain words; several topics in one reply; the "you may also
ask" row (issue 11, items 2 and 3).

The known answers are pinned on the real records of the shipped seed (read once per module): birth
registration's agency field is empty, yet it is handed in at the commune's one-stop desk, and that is
what the bot says. The shapes (a fee in thousands, a deadline, a council fee ...) are pinned on the
factory records.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from actions.procedure.actions import MoreAction, ProcedureAnswerAction
from actions.procedure.answers import answer, answer_many, follow_up_buttons
from actions.procedure.facts import fee_text, money_text, number_text, time_text
from actions.procedure.places import Place, place_of
from bot.core.events import ContinuationSet, SlotSet
from bot.core.messages import Button
from bot.core.sdk import CollectingDispatcher, MessageDraft
from bot.core.state import Continuation
from knowledge.domain import Procedure, SubmissionChannel
from knowledge.seed import read_records
from tests import factories as f


@functools.cache
def seed() -> dict[str, Procedure]:
    """The shipped seed's records by code."""
    records, errors = read_records()
    assert not errors
    return {r.code: r for r in records}


def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher(f.catalogue())


def said(proc: Procedure, topic: str) -> list[MessageDraft]:
    d = dispatcher()
    answer(d, proc, topic)
    return d.messages


def titles(draft: MessageDraft) -> list[str]:
    return [b.title for b in draft.buttons]


# --- where --------------------------------------------------------------------------------------------


def test_birth_registration_is_handed_in_at_the_commune_desk_not_missing() -> None:
    """Known answer: "đăng ký khai sinh nộp ở đâu". The record's agency field is empty (the portal says
    "Không có thông tin"); its level is the commune's."""
    birth = seed()["1.001193"]
    assert birth.executing == "" and birth.levels == ("Cấp xã",)
    [draft] = said(birth, "where")
    assert draft.response == "utter_where"
    assert "chưa có trong dữ liệu" not in draft.text
    assert draft.text.startswith(
        "Dạ, bạn nộp hồ sơ Đăng ký khai sinh tại: Bộ phận một cửa (Trung tâm Phục vụ hành chính công) "
        "của xã, phường, đặc khu nơi bạn cư trú."
    )
    assert "- Nộp trực tuyến: được, trên Cổng Dịch vụ công quốc gia" in draft.text
    assert "- Gửi hồ sơ qua bưu điện: được." in draft.text
    assert draft.links == (("Nộp hồ sơ trực tuyến", birth.url),)


def test_a_desk_named_in_the_steps_is_the_answer() -> None:
    business = seed()["1.001612"]  # household business registration: no agency field
    assert business.executing == ""
    place = place_of(business)
    assert place == Place(
        desk="Cơ quan đăng ký kinh doanh cấp xã nơi hộ kinh doanh đăng ký trụ sở", source="steps"
    )
    [draft] = said(business, "where")
    assert "tại: Cơ quan đăng ký kinh doanh cấp xã nơi hộ kinh doanh đăng ký trụ sở." in draft.text
    assert "làm trọn trên Cổng Dịch vụ công quốc gia" in draft.text  # online level "toàn trình"


def test_a_committee_decides_its_one_stop_desk_receives() -> None:
    """The marriage factory names the commune's people's committee and which commune: the desk is said
    from the level, the committee stays as the agency that decides."""
    [draft] = said(f.marriage_registration(), "where")
    assert draft.response == "utter_where_address"
    assert draft.text.startswith(
        "Dạ, bạn nộp hồ sơ Đăng ký kết hôn tại: Bộ phận một cửa (Trung tâm Phục vụ hành chính công) của "
        "xã, phường, đặc khu nơi cư trú của một trong hai bên.\nĐịa chỉ: Bộ phận Một cửa"
    )
    assert "- Cơ quan giải quyết: Ủy ban nhân dân xã, phường, thị trấn nơi cư trú của một trong hai bên" in (
        draft.text
    )


def test_a_provincial_chair_decides_the_provincial_centre_receives() -> None:
    proc = f.marriage_registration(
        levels=("Cấp tỉnh",), executing_agency="Chủ tịch ủy ban nhân dân cấp tỉnh", steps=(), field="Đất đai"
    )
    place = place_of(proc)
    assert place is not None and place.levels == ("province",) and place.near == "có đất"
    [draft] = said(proc, "where")
    assert "tại: Trung tâm Phục vụ hành chính công tỉnh, thành phố nơi có đất." in draft.text
    assert "- Cơ quan giải quyết: Chủ tịch ủy ban nhân dân cấp tỉnh" in draft.text


def test_without_an_agency_the_department_of_the_field_decides() -> None:
    proc = f.marriage_registration(
        levels=("Cấp tỉnh",), executing_agency="", competent_agency="", steps=(), ministry="Bộ Tư pháp"
    )
    [draft] = said(proc, "where")
    assert "tại: Trung tâm Phục vụ hành chính công tỉnh, thành phố nơi bạn cư trú." in draft.text
    assert "- Cơ quan giải quyết: Sở Tư pháp" in draft.text


@pytest.mark.parametrize(
    ("changes", "desk"),
    [
        ({"levels": ("Cấp xã",), "ministry": "Bộ Công an", "field": "Cư trú"}, "Công an xã, phường, đặc khu"),
        (
            {"levels": ("Cấp tỉnh", "Cấp xã"), "ministry": "Bộ Tài chính", "field": "Quản lý thuế"},
            "Thuế tỉnh, thành phố (cơ quan thuế quản lý)",
        ),
    ],
)
def test_police_and_tax_offices_receive_at_their_own_desk(changes: dict[str, Any], desk: str) -> None:
    proc = f.marriage_registration(executing_agency="", competent_agency="", steps=(), **changes)
    place = place_of(proc)
    assert place is not None and place.desk == desk and place.source == "level"


def test_a_district_of_the_old_records_is_said_as_published() -> None:
    [draft] = said(f.construction_permit_new(), "where")  # "Cấp Huyện", no desk of its own since 2025
    assert "tại: Ủy ban nhân dân cấp huyện." in draft.text


def test_nothing_that_says_where_is_missing_data() -> None:
    proc = f.marriage_registration(executing_agency="", competent_agency="", levels=(), steps=())
    assert place_of(proc) is None
    assert [d.response for d in said(proc, "where")] == ["utter_missing_detail"]


def test_every_detailed_record_of_the_seed_with_an_agency_level_or_steps_says_where() -> None:
    missing = [
        p.code
        for p in seed().values()
        if not p.catalogue_only and "utter_missing_detail" in [d.response for d in said(p, "where")]
    ]
    assert missing == ["1.115150"]  # level "Cơ quan khác", no agency, no desk in its steps


def test_the_overview_says_the_same_desk() -> None:
    [draft] = said(seed()["1.001193"], "overview")
    assert "- Nơi nộp hồ sơ: Bộ phận một cửa (Trung tâm Phục vụ hành chính công) của xã" in draft.text


# --- fee and time in plain words ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (SubmissionChannel("truc_tiep", fee_text="Lệ phí : 75.000 Đồng", fee_vnd=75000), "75.000 đồng"),
        (
            SubmissionChannel("truc_tiep", fee_text="25,000 Việt Nam Đồng (/giao dịch)", fee_vnd=25000),
            "25.000 đồng/giao dịch",
        ),
        # The portal wrote the amount in thousands; the importer read the note.
        (
            SubmissionChannel("truc_tiep", fee_text="20 VNĐ (20.000 vnđ /tờ khai)", fee_vnd=20000),
            "20.000 đồng/tờ khai",
        ),
        # Nothing confirms "50 VNĐ": said as published, never guessed.
        (SubmissionChannel("truc_tiep", fee_text="50 VNĐ", fee_vnd=None), "50 VNĐ"),
        (
            SubmissionChannel(
                "truc_tiep",
                fee_text="800,000 Việt Nam Đồng ((áp dụng mức phí 400.000 đồng/hồ sơ kể từ ngày 01/7/2025 đến hết "
                "ngày 31/12/2026 theo Thông tư số 64/2025/TT-BTC))",
                fee_vnd=800000,
            ),
            "800.000 đồng (áp dụng mức phí 400.000 đồng/hồ sơ kể từ ngày 01/7/2025 đến hết ngày 31/12/2026)",
        ),
        (SubmissionChannel("truc_tiep", fee_text="Miễn phí", fee_vnd=0), "Miễn lệ phí"),
    ],
)
def test_fee_in_plain_words(row: SubmissionChannel, expected: str) -> None:
    assert fee_text(dispatcher(), row) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            SubmissionChannel("truc_tiep", "15 Ngày làm việc", days=15, working_days=True),
            "không quá 15 ngày làm việc",
        ),
        (SubmissionChannel("truc_tiep", "3", days=3, working_days=True), "không quá 03 ngày làm việc"),
        (SubmissionChannel("truc_tiep", "1", days=1), "không quá 01 ngày"),
        (SubmissionChannel("truc_tiep", "4 Giờ"), "không quá 04 giờ"),
        (
            SubmissionChannel("truc_tiep", "0.5 Ngày làm việc", days=0.5, working_days=True),
            "không quá 0,5 ngày làm việc",
        ),
        (SubmissionChannel("truc_tiep", "", days=20, working_days=True), "khoảng 20 ngày làm việc"),
        (
            SubmissionChannel("truc_tiep", "Ngay trong ngày tiếp nhận hồ sơ"),
            "Ngay trong ngày tiếp nhận hồ sơ",
        ),
    ],
)
def test_time_in_plain_words(row: SubmissionChannel, expected: str) -> None:
    assert time_text(dispatcher(), row) == expected


def test_number_and_money_as_vietnamese_write_them() -> None:
    assert (number_text(3), number_text(3, pad=True), number_text(12, pad=True)) == ("3", "03", "12")
    assert number_text(0.5) == "0,5"
    assert money_text(1500000) == "1.500.000 đồng"


def test_the_same_on_every_channel_is_said_once() -> None:
    [draft] = said(f.construction_permit_new(), "processing_time")
    assert draft.text == (
        "Dạ, thời gian giải quyết Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ:\nKhông quá 15 ngày."
    )


def test_free_and_council_fees_are_said_plainly() -> None:
    assert said(f.marriage_registration(), "fee")[0].text == (
        "Dạ, thủ tục Đăng ký kết hôn không mất lệ phí (miễn lệ phí)."
    )
    [council] = said(f.construction_permit_per_case(), "fee")
    assert council.response == "utter_fee_council"
    assert "mỗi tỉnh một mức" in council.text and "bộ phận một cửa" in council.text


# --- result and conditions ----------------------------------------------------------------------------


def test_result_drops_the_portal_codes_and_lists_several_papers() -> None:
    proc = f.marriage_registration(
        result="Giấy phép thành lập\nGiấy đăng ký hoạt độngMã: 1231\nMã: KQ.G15.000031"
    )
    [draft] = said(proc, "result")
    assert draft.text.endswith("bạn nhận được:\n- Giấy phép thành lập\n- Giấy đăng ký hoạt động")


def test_conditions_the_portal_does_not_publish_are_said_so_with_who_may_apply() -> None:
    proc = f.marriage_registration(conditions="", target_users="Công dân Việt Nam")
    [draft] = said(proc, "conditions")
    assert draft.response == "utter_conditions_unpublished"
    assert "không ghi yêu cầu, điều kiện riêng" in draft.text
    assert draft.text.endswith("Người thực hiện: Công dân Việt Nam.")


# --- the "you may also ask" row -------------------------------------------------------------------


def test_each_answer_offers_the_other_three_questions() -> None:
    [draft] = said(f.marriage_registration(), "fee")
    assert draft.buttons == (
        Button("Giấy tờ", '/ask_documents{"procedure":"1.000894"}'),
        Button("Thời gian", '/ask_processing_time{"procedure":"1.000894"}'),
        Button("Nơi nộp", '/ask_where{"procedure":"1.000894"}'),
    )
    assert titles(said(f.marriage_registration(), "steps")[0]) == [
        "Giấy tờ",
        "Lệ phí",
        "Thời gian",
        "Nơi nộp",
    ]


def test_the_row_follows_the_catalogue_buttons_of_a_reply() -> None:
    [draft] = said(f.construction_permit_reissued(), "fee")  # no link: an officer is offered first
    assert titles(draft) == ["Gặp cán bộ", "Giấy tờ", "Thời gian", "Nơi nộp"]


def test_no_row_under_a_question_which_case() -> None:
    [draft] = said(f.construction_permit_per_case(), "documents")
    assert draft.buttons and all(b.payload.startswith("/choose_group") for b in draft.buttons)


def test_no_row_under_the_overview_it_has_its_own() -> None:
    [draft] = said(f.construction_permit_new(), "overview")
    assert titles(draft) == ["Cần giấy tờ gì", "Lệ phí", "Nộp ở đâu", "Các bước làm"]


SEVEN_STEPS = tuple(f"Bước làm số {i}." for i in range(1, 8))


async def test_the_last_page_of_a_list_gets_the_row() -> None:
    kb = f.knowledge(f.marriage_registration(steps=SEVEN_STEPS))
    first, events = await f.run_action(ProcedureAnswerAction("steps", kb), f.tracker(procedure=f.MARRIAGE))
    assert events == [ContinuationSet(Continuation("steps", f.MARRIAGE, 5))]
    assert titles(first[0]) == ["Xem thêm", "Giấy tờ", "Lệ phí", "Thời gian", "Nơi nộp"]
    last, events = await f.run_action(
        MoreAction(kb),
        f.tracker("more", procedure=f.MARRIAGE, continuation=Continuation("steps", f.MARRIAGE, 5)),
    )
    assert events == [ContinuationSet(None)]
    assert titles(last[0]) == ["Giấy tờ", "Lệ phí", "Thời gian", "Nơi nộp"]


def test_follow_up_buttons_leave_out_what_was_answered() -> None:
    buttons = follow_up_buttons(dispatcher(), f.birth_registration(), {"fee", "where"})
    assert [b.title for b in buttons] == ["Giấy tờ", "Thời gian"]


# --- several topics in one reply ----------------------------------------------------------------------


def test_fee_time_and_where_in_one_message() -> None:
    d = dispatcher()
    events = answer_many(d, seed()["1.001193"], ["fee", "processing_time", "where"])
    [draft] = d.messages
    assert draft.response == "utter_answer_many"
    assert draft.text.count("Dạ,") == 1
    assert draft.text.startswith("Dạ, thủ tục Đăng ký khai sinh không mất lệ phí (miễn lệ phí).\n\n")
    assert "\n\nThời gian giải quyết Đăng ký khai sinh:\nKhông quá 01 ngày.\n\n" in draft.text
    assert "Bạn nộp hồ sơ Đăng ký khai sinh tại: Bộ phận một cửa" in draft.text
    assert titles(draft) == ["Giấy tờ"]  # only the question not asked
    assert draft.links == (("Nộp hồ sơ trực tuyến", seed()["1.001193"].url),)
    assert events == [ContinuationSet(None)]


def test_a_list_with_others_keeps_going() -> None:
    d = dispatcher()
    events = answer_many(d, f.marriage_registration(steps=SEVEN_STEPS), ["steps", "fee"])
    [draft] = d.messages
    assert draft.text.startswith("Dạ, thủ tục Đăng ký kết hôn làm theo 7 bước:\nBước 1: Bước làm số 1.")
    assert "\n\nThủ tục Đăng ký kết hôn không mất lệ phí (miễn lệ phí)." in draft.text
    assert titles(draft) == ["Xem thêm", "Giấy tờ", "Thời gian", "Nơi nộp"]
    assert events == [ContinuationSet(Continuation("steps", f.MARRIAGE, 5))]


def test_a_case_named_in_one_of_several_topics_is_remembered() -> None:
    d = dispatcher()
    events = answer_many(d, f.construction_permit_per_case(), ["fee", "documents"], text="nhà ở riêng lẻ")
    assert len(d.messages) == 1
    assert any(isinstance(e, SlotSet) and e.name == "case" for e in events)


def test_one_topic_is_answered_as_alone() -> None:
    one, many = dispatcher(), dispatcher()
    answer(one, f.marriage_registration(), "fee")
    answer_many(many, f.marriage_registration(), ["fee", "fee"])
    assert one.messages == many.messages
