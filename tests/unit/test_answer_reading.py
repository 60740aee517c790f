"""The general rules found reading the 40 most asked procedures (issue 11), each on a small record.

Each test is named after what read badly: a remark listed as a paper, a form named after the papers of a
heading, the procedure's own dossier offered as if it were a special case, a choice of one, a child's
representative's proof said as everyone's, a short form cut inside "lý do", a time only the steps
give, a person or a sentence said as the place, three time rows with the same label.
"""

from __future__ import annotations

from actions.procedure.answers import answer
from actions.procedure.facts import time_in_steps
from actions.procedure.names import case_title, short_paper, whole_phrase
from actions.procedure.places import place_of
from bot.core.sdk import CollectingDispatcher
from knowledge.cases import AUTHORISATION_CASE, dossier, is_usual_case, read_paper
from knowledge.domain import Document, Procedure, SubmissionChannel
from tests import factories as f


def record(*documents: Document, **fields: object) -> Procedure:
    data: dict[str, object] = {"code": "9.000001", "name": "Đăng ký tạm trú", "documents": documents}
    data.update(fields)
    return Procedure(**data)  # type: ignore[arg-type]


def documents_text(proc: Procedure, group: str | None = None) -> str:
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, proc, "documents", group=group)
    return "\n".join(d.text for d in dispatcher.messages)


def test_a_remark_is_not_a_paper() -> None:
    note = Document("Lưu ý:- Trường hợp nộp hồ sơ trực tiếp thì có thể nộp bản sao giấy tờ.", copies=1)
    example = Document("Ví dụ: Trường hợp giấy tờ chứng minh chỗ ở hợp pháp đã có trong cơ sở dữ liệu ...")
    assert read_paper(note).aside and read_paper(example).aside
    proc = record(Document("Tờ khai thay đổi thông tin cư trú (Mẫu CT01)", originals=1), note)
    text = documents_text(proc)
    assert "gồm 1 loại giấy tờ:\n1. Tờ khai thay đổi thông tin cư trú (Mẫu CT01)" in text
    assert "Lưu ý" not in text  # said with the full texts ("Xem đầy đủ"), not as paper 2


def test_a_footnote_number_after_a_paper_is_dropped() -> None:
    paper = read_paper(Document("Tờ khai thay đổi thông tin cư trú (của từng người) (Mẫu CT01).1."))
    assert paper.words == "Tờ khai thay đổi thông tin cư trú (của từng người) (Mẫu CT01)."


def test_how_to_fill_in_a_form_is_no_case() -> None:
    paper = read_paper(
        Document(
            "Tờ khai thay đổi thông tin cư trú; đối với người chưa thành niên thì trong tờ khai phải ghi rõ "
            "ý kiến đồng ý của cha, mẹ hoặc người giám hộ."
        )
    )
    assert paper.case == ""


def test_an_authorisation_for_a_named_case_keeps_the_records_case() -> None:
    family = read_paper(
        Document(
            "Bản sao văn bản ủy quyền của thành viên hộ gia đình cho một thành viên làm chủ hộ kinh doanh đối "
            "với trường hợp hộ kinh doanh do các thành viên hộ gia đình đăng ký thành lập."
        )
    )
    assert family.case == "hộ kinh doanh do các thành viên hộ gia đình đăng ký thành lập"
    assert read_paper(Document("Văn bản ủy quyền (được chứng thực)")).case == AUTHORISATION_CASE


def test_the_form_is_named_first_even_under_lead_in_headings() -> None:
    proc = record(
        Document("Giấy tờ tùy thân", group="Giấy tờ phải xuất trình", originals=1),
        Document("Bản sao toàn bộ hồ sơ, giấy tờ có thông tin về nội dung khai sinh, gồm:"),
        Document("Tờ khai đăng ký lại khai sinh theo mẫu", originals=1),
        name="Đăng ký lại khai sinh",
    )
    text = documents_text(proc)
    assert "\n1. Tờ khai đăng ký lại khai sinh theo mẫu" in text
    assert "Bản sao toàn bộ hồ sơ" not in text  # a heading left with no paper is not said


