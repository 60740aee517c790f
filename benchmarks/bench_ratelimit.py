"""What a send pays for the rate limit: in-process, shared in Redis, and a PostgreSQL lower bound.

Run:  .venv/bin/python -m benchmarks.bench_ratelimit [--rounds 5000] [--redis redis://127.0.0.1:6379/0]
      [--pg postgresql://postgres@127.0.0.1:5432/test]   (default: HELPLINE_TEST_DATABASE_URL; "" skips)

Per ``acquire`` by one client on loopback, each message to another chat and the limits set so that no
call waits (the cost of the bookkeeping, not of the limit); windows of 10 ms keep the tables as small
as at Telegram's real rates (30 chats a second):

* in-process: :class:`bot.channels.ratelimit.RateLimiter` (one process only);
* Redis: :class:`bot.channels.shared_ratelimit.RedisRateLimiter`, redis-py's asyncio client, one
  ``EVALSHA`` of the Lua script (the chat's slot, the overall sliding window, the server's clock);
* PostgreSQL: one autocommitted ``UPDATE`` of one row per send, the least a shared limiter on the
  database would cost (the real one needs the window too), and every process would queue on that row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from benchmarks.common import percentile
from bot.channels.ratelimit import RateLimiter
from bot.channels.shared_ratelimit import RedisRateLimiter

LIMITS = {"overall": 1_000_000, "overall_period": 0.01, "per_chat": 1, "per_chat_period": 0.01}


async def timed(call: Callable[[int], Awaitable[object]], rounds: int) -> list[float]:
    """Microseconds per call, after 200 warm-up calls."""
    for i in range(200):
        await call(-1 - i)
    out = []
    for i in range(rounds):
        start = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - start) * 1e6)
    return out


def report(name: str, us: list[float]) -> None:
    print(
        f"{name:<38} n={len(us)}  median {statistics.median(us):7.1f} µs  "
        f"p99 {percentile(us, 99):7.1f} µs  max {max(us):8.1f} µs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    args = parser.parse_args()

    local = RateLimiter(**LIMITS)  # type: ignore[arg-type]
    report("in-process RateLimiter", await timed(local.acquire, args.rounds))

    from redis.asyncio import Redis

    scope = f"bench-{os.getpid()}"
    shared = RedisRateLimiter(Redis.from_url(args.redis), scope=scope, **LIMITS)  # type: ignore[arg-type]
    us = await timed(shared.acquire, args.rounds)
    assert shared.fallbacks == 0, "Redis did not answer: the figures would be the local limiter's"
    report("RedisRateLimiter (redis-py, EVALSHA)", us)
    await shared.aclose()

    if args.pg:
        import psycopg

        schema = f"bench_ratelimit_{os.getpid()}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                conn.execute(f'CREATE TABLE "{schema}".rl (k int PRIMARY KEY, n bigint)')
                conn.execute(f'INSERT INTO "{schema}".rl VALUES (1, 0)')
                update = f'UPDATE "{schema}".rl SET n = n + 1 WHERE k = 1'

                async def pg_call(_: int) -> None:
                    conn.execute(update)

                report("PostgreSQL: one committed UPDATE", await timed(pg_call, args.rounds))
            finally:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    asyncio.run(main())
