"""NLU evaluation: metrics on hand-made predictions, held-out and cross-validation runs, report files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from knowledge.ports import SearchHit
from nlu import cli
from nlu.evaluate import (
    EvalExample,
    Prediction,
    build_report,
    cross_validate,
    evaluate_heldout,
    is_confident_wrong,
    load_test_examples,
    markdown_report,
    write_report,
)
from nlu.pipeline import Pipeline, load_config
from nlu.training_data import TrainingDataError, load_training_data

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"


class FakeIndex:
    """Stands in for knowledge.search.SearchIndex."""

    names = {
        "1.013225": "cấp giấy phép xây dựng",
        "1.001193": "đăng ký khai sinh",
        "3.000347": "đổi giấy phép lái xe",
    }

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        words = set(text.split())
        hits = [
            SearchHit(code, name, round(len(words & set(name.split())) / len(name.split()), 4))
            for code, name in self.names.items()
        ]
        return sorted((h for h in hits if h.score), key=lambda h: (-h.score, h.code))[:k]


def result(intent: str, procedure: str | None = None, ranking: tuple[str, ...] = ()) -> dict[str, Any]:
    ranking = ranking or ((procedure,) if procedure else ())
    return {
        "text": "",
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": [],
        "entities": [],
        "procedure": {"code": procedure, "name": "", "score": 0.9} if procedure else None,
        "procedure_ranking": [{"code": c, "name": "", "score": 0.5} for c in ranking],
    }


def test_metrics_on_known_predictions() -> None:
    preds = [
        Prediction(
            EvalExample("giay phep xay dung", "ask_documents", ("1",)), result("ask_documents", "1"), 0.001
        ),
        Prediction(
            EvalExample("giấy phép", "ask_documents", ("1",)), result("ask_fee", "2", ("2", "1")), 0.002
        ),
        Prediction(
            EvalExample("le phi", "ask_fee", ("3",)), result("ask_fee", None, ("4", "5", "6", "3")), 0.001
        ),
        Prediction(EvalExample("giá vàng", "out_of_scope", unanswerable=True), result("nlu_fallback"), 0.001),
        Prediction(EvalExample("gia xang", "out_of_scope", unanswerable=True), result("ask_fee", "9"), 0.001),
    ]
    report = build_report(preds)
    assert report["summary"]["intent_accuracy"] == 0.4
    assert report["summary"]["intent_accuracy_fallback_ok"] == 0.6
    assert report["procedure"]["top1"] == round(1 / 3, 4)
    assert report["procedure"]["top3"] == round(2 / 3, 4)
    assert report["procedure"]["confident_wrong_rate"] == 0.5
    assert report["procedure"]["confident_wrong"] == ["gia xang"]
    per = report["intent"]["per_intent"]
    assert per["ask_documents"] == {"precision": 1.0, "recall": 0.5, "f1-score": 0.6667, "support": 2}
    assert {"gold": "ask_documents", "predicted": "ask_fee", "count": 1} in report["intent"]["confused_pairs"]
    assert report["by_diacritics"]["with"]["examples"] == 2
    assert report["by_diacritics"]["without"]["examples"] == 3
    assert report["latency"]["p50_ms"] == 1.0
    assert "| ask_documents |" in markdown_report(report)


def test_confident_wrong_definition() -> None:
    assert is_confident_wrong(result("ask_fee", "1"))
    assert not is_confident_wrong(result("ask_fee"))
    assert not is_confident_wrong(result("nlu_fallback", "1"))
    assert not is_confident_wrong(result("out_of_scope", "1"))


def test_heldout_file_and_errors(tmp_path: Path) -> None:
    examples = load_test_examples(DATA / "heldout.yml")
    assert examples[2].procedures == ("3.000347", "3.000348")
    assert examples[-1].unanswerable
    bad = tmp_path / "bad.yml"
    bad.write_text("examples:\n  - text: x\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="intent"):
        load_test_examples(bad)


def test_heldout_evaluation_and_report_files(tmp_path: Path) -> None:
    pipe = Pipeline.from_file(DATA / "config.yml", FakeIndex())
    pipe.train(load_training_data(DATA / "nlu.yml"))
    report = evaluate_heldout(pipe, load_test_examples(DATA / "heldout.yml"))
    assert report["summary"]["examples"] == 5
    assert report["procedure"]["expected"] == 3
    json_path, md_path = write_report(report, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8"))["summary"] == report["summary"]
    assert md_path.read_text(encoding="utf-8").startswith("# NLU evaluation")


def test_cross_validation_pools_all_examples() -> None:
    config = load_config(DATA / "config.yml")
    data = load_training_data(DATA / "nlu.yml")
    report = cross_validate(lambda: Pipeline.from_config(config, None, DATA), data, folds=3)
    assert report["summary"]["examples"] == len(data.examples)
    assert report["folds"] == 3
    assert "procedure" in report["entities"]
    with pytest.raises(ValueError):
        cross_validate(lambda: Pipeline.from_config(config, None, DATA), data, folds=1)


def test_cli_evaluate_writes_both_reports(tmp_path: Path) -> None:
    reports = cli.evaluate_model(
        config_path=DATA / "config.yml",
        data_paths=[DATA / "nlu.yml"],
        heldout_path=DATA / "heldout.yml",
        folds=2,
        report_dir=tmp_path,
        knowledge_index=FakeIndex,
    )
    assert set(reports) == {"heldout", "crossval"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "nlu-crossval.json",
        "nlu-crossval.md",
        "nlu-heldout.json",
        "nlu-heldout.md",
    ]
