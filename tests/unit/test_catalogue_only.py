"""Procedures known only from a provincial catalogue (issue 11, item 5): name, field and online level,
nothing else. The bot says what it knows honestly and usefully: the agency handling the field in the
province, where dossiers go, whether the procedure is online, the portal search and an officer.
"""

from __future__ import annotations

import pytest

from actions.procedure.answers import answer, answer_many
from actions.procedure.places import field_agency, place_of
from bot.core.messages import Button
from bot.core.sdk import CollectingDispatcher, MessageDraft
from knowledge.seed import read_records
from tests import factories as f

OFFICER = Button("Gặp cán bộ", "/request_human")
PORTAL_SEARCH = ("Tìm trên Cổng Dịch vụ công", "https://dichvucong.gov.vn")


def said(topics: list[str], **changes: object) -> list[MessageDraft]:
    d = CollectingDispatcher(f.catalogue())
    answer_many(d, f.catalogue_only_procedure(**changes), topics)
    return d.messages


@pytest.mark.parametrize(
    ("field", "agency"),
    [
        ("Khám, chữa bệnh", "Sở Y tế"),  # health
        ("Dược phẩm", "Sở Y tế"),
        ("Bảo trợ xã hội", "Sở Y tế"),  # social protection moved to health in 2025
        ("Giáo dục Trung học", "Sở Giáo dục và Đào tạo"),  # education
        ("Giáo dục nghề nghiệp", "Sở Giáo dục và Đào tạo"),  # vocational schools moved to education
        ("Việc Làm", "Sở Nội vụ"),  # labour moved to home affairs
        ("Người có công", "Sở Nội vụ"),
        ("Lưu thông hàng hóa trong nước", "Sở Công Thương"),  # industry and trade
        ("Kinh Doanh Khí", "Sở Công Thương"),
        ("[SVH] - Du lịch", "Sở Văn hóa, Thể thao và Du lịch"),
        ("Xuất bản, in và phát hành", "Sở Văn hóa, Thể thao và Du lịch"),
        ("Tín ngưỡng, tôn giáo", "Sở Dân tộc và Tôn giáo"),
        ("Phổ biến giáo dục pháp luật", "Sở Tư pháp"),  # not education
        ("[BQL] - Đầu tư tại Việt Nam", "Ban Quản lý các khu công nghiệp, khu kinh tế tỉnh"),
        # "được" folds to "duoc": the word, not the letters, names the pharmacy field.
        ("Chuyển đổi công ty nhà nước được thành lập theo Luật Doanh nghiệp", "Sở Tài chính"),
        ("Lĩnh vực chưa biết", ""),
    ],
)
def test_the_agency_of_a_field(field: str, agency: str) -> None:
    assert field_agency(field) == agency


def test_every_catalogue_only_record_of_the_seed_has_an_agency() -> None:
    records, _ = read_records()
    catalogue = [r for r in records if r.catalogue_only]
    assert len(catalogue) == 1410
    assert [r.code for r in catalogue if place_of(r) is None] == []


def test_where_is_answered_with_what_the_catalogue_gives() -> None:
    [draft] = said(["where"])
    assert draft.response == "utter_catalogue_where"
    assert "Tôi chưa có hồ sơ chi tiết của thủ tục này" in draft.text
    assert "- Lĩnh vực: Giáo dục nghề nghiệp" in draft.text
    assert "- Cơ quan phụ trách lĩnh vực này ở tỉnh: Sở Giáo dục và Đào tạo" in draft.text
    assert "- Nơi nộp hồ sơ: Trung tâm Phục vụ hành chính công của tỉnh" in draft.text
    assert "- Nộp được trên mạng (dịch vụ công trực tuyến một phần)" in draft.text
    assert draft.buttons == (OFFICER,)  # no "you may also ask": the other parts are not known either
    assert draft.links == (PORTAL_SEARCH,)


def test_an_agency_with_its_own_desk_is_the_desk() -> None:
    [draft] = said(["where"], field="DỊCH VỤ CUNG CẤP ĐIỆN MỚI", online_level="toan_trinh")
    assert "- Nơi nộp hồ sơ: Công ty Điện lực nơi bạn sử dụng điện" in draft.text
    assert "Cơ quan phụ trách" not in draft.text


def test_other_parts_say_they_are_not_known_and_still_give_the_agency() -> None:
    [draft] = said(["fee", "processing_time"])
    assert draft.response == "utter_catalogue_only"
    assert "chưa có thông tin về lệ phí và thời gian giải quyết của thủ tục này" in draft.text
    assert "- Cơ quan phụ trách lĩnh vực này ở tỉnh: Sở Giáo dục và Đào tạo" in draft.text
    assert draft.buttons == (OFFICER,)
    assert draft.links == (PORTAL_SEARCH,)


def test_one_topic_through_answer_is_the_same() -> None:
    d = CollectingDispatcher(f.catalogue())
    answer(d, f.catalogue_only_procedure(), "documents")
    assert d.messages == said(["documents"])
    assert "chưa có thông tin về giấy tờ cần nộp" in d.messages[0].text