def test_the_procedures_own_dossier_is_the_usual_case_offered_first() -> None:
    assert is_usual_case("Hồ sơ đăng ký tạm trú gồm", "Đăng ký tạm trú")
    assert not is_usual_case("Đăng ký tạm trú theo danh sách, hồ sơ gồm", "Đăng ký tạm trú")
    proc = record(
        Document("Văn bản đề nghị kèm danh sách", group="Đăng ký tạm trú theo danh sách, hồ sơ gồm"),
        Document("Tờ khai thay đổi thông tin cư trú (Mẫu CT01)", group="Hồ sơ đăng ký tạm trú gồm"),
    )
    assert [c.key for c in dossier(proc).cases][0] == "Hồ sơ đăng ký tạm trú gồm"
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, proc, "documents")
    assert [b.title for b in dispatcher.messages[0].buttons][:2] == ["Thông thường", "Theo danh sách"]


def test_one_heading_over_every_paper_is_no_choice() -> None:
    heading = "Đối với người Việt Nam có giấy phép lái xe quốc gia còn giá trị sử dụng"
    proc = record(
        Document("Đề nghị cấp IDP theo mẫu", group=heading, originals=1),
        Document("Bản chính giấy phép lái xe quốc gia", group=heading),
        name="Cấp giấy phép lái xe quốc tế",
    )
    assert dossier(proc).cases == ()
    assert "gồm 2 loại giấy tờ" in documents_text(proc)


def test_a_childs_representatives_proof_is_a_case_unless_the_procedure_is_for_children() -> None:
    proof = Document("Giấy tờ chứng minh là người đại diện hợp pháp của người dưới 14 tuổi", originals=1)
    form = Document("Phiếu đề nghị giải quyết thủ tục về căn cước (Mẫu DC02)", originals=1)
    renewal = dossier(record(form, proof, name="Cấp đổi thẻ căn cước"))
    assert [p.document for p in renewal.common] == [form]
    assert [c.key for c in renewal.cases] == ["làm thủ tục cho người dưới 14 tuổi"]
    child = dossier(record(form, proof, name="Cấp thẻ căn cước cho người dưới 14 tuổi"))
    assert len(child.common) == 2 and child.cases == ()


def test_a_short_form_is_never_cut_inside_a_compound_nor_after_one_list_item() -> None:
    text = (
        "Tờ khai đề nghị bản sao Trích lục hộ tịch theo mẫu trong trường hợp người yêu cầu là cá nhân hoặc "
        "Văn bản yêu cầu cấp bản sao Trích lục hộ tịch nêu rõ lý do trong trường hợp người yêu cầu là cơ quan"
    )
    assert not short_paper(text).endswith(" lý")
    assert short_paper(text).endswith("là cá nhân")  # the first alternative, whole
    long_list = "Văn bản xác nhận về việc những nội dung khai sinh của người đó gồm họ, chữ đệm, tên, ngày sinh và quê quán của người đó"
    assert not whole_phrase(long_list, 70).endswith("gồm họ")


def test_a_list_inside_a_paper_keeps_its_last_item() -> None:
    text = (
        "Hộ chiếu/Thẻ căn cước/Căn cước điện tử/Giấy chứng nhận căn cước hoặc các giấy tờ khác có dán ảnh "
        "(sau đây gọi tắt là giấy tờ tùy thân)"
    )
    assert short_paper(text).endswith("hoặc các giấy tờ khác có dán ảnh)")


