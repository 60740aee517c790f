"""NLU benchmark: parse latency on one core, training time on two, model load time, resident memory.

Run:  .venv/bin/python -m benchmarks.bench_nlu [--train-repeats 3] [--rounds 5]
Targets (NLU issue): parse p50 <= 2 ms and p99 <= 10 ms on one core with the full catalogue loaded;
training <= 15 s on 2 cores; a process holding the model and the catalogue stays under 300 MB resident.

The parent process seeds a private SQLite copy of the shipped catalogue and trains the model
``--train-repeats`` times in a fresh process each (all cores the machine allows: two on the project's
machine). Parse latency, load times and memory are then measured in a fresh child pinned to one core
(``taskset -c 0``): it builds the knowledge search index from the database, loads the model with it,
reports its resident set (``VmRSS``, and the peak ``VmHWM``, from ``/proc/self/status``) and times
``Pipeline.parse`` over the 445 held-out messages, ``--rounds`` times after one warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import ROOT, median_run, status_mb, summary, temp_dir, time_calls, train, write_result


def _settings(db: Path, model_dir: Path) -> Any:
    from bot.core.settings import Settings

    return Settings(database_url=f"sqlite:///{db}", model_dir=model_dir)


def child_train(model_dir: Path) -> None:
    """Train once, print the wall time as JSON."""
    wall = train(model_dir)
    print(json.dumps({"train_s": round(wall, 2), "cpus": len(os.sched_getaffinity(0))}))


def child_parse(db: Path, model_dir: Path, rounds: int) -> None:
    """Load index and model, measure memory and parse latency, print the figures as JSON."""
    out: dict[str, Any] = {"rss_mb_after_imports": status_mb("VmRSS")}
    from bot.app.bootstrap import bootstrap
    from nlu.models import load_model

    out["rss_mb_after_imports"] = status_mb("VmRSS")
    container = bootstrap(_settings(db, model_dir))
    start = time.perf_counter()
    index = container.search.current  # reads all procedures from SQLite, builds the index
    out["catalogue_and_index_load_s"] = round(time.perf_counter() - start, 2)
    out["procedures"] = container.knowledge.count()
    out["rss_mb_with_catalogue_index"] = status_mb("VmRSS")
    start = time.perf_counter()
    pipeline = load_model(model_dir, lambda: index)
    pipeline.cache_size = 0  # measure parsing itself, not the cache of repeated texts
    out["model_load_s"] = round(time.perf_counter() - start, 2)
    out["rss_mb_with_model_catalogue_index"] = status_mb("VmRSS")

    held = yaml.safe_load((ROOT / "tests/data/nlu_heldout.yml").read_text(encoding="utf-8"))["examples"]
    texts = [e["text"] for e in held]
    samples = time_calls(pipeline.parse, texts, rounds=rounds)
    out["parse"] = summary(samples)
    out["parse_texts"] = len(texts)
    out["rss_mb_after_parsing"] = status_mb("VmRSS")
    out["peak_rss_mb"] = status_mb("VmHWM")
    out["cpus"] = len(os.sched_getaffinity(0))
    print(json.dumps(out))


def _run_child(args: list[str], pin_one_core: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_nlu", *args]
    if pin_one_core:
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-repeats", type=int, default=3)
    parser.add_argument("--parse-repeats", type=int, default=3, help="fresh pinned processes")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the held-out texts")
    parser.add_argument("--child", choices=["train", "parse"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "train":
        child_train(args.model_dir)
        return
    if args.child == "parse":
        child_parse(args.db, args.model_dir, args.rounds)
        return

    from bot.app.bootstrap import bootstrap

    result: dict[str, Any] = {}
    with temp_dir("helpline-bench-nlu-") as tmp:
        db, model_dir = tmp / "helpline.sqlite3", tmp / "models"
        container = bootstrap(_settings(db, model_dir))
        container.migrate()
        container.seed_if_empty()
        container.adapters.db.dispose()

        trains = []
        for i in range(args.train_repeats):
            shutil.rmtree(model_dir, ignore_errors=True)
            trains.append(_run_child(["--child", "train", "--model-dir", str(model_dir)], False))
            print(f"training {i}: {trains[-1]}", flush=True)
        result["train_s_median"] = statistics.median(t["train_s"] for t in trains)
        result["train_s_all"] = [t["train_s"] for t in trains]
        result["train_cpus"] = trains[0]["cpus"]

        parses = []
        for i in range(args.parse_repeats):
            child = ["--child", "parse", "--db", str(db), "--model-dir", str(model_dir)]
            parses.append(_run_child([*child, "--rounds", str(args.rounds)], True))
            print(f"parse {i}: {parses[-1]['parse']}", flush=True)
        p50s = [p["parse"]["p50_ms"] for p in parses]
        median = median_run(parses, p50s)
        result["parse_one_core_median_process"] = median
        result["parse_p50_ms_all"] = p50s
        result["parse_p99_ms_all"] = [p["parse"]["p99_ms"] for p in parses]
        result["rss_mb_with_model_catalogue_index_all"] = [
            p["rss_mb_with_model_catalogue_index"] for p in parses
        ]
        result["peak_rss_mb_all"] = [p["peak_rss_mb"] for p in parses]
    result["targets"] = {"parse_p50_ms": 2, "parse_p99_ms": 10, "train_s": 15, "rss_mb": 300}
    path = write_result("nlu", result)
    print(yaml.safe_dump(result, allow_unicode=True, sort_keys=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
