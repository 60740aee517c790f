"""Every action, asserted on two lists: the drafts it dispatched and the events it returned."""

from __future__ import annotations

import pytest

from actions.dossier import DossierStatusAction
from actions.escalation import EscalateAction
from actions.fallback import ClarifyAction, OfferOfficerAction
from actions.feedback import FeedbackAction
from actions.procedure.actions import (
    AskProcedureAction,
    ChooseProcedureAction,
    MoreAction,
    ProcedureAnswerAction,
)
from actions.smalltalk import smalltalk_actions
from bot.core.domain import TicketReason
from bot.core.dossier import looks_like_dossier_code
from bot.core.events import (
    ContinuationSet,
    EscalationRequested,
    FallbackCounted,
    FeedbackGiven,
    ModeChanged,
    SlotSet,
)
from bot.core.messages import Button
from bot.core.parse import Candidate
from bot.core.ports import (
    InMemoryDossierAccessGuard,
    InMemoryDossierSubscriptions,
    NotConfiguredDossierGateway,
)
from bot.core.sdk import ActionArgs, MessageDraft
from bot.core.state import Mode
from knowledge.domain import Document
from knowledge.ports import KnowledgeRepository
from knowledge.text import clip
from tests import factories as f


def answering(topic: str, knowledge: KnowledgeRepository | None = None) -> ProcedureAnswerAction:
    return ProcedureAnswerAction(topic, knowledge or f.knowledge())


def titles(draft: MessageDraft) -> list[str]:
    return [b.title for b in draft.buttons]


# --- procedure answers -------------------------------------------------------------------------------


