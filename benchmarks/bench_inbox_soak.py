"""Soak of the durable inbox (issue 12): Telegram webhook load with a ``kill -9`` of the server in the middle.

Run:  HELPLINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python -m benchmarks.bench_inbox_soak [--rate 25] [--seconds 30]

A real server process (``tests/fakes/serve.py``: production's app with the fake NLU and the factory
procedures) on PostgreSQL, in Telegram webhook mode, replying to the fake Bot API server
(``tests/fakes/telegram_server.py``). Open loop: update ``i`` (a chat of its own) is posted at
``i / rate`` seconds whatever happened to the others. Halfway through, the server is killed with SIGKILL
and started again; the posts that got no 200 meanwhile are posted again until they get one, as Telegram
does, and at the end every update is posted once more (a redelivery of what was acknowledged, to check
the deduplication). Counted: updates acknowledged, chats never answered (lost), chats answered twice and,
of those, how many replies were on the wire at the kill (the only case where a reply may be repeated:
bot/storage/inbox.py), webhook latency of the 200s, the restart, the time until every update was answered.

The Telegram channel sends at most 30 messages/s (Telegram's own limit), so a rate above that builds up
an outbox backlog that drains after the load; the figures say how long.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import machine, percentile, write_result
from bot.channels.telegram import SECRET_HEADER
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.webhook_rig import (
    PgSchema,
    Server,
    chat_of,
    free_port,
    post_all,
    replies_per_chat,
    server_env,
    update,
)


async def soak(url: str, rate: float, seconds: float, workdir: Path) -> dict[str, object]:
    schema = PgSchema(url, f"helpline_soak_{os.getpid()}")
    schema.create()
    total = int(rate * seconds)
    secret = secrets.token_urlsafe(32)
    latencies: list[float] = []
    acked: set[int] = set()
    missed: list[int] = []
    figures: dict[str, object] = {}
    try:
        async with FakeTelegramServer() as tg:
            port = free_port()
            server = Server(server_env(schema.url, tg, port, secret), port, workdir / "server.log")
            server.start()
            await server.ready()
            started = time.perf_counter()

            async def post(client: httpx.AsyncClient, n: int) -> None:
                sent = time.perf_counter()
                try:
                    res = await client.post(server.webhook, json=update(n), headers={SECRET_HEADER: secret})
                    ok = res.status_code == 200
                except httpx.TransportError:
                    ok = False
                if ok:
                    acked.add(n)
                    latencies.append(time.perf_counter() - sent)
                else:
                    missed.append(n)

            async def killer() -> None:
                await asyncio.sleep(seconds / 2)
                server.kill()
                figures["killed_at_s"] = round(time.perf_counter() - started, 2)
                figures["acknowledged_at_kill"] = len(acked)
                figures["answered_at_kill"] = len(replies_per_chat(tg))
                figures["unfinished_in_inbox_at_kill"] = schema.count(
                    "SELECT count(*) FROM inbox WHERE status IN ('pending', 'taken')"
                )
                figures["undelivered_in_outbox_at_kill"] = schema.count(
                    "SELECT count(*) FROM outbox WHERE status = 'pending'"
                )
                figures["on_the_wire_at_kill"] = sorted(
                    schema.column(
                        "SELECT chat_id FROM outbox WHERE status = 'pending' AND sending_at IS NOT NULL"
                    )
                )
                restart = time.perf_counter()
                server.start()
                await server.ready()
                figures["restart_s"] = round(time.perf_counter() - restart, 2)

            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                kill = asyncio.create_task(killer())
                tasks = []
                for n in range(total):
                    delay = started + n / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(post(client, n)))
                await asyncio.gather(*tasks)
                await kill
            load_end = time.perf_counter()
            figures["refused_or_unanswered_posts"] = len(missed)
            # Telegram delivers again what got no 200 (until it gets one), then, here, everything once more.
            await post_all(
                server, secret, sorted(set(missed) - acked), until_acknowledged=True, acknowledged=acked
            )
            await post_all(server, secret, range(total))
            deadline = time.monotonic() + 600
            while len(replies_per_chat(tg)) < total and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            figures["all_answered_after_load_s"] = round(time.perf_counter() - load_end, 2)
            await asyncio.sleep(2)  # a late second reply would show here
            server.stop()
            per_chat = replies_per_chat(tg)
    finally:
        schema.drop()
    twice = sorted(c for c, k in per_chat.items() if k > 1)
    on_wire = set(figures["on_the_wire_at_kill"])  # type: ignore[arg-type]
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "updates": total,
        "acknowledged": len(acked),
        "lost": sum(1 for n in range(total) if per_chat[chat_of(n)] == 0),
        "answered_twice": len(twice),
        "answered_twice_not_on_the_wire": len([c for c in twice if c not in on_wire]),
        "webhook_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        **{k: v for k, v in figures.items() if k != "on_the_wire_at_kill"},
        "on_the_wire_at_kill": len(on_wire),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=25.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load")
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit("PostgreSQL needed: set HELPLINE_TEST_DATABASE_URL or give --pg URL")
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        result = asyncio.run(soak(args.pg, args.rate, args.seconds, Path(tmp)))
    result["load_average_1m"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # other sessions' work
    path = write_result(f"inbox_soak_{int(args.rate)}", result)
    for key, value in result.items():
        if key != "machine":
            print(f"{key}: {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
