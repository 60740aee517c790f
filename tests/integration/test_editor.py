"""The editor service on SQLite and PostgreSQL: validation messages, audit diffs, rollback, response
overrides laid over data/responses.yml, and the "try it" box on the real engine without logging."""

from __future__ import annotations

import pytest

from actions.registry import ActionDeps, build_actions
from bot.core.live import InterpreterHolder, LiveResponses
from bot.core.responses import DEFAULT_PATH, load_responses
from bot.engine.engine import Engine
from bot.storage.memory import ScratchConversationStore
from bot.storage.overrides import ResponseOverrideRow, SqlResponseOverrides
from bot.storage.sql import MessageRow
from console.auth.users import UserService
from console.editor.audit import procedure_snapshot
from console.editor.drafts import procedure_draft
from console.editor.errors import DraftInvalid, EditConflict, EditorError
from console.editor.service import EditorService
from knowledge.db import make_session_factory
from knowledge.repository import SqlKnowledgeRepository
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter


@pytest.fixture
def env(db_engine):
    sessions = make_session_factory(db_engine)
    repo = SqlKnowledgeRepository(sessions)
    repo.upsert([f.marriage_registration(), f.birth_registration()])
    users = UserService(sessions)
    hoa = users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa")
    overrides = SqlResponseOverrides(sessions)
    responses = LiveResponses(load_responses(DEFAULT_PATH, overrides))
    scratch = ScratchConversationStore()
    engine = Engine(
        InterpreterHolder(FakeInterpreter()), repo, scratch, responses, build_actions(ActionDeps(repo))
    )
    service = EditorService(
        sessions, repo, responses, DEFAULT_PATH, overrides, try_engine=engine, scratch=scratch
    )
    return service, hoa, repo, sessions


# --- validation ---------------------------------------------------------------------------------------


def test_procedure_validation_says_what_is_wrong_in_vietnamese(env) -> None:
    service, hoa, repo, _ = env
    draft = procedure_draft(repo.get(f.MARRIAGE))
    draft["name"] = "   "
    draft["documents"][0]["originals"] = "hai"
    draft["channels"][0]["fee_vnd"] = "năm mươi nghìn"
    draft["channels"][1]["days"] = "vài"
    draft["channels"][1]["kind"] = "fax"
    draft["legal_basis"][0]["number"] = ""
    draft["url"] = "dichvucong.gov.vn"
    with pytest.raises(DraftInvalid) as caught:
        service.save_procedure(draft, hoa, code=f.MARRIAGE)
    problems = caught.value.problems
    assert problems["name"] == "Tên thủ tục không được để trống."
    assert problems["documents.0.originals"].startswith("Giấy tờ số 1: số bản chính phải là một số nguyên")
    assert "«hai»" in problems["documents.0.originals"]
    assert "số tiền" in problems["channels.0.fee_vnd"]
    assert "Cách nộp số 2: số ngày phải là một số" in problems["channels.1.days"]
    assert "hình thức nộp" in problems["channels.1.kind"]
    assert "số hiệu văn bản" in problems["legal_basis.0.number"]
    assert "http" in problems["url"]
    assert repo.get(f.MARRIAGE) == f.marriage_registration(updated_at=repo.get(f.MARRIAGE).updated_at)


def test_new_procedure_code_format_and_duplicate(env) -> None:
    service, hoa, _, _ = env
    with pytest.raises(DraftInvalid) as caught:
        service.save_procedure({"code": "1.23", "name": "Thủ tục thử"}, hoa)
    assert "không đúng dạng" in caught.value.problems["code"] and "1.001193" in caught.value.problems["code"]
    with pytest.raises(DraftInvalid) as caught:
        service.save_procedure({"code": f.MARRIAGE, "name": "Trùng"}, hoa)
    assert "Đã có thủ tục" in caught.value.problems["code"]
    created = service.save_procedure(
        {
            "code": "1.999999",
            "name": "Thủ tục mới",
            "steps": "Bước một\n\nBước hai\n",
            "aliases": "Tên Gọi Khác\ntên gọi khác",
            "documents": [{"name": "Đơn", "originals": "1", "copies": ""}, {"name": "", "copies": ""}],
            "channels": [
                {"kind": "truc_tiep", "fee_text": "Lệ phí : 30.000 Đồng", "time_text": "5 ngày làm việc"}
            ],
        },
        hoa,
    )
    proc = created.record
    assert created.changed and proc.steps == ("Bước một", "Bước hai") and proc.aliases == ("tên gọi khác",)
    assert proc.documents[0].originals == 1 and proc.documents[0].copies is None and len(proc.documents) == 1
    # numbers left empty are read from the texts
    assert proc.channels[0].fee_vnd == 30000 and proc.channels[0].days == 5 and proc.channels[0].working_days
    assert service.audit_entry(created.audit_id).action == "create"


