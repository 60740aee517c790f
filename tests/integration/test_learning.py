"""The learning loop's service on SQLite and PostgreSQL: the inbox from a seeded message log, assigning
(training example, FAQ question), dismissing, and FAQ / example import and export (all or nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.messages import ConversationKey
from bot.core.ports import MessageRecord
from bot.handoff.tables import TicketRow
from bot.storage.sql import SqlConversationStore
from console.auth.users import User
from console.learning.errors import ImportRefused, InvalidAssignment
from console.learning.service import LearningService
from console.learning.tables import ReviewItemRow, TrainingExampleRow, key_of
from knowledge.db import make_session_factory
from knowledge.domain import FaqEntry
from knowledge.repository import SqlKnowledgeRepository
from nlu.training_data import parse_training_data
from tests import factories as f

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
EDITOR = User(1, "hoa", "Phạm Hoa", "editor")
INTENTS = ["greet", "ask_documents", "ask_fee", "ask_procedure_overview", "give_feedback", "nlu_fallback"]


def at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture
def env(db_engine):
    sessions = make_session_factory(db_engine)
    repo = SqlKnowledgeRepository(sessions)
    repo.upsert(
        [f.marriage_registration(), f.birth_registration(aliases=("khai sinh", "làm giấy khai sinh"))]
    )
    faq = repo.save_faq(
        FaqEntry(None, ("Bộ phận một cửa làm việc giờ nào?",), "Từ 7 giờ 30 đến 17 giờ các ngày làm việc.")
    )
    store = SqlConversationStore(sessions)
    a, b, c = (ConversationKey("rest", x) for x in ("a", "b", "c"))
    store.log(
        [
            # two spellings of one fallback, in two chats
            MessageRecord(a, "in", "Làm sổ hồng mất bao lâu", intent="nlu_fallback", confidence=0.2, created_at=at(50)),
            MessageRecord(b, "in", "làm  sổ hồng mất bao lâu", intent="nlu_fallback", confidence=0.1, created_at=at(40)),
            # low confidence, the NLU guessed ask_fee about birth registration
            MessageRecord(a, "in", "khai sinh tốn kém ko", intent="ask_fee", confidence=0.4, procedure=f.BIRTH, created_at=at(30)),
            # understood well: not in the inbox
            MessageRecord(a, "in", "xin chào", intent="greet", confidence=0.95, created_at=at(29)),
            # answered, then rated 2 by the button: the question before the rating is listed
            MessageRecord(c, "in", "đăng ký kết hôn ở đâu", intent="ask_where", confidence=0.9, procedure=f.MARRIAGE, created_at=at(20)),
            MessageRecord(c, "out", "Bạn nộp tại UBND cấp xã.", sender="bot", created_at=at(20)),
            MessageRecord(c, "in", '/give_feedback{"rating":"2"}', intent="give_feedback", confidence=1.0, created_at=at(19)),
            # a button press (payload) with a low confidence is never a text to learn
            MessageRecord(b, "in", "/ask_fee", intent="ask_fee", confidence=0.1, created_at=at(10)),
        ]
    )  # fmt: skip
    service = LearningService(
        sessions, repo, INTENTS, low_confidence=0.5, negative_rating_at_most=2, clock=lambda: NOW
    )
    calls: list[str] = []
    service.went_live = lambda: calls.append("live")
    return service, repo, sessions, faq, calls


def test_inbox_groups_fallbacks_low_confidence_and_negative_ratings(env) -> None:
    service, *_ = env
    items = service.inbox()
    # most frequent first, then the latest
    assert [i.text for i in items] == [
        "Làm sổ hồng mất bao lâu",
        "đăng ký kết hôn ở đâu",
        "khai sinh tốn kém ko",
    ]
    first, third, second = items
    assert (first.count, first.fallbacks, first.low_confidence, first.negative_ratings) == (2, 2, 0, 0)
    assert first.last_seen == at(40)
    assert (second.low_confidence, second.guessed_intent, second.guessed_procedure) == (1, "ask_fee", f.BIRTH)
    assert (third.negative_ratings, third.guessed_intent, third.guessed_procedure) == (
        1,
        "ask_where",
        f.MARRIAGE,
    )
    assert all(i.status == "open" for i in items)


def test_a_rating_filed_on_an_officers_ticket_is_not_about_the_bot(env) -> None:
    service, _, sessions, *_ = env
    with sessions.begin() as session:
        session.add(
            TicketRow(
                channel="rest", chat_id="c", reason="request_human", status="closed", outcome="closed",
                created_at=at(25), closed_at=at(19) - timedelta(seconds=30), rating=2,
            )
        )  # fmt: skip
    assert [i.text for i in service.inbox()] == ["Làm sổ hồng mất bao lâu", "khai sinh tốn kém ko"]


def test_assign_stores_an_example_and_adds_the_faq_question(env) -> None:
    service, repo, sessions, faq, calls = env
    result = service.assign(
        "khai sinh tốn kém ko", EDITOR, intent="ask_fee", procedure_code=f.BIRTH, faq_id=faq.id
    )
    assert result.example is not None and result.faq_changed
    assert (result.example.intent, result.example.procedure_code, result.example.source) == (
        "ask_fee",
        f.BIRTH,
        "learned",
    )
    assert result.example.created_by == "Phạm Hoa"
    # the words naming the procedure are annotated with its code
    assert result.example.entities == [{"start": 0, "end": 9, "entity": "procedure", "value": f.BIRTH}]
    saved = repo.list_faqs()[0]
    assert saved.questions == ("Bộ phận một cửa làm việc giờ nào?", "khai sinh tốn kém ko")
    assert calls == ["live"]
    assert [i.text for i in service.inbox()] == ["Làm sổ hồng mất bao lâu", "đăng ký kết hôn ở đâu"]
    assigned = service.inbox("assigned")
    assert [(i.text, i.intent, i.procedure_code, i.faq_id, i.resolved_by) for i in assigned] == [
        ("khai sinh tốn kém ko", "ask_fee", f.BIRTH, faq.id, "Phạm Hoa")
    ]
    data = service.training_data()
    assert [(e.text, e.intent) for e in data.examples] == [("khai sinh tốn kém ko", "ask_fee")]
    assert data.examples[0].entities[0].value == f.BIRTH
    # assigning again (another spelling) updates the same example, the FAQ keeps one copy
    again = service.assign(
        "Khai sinh tốn kém  ko", EDITOR, intent="ask_fee", procedure_code=f.BIRTH, faq_id=faq.id
    )
    assert not again.faq_changed
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrainingExampleRow)) == 1
    assert repo.list_faqs()[0].questions.count("khai sinh tốn kém ko") == 1


def test_a_procedure_alone_teaches_an_overview_question_and_an_faq_alone_no_example(env) -> None:
    service, repo, _, faq, _ = env
    result = service.assign("Làm sổ hồng mất bao lâu", EDITOR, procedure_code=f.MARRIAGE)
    assert result.example is not None and result.example.intent == "ask_procedure_overview"
    assert result.example.entities == []  # no name or alias of 1.000894 in the text: intent only
    only_faq = service.assign("đăng ký kết hôn ở đâu", EDITOR, faq_id=faq.id)
    assert only_faq.example is None and only_faq.faq_changed
    assert len(service.examples()) == 1


def test_bad_assignments_say_what_is_wrong(env) -> None:
    service, *_ = env
    with pytest.raises(InvalidAssignment) as caught:
        service.assign("abc", EDITOR)
    assert "Hãy chọn" in caught.value.problems["intent"]
    with pytest.raises(InvalidAssignment) as caught:
        service.assign("abc", EDITOR, intent="nlu_fallback", procedure_code="1.2", faq_id=999)
    assert set(caught.value.problems) == {"intent", "procedure_code", "faq_id"}
    assert "không đúng dạng" in caught.value.problems["procedure_code"]
    with pytest.raises(InvalidAssignment) as caught:
        service.assign("abc", EDITOR, procedure_code="9.999999")
    assert "Chưa có thủ tục mang mã 9.999999" in str(caught.value)
    assert service.examples() == []


def test_dismiss_and_reopen(env) -> None:
    service, _, sessions, *_ = env
    key = service.dismiss("Làm sổ hồng mất bao lâu", EDITOR)
    assert key == key_of("làm sổ hồng   mất bao lâu")
    assert "Làm sổ hồng mất bao lâu" not in [i.text for i in service.inbox()]
    dismissed = service.inbox("dismissed")
    assert [(i.text, i.count, i.resolved_by) for i in dismissed] == [
        ("Làm sổ hồng mất bao lâu", 2, "Phạm Hoa")
    ]
    service.reopen(key)
    assert "Làm sổ hồng mất bao lâu" in [i.text for i in service.inbox()]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReviewItemRow)) == 0


# --- import and export ------------------------------------------------------------------------------


def test_training_examples_round_trip_through_yaml_and_csv(env) -> None:
    service, *_ = env
    service.assign("khai sinh tốn kém ko", EDITOR, intent="ask_fee", procedure_code=f.BIRTH)
    service.assign("Làm sổ hồng mất bao lâu", EDITOR, procedure_code=f.MARRIAGE)
    yml = service.export_training_yaml()
    assert '[khai sinh]{"entity": "procedure", "value": "1.001193"} tốn kém ko' in yml
    parsed = parse_training_data(yml)
    assert sorted(e.intent for e in parsed.examples) == ["ask_fee", "ask_procedure_overview"]
    csv_text = service.export_training_csv()
    assert csv_text.splitlines() == [
        "text,intent,procedure_code",
        "khai sinh tốn kém ko,ask_fee,1.001193",
        "Làm sổ hồng mất bao lâu,ask_procedure_overview,1.000894",
    ]
    for content, fmt in ((yml, "yaml"), (csv_text, "csv")):
        report = service.import_training(content, fmt, EDITOR)  # type: ignore[arg-type]
        assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert service.export_training_csv() == csv_text


def test_importing_training_examples_creates_then_changes_nothing(env) -> None:
    service, _, _, _, calls = env
    content = (
        "\ufefftext,intent,procedure_code\ngiấy khai sinh cần gì,ask_documents,1.001193\nchào ad,greet,\n"
    ).encode()
    report = service.import_training(content, "csv", EDITOR)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert calls == ["live"]
    assert service.import_training(content, "csv", EDITOR).changed is False
    assert calls == ["live"]  # nothing changed: no retraining
    by_text = {e.text: e for e in service.examples()}
    assert by_text["giấy khai sinh cần gì"].source == "import"
    assert by_text["giấy khai sinh cần gì"].entities[0]["value"] == f.BIRTH


def test_faqs_round_trip_through_csv_and_yaml(env) -> None:
    service, repo, *_ = env
    repo.save_faq(
        FaqEntry(None, ("Nộp lệ phí online được không?", "trả phí qua mạng"), "Được, qua Cổng dịch vụ công.",
                 (f.BIRTH,), ("thanh toán",), enabled=False)
    )  # fmt: skip
    csv_text = service.export_faq_csv()
    assert csv_text.splitlines()[0] == "id,questions,answer,procedure_codes,tags,enabled"
    assert "Nộp lệ phí online được không? | trả phí qua mạng" in csv_text
    yml = service.export_faq_yaml()
    before = repo.list_faqs(enabled_only=False)
    for content, fmt in ((csv_text, "csv"), (yml, "yaml")):
        report = service.import_faqs(content, fmt, EDITOR)  # type: ignore[arg-type]
        assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert [(e.id, e.questions, e.answer, e.procedure_codes, e.tags, e.enabled) for e in repo.list_faqs(enabled_only=False)] == [
        (e.id, e.questions, e.answer, e.procedure_codes, e.tags, e.enabled) for e in before
    ]  # fmt: skip
    # an edited file updates, a new row without id is created, and re-importing it changes nothing
    edited = (
        csv_text.replace("Được, qua Cổng dịch vụ công.", "Được.")
        + ",Giấy tờ bị mất thì sao?,Báo cơ quan cấp.,,,có\n"
    )
    report = service.import_faqs(edited, "csv", EDITOR)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    again = service.import_faqs(edited, "csv", EDITOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert len(repo.list_faqs(enabled_only=False)) == 3


def test_a_bad_file_is_refused_whole_with_the_lines_named(env) -> None:
    service, repo, *_ = env
    before = repo.list_faqs(enabled_only=False)
    bad_faqs = (
        "id,questions,answer,procedure_codes,tags,enabled\n"
        ",Câu hỏi tốt?,Trả lời tốt.,,,có\n"
        ",,Không có câu hỏi.,,,có\n"
        ",Hỏi mã sai?,Trả lời.,1.2345,,có\n"
        ",Hỏi bật tắt?,Trả lời.,,,có lẽ\n"
    )
    with pytest.raises(ImportRefused) as caught:
        service.import_faqs(bad_faqs, "csv", EDITOR)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["Dòng 3", "Dòng 4", "Dòng 5"]
    assert "cần ít nhất một câu hỏi" in problems[0]
    assert "không đúng dạng" in problems[1]
    assert "có/không" in problems[2]
    assert repo.list_faqs(enabled_only=False) == before  # the good first row was not written either

    bad_training = "text,intent,procedure_code\nchào,greet,\nabc,khong_co_y_dinh,\nxyz,ask_fee,9.999999\n"
    with pytest.raises(ImportRefused) as caught:
        service.import_training(bad_training, "csv", EDITOR)
    assert caught.value.problems[0].startswith("Dòng 3: ý định «khong_co_y_dinh» không có")
    assert caught.value.problems[1].startswith("Dòng 4: chưa có thủ tục mang mã 9.999999")
    bad_yaml = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - chào\n    chào bạn\n'
    with pytest.raises(ImportRefused) as caught:
        service.import_training(bad_yaml, "yaml", EDITOR)
    assert str(caught.value.problems[0]).startswith("Dòng 6: mỗi câu mẫu phải bắt đầu bằng «- »")
    named = "nlu:\n- intent: ask_fee\n  examples: |\n    - [khai sinh](procedure) bao nhiêu tiền\n"
    with pytest.raises(ImportRefused) as caught:
        service.import_training(named, "yaml", EDITOR)
    assert "Dòng 4: chú thích thủ tục phải mang mã thủ tục" in str(caught.value)
    with pytest.raises(ImportRefused) as caught:
        service.import_training(b"text,intent\n\xff\xfe,greet\n", "csv", EDITOR)
    assert "Dòng 2: tệp không phải văn bản UTF-8" in str(caught.value)
    with pytest.raises(ImportRefused, match="Dòng 1: tiêu đề cột"):
        service.import_training("cau,y_dinh\nchào,greet\n", "csv", EDITOR)
    assert service.examples() == []
