"""Helpers shared by the benchmark scripts.

Percentiles and summaries, the median run, the JSON result writer, a private workspace (temp SQLite copy
of the seeded catalogue and an NLU model), training a model, and the ``helpline serve`` subprocess with
its free port and ``/proc`` figures.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results"
CHANNEL_ENV = ("HELPLINE_TELEGRAM", "HELPLINE_ZALO")
"""Prefixes of environment variables that would start a channel of the developer's environment."""

T = TypeVar("T")


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


def median_run(runs: Sequence[T], values: Sequence[float]) -> T:
    """The run whose value is the median of ``values`` (the upper one of an even count)."""
    return runs[list(values).index(sorted(values)[len(values) // 2])]


# ------------------------------------------------------------------------------------ models, workspace


def train(model_dir: Path, config_path: Path | None = None, data: Path | None = None) -> float:
    """Train the NLU model into ``model_dir``; the seconds it took.

    Without ``config_path`` / ``data``, the settings' ``config.yml`` and ``data/nlu.yml`` are used.
    """
    from bot.core.settings import Settings
    from nlu.models import train_model

    if config_path is None or data is None:
        settings = Settings()
        config_path = config_path or settings.config_path
        data = data or settings.data_dir / "nlu.yml"
    start = time.perf_counter()
    train_model(config_path, (data,), model_dir)
    return time.perf_counter() - start


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temp folder for one benchmark run, removed at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


@contextmanager
def workspace(train_model: bool = True) -> Iterator[tuple[Any, dict[str, float]]]:
    """Settings of a private server: a temp SQLite file seeded from the shipped catalogue and a model.

    Yields ``(settings, timings)``; ``timings`` holds ``train_s`` and ``prepare_s`` (migrate + seed +
    load model + build the search index). The model is trained into the temp folder, unless
    ``train_model`` is False and ``var/models`` already has one.
    """
    from bot.app.bootstrap import bootstrap
    from bot.core.settings import Settings
    from nlu.models import DEFAULT_MODEL_DIR

    with temp_dir("helpline-bench-") as tmp:
        timings: dict[str, float] = {}
        model_dir = tmp / "models"
        if train_model or not (DEFAULT_MODEL_DIR / "latest").exists():
            timings["train_s"] = round(train(model_dir), 2)
        else:
            model_dir = DEFAULT_MODEL_DIR
        settings = Settings(database_url=f"sqlite:///{tmp}/helpline.sqlite3", model_dir=model_dir)
        start = time.perf_counter()
        bootstrap(settings).prepare()  # migrate + seed once; later containers reuse the file
        timings["prepare_s"] = round(time.perf_counter() - start, 2)
        yield settings, timings


# ------------------------------------------------------------------------------ the server, processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat``), its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory line of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def start_server(
    database_url: str,
    model_dir: Path | str,
    port: int,
    log: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    drop_env: Sequence[str] = CHANNEL_ENV,
    timeout: float = 120.0,
    interval: float = 0.2,
) -> subprocess.Popen[bytes]:
    """``helpline serve`` on 127.0.0.1:port; returns once /healthz answers.

    Environment variables starting with one of ``drop_env`` are removed (no channel of the developer's
    environment may start); the server's stderr goes to ``log``.
    """
    env = {
        **os.environ,
        "HELPLINE_DATABASE_URL": database_url,
        "HELPLINE_MODEL_DIR": str(model_dir),
        "HELPLINE_HOST": "127.0.0.1",
        **(extra_env or {}),
    }
    for name in list(env):
        if name.startswith(tuple(drop_env)):
            env.pop(name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    stop_server(proc)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:g} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server this script started; killed if it has not exited after 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
