"""The SQL knowledge repository on SQLite and PostgreSQL: round trip, idempotent re-import, updates."""

from __future__ import annotations

from dataclasses import replace

from knowledge.db import make_session_factory
from knowledge.domain import Document, FaqEntry, LegalBasis, Procedure, SubmissionChannel
from knowledge.ports import InMemoryKnowledgeRepository
from knowledge.repository import SqlKnowledgeRepository

PERMIT = Procedure(
    code="1.013225",
    name="Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
    field="Hoạt động xây dựng",
    levels=("Cấp xã", "Cơ quan khác"),
    ministry="Bộ Xây dựng",
    executing_agency="Uỷ ban Nhân dân cấp xã, phường, thị trấn",
    steps=("Chủ đầu tư nộp hồ sơ.", "Cơ quan thẩm định hồ sơ."),
    channels=(
        SubmissionChannel("truc_tuyen", "20 Ngày", "Miễn phí", "", 20.0, False, 0),
        SubmissionChannel("truc_tiep", "15 Ngày", "Lệ phí : 75.000 Đồng", "", 15.0, False, 75000),
    ),
    documents=(
        Document("Đơn đề nghị cấp giấy phép xây dựng", "Nhà ở riêng lẻ", "Mẫu số 1.docx", 1, 0),
        Document("Giấy chứng nhận quyền sử dụng đất", "Nhà ở riêng lẻ", "", 1, 1, "bản sao có chứng thực"),
    ),
    legal_basis=(LegalBasis("50/2014/QH13", "Luật Xây dựng"),),
    online_level="toan_trinh",
    url="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x",
    aliases=("gpxd", "giấy phép xây dựng"),
    source="national",
)
BIRTH = Procedure(code="1.001193", name="Thủ tục đăng ký khai sinh", field="Hộ tịch", source="national")


def test_round_trip_keeps_every_field(db_engine) -> None:
    repo = SqlKnowledgeRepository(make_session_factory(db_engine))
    report = repo.upsert([PERMIT, BIRTH])
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    loaded = repo.get("1.013225")
    assert loaded is not None
    assert loaded.updated_at is not None
    assert replace(loaded, updated_at=None) == PERMIT
    assert [p.code for p in repo.all_procedures()] == ["1.001193", "1.013225"]
    assert repo.count() == 2
    assert repo.get("0.000000") is None


def test_reimport_changes_nothing_and_changed_record_updates_in_place(db_engine) -> None:
    repo = SqlKnowledgeRepository(make_session_factory(db_engine))
    repo.upsert([PERMIT, BIRTH])
    first = repo.get("1.013225")
    again = repo.upsert([PERMIT, BIRTH])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert repo.get("1.013225").updated_at == first.updated_at

    changed = replace(PERMIT, documents=PERMIT.documents[:1], channels=PERMIT.channels[1:])
    report = repo.upsert([changed])
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    loaded = repo.get("1.013225")
    assert loaded.documents == PERMIT.documents[:1]
    assert loaded.channels == PERMIT.channels[1:]
    assert repo.count() == 2


def test_faq_create_update_and_filter(db_engine) -> None:
    repo = SqlKnowledgeRepository(make_session_factory(db_engine))
    saved = repo.save_faq(FaqEntry(None, ("Giờ làm việc?", "mấy giờ mở cửa"), "Từ 7h30 đến 17h."))
    assert saved.id is not None
    repo.save_faq(replace(saved, enabled=False))
    assert repo.list_faqs() == []
    assert [f.questions for f in repo.list_faqs(enabled_only=False)] == [("Giờ làm việc?", "mấy giờ mở cửa")]


def test_fake_repository_has_the_same_upsert_semantics() -> None:
    repo = InMemoryKnowledgeRepository([PERMIT])
    assert repo.upsert([PERMIT]).unchanged == 1
    assert repo.upsert([replace(PERMIT, name="x")]).updated == 1
    assert repo.get("1.013225").name == "x"


def test_find_procedures_by_code_name_or_alias_in_sql_and_in_the_fake(db_engine) -> None:
    sql = SqlKnowledgeRepository(make_session_factory(db_engine))
    for repo in (sql, InMemoryKnowledgeRepository()):
        repo.upsert([PERMIT, BIRTH])
        assert [p.code for p in repo.find_procedures("1.0132")] == ["1.013225"]
        assert [p.code for p in repo.find_procedures("  KHAI   sinh ")] == ["1.001193"]
        assert [p.code for p in repo.find_procedures("gpxd")] == ["1.013225"]  # an alias
        assert [p.code for p in repo.find_procedures("1.0", limit=1)] == ["1.001193"]
        assert repo.find_procedures("không có") == []
        saved = repo.save_procedure(replace(BIRTH, name="Thủ tục đăng ký khai sinh (mới)"))
        assert saved.updated_at is not None and repo.get(BIRTH.code) == saved
        latest = repo.find_procedures()
        assert [p.code for p in latest] == ["1.001193", "1.013225"]  # the latest changed first
        assert (latest[0].name, latest[0].field) == ("Thủ tục đăng ký khai sinh (mới)", "Hộ tịch")
