"""Knowledge base benchmark: full import time, search latency on the real and a 30,000-procedure catalogue.

Run on one core:  taskset -c 0 .venv/bin/python -m benchmarks.bench_kb
Targets (issue 2): full import < 60 s; search p50 < 2 ms, p99 < 10 ms (full catalogue); p99 < 20 ms at 30,000.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from benchmarks.common import summary, time_calls, write_result
from bot.app.migrations import migrate
from knowledge.db import make_engine, make_session_factory
from knowledge.repository import SqlKnowledgeRepository
from knowledge.search import SearchIndex
from knowledge.seed import SEED_PATH, read_records, with_aliases
from knowledge.text import load_abbreviations, load_aliases

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def queries() -> list[str]:
    """Citizen-style queries: the held-out NLU messages plus every alias."""
    held = yaml.safe_load((ROOT / "tests/data/nlu_heldout.yml").read_text(encoding="utf-8"))["examples"]
    texts = [e["text"] for e in held]
    for words in load_aliases().values():
        texts.extend(words)
    return texts


def synthetic(records: list, size: int, seed: int = 7) -> list:
    """A bigger catalogue: real records plus variants whose names recombine real name words."""
    rng = random.Random(seed)
    words = [w for r in records for w in r.name.split()]
    out = list(records)
    i = 0
    while len(out) < size:
        base = records[i % len(records)]
        extra = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
        out.append(replace(base, code=f"9.{len(out):06d}", name=f"{base.name} {extra}", aliases=()))
        i += 1
    return out


def main() -> None:
    records, _ = read_records(SEED_PATH)
    records = with_aliases(records, load_aliases())
    abbreviations = load_abbreviations()
    result: dict[str, object] = {"records": len(records)}

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        migrate(engine)
        repo = SqlKnowledgeRepository(make_session_factory(engine))
        start = time.perf_counter()
        report = repo.upsert(records)
        result["import_full_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        again = repo.upsert(records)
        result["reimport_unchanged_s"] = round(time.perf_counter() - start, 2)
        assert report.created == len(records) and again.unchanged == len(records)
        if SHARED.exists():  # the full import from the official formats, parse included
            from knowledge.importers import load_sources

            engine2 = make_engine(f"sqlite:///{tmp}/bench2.sqlite3")
            migrate(engine2)
            start = time.perf_counter()
            parsed, _ = load_sources([SHARED])
            SqlKnowledgeRepository(make_session_factory(engine2)).upsert(with_aliases(parsed, load_aliases()))
            result["import_from_official_sources_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        loaded = list(repo.all_procedures())
        result["load_all_s"] = round(time.perf_counter() - start, 2)

    qs = queries()
    start = time.perf_counter()
    index = SearchIndex.build(loaded, abbreviations=abbreviations)
    result["index_build_s"] = round(time.perf_counter() - start, 2)
    result["queries"] = len(qs)
    result["search_full"] = summary(time_calls(lambda q: index.search(q, 10), qs))

    big = synthetic(loaded, 30_000)
    start = time.perf_counter()
    big_index = SearchIndex.build(big, abbreviations=abbreviations)
    result["index_build_30k_s"] = round(time.perf_counter() - start, 2)
    result["search_30k"] = summary(time_calls(lambda q: big_index.search(q, 10), qs, rounds=3))
    path = write_result("kb", result)
    print(yaml.safe_dump(result, allow_unicode=True, sort_keys=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
