"""The send rate limit held in Redis: two limiters (= two processes) on one Redis never exceed it together.

The exact tests run on a fake clock passed to the Lua script, so the counts are known answers; the same
runs with two in-process limiters show the bug the shared limiter fixes (twice the rate). One test runs
on the Redis server's clock in real time with a bound that only a broken limiter can miss. Without a
reachable Redis these tests are skipped (CI runs one at 127.0.0.1:6379); the fallback test needs none.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Protocol

import pytest
from redis.asyncio import Redis

from bot.channels.ratelimit import RateLimiter
from bot.channels.shared_ratelimit import RedisRateLimiter, send_limiter
from tests.fakes.clock import FakeClock

REDIS_URL = os.environ.get("HELPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_SKIP_REASON = (
    f"Redis tests need a Redis at {REDIS_URL} (CI runs one at 127.0.0.1:6379; "
    "set HELPLINE_TEST_REDIS_URL to another)"
)


class Limiter(Protocol):
    async def acquire(self, chat_id: Hashable) -> None: ...


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        pytest.skip(REDIS_SKIP_REASON)
    yield client
    await client.aclose()


@pytest.fixture
async def scope(redis_client: Redis) -> AsyncIterator[str]:
    """A scope of this test only; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    keys = [key async for key in redis_client.scan_iter(match=f"helpline:ratelimit:{name}:*")]
    if keys:
        await redis_client.delete(*keys)


def max_in_window(times: list[float], period: float) -> int:
    """The most grants within any half-open window [t, t + period)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def alternate(
    limiters: list[Limiter], chats: list[Hashable], clock: Callable[[], float]
) -> list[float]:
    """Send to ``chats`` in order, alternating the limiters (two processes taking turns); grant times."""
    granted = []
    for i, chat in enumerate(chats):
        await limiters[i % len(limiters)].acquire(chat)
        granted.append(clock())
    return granted


def shared(client: Redis, scope: str, clock: FakeClock, **limits: float) -> RedisRateLimiter:
    return RedisRateLimiter(client, scope=scope, clock=clock.monotonic, sleep=clock.sleep, **limits)


async def test_two_processes_together_keep_the_overall_window(redis_client: Redis, scope: str) -> None:
    clock = FakeClock()
    pair = [shared(redis_client, scope, clock, overall=5) for _ in range(2)]
    granted = await alternate(pair, list(range(40)), clock.monotonic)
    assert max_in_window(granted, 1.0) == 5
    # 40 messages at 5 per second: batches at 1000.0, 1001.0, ..., 1007.0.
    assert clock.monotonic() == 1007.0
    assert all(limiter.fallbacks == 0 for limiter in pair)


async def test_two_in_process_limiters_send_twice_the_rate() -> None:
    """The bug: each process keeps its own window, so two of them send 10 per second, not 5."""
    clock = FakeClock()
    pair: list[Limiter] = [RateLimiter(overall=5, clock=clock.monotonic, sleep=clock.sleep) for _ in range(2)]
    granted = await alternate(pair, list(range(40)), clock.monotonic)
    assert max_in_window(granted, 1.0) == 10
    assert clock.monotonic() == 1003.0


async def test_two_processes_space_one_chat(redis_client: Redis, scope: str) -> None:
    clock = FakeClock()
    pair = [shared(redis_client, scope, clock) for _ in range(2)]
    granted = await alternate(pair, ["chat"] * 4, clock.monotonic)
    assert granted == [1000.0, 1001.0, 1002.0, 1003.0]
    assert clock.sleeps == [1.0, 1.0, 1.0]


async def test_other_scopes_do_not_share(redis_client: Redis, scope: str) -> None:
    """Two bots on one Redis each have their own 30 messages/s."""
    clock = FakeClock()
    pair = [shared(redis_client, f"{scope}-{bot}", clock, overall=5) for bot in ("a", "b")]
    granted = await alternate(pair, list(range(10)), clock.monotonic)
    assert max_in_window(granted, 1.0) == 10
    assert clock.sleeps == []


async def test_on_the_redis_clock_in_real_time(redis_client: Redis, scope: str) -> None:
    """Two limiters, concurrent senders, real time: 60 sends at 10 per 0.25 s take at least 1.25 s."""
    pair = [
        RedisRateLimiter(
            Redis.from_url(REDIS_URL), scope=scope, overall=10, overall_period=0.25, per_chat=100
        )
        for _ in range(2)
    ]
    started = time.monotonic()
    await asyncio.gather(*(pair[i % 2].acquire(i) for i in range(60)))
    elapsed = time.monotonic() - started
    for limiter in pair:
        await limiter.aclose()
    # The sixth batch of ten cannot be granted before 5 periods after the first: 1.25 s by Redis's
    # clock (a limiter per process would let the pair finish in 0.5 s). Upper bound: generous.
    assert 1.25 * 0.98 <= elapsed < 15
    assert all(limiter.fallbacks == 0 for limiter in pair)


async def test_redis_down_falls_back_to_the_local_limit(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on port 1: every send still goes, limited in-process, with one warning."""
    clock = FakeClock()
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.25, socket_timeout=0.25)
    limiter = RedisRateLimiter(client, scope="down", clock=clock.monotonic, sleep=clock.sleep, retry_after=5)
    with caplog.at_level(logging.WARNING, logger="bot.channels.shared_ratelimit"):
        for chat in range(31):
            await limiter.acquire(chat)
        clock.advance(10)  # past retry_after: Redis is tried again, fails again, no second warning
        await limiter.acquire("again")
    await limiter.aclose()
    assert limiter.fallbacks == 2  # the first send, and the one after retry_after; in between local
    assert clock.sleeps == [1.0]  # the 31st message waited for the local window
    warnings = [r for r in caplog.records if "Redis does not answer" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_hung_redis_costs_a_send_its_timeout_only() -> None:
    """A server that accepts and never answers: the send goes after the 0.25 s socket timeout."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = send_limiter(f"redis://127.0.0.1:{port}/0", scope="hung")
    assert isinstance(limiter, RedisRateLimiter)
    started = time.monotonic()
    await limiter.acquire("chat")
    elapsed = time.monotonic() - started
    await limiter.aclose()
    server.close()
    await server.wait_closed()
    assert limiter.fallbacks == 1
    assert 0.2 <= elapsed < 5  # the timeout, not forever (measured 0.27 s); generous for a loaded machine


def test_without_redis_url_the_limiter_is_in_process() -> None:
    limiter = send_limiter("", scope="telegram:1", overall=7)
    assert type(limiter) is RateLimiter
