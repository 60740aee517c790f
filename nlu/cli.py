"""``helpline nlu ...``: train, parse and evaluate the NLU model.

The top-level command (``bot/cli.py``) mounts :func:`add_parser`. The work is done by plain functions
that take explicit paths and a ``knowledge_index`` provider (a callable returning the knowledge base's
search index, called only when needed), so tests and other tools call them without a database.

``helpline nlu parse`` reads one message per line on stdin (or its arguments) and writes one JSON object
per line, in order, in the shape documented in :mod:`nlu.pipeline`. Outside evaluations depend on it:
keep it stable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from nlu.evaluate import cross_validate, evaluate_heldout, load_test_examples, write_report
from nlu.pipeline import Pipeline, load_config
from nlu.training_data import TrainingData, load_training_data

if TYPE_CHECKING:
    from bot.app.bootstrap import Container

IndexProvider = Callable[[], Any]
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config.yml"
DEFAULT_DATA = PROJECT_ROOT / "data" / "nlu.yml"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "var" / "models"
DEFAULT_HELDOUT = PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "var" / "reports"
LATEST = "latest"


# ------------------------------------------------------------------------------------ implementation


def train_model(
    config_path: str | Path = DEFAULT_CONFIG,
    data_paths: Sequence[str | Path] = (DEFAULT_DATA,),
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    knowledge_index: IndexProvider | None = None,
    version: str | None = None,
    extra: TrainingData | None = None,
) -> Path:
    """Train on ``data_paths`` with ``config_path`` and write ``<model_dir>/nlu-<version>.pkl.gz``.

    ``<model_dir>/latest`` then names the new file. Training needs no knowledge index; the provider
    is accepted for symmetry and not called.

    Args:
        config_path: the ``config.yml`` to use.
        data_paths: NLU YAML files or folders.
        model_dir: where models are kept.
        knowledge_index: unused (the index is never stored in the model).
        version: the model's version tag; default ``<UTC timestamp>-<config hash>``.
        extra: more examples trained on with the files (the editors' learned examples,
            :func:`nlu.learned.learned_training_data`).

    Returns:
        The model file written.
    """
    pipeline = Pipeline.from_file(config_path)
    data = load_training_data(list(data_paths))
    pipeline.train(data.merge(extra) if extra is not None else data)
    version = version or f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{pipeline.config_hash[:8]}"
    target = pipeline.save(Path(model_dir) / f"nlu-{version}.pkl.gz")
    (Path(model_dir) / LATEST).write_text(target.name + "\n", encoding="utf-8")
    return target


def resolve_model(path: str | Path = DEFAULT_MODEL_DIR) -> Path:
    """The model file ``path`` designates: a file, or a folder / ``latest`` file naming one.

    Raises:
        FileNotFoundError: nothing to load there (train first).
    """
    p = Path(path)
    if p.is_dir():
        p = p / LATEST
    if p.name == LATEST:
        if not p.exists():
            raise FileNotFoundError(f"no NLU model in {p.parent}: run `helpline nlu train` first")
        p = p.parent / p.read_text(encoding="utf-8").strip()
    if not p.exists():
        raise FileNotFoundError(f"NLU model not found: {p}")
    return p


def load_model(
    path: str | Path = DEFAULT_MODEL_DIR, knowledge_index: IndexProvider | None = None
) -> Pipeline:
    """Load a model (see :func:`resolve_model`) with the index the provider gives."""
    return Pipeline.load(resolve_model(path), knowledge_index() if knowledge_index else None, PROJECT_ROOT)


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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``nlu`` command group (train, parse, evaluate)."""
    nlu = subparsers.add_parser("nlu", help="hiểu ngôn ngữ: huấn luyện, phân tích, đánh giá")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)

    p = sub.add_parser("train", help="huấn luyện mô hình NLU")
    p.add_argument("--config", type=Path, default=None, help="config.yml (mặc định: của dự án)")
    p.add_argument("--data", type=Path, nargs="+", default=None, help="tệp/thư mục NLU YAML")
    p.add_argument("--out", type=Path, default=None, help="thư mục mô hình (mặc định var/models)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("parse", help="phân tích câu (mỗi dòng stdin một câu), in JSON từng dòng")
    p.add_argument("text", nargs="*", help="câu cần phân tích; bỏ trống = đọc stdin")
    p.add_argument("--model", type=Path, default=None, help="tệp mô hình hoặc thư mục (mặc định latest)")
    p.set_defaults(func=cmd_parse)

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
    p.set_defaults(func=cmd_evaluate)


def _paths(container: Container | None) -> tuple[Path, Path, Path]:
    settings = getattr(container, "settings", None)
    config = Path(getattr(settings, "config_path", DEFAULT_CONFIG))
    data = Path(getattr(settings, "data_dir", DEFAULT_DATA.parent)) / "nlu.yml"
    models = Path(getattr(settings, "model_dir", DEFAULT_MODEL_DIR))
    return config, data, models


def _index_provider(container: Container | None) -> IndexProvider | None:
    if container is None:
        return None

    def provide() -> Any:
        container.migrate()
        container.seed_if_empty()
        return container.search_index

    return provide


def cmd_train(args: argparse.Namespace, container: Container | None = None) -> int:
    """``helpline nlu train``."""
    config, data, models = _paths(container)
    path = train_model(args.config or config, args.data or [data], args.out or models)
    print(f"Đã lưu mô hình NLU: {path}")
    return 0


def cmd_parse(args: argparse.Namespace, container: Container | None = None) -> int:
    """``helpline nlu parse``."""
    _, _, models = _paths(container)
    try:
        pipeline = load_model(args.model or models, _index_provider(container))
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    lines = args.text if args.text else sys.stdin
    parse_lines(pipeline, lines, sys.stdout)
    return 0


def cmd_evaluate(args: argparse.Namespace, container: Container | None = None) -> int:
    """``helpline nlu evaluate``."""
    config, data, _ = _paths(container)
    reports = evaluate_model(
        model_path=args.model,
        config_path=args.config or config,
        data_paths=args.data or [data],
        heldout_path=None if args.no_heldout else (args.heldout or DEFAULT_HELDOUT),
        folds=args.folds,
        report_dir=args.out or DEFAULT_REPORT_DIR,
        knowledge_index=_index_provider(container),
    )
    for name, report in reports.items():
        s = report["summary"]
        print(
            f"{name}: {s['examples']} câu, ý định {s['intent_accuracy']}, thủ tục top-1 {s['procedure_top1']} "
            f"top-3 {s['procedure_top3']}, trả lời sai tự tin {s['confident_wrong_rate']}"
        )
    print(f"Báo cáo: {args.out or DEFAULT_REPORT_DIR}")
    return 0
