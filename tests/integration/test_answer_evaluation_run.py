"""The answer-level evaluation end to end: a five-line set through the composition root.

The engine is the one :class:`bot.app.bootstrap.App` builds on a private temporary SQLite file
with the shipped seed; only the NLU is the fake (``tests/fakes/interpreter.py``), so each question's
outcome is known in advance.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.app.cli import build_parser
from bot.app.evaluation import Detail, Kind, SetSpec, cmd_answers, evaluate, write_report
from bot.core.settings import Settings
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter

LINES = [
    # the fee of the marriage registration: answered at once
    {"id": "e-1", "text": "Đăng ký kết hôn lệ phí bao nhiêu", "intent": "ask_fee", "intents": ["ask_fee"],
     "procedures": [f.MARRIAGE]},
    # the construction permit family is close, a change is named and their papers differ: a choice, then
    # the new permit's papers (the same fee, or a bare "giấy phép xây dựng", is answered at once)
    {"id": "e-2", "text": "giấy phép xây dựng bị hết hạn cần giấy tờ gì", "intent": "ask_documents",
     "intents": ["ask_documents"], "procedures": [f.GPXD_NEW]},
    # the birth registration answered where the marriage registration was asked
    {"id": "e-3", "text": "khai sinh lệ phí bao nhiêu", "intent": "ask_fee", "intents": ["ask_fee"],
     "procedures": [f.MARRIAGE]},
    {"id": "e-4", "text": "thời tiết hôm nay thế nào", "intent": "out_of_scope", "intents": ["out_of_scope"],
     "procedures": []},
    {"id": "e-5", "text": "tra cứu hồ sơ của tôi", "intent": "check_dossier_status",
     "intents": ["check_dossier_status"], "procedures": []},
]  # fmt: skip


def _write(path: Path) -> Path:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LINES), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("answers")
    open_set, sealed_set = _write(tmp / "five.jsonl"), _write(tmp / "five_sealed.jsonl")
    specs = [SetSpec(open_set), SetSpec(sealed_set, sealed=True), SetSpec(tmp / "absent.jsonl")]
    return evaluate(specs, Settings(), interpreter=FakeInterpreter()), tmp


def test_each_question_gets_the_outcome_the_engine_decided(run) -> None:
    evaluation, _ = run
    got = {
        (r.question.id, r.variant): (r.first.kind, r.first.detail, r.first.procedure, r.first.aspect)
        for r in evaluation.items["five"]
    }
    for variant in ("original", "folded"):
        assert got["e-1", variant] == (Kind.ANSWER, Detail.FULL, f.MARRIAGE, "fee")
        assert got["e-2", variant] == (Kind.CHOICES, Detail.PROCEDURES, None, None)
        assert got["e-3", variant] == (Kind.ANSWER, Detail.FULL, f.BIRTH, "fee")
        assert got["e-4", variant] == (Kind.ABSTAIN, Detail.OUT_OF_SCOPE, None, None)
        assert got["e-5", variant] == (Kind.FLOW, Detail.DOSSIER, None, None)
    choice = next(r for r in evaluation.items["five"] if r.question.id == "e-2")
    assert choice.first.offered[:2] == (f.GPXD_NEW, f.GPXD_ADJUST)
    assert choice.second is not None and (choice.second.procedure, choice.second.intent) == (
        f.GPXD_NEW,
        "choose",
    )


def test_figures_of_the_set(run) -> None:
    evaluation, _ = run
    s = next(x for x in evaluation.report["sets"] if x["name"] == "five")
    assert s["questions"] == 5 and s["aggregate_only"] is False
    figures = s["variants"]["original"]["all"]["figures"]
    assert figures["right_first_turn"] == {"count": 1, "n": 3, "rate": 0.3333}
    assert figures["right_procedure"]["count"] == 1
    assert figures["wrong_answer"]["count"] == 1
    assert figures["confident_wrong"] == {"count": 0, "n": 1, "rate": 0.0}
    assert figures["abstained_unanswerable"]["count"] == 1
    assert figures["flows_right"] == {"count": 1, "n": 1, "rate": 1.0}
    assert figures["error"]["count"] == 0
    assert s["diacritics_gap"]["right_first_turn"] == 0.0  # the fake folds every text
    assert evaluation.report["skipped_sets"] == [str(run[1] / "absent.jsonl")]
    assert "procedures" in evaluation.report["knowledge_base"]


def test_a_sealed_set_gives_the_same_figures_and_nothing_per_item(run) -> None:
    evaluation, tmp = run
    by_name = {s["name"]: s for s in evaluation.report["sets"]}
    assert by_name["five_sealed"]["aggregate_only"] is True
    assert by_name["five_sealed"]["variants"] == by_name["five"]["variants"]
    assert set(evaluation.items) == {"five"}
    assert logging.root.manager.disable == logging.NOTSET  # logging is back after the sealed set

    written = write_report(evaluation, tmp / "out")
    assert sorted(p.name for p in written) == ["answers.json", "answers.md", "five.items.jsonl"]
    md = (tmp / "out" / "answers.md").read_text(encoding="utf-8")
    sealed_part = md.split("## five_sealed")[1]
    assert "khai sinh" not in sealed_part and "e-3" not in sealed_part
    assert "e-3" in md.split("## five_sealed")[0]


def test_the_command_is_registered(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["evaluate", "answers", "--set", "a.jsonl", "--sealed", "b.jsonl", "--out", str(tmp_path)]
    )
    assert args.func is cmd_answers
    assert (args.sets, args.sealed, args.out, args.aggregate_only) == (
        [Path("a.jsonl")],
        [Path("b.jsonl")],
        tmp_path,
        False,
    )


CONVERSATIONS = [
    # a follow-up: the fee of the marriage asked before, then its time without naming it
    {"id": "c-1", "before": ["Đăng ký kết hôn lệ phí bao nhiêu"], "text": "còn mất bao lâu",
     "intent": "ask_processing_time", "intents": ["ask_processing_time"], "procedures": [f.MARRIAGE]},
    # the same follow-up alone: no procedure to answer it for
    {"id": "c-2", "text": "còn mất bao lâu", "intent": "ask_processing_time",
     "intents": ["ask_processing_time"], "procedures": [f.MARRIAGE]},
]  # fmt: skip


def test_a_conversation_s_earlier_messages_are_sent_first_and_only_its_last_reply_is_judged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "conversations.jsonl"
    path.write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in CONVERSATIONS), encoding="utf-8"
    )
    interpreter = FakeInterpreter()
    evaluation = evaluate([SetSpec(path)], Settings(), interpreter=interpreter)
    got = {(r.question.id, r.variant): r for r in evaluation.items["conversations"]}
    follow_up, alone = got["c-1", "original"], got["c-2", "original"]
    assert (follow_up.first.kind, follow_up.first.procedure, follow_up.first.aspect) == (
        Kind.ANSWER,
        f.MARRIAGE,
        "processing_time",
    )
    assert follow_up.verdicts["right_first_turn"] and not alone.verdicts["right_first_turn"]
    assert alone.first.procedure is None
    # the copy without diacritics sends the earlier message folded too, in its own conversation
    assert interpreter.calls.count("Dang ky ket hon le phi bao nhieu") == 1
    assert got["c-1", "folded"].verdicts["right_first_turn"]
