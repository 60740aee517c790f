"""Importers: real records pinned field by field, parsers table-driven on published variants.

Fixtures under tests/data/importers are real records copied from ../shared/data (raw_text emptied
where a test does not need it), so these tests run without the shared folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.domain import Document, Procedure
from knowledge.importers import coverage, load_sources, separate_notes
from knowledge.importers.bqp import parse_bqp
from knowledge.importers.catalogue import national_code, online_level, read_catalogue
from knowledge.importers.national import (
    parse_channels,
    parse_documents,
    parse_legal_basis,
    parse_national,
    parse_result,
    parse_steps,
)
from knowledge.importers.parsing import (
    RecordError,
    channel_kind,
    clean_value,
    is_note_row,
    parse_counts,
    parse_fee,
    parse_time,
    split_forms,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "importers"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _national(code: str) -> dict:
    for line in (DATA / "national_sample.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["ma_thu_tuc"] == code:
            return record
    raise KeyError(code)


# --------------------------------------------------------------------------------------------
# Pure parsers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15 Ngày làm việc", (15.0, True)),
        ("20 Ngày", (20.0, False)),
        ("03 ngày làm việc", (3.0, True)),
        ("07 Ngày làm việc", (7.0, True)),
        ("1.5 Ngày làm việc", (1.5, True)),
        ("Trong ngày", (1.0, True)),
        ("1 Giờ", (1 / 24, None)),
        ("02 Giờ", (2 / 24, None)),
        ("0.5 Giờ", (0.5 / 24, None)),
        ("8 Giờ làm việc", (1.0, True)),
        ("3 Tháng", (90.0, False)),
        ("10 - 15 ngày", (15.0, False)),
        ("05 (năm) ngày làm việc kể từ ngày nhận hồ sơ", (5.0, True)),
        ("1", (None, None)),  # a bare number has no unit; national.py resolves it with context
        ("10-25", (None, None)),
        ("Không quy định", (None, None)),
        ("Không có thông tin", (None, None)),
        ("Chậm nhất là ngay trước khi tàu rời cảng.", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_time_published_variants(text: str, expected: tuple) -> None:
    days, working = parse_time(text)
    assert (days if days is None else pytest.approx(days), working) == (
        expected[0] if expected[0] is None else pytest.approx(expected[0]),
        expected[1],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lệ phí : 50.000 Đồng", 50_000),
        ("Miễn phí", 0),
        ("Phí : 0 Đồng", 0),
        ("Lệ phí : 0 Đồng", 0),
        ("Phí : Không Đồng", 0),
        ("100.000 đồng/hồ sơ", 100_000),
        ("2,000,000 Việt Nam Đồng", 2_000_000),
        ("70,000 VNĐ (70.000 đồng/Giấy chứng nhận)", 70_000),
        ("Phí : 2.000.000 Đồng (Thẩm định cấp phép sử dụng vật liệu nổ)", 2_000_000),
        ("20 VNĐ (20.000 vnđ /tờ khai)", 20_000),  # thousands, confirmed by the note
        ("25 VNĐ", None),  # thousands or USD: the cell alone does not say
        ("250 VNĐ", None),
        ("Lệ phí : 1.5 USD", None),
        ("145 USD (Thẻ tạm trú có thời hạn từ 1 năm đến 2 năm)", None),
        ("Miễn phí (Theo quy định của Hội đồng nhân dân cấp tỉnh)", None),
        ("Miễn phí (Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định.)", None),
        ("Miễn phí (Không thu lệ phí)", 0),
        ("Phí :  Đồng", None),
        ("Phí : Mức thu bằng 50% mức thu phí quy định tại Mục I", None),
        ("Không có thông tin", None),
        ("", None),
    ],
)
def test_parse_fee_published_variants(text: str, expected: int | None) -> None:
    assert parse_fee(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 bản chính,1 bản sao", (1, 1)),
        ("0 bản chính,1 bản sao", (0, 1)),
        ("2 bản chính", (2, None)),
        ("Bản chính: 1\nBản sao: 0", (1, 0)),
        ("", (None, None)),
    ],
)
def test_parse_counts(text: str, expected: tuple) -> None:
    assert parse_counts(text) == expected


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("Trực tiếp", "truc_tiep"),
        ("Trực tuyến", "truc_tuyen"),
        ("Dịch vụ bưu chính", "buu_chinh"),
        ("Qua fax", "khac"),
    ],
)
def test_channel_kind(word: str, kind: str) -> None:
    assert channel_kind(word) == kind


@pytest.mark.parametrize("text", ["Không có thông tin", "Không", "", "  ", "--", None])
def test_clean_value_empty_markers(text: str | None) -> None:
    assert clean_value(text) == ""


@pytest.mark.parametrize(
    ("cell", "name", "form"),
    [
        (
            "- Văn bản đề nghị theo Mẫu 02 Phụ lục I Nghị định số 23/2026/NĐ-CP.Mau02.docx",
            "- Văn bản đề nghị theo Mẫu 02 Phụ lục I Nghị định số 23/2026/NĐ-CP.",
            "Mau02.docx",
        ),
        (
            "a) Tờ khai tham gia bảo hiểm y tế;Mau01-BK(BHYT).doc",
            "a) Tờ khai tham gia bảo hiểm y tế;",
            "Mau01-BK(BHYT).doc",
        ),
        (
            "Giấy phép khai thác khoáng sảnMau 08 - Phu luc II_36.2025.TT-BNNMT_02.7.2025.doc",
            "Giấy phép khai thác khoáng sản",
            "Mau 08 - Phu luc II_36.2025.TT-BNNMT_02.7.2025.doc",
        ),
        (
            "theo quy định của pháp luật.Mẫu số 101.docxMẫu số 91.docx",
            "theo quy định của pháp luật.",
            "Mẫu số 101.docx; Mẫu số 91.docx",
        ),
        ("(bản sao)Phụ lục 12.12.docx", "(bản sao)", "Phụ lục 12.12.docx"),
        ("Đơn đề nghị cấp sổ ATA", "Đơn đề nghị cấp sổ ATA", ""),
    ],
)
def test_split_forms_real_cells(cell: str, name: str, form: str) -> None:
    assert split_forms(cell) == (name, form)


def test_channels_bare_time_glued_to_amount() -> None:
    # 2.002069 publishes "Dịch vụ bưu chính125 VNĐ": time "1", fee "25 VNĐ" (in thousands, unstated).
    text = (
        "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1Miễn phí(Miễn lệ phí)"
        "Dịch vụ bưu chính125 VNĐTrực tiếp1100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần)"
    )
    online, post, direct = parse_channels(text)
    assert (online.kind, online.time_text, online.fee_vnd) == ("truc_tuyen", "1", 0)
    assert (post.kind, post.time_text, post.fee_text, post.fee_vnd) == ("buu_chinh", "1", "25 VNĐ", None)
    assert (direct.time_text, direct.fee_vnd) == ("1", 100_000)
    assert all(c.days == 1.0 and c.working_days is None for c in (online, post, direct))


def test_channels_bare_time_takes_unit_from_description() -> None:
    text = "Trực tuyến3Miễn phíTrong thời hạn 03 tháng kể từ ngày nhận đủ hồ sơ."
    (row,) = parse_channels(text)
    assert (row.days, row.working_days) == (90.0, False)


def test_channels_empty_time_cell_uses_description_lead() -> None:
    text = "Trực tiếpKhông có thông tinKhông có thông tin07 ngày làm việc kể từ ngày nhận hồ sơ."
    (row,) = parse_channels(text)
    assert (row.time_text, row.fee_text, row.days, row.working_days) == ("", "", 7.0, True)


def test_channels_ignore_channel_words_inside_descriptions() -> None:
    text = "Trực tiếp5 Ngày làm việcMiễn phí- Trực tuyến: nộp hồ sơ qua Cổng dịch vụ công."
    (row,) = parse_channels(text)
    assert row.kind == "truc_tiep"
    assert row.description == "- Trực tuyến: nộp hồ sơ qua Cổng dịch vụ công."


def test_legal_basis_titles_quoting_their_number() -> None:
    text = (
        "Tên văn bản pháp lýMã văn bảnNghị định 137/2020/NĐ-CP137/2020/NĐ-CP"
        "Thông tư số 53/2025/TT-BCAngày 01/7/2025 của Bộ Công an53/2025/TT-BCA"
        "Luật 84/2015/QH1384/2015/QH13"
    )
    assert [(x.number, x.title) for x in parse_legal_basis(text)] == [
        ("137/2020/NĐ-CP", "Nghị định 137/2020/NĐ-CP"),
        ("53/2025/TT-BCA", "Thông tư số 53/2025/TT-BCAngày 01/7/2025 của Bộ Công an"),
        ("84/2015/QH13", "Luật 84/2015/QH13"),
    ]


def test_steps_split_on_buoc_and_keep_sub_points() -> None:
    text = (
        "Bước 1: Nộp hồ sơ. Bước 2: Thẩm định:\n+ kiểm tra hồ sơ;\n+ kiểm tra thực địa.\nBước 3: Trả kết quả."
    )
    assert parse_steps(text) == (
        "Nộp hồ sơ.",
        "Thẩm định:\n+ kiểm tra hồ sơ;\n+ kiểm tra thực địa.",
        "Trả kết quả.",
    )


def test_steps_split_on_dash_bullets() -> None:
    assert parse_steps("- Nộp hồ sơ.\n- Nhận kết quả.") == ("Nộp hồ sơ.", "Nhận kết quả.")


def test_result_drops_codes_and_portal_widgets() -> None:
    text = "Giấy phép AMã: KQ.G12.001161Thông báo BMã: KQ.G12.000778Từ khóaKhông có thông tinChọn cơ quan"
    assert parse_result(text) == "Giấy phép A\nThông báo B"


def test_documents_without_header_or_counts_are_empty() -> None:
    assert parse_documents("KQ.G04.000398") == ()


# --------------------------------------------------------------------------------------------
# Real national records
# --------------------------------------------------------------------------------------------


def test_construction_permit_1_013225() -> None:
    proc = parse_national(_national("1.013225"))
    assert proc.code == "1.013225"
    assert proc.name.startswith("Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV")
    assert proc.name.endswith("và nhà ở riêng lẻ")
    assert proc.ministry == "Bộ Xây dựng"
    assert proc.source == "national"
    assert proc.levels == ("Cấp xã", "Cơ quan khác")
    assert proc.decision == "56/QĐ-BXD"
    assert proc.field == "Hoạt động xây dựng"
    assert proc.executing_agency == "Uỷ ban Nhân dân cấp xã, phường, thị trấn"
    assert proc.url == "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfe-9088-744d-aa0a-e846b6dce3d5"
    # Channels as published: online and post 20 days, in person 15 days, all "Miễn phí" with a
    # note handing the fee to the provincial council, so no amount is claimed.
    assert [(c.kind, c.time_text, c.days, c.working_days) for c in proc.channels] == [
        ("truc_tuyen", "20 Ngày", 20.0, False),
        ("buu_chinh", "20 Ngày", 20.0, False),
        ("truc_tiep", "15 Ngày", 15.0, False),
    ]
    assert proc.channels[0].fee_text == "Miễn phí (Theo quy định của Hội đồng nhân dân cấp tỉnh)"
    assert all(c.fee_vnd is None for c in proc.channels)
    # Documents: seven published groups, 53 papers, every one with counts, no form files.
    groups = list(dict.fromkeys(d.group for d in proc.documents))
    assert groups == [
        "(1.1) Đối với công trình không theo tuyến",
        "(1.2) Đối với công trình theo tuyến",
        "(1.3) Đối với công trình tôn giáo",
        "(1.4) Đối với công trình tín ngưỡng",
        "(1.5) Đối với công trình tượng đài, tranh hoành tráng",
        "(1.6) Đối với công trình của các cơ quan ngoại giao và tổ chức quốc tế",
        "(1.7) Đối với công trình nhà ở riêng lẻ",
    ]
    assert len(proc.documents) == 53
    assert all(d.originals is not None and d.form == "" for d in proc.documents)
    first = proc.documents[0]
    assert first.name.startswith("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất")
    assert (first.originals, first.copies) == (1, 1)
    application = proc.documents[4]
    assert application.name.startswith("Đơn đề nghị cấp giấy phép xây dựng theo Mẫu số 1 Phụ lục số II")
    drawings = [d for d in proc.documents if d.name.startswith("02 bộ bản vẽ")]
    assert drawings and (drawings[0].originals, drawings[0].copies) == (2, None)
    house = [d for d in proc.documents if d.group == "(1.7) Đối với công trình nhà ở riêng lẻ"]
    assert house[-1].name.startswith("Hồ sơ thiết kế xây dựng:")
    assert (house[-1].originals, house[-1].copies) == (2, 2)
    assert [b.number for b in proc.legal_basis] == [
        "140/2025/NĐ-CP",
        "105/2025/NĐ-CP",
        "14/2026/NĐ-CP",
        "175/2024/NĐ-CP",
        "62/2020/QH14",
        "144/2025/NĐ-CP",
        "50/2014/QH13",
    ]
    assert proc.legal_basis[-1].title == "Luật Xây dựng"
    assert proc.result.startswith("Giấy phép xây dựng kèm theo hồ sơ thiết kế")
    assert "Mã:" not in proc.result and "Chọn cơ quan" not in proc.result
    assert len(proc.steps) == 5
    assert proc.steps[0] == (
        "Chủ đầu tư nộp hồ sơ đề nghị cấp giấy phép xây dựng cho Trung tâm phục vụ hành chính công cấp xã."
    )
    assert proc.steps[-1].startswith("Trong thời hạn 20 ngày (hoặc 15 ngày đối với nhà ở riêng lẻ)")
    assert proc.conditions == ""


def test_birth_registration_1_001193() -> None:
    proc = parse_national(_national("1.001193"))
    assert (proc.name, proc.ministry, proc.field, proc.levels) == (
        "Thủ tục đăng ký khai sinh",
        "Bộ Tư pháp",
        "Hộ tịch",
        ("Cấp xã",),
    )
    # The portal prints "1" with no unit; it is read as days, kind of day unknown.
    assert [(c.kind, c.time_text, c.days, c.working_days, c.fee_vnd) for c in proc.channels] == [
        ("truc_tuyen", "1", 1.0, None, 0),
        ("buu_chinh", "1", 1.0, None, 0),
        ("truc_tiep", "1", 1.0, None, 0),
    ]
    assert list(dict.fromkeys(d.group for d in proc.documents))[:3] == [
        "Giấy tờ phải nộp",
        "Giấy tờ phải xuất trình",
        "Lưu ý",
    ]
    birth_certificate = [d for d in proc.documents if d.name.startswith("Giấy chứng sinh")]
    assert birth_certificate and birth_certificate[0].originals == 1
    assert birth_certificate[0].group == "Giấy tờ phải nộp"
    assert "60/2014/QH13" in [b.number for b in proc.legal_basis]
    assert "123/2015/NĐ-CP" in [b.number for b in proc.legal_basis]
    assert proc.result == "Giấy khai sinh"
    assert proc.executing_agency == ""  # neither agency field is published for this record


def test_id_card_1_014061() -> None:
    proc = parse_national(_national("1.014061"))
    assert proc.name == "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"
    assert proc.ministry == "Bộ Công an"
    assert proc.decision == "5710/QĐ-BCA-C06"
    assert proc.executing_agency == "Công an cấp Xã"
    assert proc.competent_agency == "Cục cảnh sát quản lý hành chính về trật tự, xã hội"
    assert [(c.kind, c.time_text, c.days, c.working_days, c.fee_text) for c in proc.channels] == [
        ("truc_tiep", "7 Ngày làm việc", 7.0, True, ""),
        ("truc_tuyen", "7 Ngày làm việc", 7.0, True, ""),
    ]
    assert proc.channels[0].description.startswith("- Trực tiếp tại địa điểm tiếp dân của Công an cấp xã")
    assert [(d.form, d.originals, d.copies) for d in proc.documents[:2]] == [
        ("Mẫu DC01 Phiếu thu thập thông tin dân cư.docx", 1, None),
        ("Mẫu DC02 Phiếu đề nghị giải quyết thủ tục về căn cước.doc", 1, None),
    ]
    assert proc.documents[0].name.startswith("Phiếu thu thập thông tin dân cư (mẫu DC01")
    assert "26/2023/QH15" in [b.number for b in proc.legal_basis]
    assert [b.title for b in proc.legal_basis if b.number == "26/2023/QH15"] == ["Luật Căn cước"]
    assert proc.result == "Thẻ căn cước"
    assert proc.steps[0].startswith("+ Công dân đến Công an cấp xã")


def test_documents_fall_back_to_raw_text_1_001521() -> None:
    # The crawler cut thanh_phan_ho_so at "Thành phần hồ sơ" quoted inside a step.
    record = _national("1.001521")
    assert "Tên giấy tờ" not in record["thanh_phan_ho_so"]
    proc = parse_national(record)
    assert len(proc.documents) == 8
    assert proc.documents[0].name.startswith("8. Trường hợp đang hưởng trợ cấp TNLĐ, BNN trước ngày 1/1/2007")
    assert all(d.originals == 1 for d in proc.documents)


def test_falls_back_to_raw_text_when_fields_are_empty() -> None:
    record = dict(_national("1.001521"))
    for key in ("trinh_tu_thuc_hien", "cach_thuc_thuc_hien", "can_cu_phap_ly", "ket_qua_xu_ly"):
        record[key] = "Không có thông tin" if key == "can_cu_phap_ly" else ""
    expected = parse_national(_national("1.001521"))
    proc = parse_national(record)
    assert [c.time_text for c in proc.channels] == ["6 Ngày làm việc"] * 3
    assert [b.number for b in proc.legal_basis] == [b.number for b in expected.legal_basis]
    assert proc.steps and proc.steps[0].startswith("Lập, nộp hồ sơ")
    assert proc.result.startswith("Quyết định về việc hưởng trợ cấp TNLĐ, BNN")


def test_malformed_record_raises_record_error() -> None:
    with pytest.raises(RecordError) as info:
        parse_national(_national("1.01322"))
    assert info.value.code == "1.01322"
    assert "national code" in info.value.reason
    with pytest.raises(RecordError, match="empty"):
        parse_national({"ma_thu_tuc": "1.013225", "ten_thu_tuc": "Không có thông tin"})


# --------------------------------------------------------------------------------------------
# Defence ministry and catalogues
# --------------------------------------------------------------------------------------------


def test_bqp_military_service_registration_1_013133() -> None:
    record = json.loads((DATA / "bqp_sample.jsonl").read_text(encoding="utf-8"))
    proc = parse_bqp(record)
    assert (proc.code, proc.name, proc.ministry, proc.source) == (
        "1.013133",
        "Thủ tục đăng ký nghĩa vụ quân sự lần đầu",
        "Bộ Quốc phòng",
        "bqp",
    )
    assert proc.levels == ("Cấp xã",)
    assert proc.decision == "6375/QĐ-BQP"
    assert proc.executing_agency == "Ban chỉ huy quân sự cấp Xã"
    assert proc.competent_agency == "Chủ tịch UBND cấp xã"
    assert proc.conditions == ""  # published as "Không"
    assert proc.result == "Giấy chứng nhận đăng ký nghĩa vụ quân sự"
    assert [(c.kind, c.time_text, c.days, c.working_days, c.fee_text, c.fee_vnd) for c in proc.channels] == [
        ("truc_tiep", "1 Ngày làm việc", 1.0, True, "Phí : 0 Đồng", 0),
        ("truc_tuyen", "02 Giờ", pytest.approx(2 / 24), None, "", None),
    ]
    assert [(d.name[:40], d.originals, d.copies) for d in proc.documents] == [
        ("Phiếu tự khai sức khỏe nghĩa vụ quân sự", 1, 0),
        ("Bản chụp Căn cước công dân hoặc Thẻ Căn ", 0, 1),
    ]
    assert [b.number for b in proc.legal_basis] == [
        "13/2016/NĐ-CP",
        "78/2015/QH13",
        "68/2020/QH14",
        "104",
        "220/2025/NĐ-CP",
    ]
    assert proc.legal_basis[1].issued == "19-06-2015" and proc.legal_basis[1].issuer == "Quốc Hội"
    assert len(proc.steps) == 3 and proc.steps[0].startswith("Trước thời hạn 05 ngày")


@pytest.mark.parametrize(
    ("local", "national"),
    [
        ("1.005461.000.00.00.H36", "1.005461"),
        ("2.000815.000.00.00.H37.X", "2.000815"),
        ("2000027.000.00.00.H37", "2.000027"),
        ("1.012275.H36", "1.012275"),
        ("CCHC_01", ""),
        ("TEST_MOT_CAP", ""),
    ],
)
def test_catalogue_national_code(local: str, national: str) -> None:
    assert national_code(local) == national


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Toàn trình", "toan_trinh"),
        ("Một phần", "mot_phan"),
        ("Còn lại", "con_lai"),
        ("Mức độ 2", "con_lai"),
        ("?", None),
    ],
)
def test_catalogue_online_level(text: str, level: str | None) -> None:
    assert online_level(text) == level


def test_langson_catalogue_drops_test_rows() -> None:
    rows = list(read_catalogue(DATA / "langson_sample.csv"))
    assert all("test" not in r.name.lower() for r in rows)
    assert {r.code for r in rows} == {"1.001193", "2.000027", "1.013225", "2.000815", "1.005461"}
    assert all(r.province == "langson" for r in rows)


# --------------------------------------------------------------------------------------------
# load_sources and coverage
# --------------------------------------------------------------------------------------------


def test_load_sources_merges_and_reports() -> None:
    records, errors = load_sources([DATA])
    by_code = {p.code: p for p in records}
    assert [p.code for p in records] == sorted(by_code)
    # Detailed records win; Lạng Sơn gives the online level before Lâm Đồng.
    assert by_code["1.013225"].source == "national"
    assert by_code["1.013225"].online_level == "toan_trinh"  # Lạng Sơn; Lâm Đồng says mot_phan
    assert by_code["1.001193"].online_level == "mot_phan"
    assert by_code["1.013133"].source == "bqp" and by_code["1.013133"].online_level is None
    # A catalogue-only row.
    death = by_code["1.005461"]
    assert death == Procedure(
        code="1.005461",
        name="Đăng ký lại khai tử",
        field="Hộ Tịch",
        online_level="mot_phan",
        catalogue_only=True,
        source="catalogue:langson",
    )
    assert by_code["1.012275"].source == "catalogue:lamdong"
    assert by_code["1.012275"].online_level == "mot_phan"
    # The test row "Thủ tục test" (2.000815) is dropped; the real tier variant stays.
    assert by_code["2.000815"].name.startswith("Chứng thực bản sao từ bản chính")
    assert ("1.01322", "mã thủ tục is not a national code (d.dddddd)") in errors
    conflicts = {code for code, reason in errors if "different name or level" in reason}
    # 2.000027 is listed twice as "Mức độ 2" and "Mức độ 1": both not online, so no conflict.
    assert conflicts == {"2.000063"}
    assert len(errors) == 2


def test_load_sources_single_files_and_identical_duplicates(tmp_path: Path) -> None:
    line = (DATA / "bqp_sample.jsonl").read_text(encoding="utf-8").strip()
    twice = tmp_path / "bqp.jsonl"
    twice.write_text(f"{line}\n{line}\n\nnot json\n", encoding="utf-8")
    records, errors = load_sources([twice, tmp_path / "missing.jsonl"])
    assert [p.code for p in records] == ["1.013133"]
    # The identical second copy is dropped silently; the blank line is skipped.
    assert errors == [
        ("bqp.jsonl:4", "invalid JSON: Expecting value"),
        (str(tmp_path / "missing.jsonl"), "path does not exist"),
    ]


def test_load_sources_conflicting_duplicate_is_reported(tmp_path: Path) -> None:
    record = json.loads((DATA / "bqp_sample.jsonl").read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(record))
    changed["metadata"]["lĩnh_vực"] = "Khác"
    path = tmp_path / "bqp.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (record, changed)), encoding="utf-8")
    records, errors = load_sources([path])
    assert records[0].field == "Nghĩa vụ quân sự"
    assert errors == [
        ("1.013133", "duplicate code in bqp.jsonl (bqp) with different content; kept the first")
    ]


def test_coverage_counts_detailed_records_only() -> None:
    records, _ = load_sources([DATA])
    figures = coverage(records)
    assert figures["detailed"] == 7
    assert figures["catalogue_only"] == len(records) - 7
    assert figures["with_documents"] == 7
    assert figures["with_steps"] == 7
    assert figures["with_time"] == 7
    # 1.013225 defers its fee to the provincial council; 1.014061 publishes no fee cell.
    assert figures["with_fee"] == 5
    assert figures["with_fee_share"] == pytest.approx(5 / 7)
    assert coverage([])["with_documents_share"] == 0.0


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data folder {SHARED} is not available")
def test_whole_national_set_meets_coverage_targets() -> None:
    records, errors = load_sources([SHARED / "tthc-national-ministries"])
    figures = coverage(records)
    print(f"national coverage: {figures}")
    assert errors == []
    assert figures["detailed"] == 2642
    assert figures["with_documents_share"] >= 0.98
    assert figures["with_time_share"] >= 0.95
    assert figures["with_steps_share"] >= 0.95


def test_empty_time_column_takes_the_deadline_stated_in_the_record() -> None:
    from knowledge.domain import Procedure, SubmissionChannel
    from knowledge.importers import fill_time_from_text

    proc = Procedure(
        code="1.000001",
        name="x",
        channels=(
            SubmissionChannel("truc_tiep"),
            SubmissionChannel("truc_tuyen", time_text="3 Ngày", days=3.0),
        ),
        steps=(
            "Nộp hồ sơ chậm nhất vào ngày 20 tháng đầu quý.",
            "Trong thời hạn 05 ngày làm việc kể từ ngày nhận.",
        ),
    )
    # one channel already has a time: nothing is guessed
    assert fill_time_from_text(proc) is proc
    bare = Procedure(code="1.000002", name="x", channels=(SubmissionChannel("truc_tiep"),), steps=proc.steps)
    filled = fill_time_from_text(bare)
    assert (filled.channels[0].days, filled.channels[0].working_days) == (5.0, True)
    assert filled.channels[0].time_text == ""  # the published column stays as published
    no_deadline = Procedure(
        code="1.000003", name="x", channels=(SubmissionChannel("truc_tiep"),), steps=("Ngày 20 tháng 3.",)
    )
    assert fill_time_from_text(no_deadline).channels[0].days is None


# --------------------------------------------------------------------------------------------
# Notes published as document rows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "note"),
    [
        # conditions and remarks with nothing to hand in
        (
            Document("Trường hợp gửi hồ sơ qua hệ thống bưu chính thì phải gửi kèm bản sao.", originals=0),
            True,
        ),
        (Document("(Trường hợp gửi hồ sơ trực tuyến, thành phần hồ sơ là bản điện tử.", originals=0), True),
        (Document("Người tiếp nhận có trách nhiệm tiếp nhận đúng, đủ hồ sơ.", originals=0), True),
        (Document("Số lượng hồ sơ: 01 (một) bộ.", originals=0), True),
        (Document("Nếu bên kết hôn đã ly hôn ở nước ngoài thì ghi chú việc ly hôn.", originals=0), True),
        # every row of a "Lưu ý" group, whatever its counts
        (
            Document("Giấy tờ do nước ngoài cấp phải được hợp pháp hóa lãnh sự.", group="Lưu ý", originals=1),
            True,
        ),
        # papers: a count, a form, or a wording that is not a note
        (Document("Trường hợp ủy quyền: Văn bản ủy quyền", originals=1), False),
        (Document("Tờ khai đăng ký kết hôn", originals=0), False),
        (Document("Trường hợp nộp trực tuyến thì kê khai theo mẫu", originals=0, form="Mau01.docx"), False),
        # a condition that heads papers, or names one, is a case of the dossier
        (
            Document("Trường hợp quy định tại điểm d khoản 4 Điều 20 Luật Cư trú, hồ sơ gồm:", originals=0),
            False,
        ),
        (
            Document("Trường hợp đề nghị chấp thuận hoạt động ngoại hối cơ bản trên thị trường trong nước"),
            False,
        ),
        (
            Document("Trường hợp lần đầu thì nộp thêm các giấy tờ sau: - Giấy phép kinh doanh", originals=0),
            False,
        ),
        (
            Document("+ Trường hợp hàng phải có giấy phép: Giấy phép nhập khẩu của cơ quan có thẩm quyền"),
            False,
        ),
        (Document("Đối với phương tiện thương mại:", originals=0), False),
    ],
)
def test_is_note_row(doc: Document, note: bool) -> None:
    assert is_note_row(doc) is note


def test_separate_notes_attaches_to_the_paper_above_or_the_procedure() -> None:
    paper = Document("Đơn đề nghị", group="A", originals=1)
    proc = Procedure(
        code="1.000001",
        name="x",
        documents=(
            Document("Người có yêu cầu nộp các giấy tờ sau:", group="A", originals=0),
            paper,
            Document("Trường hợp nộp trực tuyến thì ký số.", group="A", originals=0),
            Document("Trường hợp nộp qua bưu chính thì gửi bản sao.", group="A", originals=0),
            Document("Người tiếp nhận kiểm tra hồ sơ.", group="Lưu ý", originals=0),
            Document("Trường hợp mất giấy thì làm lại.", group="B", originals=0),
        ),
    )
    out = separate_notes(proc)
    assert [d.name for d in out.documents] == ["Đơn đề nghị"]
    assert out.documents[0].note == (
        "Người có yêu cầu nộp các giấy tờ sau:\n"
        "Trường hợp nộp trực tuyến thì ký số.\n"
        "Trường hợp nộp qua bưu chính thì gửi bản sao."
    )
    assert out.notes == ("Người tiếp nhận kiểm tra hồ sơ.", "B: Trường hợp mất giấy thì làm lại.")
    assert separate_notes(Procedure(code="1.000001", name="x", documents=(paper,))).documents == (paper,)


def test_marriage_registration_1_000894_notes_are_not_papers() -> None:
    records, _ = load_sources([DATA / "national_sample.jsonl"])
    proc = next(p for p in records if p.code == "1.000894")
    names = [d.name for d in proc.documents]
    # The papers stay: identity paper, residence proof, the e-form and the declaration.
    assert len(names) == 4
    assert names[0].startswith("Hộ chiếu/Thẻ căn cước công dân/Thẻ căn cước")
    assert names[1].startswith("Giấy tờ có giá trị chứng minh thông tin về cư trú")
    assert names[2].startswith("Mẫu hộ tịch điện tử tương tác đăng ký kết hôn")
    assert names[3].startswith("Tờ khai đăng ký kết hôn theo mẫu")
    assert all(d.originals == 1 for d in proc.documents)
    assert not any(n.startswith(("Trường hợp", "Người tiếp nhận", "Lưu ý")) for n in names)
    # A note about a paper stays with it ...
    identity = proc.documents[0]
    assert identity.note.startswith("Trường hợp giấy tờ tùy thân sử dụng là: Hộ chiếu")
    assert identity.note.count("\n") == 2  # three notes, one a line
    assert proc.documents[1].note.startswith("Trường hợp gửi hồ sơ qua hệ thống bưu chính")
    # ... the lead-in "... các giấy tờ sau:" opens the list it introduces ...
    assert proc.documents[3].note.endswith("các giấy tờ sau:")
    # ... and the 14 rows of the "Lưu ý" group are the procedure's notes, in published order.
    assert len(proc.notes) == 14
    assert proc.notes[0].startswith("Người tiếp nhận có trách nhiệm tiếp nhận đúng, đủ hồ sơ")
    assert any(n.startswith("Nếu bên kết hôn là công dân Việt Nam đã ly hôn") for n in proc.notes)
    assert "Lưu ý" not in {d.group for d in proc.documents}
