"""``helpline nlu ...``: train, parse and evaluate the NLU model.

The top-level command (:mod:`bot.app.cli`) mounts :func:`add_parser` and gives every command the
:class:`NluFiles` it works on (from the settings) with an index provider (a callable returning the
knowledge base's search index, called only when needed), so tests and other tools run the commands
without a database. The model store itself (train, find, load) is :mod:`nlu.models`.

``helpline nlu parse`` reads one message per line on stdin (or its arguments) and writes one JSON object
per line, in order, in the shape documented in :mod:`nlu.pipeline`. Outside evaluations depend on it:
keep it stable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nlu.evaluate import cross_validate, evaluate_heldout, load_test_examples, write_report
from nlu.models import (
    DEFAULT_CONFIG,
    DEFAULT_DATA,
    DEFAULT_MODEL_DIR,
    PROJECT_ROOT,
    IndexProvider,
    load_model,
    resolve_model,
    train_model,
)
from nlu.pipeline import Pipeline, load_config
from nlu.training_data import load_training_data

DEFAULT_HELDOUT = PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "var" / "reports"


@dataclass(frozen=True)
class NluFiles:
    """What the ``nlu`` commands work on; the composition root fills it from the settings.

    Attributes:
        config: the ``config.yml`` to train with.
        data: the training data (``data/nlu.yml``).
        models: the model folder (``var/models``).
        knowledge_index: gives the search index for the procedure linker, called only by the
            commands that parse; None parses without procedures.
    """

    config: Path = DEFAULT_CONFIG
    data: Path = DEFAULT_DATA
    models: Path = DEFAULT_MODEL_DIR
    knowledge_index: IndexProvider | None = None


NluCommand = Callable[[argparse.Namespace, NluFiles], int]
"""An ``nlu`` command: the parsed arguments and the files to work on."""


# ------------------------------------------------------------------------------------ implementation


def parse_lines(pipeline: Pipeline, lines: Iterable[str], out: IO[str]) -> int:
    """Write one JSON parse result per input line, in order, flushing each; returns the count."""
    n = 0
    for line in lines:
        result = pipeline.parse(line.rstrip("\r\n"))
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        n += 1
    return n


def evaluate_model(
    *,
    model_path: str | Path | None = None,
    config_path: str | Path = DEFAULT_CONFIG,
    data_paths: Sequence[str | Path] = (DEFAULT_DATA,),
    heldout_path: str | Path | None = DEFAULT_HELDOUT,
    folds: int = 0,
    report_dir: str | Path = DEFAULT_REPORT_DIR,
    knowledge_index: IndexProvider | None = None,
) -> dict[str, dict[str, Any]]:
    """Evaluate on a held-out file and/or by ``folds``-fold cross-validation; write the reports.

    The held-out evaluation uses ``model_path`` when given, otherwise a model trained now on
    ``data_paths`` (never on the held-out file). Reports go to ``report_dir`` as
    ``nlu-heldout.{json,md}`` and ``nlu-crossval.{json,md}``.

    Returns:
        ``{"heldout": report, "crossval": report}`` for the evaluations run.
    """
    index = knowledge_index() if knowledge_index else None
    reports: dict[str, dict[str, Any]] = {}
    base = Path(config_path).resolve().parent
    if heldout_path:
        if model_path:
            pipeline = Pipeline.load(resolve_model(model_path), index, base)
            model_name = str(resolve_model(model_path))
        else:
            pipeline = Pipeline.from_config(load_config(config_path), index, base)
            pipeline.train(load_training_data(list(data_paths)))
            model_name = f"trained from {', '.join(map(str, data_paths))}"
        report = evaluate_heldout(pipeline, load_test_examples(heldout_path))
        report.update(
            model=model_name,
            data=str(heldout_path),
            training_seconds=pipeline.metadata.get("training_seconds"),
        )
        write_report(report, report_dir, "nlu-heldout")
        reports["heldout"] = report
    if folds:
        config = load_config(config_path)
        data = load_training_data(list(data_paths))
        report = cross_validate(lambda: Pipeline.from_config(config, index, base), data, folds=folds)
        report.update(data=", ".join(map(str, data_paths)))
        write_report(report, report_dir, "nlu-crossval")
        reports["crossval"] = report
    return reports


# ------------------------------------------------------------------------------------------ argparse


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    bind: Callable[[NluCommand], Any] = lambda command: command,
) -> None:
    """Register the ``nlu`` command group (train, parse, evaluate).

    Args:
        subparsers: the top-level command's sub-parsers.
        bind: turns each command into the ``func`` the top-level command calls (the composition
            root binds the settings' :class:`NluFiles` this way); by default the command itself.
    """
    nlu = subparsers.add_parser("nlu", help="hiểu ngôn ngữ: huấn luyện, phân tích, đánh giá")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)

    p = sub.add_parser("train", help="huấn luyện mô hình NLU")
    p.add_argument("--config", type=Path, default=None, help="config.yml (mặc định: của dự án)")
    p.add_argument("--data", type=Path, nargs="+", default=None, help="tệp/thư mục NLU YAML")
    p.add_argument("--out", type=Path, default=None, help="thư mục mô hình (mặc định var/models)")
    p.set_defaults(func=bind(cmd_train))

    p = sub.add_parser("parse", help="phân tích câu (mỗi dòng stdin một câu), in JSON từng dòng")
    p.add_argument("text", nargs="*", help="câu cần phân tích; bỏ trống = đọc stdin")
    p.add_argument("--model", type=Path, default=None, help="tệp mô hình hoặc thư mục (mặc định latest)")
    p.set_defaults(func=bind(cmd_parse))

    p = sub.add_parser("evaluate", help="đánh giá trên tập kiểm tra và/hoặc kiểm định chéo")
    p.add_argument(
        "--model", type=Path, default=None, help="mô hình đã huấn luyện (mặc định: huấn luyện mới)"
    )
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--data", type=Path, nargs="+", default=None)
    p.add_argument(
        "--heldout", type=Path, default=None, help="tập kiểm tra (mặc định tests/data/nlu_heldout.yml)"
    )
    p.add_argument("--no-heldout", action="store_true", help="chỉ kiểm định chéo")
    p.add_argument("--folds", type=int, default=0, help="số phần kiểm định chéo (0 = không)")
    p.add_argument("--out", type=Path, default=None, help="thư mục báo cáo (mặc định var/reports)")
    p.set_defaults(func=bind(cmd_evaluate))


def cmd_train(args: argparse.Namespace, files: NluFiles) -> int:
    """``helpline nlu train``."""
    path = train_model(args.config or files.config, args.data or [files.data], args.out or files.models)
    print(f"Đã lưu mô hình NLU: {path}")
    return 0


def cmd_parse(args: argparse.Namespace, files: NluFiles) -> int:
    """``helpline nlu parse``."""
    try:
        pipeline = load_model(args.model or files.models, files.knowledge_index)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    lines = args.text if args.text else sys.stdin
    parse_lines(pipeline, lines, sys.stdout)
    return 0


def cmd_evaluate(args: argparse.Namespace, files: NluFiles) -> int:
    """``helpline nlu evaluate``."""
    reports = evaluate_model(
        model_path=args.model,
        config_path=args.config or files.config,
        data_paths=args.data or [files.data],
        heldout_path=None if args.no_heldout else (args.heldout or DEFAULT_HELDOUT),
        folds=args.folds,
        report_dir=args.out or DEFAULT_REPORT_DIR,
        knowledge_index=files.knowledge_index,
    )
    for name, report in reports.items():
        s = report["summary"]
        print(
            f"{name}: {s['examples']} câu, ý định {s['intent_accuracy']}, thủ tục top-1 {s['procedure_top1']} "
            f"top-3 {s['procedure_top3']}, trả lời sai tự tin {s['confident_wrong_rate']}"
        )
    print(f"Báo cáo: {args.out or DEFAULT_REPORT_DIR}")
    return 0
