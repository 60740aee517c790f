"""RateLimiter on a fake clock: per-chat spacing, the overall window, no real sleeping."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.ratelimit import RateLimiter
from tests.fakes.clock import FakeClock


def limiter(clock: FakeClock, **kwargs: float) -> RateLimiter:
    return RateLimiter(clock=clock.monotonic, sleep=clock.sleep, **kwargs)


async def test_first_message_goes_at_once() -> None:
    clock = FakeClock()
    await limiter(clock).acquire("chat")
    assert clock.sleeps == []


async def test_one_chat_is_spaced_one_second_apart() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(3):
        await rl.acquire("chat")
    assert clock.sleeps == [1.0, 1.0]
    assert clock.monotonic() == 1002.0


async def test_per_chat_rate_is_configurable() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_chat=2, per_chat_period=1.0)
    for _ in range(3):
        await rl.acquire("chat")
    assert clock.sleeps == [0.5, 0.5]


async def test_different_chats_do_not_wait_for_each_other() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for chat in range(30):
        await rl.acquire(chat)
    assert clock.sleeps == []


async def test_the_31st_message_in_a_second_waits_for_the_window() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for chat in range(31):
        await rl.acquire(chat)
    assert clock.sleeps == [1.0]
    assert clock.monotonic() == 1001.0


async def test_window_slides_rather_than_resetting() -> None:
    clock = FakeClock()
    rl = limiter(clock, overall=2, overall_period=1.0)
    await rl.acquire("a")
    clock.advance(0.6)
    await rl.acquire("b")
    await rl.acquire("c")  # must wait until the first send leaves the window: 0.4 s
    assert clock.sleeps == [pytest.approx(0.4)]


async def test_concurrent_callers_of_one_chat_are_served_in_order() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    order: list[int] = []

    async def send(i: int) -> None:
        await rl.acquire("chat")
        order.append(i)

    await asyncio.gather(*(send(i) for i in range(4)))
    assert order == [0, 1, 2, 3]
    assert clock.monotonic() == pytest.approx(1003.0)


def test_rejects_non_positive_limits() -> None:
    with pytest.raises(ValueError):
        RateLimiter(overall=0)
    with pytest.raises(ValueError):
        RateLimiter(per_chat_period=0)
