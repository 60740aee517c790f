"""Frequently asked questions: the matcher, the shipped file, seeding, the policy rule and the action
(asserted on two lists: drafts and events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.faq import FaqAnswerAction
from bot.core.config import PolicyConfig
from bot.core.events import ContinuationSet, Event, ModeChanged
from bot.core.sdk import ActionArgs, MessageDraft
from bot.core.state import ConversationState, Mode
from bot.engine.policy import Policy
from knowledge.domain import FaqEntry
from knowledge.faq import FAQ_PATH, FaqMatcher, load_faq_file, seed_faqs
from knowledge.ports import InMemoryKnowledgeRepository
from knowledge.text import load_abbreviations
from tests import factories as f

HOURS = FaqEntry(
    id=1,
    questions=("Giờ làm việc của bộ phận một cửa", "Thứ bảy có nộp hồ sơ được không"),
    answer="Bộ phận Một cửa làm việc trong giờ hành chính.",
)
LOST = FaqEntry(
    id=2,
    questions=("Tôi làm mất giấy tờ thì phải làm sao",),
    answer="mỗi loại giấy tờ bị mất có thủ tục riêng.",
    procedure_codes=(f.MARRIAGE, "9.999999"),
)
OFF = FaqEntry(id=3, questions=("Thời tiết hôm nay thế nào",), answer="...", enabled=False)


@pytest.fixture
def matcher() -> FaqMatcher:
    return FaqMatcher([HOURS, LOST, OFF])


# --- matcher -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("giờ làm việc của bộ phận một cửa là mấy giờ ạ", HOURS),
        ("gio lam viec bo phan mot cua", HOURS),  # no diacritics
        ("thứ 7 có nộp hồ sơ được không", HOURS),
        ("tôi bị mất giấy tờ thì làm sao", LOST),
    ],
)
def test_matches_rephrased_questions(matcher: FaqMatcher, text: str, entry: FaqEntry) -> None:
    found = matcher.match(text, 0.85)
    assert found is not None and found[0] == entry


@pytest.mark.parametrize(
    "text",
    [
        "làm việc",  # two words of a question are not the question (token_set_ratio alone says 100)
        "đăng ký kết hôn cần giấy tờ gì",
        "xin chào",
        "",
        "thời tiết hôm nay thế nào",  # a disabled entry is never matched
    ],
)
def test_other_messages_stay_below_the_threshold(matcher: FaqMatcher, text: str) -> None:
    assert matcher.match(text, 0.85) is None


def test_scores_are_within_0_and_1_and_reload_replaces_the_entries(matcher: FaqMatcher) -> None:
    assert matcher.score("giờ làm việc của bộ phận một cửa", HOURS.questions[0]) == pytest.approx(1.0)
    assert 0.0 <= matcher.score("làm việc", HOURS.questions[0]) < 0.85
    assert len(matcher) == 3  # the disabled entry's question is left out
    matcher.reload([LOST])
    assert matcher.match("giờ làm việc của bộ phận một cửa", 0.85) is None
    assert len(FaqMatcher()) == 0 and FaqMatcher().match("giờ làm việc") is None


def test_abbreviations_are_expanded_before_matching() -> None:
    entry = FaqEntry(id=1, questions=("Dịch vụ công trực tuyến toàn trình là gì",), answer="x")
    plain = FaqMatcher([entry]).match("dvc truc tuyen toan trinh la gi")
    expanded = FaqMatcher([entry], {"dvc": "dịch vụ công"}).match("dvc truc tuyen toan trinh la gi")
    assert plain is not None and expanded is not None and expanded[1] > plain[1]
    assert expanded[1] == pytest.approx(1.0)


# --- shipped file and seeding --------------------------------------------------------------------


def test_shipped_faq_file_is_useful_and_matches_its_own_questions() -> None:
    entries = load_faq_file()
    assert 8 <= len(entries) <= 12
    matcher = FaqMatcher(entries, load_abbreviations())
    for entry in entries:
        assert entry.answer and not entry.answer.startswith("Dạ")  # the catalogue says "Dạ, " first
        for question in entry.questions:
            found = matcher.match(question, PolicyConfig().faq_threshold)
            assert found is not None and found[0] is entry, question
        # phone numbers are not invented: the answers only point to where they are published
        assert not any(ch.isdigit() for ch in entry.answer.replace("mức 2", "")), entry.answer


def test_bad_faq_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "faq.yml"
    path.write_text('faq:\n  - questions: ["Hỏi gì"]\n    answer: ""\n', encoding="utf-8")
    with pytest.raises(ValueError, match="entry 1"):
        load_faq_file(path)


def test_seed_faqs_fills_an_empty_repository_once() -> None:
    repo = InMemoryKnowledgeRepository()
    count = seed_faqs(repo)
    assert count == len(load_faq_file(FAQ_PATH)) == len(repo.list_faqs())
    assert all(e.id is not None for e in repo.list_faqs())
    assert seed_faqs(repo) == 0  # an editor's set is never overwritten
    assert len(repo.list_faqs()) == count


# --- policy --------------------------------------------------------------------------------------


def state(**fields: Any) -> ConversationState:
    return ConversationState(key=f.key(), **fields)


def test_policy_answers_a_faq_the_nlu_did_not_understand(matcher: FaqMatcher) -> None:
    policy = Policy(faq=matcher)
    decision = policy.decide(f.parse("nlu_fallback", "giờ làm việc của bộ phận một cửa"), state())
    assert decision.actions == ("action_faq_answer",)
    assert decision.args.faq == HOURS and (decision.args.faq_score or 0) >= 0.85
    assert decision.rule == "faq"


def test_policy_leaves_a_waiting_mode_for_a_faq(matcher: FaqMatcher) -> None:
    decision = Policy(faq=matcher).decide(
        f.parse("out_of_scope", "giờ làm việc của bộ phận một cửa"), state(mode=Mode.AWAITING_CHOICE)
    )
    assert decision.actions == ("action_faq_answer",)
    assert decision.events == (ModeChanged(Mode.ANSWERING),)


def test_a_question_about_a_named_procedure_is_not_taken_by_the_faq(matcher: FaqMatcher) -> None:
    parse = f.parse("ask_documents", "tôi làm mất giấy tờ thì phải làm sao", procedure=(f.MARRIAGE, 0.9))
    assert Policy(faq=matcher).decide(parse, state()).actions == ("action_documents",)


def test_a_follow_up_about_the_procedure_discussed_is_not_taken_by_the_faq(matcher: FaqMatcher) -> None:
    # "thứ bảy có nộp hồ sơ được không" after a question about the marriage: the marriage's channels;
    # the same words with nothing discussed, or read as no part of a procedure, are the FAQ's
    follow_up = f.parse("ask_channels", "thứ 7 có nộp hồ sơ được không")
    assert Policy(faq=matcher).decide(follow_up, state(procedure=f.MARRIAGE)).rule == "carried_over"
    assert Policy(faq=matcher).decide(follow_up, state()).rule == "faq"
    fallback = f.parse("nlu_fallback", "thứ 7 có nộp hồ sơ được không")
    assert Policy(faq=matcher).decide(fallback, state(procedure=f.MARRIAGE)).rule == "faq"


def test_no_faq_below_the_threshold_or_without_a_matcher(matcher: FaqMatcher) -> None:
    parse = f.parse("nlu_fallback", "giờ làm việc của bộ phận một cửa")
    assert Policy().decide(parse, state()).actions == ("action_clarify",)
    strict = Policy(PolicyConfig(faq_threshold=1.0), faq=matcher)
    assert strict.decide(f.parse("nlu_fallback", "giờ làm vệc của bộ phận một cửa"), state()).rule != "faq"
    with pytest.raises(ValueError, match="faq_threshold"):
        PolicyConfig(faq_threshold=0)


# --- action --------------------------------------------------------------------------------------


async def run(args: ActionArgs) -> tuple[list[MessageDraft], list[Event]]:
    return await f.run_action(FaqAnswerAction(f.knowledge()), f.tracker("nlu_fallback", args=args))


async def test_action_speaks_the_answer_with_buttons_for_known_linked_procedures() -> None:
    drafts, events = await run(ActionArgs(faq=LOST, faq_score=0.9))
    assert [d.response for d in drafts] == ["utter_faq_answer"]
    assert drafts[0].text == "Dạ, mỗi loại giấy tờ bị mất có thủ tục riêng."
    # 9.999999 is not in the knowledge base: no button for it
    assert [(b.title, b.payload) for b in drafts[0].buttons] == [
        ("Đăng ký kết hôn", '/choose{"procedure":"1.000894"}')
    ]
    assert events == [ContinuationSet(None)]


async def test_action_without_an_entry_asks_to_rephrase() -> None:
    drafts, events = await run(ActionArgs())
    assert [d.response for d in drafts] == ["utter_rephrase"]
    assert events == [ContinuationSet(None)]


def test_linked_procedures_are_in_the_seed() -> None:
    from knowledge.seed import read_records

    codes = {p.code for p in read_records()[0]}
    linked = {c for e in load_faq_file() for c in e.procedure_codes}
    assert linked and linked <= codes