def test_changing_a_fee_text_reads_the_amount_again(env) -> None:
    service, hoa, repo, _ = env
    draft = procedure_draft(repo.get(f.MARRIAGE))
    draft["channels"][0]["fee_text"] = "Lệ phí : 100.000 Đồng"  # the number 0 left as it was
    service.save_procedure(draft, hoa, code=f.MARRIAGE)
    channel = repo.get(f.MARRIAGE).channels[0]
    assert channel.fee_text == "Lệ phí : 100.000 Đồng" and channel.fee_vnd == 100000


def test_faq_validation_and_save(env) -> None:
    service, hoa, _, _ = env
    with pytest.raises(DraftInvalid) as caught:
        service.save_faq({"questions": "\n", "answer": " ", "procedure_codes": "1.001193 abc 9.999999"}, hoa)
    problems = caught.value.problems
    assert problems["questions"].startswith("Cần ít nhất một cách hỏi")
    assert problems["answer"] == "Câu trả lời không được để trống."
    assert "«abc»" in problems["procedure_codes"]
    with pytest.raises(DraftInvalid) as caught:
        service.save_faq({"questions": "Giờ làm việc?", "answer": "8h", "procedure_codes": "9.999999"}, hoa)
    assert "Chưa có thủ tục mang mã: 9.999999" in caught.value.problems["procedure_codes"]
    saved = service.save_faq(
        {
            "questions": "Giờ làm việc?\nMấy giờ mở cửa?",
            "answer": "Từ 7 giờ 30.",
            "procedure_codes": f.MARRIAGE,
        },
        hoa,
    )
    entry = service.faq(int(saved.key))
    assert entry.questions == ("Giờ làm việc?", "Mấy giờ mở cửa?") and entry.procedure_codes == (f.MARRIAGE,)
    off = service.save_faq(
        {"questions": "Giờ làm việc?", "answer": "Từ 7 giờ 30.", "enabled": False}, hoa, entry_id=entry.id
    )
    assert not service.faq(entry.id).enabled and service.audit_entry(off.audit_id).action == "update"


# --- audit and rollback ----------------------------------------------------------------------------


def test_audit_diff_and_rollback_restore_exactly(env) -> None:
    service, hoa, repo, _ = env
    original = repo.get(f.MARRIAGE)
    draft = procedure_draft(original)
    draft["name"] = "Đăng ký kết hôn trong nước"
    draft["documents"].append({"name": "Ảnh 4x6", "copies": "2"})
    draft["steps"] = [*draft["steps"], "Nhận kết quả."]
    first = service.save_procedure(draft, hoa, code=f.MARRIAGE, base_version=service.version(original))
    entry = service.audit_entry(first.audit_id)
    assert entry.user_name == "Phạm Hoa" and entry.entity == "procedure" and entry.entity_key == f.MARRIAGE
    assert '-  "name": "Đăng ký kết hôn",' in entry.diff
    assert '+  "name": "Đăng ký kết hôn trong nước",' in entry.diff
    assert '+      "name": "Ảnh 4x6",' in entry.diff and "Nhận kết quả." in entry.diff
    assert entry.before == procedure_snapshot(original)

    # a second change, then back to the very first version (before the first change)
    second = service.save_procedure(
        {**procedure_draft(repo.get(f.MARRIAGE)), "conditions": "Mới"}, hoa, code=f.MARRIAGE
    )
    restored = service.rollback(first.audit_id, hoa, side="before")
    assert restored.changed and repo.get(f.MARRIAGE).content_key() == original.content_key()
    back = service.audit_entry(restored.audit_id)
    assert back.action == "rollback" and back.restored_from == first.audit_id
    # the rollback is itself audited and can be undone: back to the state after the second change
    service.rollback(second.audit_id, hoa)
    assert (
        repo.get(f.MARRIAGE).conditions == "Mới" and repo.get(f.MARRIAGE).name == "Đăng ký kết hôn trong nước"
    )
    assert [e.action for e in service.audit_log("procedure", f.MARRIAGE)] == [
        "rollback",
        "rollback",
        "update",
        "update",
    ]
    # nothing to do when the version is the current one
    assert not service.rollback(second.audit_id, hoa).changed


