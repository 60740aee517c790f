"""Officer console benchmark: 50 officers polling the inbox over 500 waiting tickets, then claim races.

Run:  .venv/bin/python -m benchmarks.bench_console [--officers 50] [--tickets 500] [--seconds 30]
      [--repeats 3] [--races 20] [--backend sqlite|postgresql|all]
Target (issue 5): 50 concurrent officers and 500 open tickets: inbox p99 < 200 ms; concurrent claims of
one ticket end with exactly one owner.

The server is what ``helpline serve`` runs (``python -m bot.app.cli serve``: uvicorn, one worker) on
127.0.0.1 and a free port, over a private database: a temp SQLite file, or, when
``HELPLINE_TEST_DATABASE_URL`` is set and ``--backend`` asks for it, a database ``helpline_bench_<pid>``
created on that PostgreSQL server and dropped at the end (no other database or schema is touched). The
NLU model is ``var/models`` when it loads, else one trained once into the temp folder; the console does
not use it, the server only needs one to start.

Set-up goes through :class:`bot.handoff.service.TicketService` and :class:`console.auth.users.UserService` in
this process, on the server's database (not through the chat): ``--officers`` officer accounts, each
already owning ``--claimed-per-officer`` claimed tickets (so the "Của tôi" tab has rows), and
``--tickets`` waiting tickets, each with one citizen message. Then every officer logs in through the API
with its own client (own cookie jar, own session, own CSRF token) and opens ``/console`` once.

Measured, in this process (asyncio + httpx, one client per officer):

* **as the page polls**: each officer runs what ``console.js`` does on the inbox: ``GET
  /api/tickets/summary`` then the tab's list (two officers in three on "Đang chờ",
  ``/api/tickets?status=waiting``; the third on "Của tôi", ``/api/tickets?status=claimed&mine=true``),
  then waits 3 s; start times are spread over the first 3 s. ``--seconds`` per run, ``--repeats`` runs.
* **flat out**: the same requests with no pause (closed loop), for ``--stress-seconds``: the server's
  ceiling and the latency when it is saturated.
* **claim races**: ``--races`` waiting tickets; for each, all officers POST ``/claim`` at the same moment
  (their connections already open); exactly one must get 200 and the ticket must then name that officer
  as owner (checked through the API and in the database); the others must get 409.

Every request is bounded (``--seconds`` / ``--stress-seconds`` cut-offs, ``--max-requests`` per run).
Server and load generator share the machine's cores (nothing pinned); the CPU seconds each used and the
load average are recorded so a noisy run can be recognised.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.common import (
    CHANNEL_ENV,
    ROOT,
    free_port,
    median_run,
    proc_cpu_s,
    start_server,
    stop_server,
    summary,
    temp_dir,
    train,
    write_result,
)

POLL_S = 3.0
"""What ``console.js`` waits between two polls (``POLL_MS``)."""
PASSWORD = "bench-officer-pw"
CITIZEN_TEXTS = (
    "Tôi muốn hỏi thủ tục đăng ký khai sinh cho con",
    "Hồ sơ cấp đổi căn cước của tôi nộp lâu rồi chưa có kết quả",
    "Cho tôi gặp cán bộ để hỏi về đất đai",
    "Lệ phí đăng ký kết hôn là bao nhiêu vậy",
    "Tôi không hiểu phần giấy tờ cần nộp",
)


# ------------------------------------------------------------------------------- processes, machine


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def model_dir(tmp: Path) -> tuple[Path, str]:
    """``var/models`` when its latest model loads, else a model trained now into ``tmp``."""
    from nlu.models import load_model

    shipped = ROOT / "var" / "models"
    if (shipped / "latest").exists():
        try:
            load_model(shipped)
            return shipped, "var/models (reused)"
        except Exception as exc:  # a model of an older pipeline: train a fresh one
            print(f"var/models does not load ({type(exc).__name__}): training one", flush=True)
    out = tmp / "model"
    seconds = train(out, ROOT / "config.yml", ROOT / "data" / "nlu.yml")
    return out, f"trained into the temp folder in {seconds:.1f} s"


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A private, empty database URL: a temp SQLite file, or ``helpline_bench_<pid>`` on PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'console.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ["HELPLINE_TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"helpline_bench_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------------------------------- set-up


def populate(db_url: str, officers: int, waiting: int, claimed_each: int) -> dict[str, Any]:
    """Officer accounts and tickets, written through the services (the server already migrated)."""
    from bot.app.bootstrap import bootstrap
    from bot.core.domain import TicketReason
    from bot.core.messages import ConversationKey
    from bot.core.settings import Settings
    from bot.handoff.service import TicketService

    container = bootstrap(Settings(database_url=db_url))
    # No engine to hold conversations for the officers: the benchmark reads tickets, not chat states.
    users = container.users
    tickets = TicketService(
        container.adapters.sessions, container.adapters.conversations, container.responses
    )
    reasons = list(TicketReason)
    start = time.perf_counter()
    ids = [
        users.add(f"canbo{i:02d}", PASSWORD, role="officer", display_name=f"Cán bộ {i:02d}").id
        for i in range(officers)
    ]
    users_s = time.perf_counter() - start
    rng = random.Random(5)
    start = time.perf_counter()
    n = 0

    def open_one() -> int:
        nonlocal n
        key = ConversationKey("rest", f"bench-citizen-{n}")
        ticket = tickets.open(key, reasons[n % len(reasons)])
        tickets.append_citizen_message(key, rng.choice(CITIZEN_TEXTS))
        n += 1
        return ticket.id

    async def claim_some() -> None:  # tickets each officer is already working on (the "Của tôi" tab)
        for officer_id in ids:
            for _ in range(claimed_each):
                await tickets.claim(open_one(), officer_id)

    asyncio.run(claim_some())
    for _ in range(waiting):
        open_one()
    counts = tickets.counts()
    container.adapters.db.dispose()
    return {
        "officers": officers,
        "waiting_tickets": counts["waiting"],
        "claimed_tickets": counts["claimed"],
        "how": "TicketService.open / append_citizen_message / claim and UserService.add in the "
        "benchmark process, on the server's database",
        "users_s": round(users_s, 2),
        "tickets_s": round(time.perf_counter() - start, 2),
    }


# ------------------------------------------------------------------------------------- officers


@dataclass
class Officer:
    """One logged-in officer: its own client (cookie jar), session and CSRF token."""

    index: int
    client: httpx.AsyncClient
    user_id: int = 0
    csrf: str = ""
    tab: str = "waiting"

    @property
    def list_url(self) -> str:
        return (
            "/api/tickets?status=claimed&mine=true" if self.tab == "mine" else "/api/tickets?status=waiting"
        )


async def log_in(url: str, index: int) -> Officer:
    client = httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=2))
    officer = Officer(index, client, tab="mine" if index % 3 == 2 else "waiting")
    anonymous = (await client.get("/api/csrf")).json()["csrf_token"]
    resp = await client.post(
        "/api/login",
        json={"username": f"canbo{index:02d}", "password": PASSWORD},
        headers={"X-CSRF-Token": anonymous},
    )
    resp.raise_for_status()
    officer.user_id = resp.json()["id"]
    officer.csrf = (await client.get("/api/csrf")).json()["csrf_token"]
    assert officer.csrf != anonymous, "the login must rotate the CSRF token"
    me = await client.get("/api/me")
    assert me.status_code == 200 and me.json()["id"] == officer.user_id
    return officer


@dataclass
class Samples:
    """Latencies (ms) per endpoint name, errors by kind, within one run."""

    latency: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, ms: float) -> None:
        self.latency.setdefault(name, []).append(ms)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latency.values())


def _endpoint(url: str) -> str:
    if url.startswith("/api/tickets?"):
        return "mine list" if "mine=true" in url else "waiting list"
    return {"/api/tickets/summary": "summary", "/console": "inbox page (HTML)"}.get(url, url)


async def timed_get(officer: Officer, url: str, samples: Samples) -> None:
    start = time.perf_counter()
    try:
        resp = await officer.client.get(url)
    except httpx.HTTPError as exc:
        samples.error(type(exc).__name__)
        return
    ms = (time.perf_counter() - start) * 1000
    if resp.status_code != 200:
        samples.error(str(resp.status_code))
        return
    samples.add(_endpoint(url), ms)


async def poll(
    officers: list[Officer], seconds: float, max_requests: int, pause: float, seed: int
) -> dict[str, Any]:
    """Every officer polls summary + its tab's list, then waits ``pause`` s, until the cut-off."""
    samples = Samples()
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds

    async def officer_loop(officer: Officer, offset: float) -> None:
        await asyncio.sleep(offset)
        while time.monotonic() < deadline and samples.total < max_requests:
            await timed_get(officer, "/api/tickets/summary", samples)
            await timed_get(officer, officer.list_url, samples)
            if pause:
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    load0, cpu0, t0 = loadavg(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(officer_loop(o, rng.uniform(0, pause) if pause else 0.0) for o in officers))
    wall = time.perf_counter() - t0
    everything = [ms for values in samples.latency.values() for ms in values]
    inbox = samples.latency.get("summary", []) + samples.latency.get("waiting list", [])
    inbox += samples.latency.get("mine list", [])
    return {
        "wall_s": round(wall, 2),
        "requests": samples.total,
        "requests_per_s": round(samples.total / wall, 1),
        "errors": samples.errors,
        "all": summary(everything) if everything else {},
        "inbox_endpoints": summary(inbox) if inbox else {},
        "per_endpoint": {
            name: {**summary(values), "requests_per_s": round(len(values) / wall, 1)}
            for name, values in sorted(samples.latency.items())
        },
        "loadgen_cpu_s": round(time.process_time() - cpu0, 2),
        "loadavg_1min_before_after": [load0, loadavg()],
    }


