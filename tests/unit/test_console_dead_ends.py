"""Every dead end offers a way out (issue 14, item 2), what each turn came to, and the FAQ's "Dạ".

The refusal (out of scope), the clarifying questions, the offer of an officer and "hỏi lại" all carry
"Gặp cán bộ" and "Xem các thủ tục thường hỏi" (``/request_human``, ``/help``); on a text-only channel
they are numbered like any choice. An FAQ answer an editor wrote starting with "Dạ," is said once.
"""

from __future__ import annotations

import pytest

from actions.fallback import ClarifyAction, OfferOfficerAction
from actions.faq import FaqAnswerAction, without_polite_opening
from actions.smalltalk import OutOfScopeAction, smalltalk_actions
from bot.core.domain import ActionName
from bot.core.events import FallbackCounted, SlotSet
from bot.core.parse import Candidate
from bot.core.sdk import ActionArgs
from bot.core.state import ConversationState, Mode
from bot.handoff.outcomes import ANSWERED, kind_of
from knowledge.domain import FaqEntry
from tests import factories as f

WAY_OUT = {"Gặp cán bộ": "/request_human", "Xem các thủ tục thường hỏi": "/help"}


def way_out(draft) -> dict[str, str]:
    return {b.title: b.payload for b in draft.buttons if b.title in WAY_OUT}


def rephrase_action():
    return next(a for a in smalltalk_actions() if a.name == ActionName.REPHRASE)


@pytest.mark.parametrize(
    "action, tracker",
    [
        (OutOfScopeAction(), f.tracker("out_of_scope", "lương tối thiểu vùng năm nay là bao nhiêu")),
        (ClarifyAction(), f.tracker("nlu_fallback", "abc xyz")),
        (
            ClarifyAction(),
            f.tracker(
                "nlu_fallback",
                "giấy phép",
                args=ActionArgs(candidates=(Candidate("1.009972", "Cấp giấy phép xây dựng mới", 0.5),)),
            ),
        ),
        (OfferOfficerAction(), f.tracker("nlu_fallback", "abc xyz", fallback_streak=1)),
        (rephrase_action(), f.tracker("rephrase")),
    ],
    ids=["out_of_scope", "clarify_no_candidates", "clarify_with_candidates", "offer_officer", "rephrase"],
)
async def test_every_dead_end_offers_an_officer_and_the_common_procedures(action, tracker) -> None:
    drafts, _ = await f.run_action(action, tracker)
    assert len(drafts) == 1
    assert way_out(drafts[0]) == WAY_OUT


async def test_the_candidates_still_come_first_in_a_clarifying_question() -> None:
    candidates = (Candidate("1.009972", "Cấp giấy phép xây dựng mới", 0.5),)
    drafts, _ = await f.run_action(
        ClarifyAction(), f.tracker("nlu_fallback", "giấy phép", args=ActionArgs(candidates=candidates))
    )
    payloads = [b.payload for b in drafts[0].buttons]
    assert payloads[0] == '/choose{"procedure":"1.009972"}'
    assert payloads[1:] == ["/rephrase", "/request_human", "/help"]


@pytest.mark.parametrize(
    "written, said",
    [
        ("Dạ, bạn nộp hồ sơ tại bộ phận một cửa.", "Dạ, bạn nộp hồ sơ tại bộ phận một cửa."),
        ("dạ bạn nộp hồ sơ tại bộ phận một cửa.", "Dạ, bạn nộp hồ sơ tại bộ phận một cửa."),
        ("DẠ,  Bộ phận một cửa làm việc giờ hành chính.", "Dạ, Bộ phận một cửa làm việc giờ hành chính."),
        ("Bạn nộp hồ sơ tại bộ phận một cửa.", "Dạ, Bạn nộp hồ sơ tại bộ phận một cửa."),
        ("Dạy nghề miễn phí cho người khuyết tật.", "Dạ, Dạy nghề miễn phí cho người khuyết tật."),
    ],
)
async def test_an_faq_answer_written_with_da_is_said_with_one_da(written: str, said: str) -> None:
    entry = FaqEntry(id=1, questions=("nộp hồ sơ ở đâu",), answer=written)
    drafts, _ = await f.run_action(
        FaqAnswerAction(f.knowledge()), f.tracker("out_of_scope", args=ActionArgs(faq=entry))
    )
    assert drafts[0].text == said
    assert not drafts[0].text.startswith("Dạ, Dạ,")


def test_without_polite_opening_keeps_an_answer_that_is_only_da() -> None:
    assert without_polite_opening("Dạ") == "Dạ"


def state(action: str | None, mode: Mode = Mode.ANSWERING) -> ConversationState:
    return ConversationState(key=f.key(), mode=mode, last_action=action)


@pytest.mark.parametrize(
    "action, mode, events, kind",
    [
        ("action_fee", Mode.ANSWERING, [], "answer"),
        ("action_more", Mode.ANSWERING, [], "answer"),
        ("action_faq_answer", Mode.ANSWERING, [], "faq"),
        ("action_out_of_scope", Mode.ANSWERING, [FallbackCounted(1, "out_of_scope")], "out_of_scope"),
        ("action_clarify", Mode.AWAITING_CHOICE, [FallbackCounted(1, "clarify")], "fallback"),
        ("action_offer_officer", Mode.ANSWERING, [FallbackCounted(2, "officer")], "fallback"),
        ("action_choose_procedure", Mode.AWAITING_CHOICE, [], "choice"),
        ("action_ask_procedure", Mode.ANSWERING, [], "choice"),
        (
            "action_dossier_status",
            Mode.ANSWERING,
            [SlotSet("dossier_code", "000.00.12.H26-241115-0003")],
            "flow",
        ),
        ("action_dossier_status", Mode.AWAITING_DOSSIER_CODE, [], "other"),
        ("action_dossier_status", Mode.ANSWERING, [], "other"),
        ("action_greet", Mode.ANSWERING, [], "other"),
        ("action_escalate", Mode.WITH_OFFICER, [], "other"),
        ("action_feedback", Mode.ANSWERING, [], "other"),
    ],
)
def test_what_a_turn_came_to(action, mode, events, kind) -> None:
    assert kind_of(action, state(action, mode), events) == kind


def test_only_answers_faq_answers_and_completed_flows_count_as_answered() -> None:
    assert {"answer", "faq", "flow"} == ANSWERED
