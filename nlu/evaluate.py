"""Evaluate an NLU pipeline on a held-out file or by k-fold cross-validation on the training data.

The report follows ``rasa test nlu`` (per-intent precision / recall / F1, the most confused pairs) and
adds what this project is judged on:

* procedure linking: top-1 (the returned ``procedure``) and top-3 (``procedure_ranking``) on the
  messages that expect a procedure;
* confident wrong answers on ``unanswerable`` messages: the intent is neither ``nlu_fallback`` nor
  ``out_of_scope`` *and* a procedure is returned;
* every figure split by whether the message was typed with or without diacritics;
* parse latency (p50 / p99) over the evaluated messages.

Intent accuracy is strict: ``nlu_fallback`` counts as wrong, whatever the expected intent.
``intent_accuracy_fallback_ok`` also reports the share where the answer is right *or* ``nlu_fallback``
on an ``out_of_scope`` message, since both lead the dialogue to the same place.

The held-out format (``tests/data/nlu_heldout.yml``)::

    examples:
      - text: "gplx het han doi o dau"
        intent: ask_where
        procedures: ["3.000347"]       # every acceptable code; [] when none
        unanswerable: false            # optional
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from knowledge.text import has_diacritics
from nlu.message import FALLBACK_INTENT
from nlu.training_data import TrainingData, TrainingDataError

_NO_ANSWER_INTENTS = {FALLBACK_INTENT, "out_of_scope"}


@dataclass(frozen=True)
class EvalExample:
    """One held-out message with what is expected of it.

    Attributes:
        text: the message.
        intent: the expected intent.
        procedures: every acceptable procedure code (empty: none expected).
        unanswerable: the knowledge base cannot answer it; a fallback is expected.
        entities: expected ``(start, end, entity)`` spans, when known (cross-validation).
    """

    text: str
    intent: str
    procedures: tuple[str, ...] = ()
    unanswerable: bool = False
    entities: tuple[tuple[int, int, str], ...] = field(default=(), compare=False)


def load_test_examples(path: str | Path) -> list[EvalExample]:
    """Read a held-out file.

    Raises:
        TrainingDataError: unreadable file or an entry without ``text`` / ``intent``.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"cannot read held-out file: {exc}", str(path)) from None
    entries = raw.get("examples") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise TrainingDataError("expected 'examples: [{text, intent, procedures}]'", str(path))
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry.get("intent"):
            raise TrainingDataError(f"example #{i + 1} needs 'text' and 'intent': {entry!r}", str(path))
        out.append(
            EvalExample(
                text=entry["text"],
                intent=str(entry["intent"]),
                procedures=tuple(str(c) for c in entry.get("procedures") or ()),
                unanswerable=bool(entry.get("unanswerable", False)),
            )
        )
    return out


@dataclass
class Prediction:
    """A test example with what the pipeline answered (the parse dict) and how long it took."""

    example: EvalExample
    result: dict[str, Any]
    seconds: float


def predict(pipeline: Any, examples: Iterable[EvalExample]) -> list[Prediction]:
    """Parse every example with ``pipeline`` (anything with ``parse(text) -> dict``)."""
    out = []
    for ex in examples:
        started = time.perf_counter()
        result = pipeline.parse(ex.text)
        out.append(Prediction(ex, result, time.perf_counter() - started))
    return out


