"""Several processes on PostgreSQL (issue 12): round trips per turn, then 1, 2 and 4 processes.

Run:  HELPLINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python -m benchmarks.bench_processes [--processes 1,2,4] [--seconds 10] [--rate 60]

1. **Round trips per turn.** A server's app (production wiring, the real NLU) on a private PostgreSQL
   schema seeded with the shipped catalogue; ``--turns`` messages of ``benchmarks.bench_engine.Citizen``
   go through ``App.handler`` (what the REST route calls). SQLAlchemy's events count every statement,
   ``BEGIN``, ``COMMIT``, ``ROLLBACK`` (how a read's transaction ends) and, with ``pool_pre_ping``, the
   ``SELECT 1`` before each checkout; the conversation lock's statements on the lock connection are
   counted too: each is one round trip. Measured with the ping (SQLAlchemy's default here until issue
   12) and without (``HELPLINE_DB_PRE_PING=false``, the default now).
2. **1, 2 and 4 processes**, the same REST load: ``helpline serve --workers N`` (uvicorn workers on one
   socket) on that schema; a load generator process (``benchmarks.bench_rest.load``, with the Rasa API
   token so each named sender keeps its conversation) runs a closed loop (``--concurrency`` workers,
   the most messages/s) then an open loop at ``--rate`` messages/s (p99 charged from when a request
   was due) for ``--seconds`` each.

Server processes, load generator and PostgreSQL share the machine's cores (2 on the project's machine,
shared with other people's work while measuring: the load average is recorded); runs are short on
purpose. Each server is stopped with SIGINT (the process this script started).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import event, text

from benchmarks.common import (
    ROOT,
    free_port,
    proc_cpu_s,
    stop_server,
    temp_dir,
    train,
    write_result,
)

SCHEMA = "helpline_bench_processes"


def schema_url(url: str, schema: str = SCHEMA) -> str:
    return url + ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")


def reset_schema(url: str, schema: str = SCHEMA) -> None:
    from knowledge.db import make_engine

    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()


# ------------------------------------------------------------------------------ round trips per turn


def round_trips(settings: Any, turns: int) -> dict[str, Any]:
    """Round trips to PostgreSQL per turn through ``App.handler``, by kind."""
    from benchmarks.bench_turn_cost import count_lock_statements, drive_turns
    from bot.app.bootstrap import bootstrap

    app = bootstrap(settings)
    app.prepare()
    db = app.adapters.db
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()

    @event.listens_for(db, "before_cursor_execute")
    def _statement(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        counts["statements"] += 1
        words = statement.split()
        table = next((w for w in words[1:8] if w.islower() and w.isidentifier() and w not in _NOISE), "")
        kinds[f"{words[0]} {table}".strip()] += 1

    event.listen(db, "begin", lambda conn: counts.update(["begin"]))
    event.listen(db, "commit", lambda conn: counts.update(["commit"]))
    event.listen(db, "rollback", lambda conn: counts.update(["rollback (end of a read)"]))
    if settings.db_pre_ping:
        event.listen(db.pool, "checkout", lambda *a: counts.update(["pre-ping"]))
    locks = app.adapters.locks
    count_lock_statements(locks, counts)

    def measured_pass() -> None:  # the first pass (new chats' first rows, caches) is not counted
        counts.clear()
        kinds.clear()

    samples, _ = drive_turns([app], turns, before_last=measured_pass)
    seconds = sum(samples[0]) / 1000
    per_turn = {k: round(v / turns, 2) for k, v in sorted(counts.items())}
    per_turn["total"] = round(sum(counts.values()) / turns, 2)
    result = {
        "turns": turns,
        "per_turn": per_turn,
        "statements_by_kind_per_turn": {k: round(v / turns, 2) for k, v in kinds.most_common(12)},
        "ms_per_turn_one_at_a_time": round(seconds / turns * 1000, 2),
    }
    close = getattr(locks, "close", None)
    if close is not None:
        close()
    db.dispose()
    return result


_NOISE = {"from", "into", "set", "where", "select", "distinct", "and", "as", "on"}


# --------------------------------------------------------------------------------- 1, 2, 4 processes


def serve(
    url: str, model_dir: Path, workers: int, port: int, log: Path, token: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_TELEGRAM", "HELPLINE_ZALO"))}
    env.update(
        HELPLINE_DATABASE_URL=url,
        HELPLINE_MODEL_DIR=str(model_dir),
        HELPLINE_RASA_AUTH_TOKEN=token,
        HELPLINE_SESSION_SECRET=secrets.token_urlsafe(32),
    )
    cmd = [sys.executable, "-m", "bot.app.cli", "serve", "--workers", str(workers), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    deadline = time.monotonic() + 300
    pids: set[int] = set()
    while time.monotonic() < deadline and len(pids) < workers:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            res = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            if res.status_code == 200:
                pids.add(res.json()["pid"])
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    if len(pids) < workers:
        stop_server(proc)
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"only {len(pids)} of {workers} workers answered /readyz: {tail}")
    return proc


def worker_pids(parent: int) -> list[int]:
    """The server's processes: the supervisor's children (uvicorn workers), or the server itself."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    found = [int(p) for p in children.read_text().split()] if children.exists() else []
    return found or [parent]


