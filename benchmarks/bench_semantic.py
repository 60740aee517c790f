"""The semantic procedure ranker's cost (issue 10): parse latency on one core with it on and off, the
time to embed the catalogue's names (cold: empty cache; warm: from the disk cache), resident memory.

Run:  .venv/bin/python -m benchmarks.bench_semantic [--encoder static|full] [--cold] [--rounds 2]

It builds the evaluation's private engine (``bot.app.evaluation.private_container``: the shipped seed on
a temporary SQLite file, an NLU model trained now with ``SemanticProcedureRanker.enabled=true``), embeds
the names (both cores), then pins itself to one core and times ``Pipeline.parse`` (its cache off) over the
held-out NLU messages and the readable answer sets (not the sealed one), first with the ranker on, then
with it switched off in the same process. Targets (issue 10): parse p50 <= 3 ms, p99 <= 10 ms on one
core; training <= 60 s; a server process <= 350 MB resident.

``--encoder static`` (the default) measures the table distilled from the model (``nlu/static_vectors.py``)
and writes ``results/semantic-static.json``; ``--encoder full`` the transformer itself
(``results/semantic.json``). ``prepare_s`` is the whole preparation on both cores: the seed into SQLite
and the NLU training, the name vectors included.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import ROOT, status_mb, summary, time_calls, write_result


def _texts() -> list[str]:
    from bot.app.evaluation import DEFAULT_SETS, is_sealed, load_questions

    held = yaml.safe_load((ROOT / "tests/data/nlu_heldout.yml").read_text(encoding="utf-8"))["examples"]
    texts = [e["text"] for e in held]
    for path, sealed in DEFAULT_SETS:
        if not sealed and not is_sealed(path) and path.exists():
            texts.extend(q.text for q in load_questions(path))
    return texts


def _one_blas_thread() -> Any:
    """Limit numpy's BLAS to one thread (``threadpoolctl``, when installed); the limiter, or None."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return threadpool_limits(limits=1, user_api="blas")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="embed every name (an empty vector cache)")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the texts")
    parser.add_argument(
        "--encoder", choices=("static", "full"), default="static", help="the ranker's encoder"
    )
    args = parser.parse_args(argv)

    from bot.app.evaluation import private_container
    from bot.core.settings import Settings
    from nlu.pipeline import Pipeline
    from nlu.semantic import SemanticProcedureRanker

    out: dict[str, object] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    out |= {
        "command": ".venv/bin/python -m benchmarks.bench_semantic"
        + f" --encoder {args.encoder}"
        + (" --cold" * args.cold)
    }
    with tempfile.TemporaryDirectory(prefix="helpline-semantic-") as tmp:
        overrides: dict[str, dict[str, object]] = {
            "SemanticProcedureRanker": {"enabled": True, "encoder": args.encoder}
        }
        if args.cold:
            overrides["SemanticProcedureRanker"]["cache_dir"] = str(Path(tmp) / "cache")
        start = time.perf_counter()
        container, described = private_container(Settings(), Path(tmp), nlu_overrides=overrides)
        out["nlu"] = described
        out["prepare_s"] = round(time.perf_counter() - start, 1)
        pipeline = container.interpreter.target
        assert isinstance(pipeline, Pipeline)
        pipeline.cache_size = 0
        index = container.search.current
        ranker = next(c for c in pipeline.components if isinstance(c, SemanticProcedureRanker))
        start = time.perf_counter()
        ranker._vectors(index)  # the names, embedded or read from the cache
        out["names"] = len(index)
        out["name_vectors_s"] = round(time.perf_counter() - start, 1)
        out["name_vectors_from"] = (
            "embedded now (empty cache)" if args.cold else "disk cache, if filled before"
        )

        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        # BLAS started one thread per core; on one core they would take turns (a server started with
        # ``taskset -c 0`` starts one): the name-vector product is timed single-threaded, as it would run
        blas_limit = _one_blas_thread()
        out["blas_threads_while_parsing"] = 1 if blas_limit is not None else "library default"
        texts = _texts()
        out["parse_texts"] = len(texts)
        out["parse_on"] = summary(time_calls(pipeline.parse, texts, rounds=args.rounds))
        out["rss_mb_with_ranker"] = status_mb("VmRSS")
        ranker.settings = ranker.settings.model_copy(update={"enabled": False})
        out["parse_off"] = summary(time_calls(pipeline.parse, texts, rounds=args.rounds))
        out["peak_rss_mb"] = status_mb("VmHWM")
        out["cpus_while_parsing"] = len(os.sched_getaffinity(0))
        out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        container.adapters.db.dispose()
        if blas_limit is not None:
            blas_limit.unregister()
    path = write_result("semantic" if args.encoder == "full" else "semantic-static", out)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