async def test_documents_everyones_papers_first_then_the_case_as_a_button() -> None:
    drafts, events = await f.run_action(answering("documents"), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_documents_common"]
    text = drafts[0].text
    assert "giấy tờ ai cũng cần (5 loại)" in text
    assert "1. Đơn đề nghị cấp giấy phép xây dựng (bản chính) — tải mẫu: «Tải mẫu đơn, tờ khai»\n" in text
    assert "2. Giấy tờ chứng minh quyền sử dụng đất (bản sao)" in text
    assert "5. Cam kết" in text and "6." not in text and "sân bay" not in text
    assert drafts[0].buttons == (
        Button("Công trình gần sân bay", '/choose_group{"procedure":"1.013225","group":"1"}'),
    )
    assert drafts[0].links == (("Tải mẫu đơn, tờ khai", f.PORTAL + f.GPXD_NEW),)
    assert events == [ContinuationSet(None)]  # every paper said in full: no "Xem đầy đủ"


async def test_the_case_picked_after_everyones_papers_adds_its_own() -> None:
    t = f.tracker(procedure=f.GPXD_NEW, args=ActionArgs(group="1"))
    drafts, events = await f.run_action(answering("documents"), t)
    assert [d.response for d in drafts] == ["utter_documents_case_extra"]
    text = drafts[0].text
    assert "trường hợp công trình gần sân bay: ngoài 5 loại giấy tờ ai cũng cần" in text
    assert "6. Văn bản chấp thuận độ cao công trình (bản sao)\n7. Báo cáo kết quả thẩm tra thiết kế" in text
    assert "Cam kết" not in text
    assert events[0] == SlotSet("case", "Đối với công trình gần sân bay")


async def test_more_with_nothing_left() -> None:
    drafts, events = await f.run_action(MoreAction(f.knowledge()), f.tracker())
    assert [d.response for d in drafts] == ["utter_no_more"]
    assert events == [ContinuationSet(None)]


async def test_forms_list_names_and_link_to_the_portal() -> None:
    drafts, events = await f.run_action(answering("forms"), f.tracker(procedure=f.MARRIAGE))
    assert [d.response for d in drafts] == ["utter_forms"]
    assert drafts[0].text.endswith("\n1. Tờ khai đăng ký kết hôn (TT 04/2024/TT-BTP)")
    assert drafts[0].links == (("Tải mẫu đơn, tờ khai", f.PORTAL + f.MARRIAGE),)
    assert events == [ContinuationSet(None)]


async def test_forms_when_none_is_published() -> None:
    kb = f.knowledge(f.birth_registration(documents=(Document("Giấy chứng sinh", originals=1),)))
    drafts, _ = await f.run_action(answering("forms", kb), f.tracker(procedure=f.BIRTH))
    assert [d.response for d in drafts] == ["utter_no_forms"]


async def test_fee_per_channel_without_duplicates() -> None:
    drafts, events = await f.run_action(answering("fee"), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_fee"]
    assert drafts[0].text.endswith(":\n75.000 đồng.")  # the same on every channel: said once
    assert events == [ContinuationSet(None)]


async def test_fee_text_with_several_charges_keeps_its_labels() -> None:
    from knowledge.domain import SubmissionChannel

    proc = f.construction_permit_new(
        channels=(
            SubmissionChannel("truc_tiep", fee_text="Lệ phí : 75.000 Đồng; Phí : 10.000 Đồng", fee_vnd=85000),
        )
    )
    drafts, _ = await f.run_action(answering("fee", f.knowledge(proc)), f.tracker(procedure=f.GPXD_NEW))
    assert drafts[0].text.endswith(":\nLệ phí: 75.000 Đồng; Phí: 10.000 Đồng.")


async def test_free_procedure_says_so() -> None:
    drafts, _ = await f.run_action(answering("fee"), f.tracker(procedure=f.MARRIAGE))
    assert [d.response for d in drafts] == ["utter_fee_free"]
    assert "không mất lệ phí" in drafts[0].text


async def test_missing_data_links_the_portal() -> None:
    drafts, events = await f.run_action(answering("steps"), f.tracker(procedure=f.GPXD_RENEW))
    assert [d.response for d in drafts] == ["utter_missing_detail"]
    assert "các bước thực hiện" in drafts[0].text
    assert drafts[0].links == (("Xem trên Cổng Dịch vụ công", f.PORTAL + f.GPXD_RENEW),)
    assert events == [ContinuationSet(None)]


async def test_missing_data_without_link_offers_an_officer() -> None:
    drafts, _ = await f.run_action(answering("fee"), f.tracker(procedure=f.GPXD_REISSUE))
    assert [d.response for d in drafts] == ["utter_missing_detail_no_link"]
    assert drafts[0].buttons[0] == Button("Gặp cán bộ", "/request_human")


async def test_where_with_address() -> None:
    drafts, _ = await f.run_action(answering("where"), f.tracker(procedure=f.MARRIAGE))
    assert [d.response for d in drafts] == ["utter_where_address"]
    assert "Ủy ban nhân dân xã, phường, thị trấn" in drafts[0].text
    assert "Địa chỉ: Bộ phận Một cửa" in drafts[0].text


async def test_channels_and_full_online_with_link() -> None:
    drafts, _ = await f.run_action(answering("channels"), f.tracker(procedure=f.BIRTH))
    assert [d.response for d in drafts] == ["utter_channels", "utter_online_full"]
    assert "trực tuyến" in drafts[0].text
    assert drafts[1].links == (("Nộp hồ sơ trực tuyến", f.PORTAL + f.BIRTH),)


async def test_conditions_published_as_khong() -> None:
    drafts, _ = await f.run_action(answering("conditions"), f.tracker(procedure=f.BIRTH))
    assert [d.response for d in drafts] == ["utter_no_conditions"]


async def test_processing_time_steps_legal_basis_result() -> None:
    t = f.tracker(procedure=f.MARRIAGE)
    for topic, response, fragment in [
        (
            "processing_time",
            "utter_processing_time",
            ":\nNgay trong ngày tiếp nhận hồ sơ.",
        ),
        ("steps", "utter_steps", "Bước 3: Hai bên ký vào Sổ hộ tịch"),
        ("legal_basis", "utter_legal_basis", "1. Luật Hộ tịch (60/2014/QH13)"),
        ("result", "utter_result", "Giấy chứng nhận kết hôn"),
        ("conditions", "utter_conditions", "Nam từ đủ 20 tuổi"),
    ]:
        drafts, events = await f.run_action(answering(topic), t)
        assert [d.response for d in drafts] == [response], topic
        assert fragment in drafts[0].text, topic
        assert events == [ContinuationSet(None)]


async def test_overview_with_follow_up_buttons() -> None:
    drafts, events = await f.run_action(answering("overview"), f.tracker(procedure=f.GPXD_NEW))
    assert [d.response for d in drafts] == ["utter_overview"]
    assert "1.013225" not in drafts[0].text  # no national code in what citizens read
    assert "- Thời gian: không quá 15 ngày" in drafts[0].text
    assert titles(drafts[0]) == ["Cần giấy tờ gì", "Lệ phí", "Nộp ở đâu", "Các bước làm"]
    assert drafts[0].links == (("Xem trên Cổng Dịch vụ công", f.PORTAL + f.GPXD_NEW),)
    assert events == [ContinuationSet(None)]


async def test_unknown_procedure_code_forgets_it() -> None:
    drafts, events = await f.run_action(answering("fee"), f.tracker(procedure="9.999999"))
    assert [d.response for d in drafts] == ["utter_procedure_unknown"]
    assert events == [SlotSet("procedure", None), ContinuationSet(None)]


async def test_ask_procedure_remembers_the_question() -> None:
    drafts, events = await f.run_action(AskProcedureAction(), f.tracker(f.parse("ask_fee")))
    assert [d.response for d in drafts] == ["utter_ask_procedure"]
    assert events == [SlotSet("pending_intent", "ask_fee")]


async def test_choose_procedure_offers_candidates_as_choose_payloads() -> None:
    candidates = (Candidate(f.GPXD_NEW, "Cấp mới", 0.74), Candidate(f.GPXD_ADJUST, "Điều chỉnh", 0.72))
    drafts, events = await f.run_action(
        ChooseProcedureAction(), f.tracker(f.parse("ask_documents"), args=ActionArgs(candidates=candidates))
    )
    assert [d.response for d in drafts] == ["utter_choose_procedure"]
    assert drafts[0].buttons == (
        Button("Cấp mới", '/choose{"procedure":"1.013225"}'),
        Button("Điều chỉnh", '/choose{"procedure":"1.013226"}'),
    )
    assert events == [
        SlotSet("pending_intent", "ask_documents"),
        ModeChanged(Mode.AWAITING_CHOICE),
        ContinuationSet(None),
    ]


def test_clip_cuts_at_a_word() -> None:
    assert clip("một hai ba bốn năm", 10) == "một hai…"
    assert clip("ngắn", 10) == "ngắn"


# --- small talk, feedback -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "response", "events"),
    [
        ("action_greet", "utter_greet", [ContinuationSet(None)]),
        ("action_thank", "utter_thank", []),
        ("action_goodbye", "utter_goodbye", [ModeChanged(Mode.CLOSED)]),
        ("action_affirm", "utter_affirm", []),
        ("action_deny", "utter_deny", [SlotSet("pending_intent", None)]),
        ("action_out_of_scope", "utter_out_of_scope", [FallbackCounted(1, "out_of_scope")]),
        ("action_rephrase", "utter_rephrase", [SlotSet("pending_intent", None)]),
    ],
)
async def test_smalltalk(name: str, response: str, events: list) -> None:
    action = {a.name: a for a in smalltalk_actions()}[name]
    drafts, got = await f.run_action(action, f.tracker())
    assert [d.response for d in drafts] == [response]
    assert got == events


async def test_greeting_shows_the_help_menu() -> None:
    action = {a.name: a for a in smalltalk_actions()}["action_greet"]
    drafts, _ = await f.run_action(action, f.tracker())
    assert "Gặp cán bộ" in titles(drafts[0])
    assert "Tra cứu hồ sơ" in titles(drafts[0])


async def test_feedback_comment_asks_for_a_rating() -> None:
    drafts, events = await f.run_action(
        FeedbackAction(), f.tracker(f.parse("give_feedback", text="góp ý: trả lời hơi dài"))
    )
    assert [d.response for d in drafts] == ["utter_feedback_ask_rating"]
    assert titles(drafts[0]) == ["1", "2", "3", "4", "5"]
    assert events == [FeedbackGiven(None, "góp ý: trả lời hơi dài", None)]


async def test_feedback_rating_is_thanked() -> None:
    t = f.tracker(f.parse("give_feedback", entities={"rating": "4"}), procedure=f.BIRTH)
    drafts, events = await f.run_action(FeedbackAction(), t)
    assert [d.text for d in drafts] == [f.catalogue().text("utter_feedback_thanks", rating=4)]
    assert events == [FeedbackGiven(4, "", f.BIRTH)]


# --- fallback, escalation, dossier ---------------------------------------------------------------


async def test_clarify_offers_candidates_then_not_these() -> None:
    parse = f.parse("nlu_fallback", ranking=[(f.GPXD_ADJUST, 0.45), (f.GPXD_NEW, 0.42)])
    drafts, events = await f.run_action(ClarifyAction(), f.tracker(parse))
    assert [d.response for d in drafts] == ["utter_clarify"]
    assert [b.payload for b in drafts[0].buttons] == [
        '/choose{"procedure":"1.013226"}',
        '/choose{"procedure":"1.013225"}',
        "/rephrase",
        "/request_human",
        "/help",
    ]
    assert events == [FallbackCounted(1, "clarify"), ModeChanged(Mode.AWAITING_CHOICE)]


async def test_clarify_without_candidates() -> None:
    drafts, events = await f.run_action(ClarifyAction(), f.tracker(f.parse("nlu_fallback")))
    assert [d.response for d in drafts] == ["utter_clarify_no_candidates"]
    assert events == [FallbackCounted(1, "clarify")]


async def test_offer_officer() -> None:
    drafts, events = await f.run_action(
        OfferOfficerAction(), f.tracker(f.parse("nlu_fallback"), fallback_streak=1)
    )
    assert [d.response for d in drafts] == ["utter_offer_officer"]
    assert [b.payload for b in drafts[0].buttons] == ["/request_human", "/help", "/rephrase"]
    assert events == [FallbackCounted(2, "officer"), ModeChanged(Mode.ANSWERING)]


async def test_escalate_hands_over_and_emits_the_request() -> None:
    t = f.tracker(
        f.parse("request_human", text="cho tôi gặp cán bộ"),
        procedure=f.MARRIAGE,
        args=ActionArgs(reason=TicketReason.REQUEST_HUMAN),
    )
    drafts, events = await f.run_action(EscalateAction(), t)
    assert [d.response for d in drafts] == ["utter_escalate"]
    assert events == [
        ModeChanged(Mode.WITH_OFFICER),
        ContinuationSet(None),
        EscalationRequested(TicketReason.REQUEST_HUMAN, f.MARRIAGE, "cho tôi gặp cán bộ", None),
    ]


async def test_escalate_from_a_button_does_not_pass_the_payload_as_text() -> None:
    _, events = await f.run_action(
        EscalateAction(), f.tracker(f.parse("request_human", text="/request_human"))
    )
    assert events[-1] == EscalationRequested(TicketReason.REQUEST_HUMAN, None, "", None)


async def test_dossier_asks_for_the_code() -> None:
    action = DossierStatusAction(
        NotConfiguredDossierGateway(),
        InMemoryDossierAccessGuard(),
        InMemoryDossierSubscriptions(),
        f.knowledge(),
    )
    drafts, events = await f.run_action(
        action, f.tracker(f.parse("check_dossier_status", text="tra cứu hồ sơ"))
    )
    assert [d.response for d in drafts] == ["utter_ask_dossier_code"]
    assert events == [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("H12.22-250315-0001", True),
        ("000.00.19.H12-230101-0001", True),
        ("0912345678", False),
        ("lệ phí", False),
    ],
)
def test_looks_like_dossier_code(text: str, expected: bool) -> None:
    assert looks_like_dossier_code(text) is expected


async def test_official_name_prefix_thu_tuc_is_not_repeated() -> None:
    kb = f.knowledge(f.marriage_registration(name="Thủ tục đăng ký kết hôn"))
    drafts, _ = await f.run_action(answering("fee", kb), f.tracker(procedure=f.MARRIAGE))
    assert drafts[0].text == "Dạ, thủ tục Đăng ký kết hôn không mất lệ phí (miễn lệ phí)."


async def test_bare_number_processing_time_gets_its_unit() -> None:
    from knowledge.domain import SubmissionChannel

    proc = f.birth_registration(
        channels=(
            SubmissionChannel("truc_tiep", "1", "Miễn phí", days=1.0, fee_vnd=0),
            SubmissionChannel("truc_tuyen", "3", "Miễn phí", days=3.0, working_days=True, fee_vnd=0),
        )
    )
    drafts, _ = await f.run_action(
        answering("processing_time", f.knowledge(proc)), f.tracker(procedure=f.BIRTH)
    )
    assert drafts[0].text.endswith("- Trực tiếp: không quá 01 ngày\n- Trực tuyến: không quá 03 ngày làm việc")
