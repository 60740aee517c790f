"""Helpers shared by the benchmark scripts: percentiles and a Markdown/JSON result writer."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def time_calls(fn: Callable[[str], object], inputs: Sequence[str], rounds: int = 5) -> list[float]:
    """Latency in milliseconds of every call, after one warm-up pass."""
    for text in inputs:
        fn(text)
    samples: list[float] = []
    for _ in range(rounds):
        for text in inputs:
            start = time.perf_counter()
            fn(text)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max in ms."""
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50), 3),
        "p90_ms": round(percentile(samples, 90), 3),
        "p99_ms": round(percentile(samples, 99), 3),
        "max_ms": round(max(samples), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
    }


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {"python": platform.python_version(), "cpus_allowed": affinity, "machine": platform.machine()}


def write_result(name: str, data: dict[str, object]) -> Path:
    """Save ``benchmarks/results/<name>.json``."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    data = {"measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **data}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
