"""REST endpoint benchmark: requests/s and latency of ``POST /webhooks/rest/webhook`` on the real server.

Run:  .venv/bin/python -m benchmarks.bench_rest [--concurrency 32] [--requests 3000] [--repeats 3]
Target (conversation issue): >= 300 requests/s on 2 cores with p99 < 100 ms.

The server is what ``helpline serve`` runs (``python -m bot.app.cli serve``: uvicorn, one worker) on
127.0.0.1 and a free port, over a private workspace: a freshly trained model and a seeded SQLite file in
a temp folder (``benchmarks.common.workspace``). The load comes from a separate process: an
asyncio + httpx client with ``--concurrency`` workers, each owning its own senders (so one sender never
has two messages in flight, as in a real chat), saying what ``benchmarks.bench_engine.Citizen`` says:
held-out questions, follow-ups, button payloads taken from the previous reply, numbers. Every run sends
a bounded number of requests and is cut off after ``--max-seconds``. A warm-up pass precedes the
measured ones; the server is stopped (SIGINT, the process this script started) at the end.

Server and load generator share the machine's cores (two on the project's machine, nothing pinned);
the CPU seconds each used are reported, so the load generator's share is known.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.common import (
    ROOT,
    free_port,
    median_run,
    proc_cpu_s,
    start_server,
    status_mb,
    stop_server,
    summary,
    workspace,
    write_result,
)

WEBHOOK = "/webhooks/rest/webhook"


# ------------------------------------------------------------------------------- the load generator


class _Reply:
    """A REST reply seen through the attributes ``Citizen.heard`` reads."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.buttons = [_Button(b["payload"]) for b in data.get("buttons") or ()]


class _Button:
    def __init__(self, payload: str) -> None:
        self.payload = payload


async def load(
    url: str,
    concurrency: int,
    requests: int,
    senders: int,
    tag: str,
    seed: int,
    max_seconds: float,
    rate: float = 0.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Send ``requests`` posts with ``concurrency`` workers; latencies in ms and the error count.

    ``rate`` 0 is a closed loop (each worker sends its next request as soon as its last is answered:
    the highest throughput, latency then is queueing). A positive ``rate`` is an open loop: request
    ``n`` is due at ``n / rate`` seconds and its latency counts from when it was due, so a server that
    falls behind is charged for the wait (no coordinated omission). ``headers`` go with every request
    (the Rasa API token, so the server keeps each named sender's conversation).
    """
    from benchmarks.bench_engine import Citizen, heldout_texts

    texts = heldout_texts()
    rng = random.Random(seed)
    citizens = [Citizen(f"{tag}-{i}", rng, texts) for i in range(senders)]
    turns = dict.fromkeys(range(senders), 0)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30, headers=headers) as client:

        async def worker(w: int) -> None:
            nonlocal sent
            mine = [i for i in range(senders) if i % concurrency == w]
            k = 0
            while sent < requests and time.monotonic() < deadline:
                n = sent
                sent += 1
                due = None
                if rate > 0:
                    due = t0 + n / rate
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                i = mine[k % len(mine)]
                k += 1
                citizen = citizens[i]
                text, _kind = citizen.next_text(turns[i])
                turns[i] += 1
                start = due if due is not None else time.perf_counter()
                try:
                    resp = await client.post(WEBHOOK, json={"sender": citizen.chat_id, "message": text})
                    elapsed = (time.perf_counter() - start) * 1000
                    if resp.status_code != 200:
                        errors[str(resp.status_code)] = errors.get(str(resp.status_code), 0) + 1
                        continue
                    citizen.heard([_Reply(r) for r in resp.json()])
                    latencies.append(elapsed)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    return {
        "requests_ok": len(latencies),
        "errors": errors,
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 1),
        "latency": summary(latencies) if latencies else {},
        "loadgen_cpu_s": round(cpu, 2),
    }


def child_load(args: argparse.Namespace) -> None:
    result = asyncio.run(
        load(
            args.url,
            args.concurrency,
            args.requests,
            args.senders,
            args.tag,
            args.seed,
            args.max_seconds,
            args.rate,
        )
    )
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------- the run


def run_load(
    url: str, args: argparse.Namespace, requests: int, tag: str, seed: int, rate: float = 0.0
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_rest", "--child-load", "--url", url]
    cmd += ["--concurrency", str(args.concurrency), "--requests", str(requests), "--rate", str(rate)]
    cmd += ["--senders", str(args.senders), "--tag", tag, "--seed", str(seed)]
    cmd += ["--max-seconds", str(args.max_seconds)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _label(rate: float) -> str:
    return "closed_loop" if rate == 0 else f"open_loop_{rate:g}_per_s"


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, and every run's throughput and p99."""
    rates = [x["requests_per_s"] for x in runs]
    median = median_run(runs, rates)
    return {
        "requests_per_s_median": median["requests_per_s"],
        "requests_per_s_all": rates,
        "p50_ms_all": [x["latency"].get("p50_ms") for x in runs],
        "p99_ms_all": [x["latency"].get("p99_ms") for x in runs],
        "p99_ms_median": statistics.median(x["latency"].get("p99_ms", 0) for x in runs),
        "median_run": median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000, help="per measured run")
    parser.add_argument("--senders", type=int, default=400, help="distinct chats per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rates",
        default="0,150,300",
        help="comma-separated arrival rates in requests/s; 0 is the closed loop (maximum throughput)",
    )
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cut-off of one run")
    parser.add_argument("--child-load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="run", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        child_load(args)
        return

    result: dict[str, Any] = {
        "concurrency": args.concurrency,
        "requests_per_run": args.requests,
        "senders_per_run": args.senders,
        "cpus": len(os.sched_getaffinity(0)),
        "pinning": "none: server and load generator share the cores",
    }
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    with workspace() as (settings, timings):
        result["setup"] = timings
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        server = start_server(
            settings.database_url, settings.model_dir, port, Path(settings.model_dir).parent / "server.log"
        )
        result["server_start_s"] = round(time.perf_counter() - start, 2)
        try:
            warm = run_load(url, args, min(500, args.requests), "warm", 1)
            print(f"warm-up: {warm['requests_per_s']} req/s, errors {warm['errors']}", flush=True)
            for rate in rates:
                runs = []
                for r in range(args.repeats):
                    cpu0 = proc_cpu_s(server.pid)
                    requests = args.requests if rate == 0 else min(args.requests, int(rate * 10))
                    run = run_load(url, args, requests, f"rate{rate:g}-{r}", 10 + r, rate)
                    run["server_cpu_s"] = round(proc_cpu_s(server.pid) - cpu0, 2)
                    run["server_rss_mb"] = status_mb("VmRSS", server.pid)
                    runs.append(run)
                    lat = run["latency"]
                    print(
                        f"rate {rate:g} run {r}: {run['requests_per_s']} req/s, p50 {lat.get('p50_ms')} ms,"
                        f" p90 {lat.get('p90_ms')} ms, p99 {lat.get('p99_ms')} ms, errors {run['errors']},"
                        f" server CPU {run['server_cpu_s']} s, load generator CPU {run['loadgen_cpu_s']} s"
                        f" over {run['wall_s']} s",
                        flush=True,
                    )
                result[_label(rate)] = _median_of(runs)
        finally:
            stop_server(server)
    result["targets"] = {"requests_per_s": 300, "p99_ms": 100}
    path = write_result("rest", result)
    print(yaml.safe_dump(result, allow_unicode=True, sort_keys=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