def child_load(args: argparse.Namespace) -> None:
    from benchmarks.bench_rest import load

    headers = {"Authorization": f"Bearer {args.token}"}
    result = asyncio.run(
        load(
            args.url,
            args.concurrency,
            args.requests,
            args.senders,
            args.tag,
            7,
            args.seconds,
            args.rate,
            headers,
        )
    )
    print(json.dumps(result))


def run_load(url: str, args: argparse.Namespace, token: str, tag: str, rate: float) -> dict[str, Any]:
    requests = int(rate * args.seconds) if rate else 100_000
    cmd = [sys.executable, "-m", "benchmarks.bench_processes", "--child-load", "--url", url, "--token", token]
    cmd += ["--concurrency", str(args.concurrency), "--requests", str(requests), "--rate", str(rate)]
    cmd += ["--senders", str(args.senders), "--tag", tag, "--seconds", str(args.seconds)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def one_setting(
    url: str, model_dir: Path, workers: int, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    port = free_port()
    t0 = time.perf_counter()
    proc = serve(url, model_dir, workers, port, folder / f"serve-{workers}.log", token)
    ready_s = time.perf_counter() - t0
    base = f"http://127.0.0.1:{port}"
    try:
        pids = worker_pids(proc.pid)
        cpu0 = sum(proc_cpu_s(p) for p in pids)
        load0 = os.getloadavg()[0]
        closed = run_load(base, args, token, f"w{workers}c", 0.0)
        opened = run_load(base, args, token, f"w{workers}o", args.rate)
        cpu = sum(proc_cpu_s(p) for p in pids) - cpu0
    finally:
        stop_server(proc)
    return {
        "workers": workers,
        "ready_s": round(ready_s, 1),
        "load_average_before": round(load0, 2),
        "closed_loop": {
            "messages_per_s": closed["requests_per_s"],
            "p99_ms": closed["latency"].get("p99_ms"),
            "ok": closed["requests_ok"],
            "errors": closed["errors"],
        },
        f"open_loop_{args.rate:g}_per_s": {
            "messages_per_s": opened["requests_per_s"],
            "p50_ms": opened["latency"].get("p50_ms"),
            "p99_ms": opened["latency"].get("p99_ms"),
            "ok": opened["requests_ok"],
            "errors": opened["errors"],
        },
        "server_cpu_s": round(cpu, 1),
        "loadgen_cpu_s": round(closed["loadgen_cpu_s"] + opened["loadgen_cpu_s"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=10.0, help="per load run")
    parser.add_argument("--rate", type=float, default=60.0, help="messages/s of the open loop")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--turns", type=int, default=200, help="turns counted for the round trips")
    parser.add_argument("--skip-round-trips", action="store_true")
    parser.add_argument("--child-load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tag", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        child_load(args)
        return
    if not args.pg:
        sys.exit("needs PostgreSQL: --pg URL or HELPLINE_TEST_DATABASE_URL")
    from bot.app.bootstrap import bootstrap
    from bot.core.settings import Settings

    url = schema_url(args.pg)
    result: dict[str, Any] = {"command": " ".join(sys.argv)}
    with temp_dir("helpline-bench-processes-") as tmp:
        model_dir = tmp / "models"
        result["train_s"] = round(train(model_dir), 1)
        reset_schema(args.pg)
        settings = Settings(_env_file=None, database_url=url, model_dir=model_dir)  # type: ignore[call-arg]
        t0 = time.perf_counter()
        bootstrap(settings).prepare_once()
        result["seed_postgresql_s"] = round(time.perf_counter() - t0, 1)
        if not args.skip_round_trips:
            for ping in (True, False):  # before and after the cut: no SELECT 1 before every checkout
                label = "round_trips_with_pre_ping" if ping else "round_trips"
                result[label] = round_trips(settings.model_copy(update={"db_pre_ping": ping}), args.turns)
                print(label, json.dumps(result[label], indent=2), flush=True)
        result["processes"] = []
        for workers in (int(n) for n in args.processes.split(",")):
            row = one_setting(url, model_dir, workers, args, tmp)
            print(json.dumps(row), flush=True)
            result["processes"].append(row)
    path = write_result("processes", result)
    print(f"written {path}")


if __name__ == "__main__":
    main()