def test_the_time_is_read_from_the_steps_when_no_row_gives_it() -> None:
    steps = (
        "Cán bộ kiểm tra hồ sơ.\n(i) Trường hợp hồ sơ đầy đủ thì tiếp nhận; nếu tiếp nhận hồ sơ sau 15 giờ "
        "thì có Phiếu hẹn, trả kết quả cho người yêu cầu trong ngày làm việc tiếp theo (nếu nộp trực tiếp).",
    )
    said = time_in_steps(steps)
    assert (
        said
        == "nếu tiếp nhận hồ sơ sau 15 giờ thì có Phiếu hẹn, trả kết quả cho người yêu cầu trong ngày làm việc tiếp theo"
    )
    assert time_in_steps(("Gửi ngay Phiếu hẹn, trả kết quả qua thư điện tử.",)) == ""
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, record(steps=steps, channels=(SubmissionChannel("truc_tiep"),)), "processing_time")
    assert "chưa có trong dữ liệu" not in dispatcher.messages[0].text
    assert said in dispatcher.messages[0].text


def test_the_place_is_an_office_and_an_address_reads_as_one() -> None:
    land = record(executing_agency="Văn phòng đăng ký đất đai, Chủ tịch Ủy ban nhân dân xã")
    place = place_of(land)
    assert place is not None and place.desk == "Văn phòng đăng ký đất đai"
    sentence = (
        "Sĩ quan, hạ sĩ quan, chiến sĩ nghĩa vụ đại diện cho thân nhân; người lao động làm việc theo hợp đồng"
    )
    insurance = record(executing_agency="Bảo hiểm xã hội tỉnh", receiving_address=sentence)
    assert place_of(insurance).address == ""  # type: ignore[union-attr]
    office = record(executing_agency="Công an tỉnh", receiving_address="Số 8 đường Hoàng Diệu")
    assert place_of(office).address == "Số 8 đường Hoàng Diệu"  # type: ignore[union-attr]


def test_time_rows_with_the_same_label_are_said_as_alternatives() -> None:
    rows = (
        SubmissionChannel("truc_tuyen", "2 Ngày làm việc", days=2, working_days=True),
        SubmissionChannel("truc_tiep", "2 Ngày làm việc", days=2, working_days=True),
        SubmissionChannel("truc_tiep", "7 Ngày làm việc", days=7, working_days=True),
        SubmissionChannel("truc_tuyen", "7 Ngày làm việc", days=7, working_days=True),
    )
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, record(channels=rows), "processing_time")
    text = dispatcher.messages[0].text
    assert "Không quá 02 ngày làm việc hoặc không quá 07 ngày làm việc (tùy trường hợp)" in text
    assert "- Trực" not in text


def test_an_exemption_beside_an_amount_says_who_is_exempt() -> None:
    fee = (
        "20,000 Việt Nam Đồng (Trường hợp công dân thuộc diện được miễn phí theo quy định tại Điều 4 "
        "Thông tư số 75/2022/TT-BTC ngày 22/12/2022 của Bộ Tài chính)"
    )
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, record(channels=(SubmissionChannel("truc_tiep", fee_text=fee, fee_vnd=20000),)), "fee")
    assert "20.000 đồng (trừ công dân thuộc diện được miễn lệ phí)" in dispatcher.messages[0].text


def test_one_case_and_no_paper_of_everyones_is_answered_not_asked() -> None:
    heading = "Đối với người nước ngoài"
    proc = record(
        Document("Lưu ý: bản sao phải có chứng thực."),
        Document("Hộ chiếu còn thời hạn", group=heading, originals=1),
        Document("Thẻ tạm trú", group=heading, originals=1),
    )
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, proc, "documents")
    assert dispatcher.responses_sent[0] == "utter_documents_case"
    assert "1. Hộ chiếu còn thời hạn" in dispatcher.messages[0].text