def test_unchanged_save_writes_nothing_and_stale_version_conflicts(env) -> None:
    service, hoa, repo, _ = env
    proc = repo.get(f.BIRTH)
    result = service.save_procedure(
        procedure_draft(proc), hoa, code=f.BIRTH, base_version=service.version(proc)
    )
    assert not result.changed and service.audit_log() == []
    service.save_procedure({**procedure_draft(proc), "result": "Giấy khai sinh"}, hoa, code=f.BIRTH)
    with pytest.raises(EditConflict) as caught:
        service.save_procedure(
            {**procedure_draft(proc), "result": "Khác"}, hoa, code=f.BIRTH, base_version=service.version(proc)
        )
    assert "người khác sửa" in str(caught.value)


def test_rollback_of_a_creation_to_before_is_refused(env) -> None:
    service, hoa, _, _ = env
    created = service.save_faq({"questions": "Hỏi?", "answer": "Đáp."}, hoa)
    with pytest.raises(EditorError) as caught:
        service.rollback(created.audit_id, hoa, side="before")
    assert "chưa có" in str(caught.value)


# --- response texts ---------------------------------------------------------------------------------


def test_response_override_validated_applied_and_reloaded(env) -> None:
    service, hoa, _, sessions = env
    with pytest.raises(DraftInvalid) as caught:
        service.save_response("utter_fee", [{"text": "Phí {ten_thu_tuc}: {items}"}], hoa)
    message = caught.value.problems["variants.0.text"]
    assert "{ten_thu_tuc}" in message and "{procedure_name}" in message and "{items}" in message
    with pytest.raises(DraftInvalid) as caught:
        service.save_response("utter_fee", [{"text": "Phí {procedure_name: {items}"}], hoa)
    assert "ngoặc nhọn" in caught.value.problems["variants.0.text"]
    with pytest.raises(DraftInvalid) as caught:
        service.save_response("utter_fee", [{"text": "Phí", "buttons": "Gặp cán bộ | gặp cán bộ"}], hoa)
    assert "/ý_định" in caught.value.problems["variants.0.buttons"]
    with pytest.raises(DraftInvalid):
        service.save_response("utter_fee", [{"text": "  "}], hoa)
    assert service.responses.render("utter_fee", procedure_name="X", items="1").text.startswith(
        "Dạ, lệ phí X"
    )

    result = service.save_response(
        "utter_fee",
        [{"text": "Chi phí cho {procedure_name} là:\n{items}", "buttons": "Gặp cán bộ | /request_human"}],
        hoa,
    )
    rendered = service.responses.render("utter_fee", procedure_name="X", items="1")
    assert rendered.text == "Chi phí cho X là:\n1" and rendered.buttons[0].payload == "/request_human"
    assert service.response_info("utter_fee").overridden
    assert "Chi phí cho" in service.audit_entry(result.audit_id).diff
    # a restart loads the override over the file
    assert (
        load_responses(DEFAULT_PATH, SqlResponseOverrides(sessions)).text(
            "utter_fee", procedure_name="Y", items="2"
        )
        == "Chi phí cho Y là:\n2"
    )
    # back to the file, audited; then a rollback brings the editor's text back
    reset = service.reset_response("utter_fee", hoa)
    assert service.responses.text("utter_fee", procedure_name="X", items="1").startswith("Dạ, lệ phí X")
    service.rollback(result.audit_id, hoa)
    assert service.responses.text("utter_fee", procedure_name="X", items="1").startswith("Chi phí cho X")
    assert service.audit_entry(reset.audit_id).action == "reset"


def test_invalid_stored_override_is_skipped_at_start_up(env) -> None:
    _, _, _, sessions = env
    with sessions.begin() as session:
        session.add(ResponseOverrideRow(key="utter_fee", variants=[{"text": "{khong_co}"}], updated_by="x"))
        session.add(ResponseOverrideRow(key="utter_removed", variants=[{"text": "cũ"}], updated_by="x"))
    catalogue = load_responses(DEFAULT_PATH, SqlResponseOverrides(sessions))
    assert catalogue.text("utter_fee", procedure_name="X", items="1").startswith("Dạ, lệ phí X")


# --- try it ---------------------------------------------------------------------------------------------


async def test_try_box_answers_with_current_content_and_logs_nothing(env) -> None:
    service, hoa, repo, sessions = env
    replies = await service.try_message("kết hôn lệ phí bao nhiêu", hoa)
    assert "kết hôn" in replies[0].text.lower()
    draft = procedure_draft(repo.get(f.MARRIAGE))
    for channel in draft["channels"]:
        channel["fee_text"] = "Lệ phí : 75.000 Đồng"
    service.save_procedure(draft, hoa, code=f.MARRIAGE)
    replies = await service.try_message("kết hôn lệ phí bao nhiêu", hoa, start_over=True)
    assert "75.000" in replies[0].text
    with sessions() as session:
        assert session.query(MessageRow).count() == 0
    with pytest.raises(DraftInvalid):
        await service.try_message("   ", hoa)
