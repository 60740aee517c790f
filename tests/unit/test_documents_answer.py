"""Documents as an officer says them (issue 11, item 1), on the real records and on small ones.

An officer says first what everyone brings, the application form at the top with its template; then
"tùy trường hợp": the papers only some citizens need, grouped by case and offered as cases (buttons;
numbered on text-only channels), the case the citizen names answered at once. A "one of the following"
paper is one item with its alternatives under it; originals and copies are said plainly; no item is cut
mid-phrase with "…", and the full published texts are one tap away ("Xem đầy đủ", ``/more``).

The known answers read the seed knowledge base (``knowledge/seed/procedures.jsonl.gz``) and skip while
it is not built.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from actions.procedure.actions import MoreAction, ProcedureAnswerAction
from actions.procedure.names import fallbacks, one_of, short_paper, whole_phrase
from bot.core.events import ContinuationSet, SlotSet
from bot.core.sdk import ActionArgs, MessageDraft
from bot.core.state import Continuation
from knowledge.cases import AUTHORISATION_CASE, ONLINE_CASE, dossier, match_group, read_paper
from knowledge.domain import Document, Procedure
from knowledge.ports import InMemoryKnowledgeRepository
from knowledge.seed import SEED_PATH, read_records
from tests import factories as f

BIRTH = "1.001193"
PERMIT = "1.013225"
LAND = "1.013978"
PASSPORT = "1.001456"
CRIMINAL_RECORD = "3.000333"

COMMON = {
    "birth registration": (BIRTH, "đăng ký khai sinh cần giấy tờ gì"),
    "marriage": ("1.000894", "đăng ký kết hôn cần giấy tờ gì"),
    "permanent residence": ("1.004222", "đăng ký thường trú cần giấy tờ gì"),
    "ID card": ("1.014061", "làm căn cước cần giấy tờ gì"),
    "passport": (PASSPORT, "làm hộ chiếu cần giấy tờ gì"),
    "construction permit": (PERMIT, "làm giấy phép xây dựng nhà ở cần giấy tờ gì"),
    "land certificate": (LAND, "làm sổ đỏ lần đầu cần giấy tờ gì"),
    "driving licence": ("3.000347", "đổi bằng lái xe cần giấy tờ gì"),
    "vehicle registration": ("1.013067", "đăng ký xe máy mới cần giấy tờ gì"),
    "criminal record": (CRIMINAL_RECORD, "xin lý lịch tư pháp cần giấy tờ gì"),
    "certified copy": ("2.000815", "chứng thực bản sao cần mang gì"),
}
"""The procedures citizens ask about most, with the way they ask."""

needs_seed = pytest.mark.skipif(not SEED_PATH.exists(), reason="the seed knowledge base is not built")


@cache
def _knowledge() -> InMemoryKnowledgeRepository:
    records, _ = read_records()
    return f.knowledge(*records)


def _proc(code: str) -> Procedure:
    proc = _knowledge().get(code)
    assert proc is not None
    return proc


async def _ask(
    code: str, text: str = "", group: str | None = None, knowledge: Any = None, **state: Any
) -> tuple[list[MessageDraft], list[Any]]:
    action = ProcedureAnswerAction("documents", knowledge or _knowledge())
    return await f.run_action(
        action, f.tracker(text=text, procedure=code, args=ActionArgs(group=group), **state)
    )


def _numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit()]


def _titles(draft: MessageDraft) -> list[str]:
    return [b.title for b in draft.buttons]


# --- known answers on the real records -----------------------------------------------------------------


@needs_seed
async def test_birth_registration_the_form_and_the_birth_certificate_first_cases_under_buttons() -> None:
    drafts, events = await _ask(BIRTH, "đăng ký khai sinh cần giấy tờ gì")
    assert [d.response for d in drafts] == ["utter_documents_common"]
    text = drafts[0].text
    papers = _numbered(text)
    assert papers[0].startswith("1. Tờ khai đăng ký khai sinh theo mẫu")
    assert papers[1].startswith("2. Giấy chứng sinh")
    assert "   – nếu không có Giấy chứng sinh: văn bản của người làm chứng xác nhận về việc sinh" in text
    assert any(p.startswith("3. Giấy tờ tùy thân (Hộ chiếu, Thẻ căn cước công dân") for p in papers)
    # Case papers only under their cases.
    for only_some in ("bỏ rơi", "mang thai hộ", "ủy quyền", "điện tử tương tác"):
        assert only_some not in text
    assert _titles(drafts[0])[:4] == [
        "Trẻ em bị bỏ rơi",
        "Ủy quyền cho người khác làm thủ tục",
        "Trẻ em sinh ra do mang thai hộ",
        "Nộp hồ sơ trực tuyến",
    ]
    assert drafts[0].buttons[2].payload == '/choose_group{"procedure":"1.001193","group":"3"}'
    assert "Xem đầy đủ" in _titles(drafts[0]) and "…" not in text
    assert events == [ContinuationSet(Continuation("documents", BIRTH, 1))]


@needs_seed
async def test_a_case_picked_adds_its_own_papers_numbered_on() -> None:
    drafts, events = await _ask(BIRTH, "3", group="3")
    assert [d.response for d in drafts] == ["utter_documents_case_extra"]
    assert "trường hợp trẻ em sinh ra do mang thai hộ: ngoài 4 loại giấy tờ ai cũng cần" in drafts[0].text
    assert _numbered(drafts[0].text) == [
        "5. Văn bản xác nhận của cơ sở y tế đã thực hiện kỹ thuật hỗ trợ sinh sản cho việc mang thai hộ "
        "(bản chính)"
    ]
    assert events[0] == SlotSet("case", "khai sinh cho trẻ em sinh ra do mang thai hộ")


@needs_seed
@pytest.mark.parametrize(
    ("text", "case", "paper"),
    [
        (
            "khai sinh cho con nhờ mang thai hộ cần gì",
            "trẻ em sinh ra do mang thai hộ",
            "Văn bản xác nhận của cơ sở y tế",
        ),
        ("khai sinh cho tre bi bo roi can gi", "trẻ em bị bỏ rơi", "Biên bản về việc trẻ bị bỏ rơi"),
        (
            "nhờ người khác đi đăng ký khai sinh thay được không",
            "ủy quyền cho người khác làm thủ tục",
            "Văn bản ủy quyền",
        ),
        ("đăng ký khai sinh online cần gì", "nộp hồ sơ trực tuyến", "Mẫu hộ tịch điện tử tương tác"),
    ],
)
async def test_the_case_the_citizen_names_is_answered_with_everyones_papers(
    text: str, case: str, paper: str
) -> None:
    drafts, events = await _ask(BIRTH, text)
    assert [d.response for d in drafts] == ["utter_documents_case"]
    body = drafts[0].text
    assert f"trường hợp {case}, gồm" in body
    assert (
        body.index("1. Tờ khai đăng ký khai sinh")
        < body.index(f"Thêm cho trường hợp {case}:")
        < body.index(paper)
    )
    assert isinstance(events[0], SlotSet) and events[0].name == "case"


@needs_seed
async def test_the_procedure_itself_names_no_case() -> None:
    drafts, _ = await _ask(PASSPORT, "làm hộ chiếu cần gì")  # not "người đã được cấp hộ chiếu"
    assert [d.response for d in drafts] == ["utter_documents_common"]
    assert "Người chưa đủ 14 tuổi chưa được cấp mã số định danh cá nhân" in _titles(drafts[0])
    assert _numbered(drafts[0].text)[0].startswith(
        "1. Tờ khai đề nghị cấp hộ chiếu phổ thông ở trong nước (mẫu TK01 dành cho người từ 14 tuổi trở lên; "
        "mẫu TK01a dành cho người chưa đủ 14 tuổi)"
    )
    assert drafts[0].links == (("Tải mẫu đơn, tờ khai", _proc(PASSPORT).url),)


@needs_seed
async def test_house_permit_land_papers_are_one_item_with_alternatives() -> None:
    drafts, events = await _ask(PERMIT, "làm giấy phép xây dựng nhà ở cần giấy tờ gì")
    assert [d.response for d in drafts] == ["utter_documents_case"]
    text = drafts[0].text
    assert "trường hợp công trình nhà ở riêng lẻ, gồm 3 loại giấy tờ" in text
    assert _numbered(text) == [
        "1. Đơn đề nghị cấp giấy phép sửa chữa, cải tạo công trình theo Mẫu số 1 Phụ lục số II Nghị định "
        "175/2024/NĐ-CP (1 bản chính và 1 bản sao)",
        "2. Một trong các giấy tờ hợp pháp về đất đai (1 bản chính và 1 bản sao)",
        "3. Hồ sơ thiết kế xây dựng (2 bản chính và 2 bản sao)",
    ]
    alternatives = [line for line in text.splitlines() if line.startswith("   – ")]
    assert alternatives[:3] == [
        "   – Giấy chứng nhận quyền sử dụng đất",
        "   – Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "   – Giấy chứng nhận quyền sở hữu nhà ở và quyền sử dụng đất ở",
    ]
    assert alternatives[-1] == "   – hoặc 11 loại giấy tờ khác (chọn «Xem đầy đủ» để xem)"
    assert events[0] == SlotSet("case", "(1.7) Đối với công trình nhà ở riêng lẻ")


@needs_seed
async def test_the_full_texts_follow_one_tap_away_a_page_at_a_time() -> None:
    _, events = await _ask(PERMIT, "làm giấy phép xây dựng nhà ở cần giấy tờ gì")
    cont = events[-1].continuation
    assert cont == Continuation("documents", PERMIT, 1, "(1.7) Đối với công trình nhà ở riêng lẻ")
    said, pages = [], 0
    while cont is not None and pages < 10:
        drafts, more = await f.run_action(
            MoreAction(_knowledge()), f.tracker(procedure=PERMIT, continuation=cont)
        )
        said.append(drafts[0].text)
        cont, pages = more[-1].continuation, pages + 1
    full = "\n".join(said)
    assert said[0].startswith("Dạ, giấy tờ của hồ sơ Cấp giấy phép xây dựng mới")
    assert "ngày 30/12/2024 của Chính phủ" in full  # the published text, whole
    assert "   – Giấy tờ hợp pháp về đất đai của chủ rừng" in full
    assert "   – Các giấy tờ hợp pháp khác theo quy định của pháp luật về đất đai." in full
    assert "1 bộ bản vẽ" not in full and "02 bộ bản vẽ thiết kế xây dựng kèm theo" in full


@needs_seed
async def test_land_certificate_cases_read_apart() -> None:
    drafts, _ = await _ask(LAND, "làm sổ đỏ lần đầu cần giấy tờ gì")
    assert [d.response for d in drafts] == ["utter_ask_document_case_list"]
    assert _titles(drafts[0]) == [
        "Hộ gia đình, cá nhân, cộng đồng dân cư",
        "Người gốc Việt Nam định cư ở nước ngoài",
        "Đã có Thông báo xác nhận kết quả đăng ký đất đai",
    ]
    # The buttons say the difference; the message lists each case in full.
    assert (
        "3. Cá nhân, cộng đồng dân cư, hộ gia đình, người gốc Việt Nam định cư ở nước ngoài đã có Thông báo "
        "xác nhận kết quả đăng ký đất đai" in drafts[0].text
    )


@needs_seed
async def test_land_certificate_case_says_originals_and_copies_once_and_conditions_inline() -> None:
    drafts, _ = await _ask(LAND, "1", group="1")
    text = drafts[0].text
    assert _numbered(text)[0] == "1. Đơn đăng ký đất đai, tài sản gắn liền với đất"
    assert "Mỗi loại giấy tờ: 1 bản chính và 1 bản sao." in text
    assert (
        "Văn bản về việc đại diện theo quy định của pháp luật về dân sự (nếu ủy quyền cho người khác làm thủ tục)"
        in text
    )
    assert "(nếu hộ gia đình đang sử dụng đất)" in text


@needs_seed
async def test_criminal_record_forms_by_case() -> None:
    record = dossier(_proc(CRIMINAL_RECORD))
    assert [c.key for c in record.cases] == [AUTHORISATION_CASE, ONLINE_CASE]
    authorisation = [p.document.name for p in record.cases[0].papers]
    assert any("Mẫu số 02/2025/LLTP" in n for n in authorisation)
    assert any(n.startswith("Văn bản ủy quyền") for n in authorisation)
    drafts, _ = await _ask(CRIMINAL_RECORD, "xin lý lịch tư pháp cần giấy tờ gì")
    assert _numbered(drafts[0].text)[0].startswith(
        "1. Tờ khai yêu cầu cấp Phiếu Lý lịch tư pháp (Dùng cho cá nhân có yêu cầu cấp Phiếu Lý lịch tư pháp), "
        "Mẫu số 01/2025/LLTP"
    )


@needs_seed
@pytest.mark.parametrize("name", sorted(COMMON))
async def test_the_common_procedures_never_cut_an_item_mid_phrase(name: str) -> None:
    code, text = COMMON[name]
    drafts, _ = await _ask(code, text)
    draft = drafts[0]
    assert draft.response in {
        "utter_documents",
        "utter_documents_common",
        "utter_documents_case",
        "utter_ask_document_case",
        "utter_ask_document_case_list",
    }
    assert "…" not in draft.text
    assert all("…" not in title and "(mã" not in title for title in _titles(draft))
    assert code not in draft.text  # no national code in what citizens read


# --- reading papers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "case", "words"),
    [
        (
            "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản về việc trẻ bị bỏ rơi do cơ quan có thẩm quyền lập.",
            "trẻ em bị bỏ rơi",
            "biên bản về việc trẻ bị bỏ rơi do cơ quan có thẩm quyền lập.",
        ),
        (
            "Đối với Quân đội nhân dân: Giấy giới thiệu đăng ký thường trú của đơn vị cấp trung đoàn.",
            "Quân đội nhân dân",
            "Giấy giới thiệu đăng ký thường trú của đơn vị cấp trung đoàn.",
        ),
        (
            "Hộ chiếu còn thời hạn sử dụng (đối với người nước ngoài)",
            "người nước ngoài",
            "Hộ chiếu còn thời hạn sử dụng",
        ),
        (
            "Văn bản ủy quyền theo quy định của pháp luật trong trường hợp ủy quyền thực hiện việc đăng ký.",
            AUTHORISATION_CASE,
            "Văn bản ủy quyền.",
        ),
        ("Người nước ngoài phải nộp bản sao hộ chiếu.", "Người nước ngoài", "bản sao hộ chiếu."),
        ("Giấy chứng sinh", "", "Giấy chứng sinh"),
    ],
)
def test_a_paper_needed_in_one_case_says_which(text: str, case: str, words: str) -> None:
    paper = read_paper(Document(text))
    assert (paper.case, paper.words) == (case, words)


def test_a_paper_the_office_looks_up_is_everyones_when_it_cannot() -> None:
    paper = read_paper(
        Document(
            "Giấy tờ chứng minh nơi cư trú trong trường hợp cơ quan đăng ký hộ tịch không thể khai thác được "
            "thông tin về nơi cư trú của công dân."
        )
    )
    assert paper.case == "" and paper.unless_on_record
    assert paper.words.startswith("Giấy tờ chứng minh nơi cư trú")


def test_cases_under_group_headings_and_sections_of_one_dossier() -> None:
    sections = f.birth_registration(
        documents=(
            Document("Tờ khai đăng ký khai sinh", group="Giấy tờ phải nộp"),
            Document("Giấy tờ tùy thân", group="Giấy tờ phải xuất trình"),
        )
    )
    assert dossier(sections).cases == ()
    per_case = dossier(f.construction_permit_per_case())
    assert per_case.common == () and per_case.has_headings and len(per_case.cases) == 3


def test_case_words_ignore_what_names_the_procedure() -> None:
    cases = ["người đã được cấp hộ chiếu", "người chưa đủ 14 tuổi"]
    assert match_group("làm hộ chiếu cần gì", cases) == 0
    assert match_group("làm hộ chiếu cần gì", cases, ignore="Cấp hộ chiếu phổ thông ở trong nước") is None
    assert match_group("làm hộ chiếu cho con chưa đủ 14 tuổi", cases, ignore="Cấp hộ chiếu phổ thông") == 1


# --- short forms ---------------------------------------------------------------------------------------


def test_one_of_the_following_is_one_paper_with_its_alternatives() -> None:
    choice = one_of(
        "Một trong những giấy tờ hợp pháp về đất đai theo quy định tại Điều 53 bao gồm: + Giấy chứng nhận "
        "quyền sử dụng đất. + Giấy chứng nhận quyền sở hữu nhà ở. + Các giấy tờ hợp pháp khác."
    )
    assert choice is not None
    assert choice.lead.startswith("Một trong các giấy tờ hợp pháp về đất đai")
    assert choice.alternatives == (
        "Giấy chứng nhận quyền sử dụng đất",
        "Giấy chứng nhận quyền sở hữu nhà ở",
        "Các giấy tờ hợp pháp khác",
    )
    assert one_of("Giấy chứng nhận quyền sử dụng đất") is None


@pytest.mark.parametrize(
    ("text", "short"),
    [
        (
            "Tờ khai thay đổi thông tin cư trú (mẫu CT01 ban hành kèm theo Thông tư số 53/2025/TT-BCA ngày "
            "01/7/2025 của Bộ Công an).",
            "Tờ khai thay đổi thông tin cư trú (mẫu CT01, Thông tư 53/2025/TT-BCA)",
        ),
        (
            "Hộ chiếu/Thẻ căn cước/Căn cước điện tử hoặc các giấy tờ khác có dán ảnh (sau đây gọi tắt là giấy "
            "tờ tùy thân) để chứng minh về nhân thân.",
            "Giấy tờ tùy thân (Hộ chiếu, Thẻ căn cước, Căn cước điện tử hoặc các giấy tờ khác có dán ảnh)",
        ),
        (
            "Tờ khai đăng ký khai sinh theo mẫu (nếu người có yêu cầu lựa chọn nộp hồ sơ theo hình thức trực "
            "tiếp hoặc gửi hồ sơ qua hệ thống bưu chính)",
            "Tờ khai đăng ký khai sinh theo mẫu (nếu nộp trực tiếp hoặc gửi qua bưu chính)",
        ),
        (
            "Hồ sơ thiết kế xây dựng: + Đối với nhà ở riêng lẻ: 02 bộ bản vẽ; + Đối với tổ chức: ...",
            "Hồ sơ thiết kế xây dựng",
        ),
        (
            "Mảnh trích đo bản đồ địa chính thửa đất (nếu có).",
            "Mảnh trích đo bản đồ địa chính thửa đất (nếu có)",
        ),
    ],
)
def test_short_forms_are_whole_phrases(text: str, short: str) -> None:
    assert short_paper(text) == short


def test_what_to_bring_instead_is_said_under_the_paper() -> None:
    assert fallbacks(
        "Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp văn bản của người làm chứng xác nhận về "
        "việc sinh; nếu không có người làm chứng thì phải có giấy cam đoan về việc sinh."
    ) == (
        ("Giấy chứng sinh", "văn bản của người làm chứng xác nhận về việc sinh"),
        ("người làm chứng", "giấy cam đoan về việc sinh"),
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (
            "Giấy tờ chứng minh quyền sử dụng đất của người đề nghị cấp phép",
            40,
            "Giấy tờ chứng minh quyền sử dụng đất",
        ),
        ("Cấp hộ chiếu phổ thông ở trong nước (cấp trung ương)", 45, "Cấp hộ chiếu phổ thông ở trong nước"),
        ("Giấy tờ do cơ quan có thẩm quyền cấp", 20, "Giấy tờ"),  # never "… do cơ quan có"
    ],
)
def test_whole_phrase_ends_where_a_phrase_ends(text: str, limit: int, expected: str) -> None:
    assert whole_phrase(text, limit, 4) == expected
