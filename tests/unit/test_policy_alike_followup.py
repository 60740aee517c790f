"""Answers given alike for close candidates (tests/unit/test_policy_alike.py), reviewed: such an answer
chooses none of them (the next part asked is compared again), a number in the message names the
candidate carrying it, a question about the citizen's case is never "the same answer", and the levels
are said as a sentence says them.

Known-answer tests over rendered records and the shipped response texts: each says what a citizen
would read, or what the bot does next.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from actions.procedure.actions import ProcedureAnswerAction, candidate_buttons
from actions.procedure.answers import answer
from actions.procedure.variants import RenderedAnswers, normalised, variant_names
from bot.core.config import PolicyConfig
from bot.core.events import SlotSet
from bot.core.parse import Candidate
from bot.core.responses import parse_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import ConversationState
from bot.engine.engine import apply_events
from bot.engine.policy import Decision, Policy
from knowledge.domain import Document, Procedure
from tests import factories as f

PROVINCE, COMMUNE = "9.000001", "9.000002"
NAMES = {
    PROVINCE: "Gia hạn giấy phép xây dựng đối với nhà ở riêng lẻ (thực hiện tại cấp tỉnh)",
    COMMUNE: "Gia hạn giấy phép xây dựng đối với nhà ở riêng lẻ (thực hiện tại cấp xã)",
}
BOTH = [(PROVINCE, 0.8), (COMMUNE, 0.8)]


def levels(**commune_changes: object) -> list[Procedure]:
    base = f.construction_permit_renewed()
    return [
        replace(base, code=PROVINCE, name=NAMES[PROVINCE], url=""),
        replace(base, code=COMMUNE, name=NAMES[COMMUNE], url="", **commune_changes),  # type: ignore[arg-type]
    ]


def policy(records: list[Procedure]) -> Policy:
    return Policy(PolicyConfig(), answers=RenderedAnswers(f.knowledge(*records), f.catalogue()))


def turn(
    p: Policy, records: list[Procedure], state: ConversationState, intent: str, text: str, **named: object
) -> tuple[Decision, ConversationState, CollectingDispatcher]:
    """One message through the policy and, when it answers, the answer action; the state after it
    (its slots, and the buttons the reply offered, as the engine keeps them)."""
    parse = f.parse(intent, text, names=NAMES, **named)  # type: ignore[arg-type]
    d = p.decide(parse, state)
    after = apply_events(state, d.events)
    sent = CollectingDispatcher(f.catalogue())
    if d.actions[0].removeprefix("action_") in {"fee", "processing_time", "documents", "where"}:
        action = ProcedureAnswerAction(d.actions[0].removeprefix("action_"), f.knowledge(*records))
        asyncio.run(action.run(sent, Tracker(after, parse, d.args)))
    offered = tuple(b for m in sent.messages for b in m.buttons)
    return d, after.evolve(choices=offered), sent


def fee_first(records: list[Procedure]) -> tuple[Policy, ConversationState]:
    p = policy(records)
    d, state, sent = turn(
        p,
        records,
        ConversationState(key=f.key()),
        "ask_fee",
        "gia hạn giấy phép lệ phí",
        procedure=BOTH[0],
        ranking=BOTH,
    )
    assert d.rule == "alike"
    assert sent.messages[-1].text == "Dạ, thông tin trên áp dụng như nhau cho cả cấp tỉnh và cấp xã."
    payloads = [parse_payload(b.payload) for b in sent.messages[-1].buttons]
    assert payloads == [
        ("choose", {"procedure": PROVINCE, "aspect": "ask_fee"}),
        ("choose", {"procedure": COMMUNE, "aspect": "ask_fee"}),
    ]  # a press answers the fee for that variant
    return p, state


def test_after_an_alike_answer_a_part_that_differs_is_the_choice() -> None:
    records = levels(receiving_address="Bộ phận một cửa Ủy ban nhân dân xã")
    p, state = fee_first(records)
    d, _, _ = turn(p, records, state, "ask_where", "nộp ở đâu")
    assert d.actions == ("action_choose_procedure",)
    assert {c.code for c in d.args.candidates} == {PROVINCE, COMMUNE}


def test_after_an_alike_answer_a_part_still_alike_is_answered_alike_again() -> None:
    records = levels()
    p, state = fee_first(records)
    d, _, sent = turn(p, records, state, "ask_processing_time", "mất bao lâu")
    assert d.rule == "alike" and d.actions == ("action_processing_time",)
    assert "05 ngày" in sent.messages[0].text
    assert sent.messages[-1].text == "Dạ, thông tin trên áp dụng như nhau cho cả cấp tỉnh và cấp xã."


PORT_III, PORT_I_II = "9.000011", "9.000012"
PORTS = {PORT_III: "Công bố mở cảng cá loại III", PORT_I_II: "Công bố mở cảng cá loại I, loại II"}
PORT_RANKING = [(PORT_III, 0.8), (PORT_I_II, 0.79)]


def ports(text: str) -> Decision:
    base = f.construction_permit_renewed()
    records = [replace(base, code=c, name=n, url="") for c, n in PORTS.items()]
    parse = f.parse("ask_fee", text, procedure=PORT_RANKING[0], ranking=PORT_RANKING, names=PORTS)
    return policy(records).decide(parse, ConversationState(key=f.key()))


@pytest.mark.parametrize(
    "text",
    [
        "công bố mở cảng cá loại 1 lệ phí",
        "công bố mở cảng cá loại một lệ phí",
        "cong bo mo cang ca loai 2 le phi",
        "công bố mở cảng cá loại I lệ phí",
    ],
)
def test_a_number_said_names_the_candidate_carrying_it(text: str) -> None:
    d = ports(text)
    assert d.actions == ("action_fee",) and SlotSet("procedure", PORT_I_II) in d.events


def test_a_number_no_candidate_carries_keeps_the_choice() -> None:
    assert ports("công bố mở cảng cá loại 4 lệ phí").actions == ("action_choose_procedure",)


def test_no_number_said_the_same_fee_is_answered_alike() -> None:
    assert ports("công bố mở cảng cá lệ phí").rule == "alike"


def test_a_question_about_the_citizens_case_is_never_the_same_answer() -> None:
    base = f.construction_permit_per_case()
    records = [replace(base, code=c, name=n, url="") for c, n in NAMES.items()]
    answers = RenderedAnswers(f.knowledge(*records), f.catalogue())
    said = CollectingDispatcher(f.catalogue())
    answer(said, records[0], "documents", "giấy phép cần giấy tờ gì", None)
    assert said.messages[0].response in {"utter_ask_document_case", "utter_ask_document_case_list"}
    assert not answers.same_answer("documents", list(NAMES), "giấy phép cần giấy tờ gì")


def test_levels_are_said_in_lower_case_and_in_full() -> None:
    named = [
        Candidate("a", "Cấp thị thực cho người nước ngoài (cấp Tỉnh và cấp Bộ)", 0.8),
        Candidate("b", "Cấp thị thực cho người nước ngoài (cấp TW)", 0.8),
    ]
    assert variant_names(named) == "cấp tỉnh và cấp bộ và cấp trung ương"


def test_an_overview_button_stays_within_telegrams_64_bytes() -> None:
    (button,) = candidate_buttons(
        [Candidate("1.013225", "Cấp giấy phép xây dựng mới", 0.8)], "ask_procedure_overview"
    )
    assert parse_payload(button.payload) == ("choose", {"procedure": "1.013225"})
    assert len(button.payload.encode()) <= 64
    (fee,) = candidate_buttons([Candidate("1.013225", "Cấp giấy phép xây dựng mới", 0.8)], "ask_fee")
    assert parse_payload(fee.payload) == ("choose", {"procedure": "1.013225", "aspect": "ask_fee"})


def test_papers_past_the_shown_ones_are_compared_too() -> None:
    """The papers' long notes are behind the "Lưu ý" button, not in the answer shown: two procedures
    whose notes differ do not give the same answer."""
    note = "Nộp kèm giấy tờ khác theo hướng dẫn của cơ quan tiếp nhận hồ sơ. " * 3
    papers = tuple(Document(f"Giấy tờ số {i} của người đề nghị", originals=1) for i in range(1, 12))
    first = (*papers[:-1], replace(papers[-1], note=note + "Bản chính."))
    second = (*papers[:-1], replace(papers[-1], note=note + "Bản sao có chứng thực."))
    base = f.construction_permit_renewed()
    records = [
        replace(base, code=PROVINCE, name=NAMES[PROVINCE], url="", documents=first),
        replace(base, code=COMMUNE, name=NAMES[COMMUNE], url="", documents=second),
    ]
    shown = []
    for record in records:
        said = CollectingDispatcher(f.catalogue())
        answer(said, record, "documents", "cần giấy tờ gì", None)
        shown.append(normalised(said, record))
    assert shown[0] == shown[1]  # what the citizen reads is the same
    answers = RenderedAnswers(f.knowledge(*records), f.catalogue())
    assert not answers.same_answer("documents", list(NAMES), "cần giấy tờ gì")
    alike = [replace(r, documents=first) for r in records]
    assert RenderedAnswers(f.knowledge(*alike), f.catalogue()).same_answer("documents", list(NAMES), "")
