"""The learning exports are safe to open in a spreadsheet and hold no personal number (issue 13, item 7).

A cell beginning like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is written with a leading apostrophe
(spreadsheets hide it; the formula never runs); importing the exported file takes it off again, so a
round trip changes nothing. A training example is exported masked (it may come from a citizen's message);
an FAQ answer is editors' text for citizens and keeps an office's phone number whole."""

from __future__ import annotations

import csv
import io

from console.auth.users import User
from console.learning.service import LearningService
from knowledge.db import make_session_factory
from knowledge.domain import FaqEntry
from knowledge.repository import SqlKnowledgeRepository
from tests import factories as f

EDITOR = User(1, "hoa", "Phạm Hoa", "editor")
INTENTS = ["greet", "ask_documents", "ask_fee", "nlu_fallback"]
FORMULA = '=HYPERLINK("http://evil.example","khai sinh")'


def _service(db_engine):  # type: ignore[no-untyped-def]
    sessions = make_session_factory(db_engine)
    repo = SqlKnowledgeRepository(sessions)
    repo.upsert([f.birth_registration()])
    return LearningService(sessions, repo, INTENTS, low_confidence=0.5, negative_rating_at_most=2), repo


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_training_csv_neutralises_formulas_masks_numbers_and_round_trips(db_engine) -> None:  # type: ignore[no-untyped-def]
    service, _ = _service(db_engine)
    content = (
        "text,intent,procedure_code\n"
        f'"{FORMULA.replace(chr(34), chr(34) * 2)}",ask_documents,{f.BIRTH}\n'
        "@khai sinh cần gì,ask_documents,\n"
        "CCCD 0012 0300 4567 làm khai sinh,ask_documents,\n"
    )
    assert service.import_training(content, "csv", EDITOR).created == 3
    exported = service.export_training_csv()
    texts = sorted(row[0] for row in _rows(exported)[1:])
    assert texts == ["'" + FORMULA, "'@khai sinh cần gì", "CCCD **** **** *567 làm khai sinh"]
    # the apostrophes come off on import: the formula-looking examples are unchanged
    report = service.import_training(exported, "csv", EDITOR)
    assert (report.created, report.updated) == (1, 0)  # only the masked spelling is new


def test_faq_csv_neutralises_formulas_keeps_office_numbers_and_round_trips(db_engine) -> None:  # type: ignore[no-untyped-def]
    service, repo = _service(db_engine)
    repo.save_faq(FaqEntry(None, ("+ giờ làm việc?",), "-Gọi tổng đài 028 3829 1234 trong giờ hành chính."))
    exported = service.export_faq_csv()
    [_, row] = _rows(exported)
    assert row[1] == "'+ giờ làm việc?" and row[2] == "'-Gọi tổng đài 028 3829 1234 trong giờ hành chính."
    report = service.import_faqs(exported, "csv", EDITOR)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    [faq] = repo.list_faqs(enabled_only=False)
    assert faq.questions == ("+ giờ làm việc?",) and faq.answer.startswith("-Gọi tổng đài 028 3829 1234")