async def races(officers: list[Officer], ticket_ids: list[int], db_url: str) -> dict[str, Any]:
    """All officers claim each ticket at the same moment; exactly one must win."""
    from sqlalchemy import create_engine, text

    results: list[dict[str, Any]] = []
    outcome_counts: dict[str, int] = {}
    claim_ms: list[float] = []
    failures: list[str] = []
    db = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    for ticket_id in ticket_ids:
        go = asyncio.Event()

        async def claim(officer: Officer, tid: int = ticket_id, gate: asyncio.Event = go) -> tuple[int, int]:
            await gate.wait()
            start = time.perf_counter()
            resp = await officer.client.post(
                f"/api/tickets/{tid}/claim", headers={"X-CSRF-Token": officer.csrf}
            )
            claim_ms.append((time.perf_counter() - start) * 1000)
            return officer.user_id, resp.status_code

        tasks = [asyncio.create_task(claim(o)) for o in officers]
        await asyncio.sleep(0.05)  # every task is parked on the gate
        go.set()
        outcomes = await asyncio.gather(*tasks)
        codes: dict[str, int] = {}
        for _uid, code in outcomes:
            codes[str(code)] = codes.get(str(code), 0) + 1
            outcome_counts[str(code)] = outcome_counts.get(str(code), 0) + 1
        winners = [uid for uid, code in outcomes if code == 200]
        seen = (await officers[0].client.get(f"/api/tickets/{ticket_id}")).json()["ticket"]
        with db.connect() as conn:
            row = conn.execute(
                text("SELECT status, owner_id FROM tickets WHERE id = :id"), {"id": ticket_id}
            ).one()
        ok = (
            len(winners) == 1
            and codes.get("409", 0) == len(officers) - 1
            and seen["status"] == "claimed"
            and seen["owner_id"] == winners[0]
            and tuple(row) == ("claimed", winners[0])
        )
        if not ok:
            failures.append(f"ticket {ticket_id}: codes {codes}, api {seen['owner_id']}, db {tuple(row)}")
        results.append({"ticket": ticket_id, "codes": codes, "owner": winners[0] if winners else None})
    db.dispose()
    return {
        "tickets": len(ticket_ids),
        "officers_per_race": len(officers),
        "outcomes_total": outcome_counts,
        "exactly_one_owner_every_time": not failures,
        "failures": failures,
        "distinct_winners": len({r["owner"] for r in results}),
        "claim_latency": summary(claim_ms),
        "per_ticket": results,
    }