# ------------------------------------------------------------------------------------------ metrics


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def intent_report(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Accuracy, per-intent precision / recall / F1 / support, macro and weighted F1, confused pairs."""
    gold = [p.example.intent for p in predictions]
    pred = [p.result["intent"]["name"] for p in predictions]
    labels = sorted(set(gold) | set(pred))
    per: dict[str, dict[str, Any]] = {}
    for label in labels:
        tp = sum(1 for g, q in zip(gold, pred, strict=True) if g == label and q == label)
        fp = sum(1 for g, q in zip(gold, pred, strict=True) if g != label and q == label)
        fn = sum(1 for g, q in zip(gold, pred, strict=True) if g == label and q != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1-score": round(f1, 4),
            "support": tp + fn,
        }
    supported = [lab for lab in labels if per[lab]["support"]]
    total = len(gold)
    correct = sum(1 for g, q in zip(gold, pred, strict=True) if g == q)
    lenient = sum(
        1 for g, q in zip(gold, pred, strict=True) if g == q or (g == "out_of_scope" and q == FALLBACK_INTENT)
    )
    confused = Counter((g, q) for g, q in zip(gold, pred, strict=True) if g != q)
    return {
        "total": total,
        "accuracy": _rate(correct, total),
        "intent_accuracy_fallback_ok": _rate(lenient, total),
        "fallback_rate": _rate(pred.count(FALLBACK_INTENT), total),
        "macro_f1": round(float(np.mean([per[lab]["f1-score"] for lab in supported])), 4)
        if supported
        else None,
        "weighted_f1": (
            round(sum(per[lab]["f1-score"] * per[lab]["support"] for lab in supported) / total, 4)
            if total
            else None
        ),
        "per_intent": per,
        "confused_pairs": [{"gold": g, "predicted": q, "count": n} for (g, q), n in confused.most_common(15)],
    }


def procedure_report(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Top-1 / top-3 linking where a procedure is expected; confident-wrong rate on unanswerable ones."""
    expected = [p for p in predictions if p.example.procedures]
    top1 = top3 = rank1 = 0
    misses = []
    for p in expected:
        gold = set(p.example.procedures)
        proc = p.result.get("procedure")
        ranking = [r["code"] for r in p.result.get("procedure_ranking") or ()]
        top1 += bool(proc and proc["code"] in gold)
        rank1 += bool(ranking and ranking[0] in gold)
        top3 += bool(gold & set(ranking[:3]))
        if not (proc and proc["code"] in gold):
            misses.append(
                {"text": p.example.text, "expected": sorted(gold), "got": proc["code"] if proc else None}
            )
    unanswerable = [p for p in predictions if p.example.unanswerable]
    confident_wrong = [p for p in unanswerable if is_confident_wrong(p.result)]
    no_procedure = [p for p in predictions if not p.example.procedures and not p.example.unanswerable]
    spurious = [p for p in no_procedure if p.result.get("procedure")]
    return {
        "expected": len(expected),
        "top1": _rate(top1, len(expected)),
        "top3": _rate(top3, len(expected)),
        "ranking_top1": _rate(rank1, len(expected)),
        "unanswerable": len(unanswerable),
        "confident_wrong_rate": _rate(len(confident_wrong), len(unanswerable)),
        "confident_wrong": [p.example.text for p in confident_wrong],
        "procedure_when_none_expected_rate": _rate(len(spurious), len(no_procedure)),
        "misses": misses[:30],
    }


def is_confident_wrong(result: dict[str, Any]) -> bool:
    """A confident answer to an unanswerable message: a normal intent *and* a procedure."""
    return result["intent"]["name"] not in _NO_ANSWER_INTENTS and result.get("procedure") is not None


def entity_report(predictions: Sequence[Prediction]) -> dict[str, Any] | None:
    """Exact-span precision / recall / F1 per entity type, when the examples carry expected spans."""
    if not any(p.example.entities for p in predictions):
        return None
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for p in predictions:
        gold = set(p.example.entities)
        got = {(e["start"], e["end"], e["entity"]) for e in p.result["entities"]}
        for span in gold | got:
            key = "tp" if span in gold and span in got else ("fn" if span in gold else "fp")
            counts[span[2]][key] += 1
    out = {}
    for entity, c in sorted(counts.items()):
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[entity] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1-score": round(f1, 4),
            "support": c["tp"] + c["fn"],
        }
    return out


