"""Soak of the durable inbox (issue 12): load across the Telegram, Zalo OA and Zalo Bot webhooks of a
server of N worker processes on one PostgreSQL schema, with a ``kill -9`` of one of them in the middle.

Run:  HELPLINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python -m benchmarks.bench_inbox_soak [--rate 200] [--seconds 60] [--processes 2]

The server is ``tests/fakes/serve.py`` (production's app with the fake NLU and the factory procedures)
on PostgreSQL, with the three webhooks on, replying to the fake Bot API (``tests/fakes/telegram_server.py``)
and the fake Zalo OA and Zalo Bot APIs (``tests/fakes/zalo.py``, over HTTP). With ``--processes N`` > 1 it
runs as ``helpline serve --workers N`` does (docs/deployment.md, one machine): N uvicorn workers on one
socket; halfway through one worker is killed with SIGKILL, the other keeps serving, takes the dead
one's inbox rows when their lease runs out, and uvicorn's supervisor starts a replacement (as in
production: nothing here restarts it). With ``--processes 1`` the single process is killed and started
again by this script.

Open loop: update ``i`` (a chat of its own, on webhook ``i % 3``: Telegram, Zalo OA signed with fresh
timestamps, Zalo Bot) is posted at ``i / rate`` seconds whatever happened to the others; what gets no
200 is posted again every 0.5 s until it does, as the platforms redeliver, and at the end every update
is posted once more (a redelivery of what was acknowledged, to check the deduplication). Counted per
channel: updates posted / acknowledged, chats never answered (lost), chats answered twice and, of those,
how many replies were on the wire at the kill (the only case where a reply may be repeated:
bot/storage/inbox.py), webhook latency of the 200s, the time until every update was answered.

The Telegram channel sends at most 30 messages/s per process (Telegram's own limit), so a Telegram rate
above that builds an outbox backlog that drains after the load; the figures say how long.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import machine, percentile, proc_cpu_s, write_result
from tests.fakes.webhook_rig import (
    CHANNELS,
    PgSchema,
    Platforms,
    PlatformsProcess,
    Server,
    channel_of,
    chat_of,
    free_port,
)

REPLACEMENT_WAIT_S = 240.0
"""How long the soak waits for uvicorn to start a worker in place of the killed one."""
RETRY_SECONDS = 0.5
"""How soon an update that got no 200 is posted again (platforms wait longer; this keeps the run short)."""


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50) * 1000, 1),
        "p99": round(percentile(values, 99) * 1000, 1),
        "max": round(max(values) * 1000, 1),
    }


class Connections:
    """Keep-alive HTTP/1.1 POSTs to one server, at most ``limit`` connections at once.

    The load generator's own client: httpx's connection pool scans every connection for every queued
    request, which with hundreds of requests in flight took the whole of this process's event loop
    (py-spy: 86 % of its samples in ``_assign_requests_to_connections``) and made the load generator,
    not the server, the bottleneck.
    """

    def __init__(self, port: int, limit: int = 256, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """The status of ``POST path``; raises ``OSError`` / ``TimeoutError`` when no answer came."""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        async with self._slots:
            for reused in (True, False):
                if reused and not self._idle:
                    continue
                conn = self._idle.pop() if reused else await asyncio.open_connection("127.0.0.1", self.port)
                try:
                    status = await asyncio.wait_for(self._exchange(conn, request), self.timeout)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn[1].close()
                    if reused and not isinstance(exc, TimeoutError):
                        continue  # the server had closed an idle connection: once more on a new one
                    raise OSError(str(exc)) from exc
                except BaseException:
                    conn[1].close()
                    raise
                self._idle.append(conn)
                return status
        raise AssertionError("unreachable")

    @staticmethod
    async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> int:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        length = 0
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class Load:
    """The posts of one run: what was acknowledged, when, and how long each 200 took."""

    def __init__(self, server: Server, platforms: Platforms) -> None:
        self.server, self.platforms = server, platforms
        self.connections = Connections(server.port)
        self.acked: set[int] = set()
        self.acked_at: list[float] = []  # perf_counter of every first 200
        self.latencies: dict[str, list[float]] = {c: [] for c in CHANNELS}  # of the load's 200s
        self.redelivered: list[float] = []  # of the redelivery's 200s
        self.refused: Counter[str] = Counter()  # posts answered other than 200, or not at all

    async def post(self, n: int, *, again: bool = False) -> None:
        """Post update ``n`` until it is answered 200, as its platform does (``again``: a redelivery)."""
        path, body, headers = self.platforms.request(n)
        channel = channel_of(n)
        while True:
            sent = time.perf_counter()
            try:
                ok = await self.connections.post(path, body, headers) == 200
            except (OSError, TimeoutError):
                ok = False
            if ok:
                now = time.perf_counter()
                (self.redelivered if again else self.latencies[channel]).append(now - sent)
                if n not in self.acked:
                    self.acked.add(n)
                    self.acked_at.append(now)
                return
            self.refused[channel] += 1
            await asyncio.sleep(RETRY_SECONDS)

    async def redeliver(self, numbers: range, concurrency: int = 64) -> None:
        """Post every update once more (a platform's redelivery of what it got a 200 for)."""
        todo = iter(numbers)

        async def worker() -> None:
            for n in todo:
                await self.post(n, again=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def soak(url: str, rate: float, seconds: float, processes: int, workdir: Path) -> dict[str, object]:
    schema = PgSchema(url, f"helpline_soak_{os.getpid()}")
    schema.create()
    total = int(rate * seconds)
    figures: dict[str, object] = {}
    on_wire: dict[tuple[str, str], int] = {}  # (channel, chat): outbox row on the wire at the kill
    resent: set[int] = set()  # outbox rows taken again after a lease (the dead process's)
    platforms = PlatformsProcess(workdir)
    port = free_port()
    server = Server(platforms.env(schema.url, port), port, workdir / "server.log", workers=processes)
    try:
        server.start()
        if processes > 1:
            await server.ready_workers(processes)
        else:
            await server.ready()
        load = Load(server, platforms)
        cpu_before = {pid: proc_cpu_s(pid) for pid in server.worker_pids() or [server.proc.pid]}  # type: ignore[union-attr]
        own_cpu_before = time.process_time()
        started = time.perf_counter()

        async def killer() -> None:
            await asyncio.sleep(seconds / 2)
            workers = server.worker_pids()
            victim = workers[0] if processes > 1 else server.proc.pid  # type: ignore[union-attr]
            figures["killed_cpu_s"] = round(proc_cpu_s(victim) - cpu_before.get(victim, 0.0), 1)
            os.kill(victim, signal.SIGKILL)
            killed = time.perf_counter()
            figures["killed_at_s"] = round(killed - started, 2)
            figures["acknowledged_at_kill"] = len(load.acked)
            figures["answered_at_kill"] = platforms.answered()
            figures["unfinished_in_inbox_at_kill"] = schema.count(
                "SELECT count(*) FROM inbox WHERE status IN ('pending', 'taken')"
            )
            figures["taken_in_inbox_at_kill"] = schema.count(
                "SELECT count(*) FROM inbox WHERE status = 'taken'"
            )
            figures["undelivered_in_outbox_at_kill"] = schema.count(
                "SELECT count(*) FROM outbox WHERE status = 'pending'"
            )
            for row_id, channel, chat in schema.rows(
                "SELECT id, channel, chat_id FROM outbox WHERE status = 'pending' AND sending_at IS NOT NULL"
            ):
                on_wire[(str(channel), str(chat))] = int(row_id)
            if processes > 1:
                # uvicorn's supervisor replaces it; nothing here does
                try:
                    await server.ready_workers(1, timeout=REPLACEMENT_WAIT_S, exclude=workers)
                except AssertionError:
                    supervisor = server.proc.pid  # type: ignore[union-attr]
                    figures["replacement"] = (
                        f"none within {REPLACEMENT_WAIT_S:.0f} s; supervisor waits in "
                        + Path(f"/proc/{supervisor}/wchan").read_text()
                    )
            else:
                assert server.proc is not None
                server.proc.wait(10)
                server.start()
                await server.ready()
            back = time.perf_counter()
            if "replacement" not in figures:
                figures["kill_to_replacement_ready_s"] = round(back - killed, 2)
            figures["acknowledged_while_one_down"] = sum(1 for t in load.acked_at if killed <= t < back)

        kill = asyncio.create_task(killer())
        tasks = []
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(load.post(n)))
        figures["posting_took_s"] = round(time.perf_counter() - started, 2)
        await asyncio.gather(*tasks)
        load_end = time.perf_counter()
        figures["all_acknowledged_after_load_s"] = round(load_end - started - seconds, 2)
        figures["answered_at_load_end"] = platforms.answered()
        await load.redeliver(range(total))
        figures["redelivery_done_after_load_s"] = round(time.perf_counter() - load_end, 2)
        deadline = time.monotonic() + 900
        while platforms.answered() < total and time.monotonic() < deadline:
            if server.proc is not None and server.proc.poll() is not None:
                raise SystemExit("the server stopped:\n" + server.log.read_text()[-3000:])
            await asyncio.sleep(1)
        figures["all_answered_after_load_s"] = round(time.perf_counter() - load_end, 2)
        await kill  # the replacement of the killed worker, if it is not there yet
        await asyncio.sleep(3)  # a late second reply would show here
        pids = server.worker_pids() or [server.proc.pid]  # type: ignore[union-attr]
        figures["server_cpu_s"] = {
            str(pid): round(proc_cpu_s(pid) - cpu_before.get(pid, 0.0), 1) for pid in pids
        }
        figures["load_generator_and_fakes_cpu_s"] = round(time.process_time() - own_cpu_before, 1)
        figures["run_wall_s"] = round(time.perf_counter() - started, 1)
        server.stop()
        replies = platforms.replies()
        figures["inbox"] = dict(
            (str(s), int(k)) for s, k in schema.rows("SELECT status, count(*) FROM inbox GROUP BY status")
        )
        figures["inbox_rows_taken_again_after_a_lease"] = schema.count(
            "SELECT count(*) FROM inbox WHERE attempts > 1"
        )
        resent.update(int(i) for i in schema.column("SELECT id FROM outbox WHERE attempts > 1"))
        figures["outbox_rows_taken_again_after_a_lease"] = len(resent)
        figures["outbox"] = dict(
            (str(s), int(k)) for s, k in schema.rows("SELECT status, count(*) FROM outbox GROUP BY status")
        )
    finally:
        server.stop()
        platforms.stop()
        schema.drop()
    per_channel: dict[str, object] = {}
    for channel in CHANNELS:
        numbers = [n for n in range(total) if channel_of(n) == channel]
        answers = replies[channel]
        twice = [chat_of(n) for n in numbers if answers[chat_of(n)] > 1]
        per_channel[channel] = {
            "posted": len(numbers),
            "acknowledged": sum(1 for n in numbers if n in load.acked),
            "lost": sum(1 for n in numbers if answers[chat_of(n)] == 0),
            # on the wire at the kill: both processes' sends; of the dead one's, those sent again
            "on_the_wire_at_kill": sum(1 for c, _ in on_wire if c == channel),
            "on_the_wire_at_kill_and_sent_again": sum(
                1 for (c, _), row in on_wire.items() if c == channel and row in resent
            ),
            "answered_twice": len(twice),
            "answered_twice_of_those": sum(1 for c in twice if on_wire.get((channel, c)) in resent),
            "posts_refused_or_unanswered": load.refused[channel],
            "webhook_ms": _ms(load.latencies[channel]),
        }
    all_latencies = [x for values in load.latencies.values() for x in values]
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "processes": processes,
        "updates": total,
        "acknowledged": len(load.acked),
        "lost": sum(v["lost"] for v in per_channel.values()),  # type: ignore[index]
        "answered_twice": sum(v["answered_twice"] for v in per_channel.values()),  # type: ignore[index]
        # a second answer that was not a reply in doubt at the kill would be a bug
        "answered_twice_not_in_doubt": sum(
            v["answered_twice"] - v["answered_twice_of_those"]  # type: ignore[index]
            for v in per_channel.values()
        ),
        "on_the_wire_at_kill": len(on_wire),
        "webhook_ms": _ms(all_latencies),
        "redelivery_webhook_ms": _ms(load.redelivered),
        "channels": per_channel,
        **figures,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=25.0, help="updates per second, over the 3 webhooks")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load")
    parser.add_argument("--processes", type=int, default=2, help="worker processes of the server")
    parser.add_argument("--name", default="", help="result file name (default inbox_soak_<rate>)")
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit("PostgreSQL needed: set HELPLINE_TEST_DATABASE_URL or give --pg URL")
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        try:  # the load generator's own loop: uvloop when installed (uvicorn's servers use it too)
            from uvloop import run
        except ImportError:
            run = asyncio.run  # type: ignore[assignment]
        result = run(soak(args.pg, args.rate, args.seconds, args.processes, Path(tmp)))
    load_after = os.getloadavg()
    # other sessions' work on the same 2 cores: 1, 5 and 15 minute averages
    result["load_average"] = {
        "before": [round(x, 1) for x in load_before],
        "after": [round(x, 1) for x in load_after],
    }
    path = write_result(args.name or f"inbox_soak_{int(args.rate)}", result)
    for key, value in result.items():
        if key != "machine":
            print(f"{key}: {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