async def session(url: str, args: argparse.Namespace, db_url: str, server_pid: int) -> dict[str, Any]:
    start = time.perf_counter()
    officers = await asyncio.gather(*(log_in(url, i) for i in range(args.officers)))
    out: dict[str, Any] = {"logins_s": round(time.perf_counter() - start, 2)}
    pages = Samples()
    await asyncio.gather(*(timed_get(o, "/console", pages) for o in officers))
    out["inbox_page_open"] = summary(pages.latency.get("inbox page (HTML)", [0.0]))
    out["inbox_page_errors"] = pages.errors
    try:
        warm = await poll(officers, min(6.0, args.seconds), args.max_requests, POLL_S, seed=1)
        print(
            f"warm-up: {warm['requests']} requests, p99 {warm['inbox_endpoints'].get('p99_ms')} ms",
            flush=True,
        )
        runs = []
        for r in range(args.repeats):
            cpu0 = proc_cpu_s(server_pid)
            run = await poll(officers, args.seconds, args.max_requests, POLL_S, seed=10 + r)
            run["server_cpu_s"] = round(proc_cpu_s(server_pid) - cpu0, 2)
            runs.append(run)
            _say(f"as the page polls, run {r}", run)
        out["as_the_page_polls"] = _median_of(runs)
        cpu0 = proc_cpu_s(server_pid)
        stress = await poll(officers, args.stress_seconds, args.max_requests, 0.0, seed=99)
        stress["server_cpu_s"] = round(proc_cpu_s(server_pid) - cpu0, 2)
        _say("flat out", stress)
        out["flat_out"] = stress
        waiting = (await officers[0].client.get("/api/tickets?status=waiting&limit=500")).json()
        picked = [t["id"] for t in waiting[: args.races]]
        out["claim_races"] = await races(officers, picked, db_url)
        race = out["claim_races"]
        print(
            f"claim races: {race['tickets']} tickets x {race['officers_per_race']} officers, outcomes "
            f"{race['outcomes_total']}, exactly one owner every time: {race['exactly_one_owner_every_time']}",
            flush=True,
        )
    finally:
        await asyncio.gather(*(o.client.aclose() for o in officers))
    return out