def latency_report(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Parse time percentiles in milliseconds."""
    if not predictions:
        return {}
    ms = np.array([p.seconds * 1000 for p in predictions])
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def build_report(predictions: Sequence[Prediction], **info: Any) -> dict[str, Any]:
    """The full report: overall figures, the same split by diacritics, latency and the errors."""
    with_d = [p for p in predictions if has_diacritics(p.example.text)]
    without_d = [p for p in predictions if not has_diacritics(p.example.text)]

    def summary(preds: Sequence[Prediction]) -> dict[str, Any]:
        intents = intent_report(preds)
        procs = procedure_report(preds)
        return {
            "examples": len(preds),
            "intent_accuracy": intents["accuracy"],
            "intent_accuracy_fallback_ok": intents["intent_accuracy_fallback_ok"],
            "procedure_top1": procs["top1"],
            "procedure_top3": procs["top3"],
            "confident_wrong_rate": procs["confident_wrong_rate"],
        }

    return {
        **info,
        "summary": summary(predictions),
        "by_diacritics": {"with": summary(with_d), "without": summary(without_d)},
        "intent": intent_report(predictions),
        "procedure": procedure_report(predictions),
        "entities": entity_report(predictions),
        "latency": latency_report(predictions),
        "intent_errors": [
            {
                "text": p.example.text,
                "intent": p.example.intent,
                "predicted": p.result["intent"]["name"],
                "confidence": p.result["intent"]["confidence"],
            }
            for p in predictions
            if p.result["intent"]["name"] != p.example.intent
        ],
    }


# ------------------------------------------------------------------------------------------ runners


def evaluate_heldout(pipeline: Any, examples: Sequence[EvalExample]) -> dict[str, Any]:
    """Evaluate a trained pipeline on held-out examples."""
    return build_report(predict(pipeline, examples), mode="heldout")


def cross_validate(
    make_pipeline: Callable[[], Any], data: TrainingData, folds: int = 5, seed: int = 42
) -> dict[str, Any]:
    """Stratified k-fold cross-validation: train on k-1 folds, parse the remaining one, pool the results.

    Args:
        make_pipeline: returns a fresh untrained pipeline (same config each time).
        data: the training data; synonyms, regexes and lookup tables stay in every fold.
        folds: number of folds (>= 2).
        seed: shuffling seed, for repeatable reports.

    Raises:
        ValueError: fewer than 2 folds or fewer examples than folds.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if len(data.examples) < folds:
        raise ValueError(f"{len(data.examples)} examples cannot be split into {folds} folds")
    rng = random.Random(seed)
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(data.examples):
        by_intent[ex.intent].append(i)
    fold_of = [0] * len(data.examples)
    position = 0
    for intent in sorted(by_intent):
        idx = by_intent[intent]
        rng.shuffle(idx)
        for i in idx:
            fold_of[i] = position % folds
            position += 1
    predictions: list[Prediction] = []
    train_seconds = []
    for fold in range(folds):
        train = TrainingData(
            examples=[ex for i, ex in enumerate(data.examples) if fold_of[i] != fold],
            synonyms=data.synonyms,
            regexes=data.regexes,
            lookups=data.lookups,
        )
        test = [
            EvalExample(ex.text, ex.intent, entities=tuple((e.start, e.end, e.entity) for e in ex.entities))
            for i, ex in enumerate(data.examples)
            if fold_of[i] == fold
        ]
        pipeline = make_pipeline()
        started = time.perf_counter()
        pipeline.train(train)
        train_seconds.append(time.perf_counter() - started)
        predictions.extend(predict(pipeline, test))
    return build_report(
        predictions,
        mode="cross-validation",
        folds=folds,
        train_seconds_mean=round(float(np.mean(train_seconds)), 3),
    )


# ------------------------------------------------------------------------------------------ writing


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def markdown_report(report: dict[str, Any]) -> str:
    """A readable Markdown version of :func:`build_report` output."""
    lines = [f"# NLU evaluation ({report.get('mode', '')})", ""]
    for key in ("model", "data", "folds", "train_seconds_mean"):
        if report.get(key) is not None:
            lines.append(f"- {key}: {report[key]}")
    lines += [
        "",
        "## Summary",
        "",
        "| | examples | intent acc. | intent acc. (fallback ok) | proc. top-1 | proc. top-3 | confident wrong |",
    ]
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    rows = [("all", report["summary"]), *((f"{k} diacritics", v) for k, v in report["by_diacritics"].items())]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['examples']} | {_pct(s['intent_accuracy'])} | {_pct(s['intent_accuracy_fallback_ok'])} | "
            f"{_pct(s['procedure_top1'])} | {_pct(s['procedure_top3'])} | {_pct(s['confident_wrong_rate'])} |"
        )
    lat = report.get("latency") or {}
    if lat:
        lines += [
            "",
            f"Parse latency: p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms.",
        ]
    intent = report["intent"]
    lines += ["", "## Intents", "", f"Macro F1 {intent['macro_f1']}, weighted F1 {intent['weighted_f1']}, "
              f"fallback rate {_pct(intent['fallback_rate'])}.", "",
              "| intent | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, m in intent["per_intent"].items():
        lines.append(
            f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} | {m['support']} |"
        )
    if intent["confused_pairs"]:
        lines += ["", "### Most confused", "", "| expected | predicted | count |", "|---|---|---:|"]
        lines += [f"| {c['gold']} | {c['predicted']} | {c['count']} |" for c in intent["confused_pairs"]]
    if report.get("entities"):
        lines += [
            "",
            "## Entities (exact span)",
            "",
            "| entity | precision | recall | F1 | support |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, m in report["entities"].items():
            lines.append(
                f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} | {m['support']} |"
            )
    proc = report["procedure"]
    if proc["expected"] or proc["unanswerable"]:
        lines += [
            "", "## Procedures", "",
            f"- expected on {proc['expected']} messages: top-1 {_pct(proc['top1'])}, top-3 {_pct(proc['top3'])} "
            f"(best candidate before the procedure threshold: {_pct(proc['ranking_top1'])})",
            f"- unanswerable: {proc['unanswerable']}, confident wrong {_pct(proc['confident_wrong_rate'])}",
            f"- a procedure returned where none is expected: {_pct(proc['procedure_when_none_expected_rate'])}",
        ]  # fmt: skip
        if proc["misses"]:
            lines += ["", "| message | expected | got |", "|---|---|---|"]
            lines += [
                f"| {m['text']} | {', '.join(m['expected'])} | {m['got'] or '–'} |" for m in proc["misses"]
            ]
    if report["intent_errors"]:
        lines += [
            "",
            "## Intent errors",
            "",
            "| message | expected | predicted | confidence |",
            "|---|---|---|---:|",
        ]
        lines += [
            f"| {e['text'][:120]} | {e['intent']} | {e['predicted']} | {e['confidence']:.2f} |"
            for e in report["intent_errors"][:60]
        ]
    return "\n".join(lines) + "\n"


def write_report(
    report: dict[str, Any], out_dir: str | Path, stem: str = "nlu-evaluation"
) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown_report(report), encoding="utf-8")
    return json_path, md_path