def test_a_list_of_papers_takes_no_case_from_inside_it() -> None:
    text = (
        "Bản sao các giấy tờ sau đây: - Giấy tờ pháp lý của cá nhân đối với thành viên là cá nhân, người đại "
        "diện theo pháp luật; - Giấy tờ pháp lý của tổ chức đối với người đại diện theo ủy quyền của thành viên"
    )
    assert read_paper(Document(text)).case == ""
    assert short_paper(text) == (
        "Bản sao giấy tờ pháp lý của cá nhân đối với thành viên là cá nhân, người đại diện theo pháp luật"
    )


def test_each_alternative_of_a_group_is_said_with_its_own_case() -> None:
    group = "Trường hợp ủy quyền thực hiện thủ tục thì hồ sơ phải kèm theo một trong những giấy tờ sau"
    proc = record(
        Document("Giấy đề nghị đăng ký hộ kinh doanh", originals=1),
        Document(
            "(i) Trường hợp ủy quyền cho cá nhân thực hiện thủ tục, kèm theo hồ sơ phải có văn bản ủy quyền cho "
            "cá nhân thực hiện thủ tục.",
            group=group,
        ),
        Document(
            "(ii) Trường hợp ủy quyền cho tổ chức thực hiện thủ tục, kèm theo hồ sơ phải có bản sao hợp đồng "
            "cung cấp dịch vụ với tổ chức làm dịch vụ.",
            group=group,
        ),
        Document(
            "(iv) Trường hợp ủy quyền cho đơn vị bưu chính thì việc ủy quyền thực hiện theo quy định tại mục (ii).",
            group=group,
        ),
        name="Đăng ký thành lập hộ kinh doanh",
    )
    text = documents_text(proc, group="1")
    assert "   – Ủy quyền cho cá nhân thực hiện thủ tục: văn bản ủy quyền cho cá nhân" in text
    assert "   – Ủy quyền cho tổ chức thực hiện thủ tục: bản sao hợp đồng cung cấp dịch vụ" in text
    assert "theo quy định tại mục (ii)" not in text  # names no paper of its own


def test_a_case_ends_where_a_dash_starts_a_papers_name() -> None:
    paper = read_paper(
        Document("Trường hợp hoàn trả tiền đã đóng - Tờ khai tham gia (Mẫu TK1-TS); - Sổ BHXH")
    )
    assert paper.said_case == "hoàn trả tiền đã đóng"
    assert paper.words.startswith("Tờ khai tham gia (Mẫu TK1-TS)")


def test_a_dollar_fee_where_a_mission_abroad_does_it_is_the_missions() -> None:
    rows = (
        SubmissionChannel("truc_tiep", fee_text="2,000 Việt Nam Đồng (/trang)", fee_vnd=2000),
        SubmissionChannel("truc_tiep", fee_text="10 USD (/bản)"),
    )
    proc = record(
        channels=rows, executing_agency="Tổ chức hành nghề công chứng, Cơ quan đại diện có thẩm quyền"
    )
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, proc, "fee")
    text = dispatcher.messages[0].text
    assert "- Tại Việt Nam: 2.000 đồng/trang\n- Tại cơ quan đại diện Việt Nam ở nước ngoài: 10 USD" in text
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, record(channels=rows, executing_agency="Cục Quản lý xuất nhập cảnh"), "fee")
    assert "cơ quan đại diện" not in dispatcher.messages[0].text  # dollars at home: said as published


def test_a_case_title_keeps_what_is_done_after_cho() -> None:
    name = "Đăng ký biến động quyền sử dụng đất trong các trường hợp chuyển nhượng, thừa kế; cho thuê quyền sử dụng đất"
    assert case_title(
        "a) Đối với trường hợp chuyển nhượng, thừa kế; cho thuê quyền sử dụng đất", name
    ).startswith("Chuyển nhượng, thừa kế")
    land = "Đăng ký đất đai, cấp Giấy chứng nhận quyền sử dụng đất lần đầu"
    assert case_title("Thực hiện thủ tục đăng ký, cấp Giấy chứng nhận cho hộ gia đình, cá nhân", land) == (
        "Hộ gia đình, cá nhân"
    )