def _say(label: str, run: dict[str, Any]) -> None:
    parts = [
        f"{name} p50 {s['p50_ms']} / p90 {s['p90_ms']} / p99 {s['p99_ms']} ms ({s['requests_per_s']}/s)"
        for name, s in run["per_endpoint"].items()
    ]
    print(
        f"{label}: {run['requests_per_s']} req/s, inbox p99 {run['inbox_endpoints'].get('p99_ms')} ms, "
        f"errors {run['errors']}, server CPU {run['server_cpu_s']} s / loadgen CPU {run['loadgen_cpu_s']} s "
        f"over {run['wall_s']} s, load {run['loadavg_1min_before_after']}\n  " + "\n  ".join(parts),
        flush=True,
    )


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median inbox p99, and every run's p99 and throughput."""
    p99s = [r["inbox_endpoints"].get("p99_ms", float("inf")) for r in runs]
    median = median_run(runs, p99s)
    return {
        "inbox_p99_ms_median": statistics.median(p99s),
        "inbox_p99_ms_all": p99s,
        "inbox_p50_ms_all": [r["inbox_endpoints"].get("p50_ms") for r in runs],
        "requests_per_s_all": [r["requests_per_s"] for r in runs],
        "median_run": median,
    }


def run_backend(backend: str, args: argparse.Namespace, tmp: Path, models: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend}
    with database(backend, tmp) as db_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        server = start_server(
            db_url,
            models,
            port,
            tmp / f"server-{backend}.log",
            extra_env={"HELPLINE_SESSION_SECRET": secrets.token_urlsafe(32)},
            drop_env=(*CHANNEL_ENV, "HELPLINE_DOSSIER_API"),
            timeout=180,
            interval=0.3,
        )
        result["server_start_s"] = round(time.perf_counter() - start, 1)
        try:
            result["setup"] = populate(db_url, args.officers, args.tickets, args.claimed_per_officer)
            print(f"[{backend}] set-up: {result['setup']}", flush=True)
            result.update(asyncio.run(session(url, args, db_url, server.pid)))
        finally:
            stop_server(server)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=50)
    parser.add_argument("--tickets", type=int, default=500, help="waiting tickets")
    parser.add_argument("--claimed-per-officer", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of one polling run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stress-seconds", type=float, default=15.0, help="length of the flat-out run")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cut-off of one run")
    parser.add_argument("--races", type=int, default=20, help="tickets all officers race to claim")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "all"),
        default="all",
        help="all: SQLite, and PostgreSQL when HELPLINE_TEST_DATABASE_URL is set",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if not os.environ.get("HELPLINE_TEST_DATABASE_URL"):
        if args.backend == "postgresql":
            parser.error("--backend postgresql needs HELPLINE_TEST_DATABASE_URL")
        backends = [b for b in backends if b != "postgresql"]

    failed = False
    with temp_dir("helpline-bench-console-") as tmp:
        models, how = model_dir(tmp)
        for backend in backends:
            result = {
                "target": {"inbox_p99_ms": 200, "claims": "exactly one owner per ticket"},
                "nlu_model": how,
                "cpus": len(os.sched_getaffinity(0)),
                "pinning": "none: server and load generator share the cores",
                "poll_interval_s": POLL_S,
                "seconds_per_run": args.seconds,
                "repeats": args.repeats,
                **run_backend(backend, args, tmp, models),
            }
            path = write_result("console" if backend == "sqlite" else f"console_{backend}", result)
            brief = {k: v for k, v in result.items() if k in ("as_the_page_polls", "flat_out")}
            print(yaml.safe_dump(brief, allow_unicode=True, sort_keys=False)[:6000])
            print(f"written to {path}", flush=True)
            failed = failed or not result["claim_races"]["exactly_one_owner_every_time"]
    if failed:
        sys.exit("a claim race did not end with exactly one owner")


if __name__ == "__main__":
    main()
