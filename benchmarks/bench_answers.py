"""Answer-level quality (issue 10): the evaluation sets through the real engine, first reply classified.

Run:  .venv/bin/python -m benchmarks.bench_answers            # [--no-folded]

What it measures is :mod:`bot.app.evaluation` (the same as ``helpline evaluate answers`` with no
``--set``): an NLU model trained now from ``data/nlu.yml``, the shipped seed on a private temporary
SQLite file, the engine the composition root builds, one process, one question at a time. The sets are
:data:`bot.app.evaluation.DEFAULT_SETS`: the real questions of ``../shared/data/real-questions/dev.jsonl``
(skipped when ``../shared`` is absent), ``tests/data/real/egov_portal.jsonl``,
``tests/data/blind/citizen_dev.jsonl``, ``tests/data/blind/citizen_sealed.jsonl`` (aggregate figures
only: no item of it is written or printed) and the two-turn conversations of
``tests/data/blind/conversations_v1_dev.jsonl`` (the reply to the last message judged). Results go to ``benchmarks/results/answers/``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from benchmarks.common import OUT, machine


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-folded", action="store_true", help="skip the copies without diacritics")
    parser.add_argument(
        "--nlu",
        action="append",
        default=[],
        metavar="COMPONENT.SETTING=VALUE",
        help="train with one NLU setting changed (ablations), e.g. SemanticProcedureRanker.enabled=true",
    )
    parser.add_argument("--out", default="answers", help="folder under benchmarks/results/ (default answers)")
    args = parser.parse_args(argv)

    from bot.app.evaluation import (
        DEFAULT_SETS,
        SetSpec,
        evaluate,
        is_sealed,
        parse_overrides,
        summary_line,
        write_report,
    )
    from bot.core.settings import Settings

    specs = [SetSpec(path, sealed or is_sealed(path)) for path, sealed in DEFAULT_SETS]
    overrides = parse_overrides(args.nlu)
    evaluation = evaluate(
        specs, Settings(), folded=not args.no_folded, progress=print, nlu_overrides=overrides
    )
    evaluation.report["machine"] = machine()
    evaluation.report["command"] = (
        ".venv/bin/python -m benchmarks.bench_answers"
        + (" --no-folded" if args.no_folded else "")
        + "".join(f" --nlu {item}" for item in args.nlu)
        + (f" --out {args.out}" if args.out != "answers" else "")
    )
    for path in evaluation.report["skipped_sets"]:
        print(f"skipped (file absent): {path}")
    for s in evaluation.report["sets"]:
        print(summary_line(s))
    for path in write_report(evaluation, OUT / args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
