"""The server's start-up: a job that may fail for a while (Telegram's setWebhook out of reach) does not
stop it (bot.app.bootstrap.retried_job); its thread pool holds the turns run at once."""

from __future__ import annotations

import asyncio

from bot.app.bootstrap import retried_job


async def test_a_failing_start_is_tried_again_in_the_background_until_it_works() -> None:
    calls: list[str] = []

    async def start() -> None:
        calls.append("start")
        if len(calls) < 3:
            raise ConnectionError("api.telegram.org unreachable")

    async def stop() -> None:
        calls.append("stop")

    job = retried_job("telegram webhook", start, stop, pauses=(0.01,))
    await job.start()  # the first failure does not raise: the server goes on starting
    assert calls == ["start"]
    async with asyncio.timeout(5):
        while calls.count("start") < 3:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert calls.count("start") == 3  # it stopped trying once it worked
    await job.stop()
    assert calls[-1] == "stop"


async def test_stopping_the_server_cancels_the_retries() -> None:
    calls: list[str] = []

    async def start() -> None:
        calls.append("start")
        raise TimeoutError

    async def stop() -> None:
        calls.append("stop")

    job = retried_job("telegram webhook", start, stop, pauses=(60,))
    await job.start()
    await job.stop()
    assert calls == ["start", "stop"]  # no retry ran, and none is left behind
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "retry telegram webhook"]


def test_the_server_thread_pool_holds_the_turns_and_room_beside_them() -> None:
    """HELPLINE_INBOX_WORKERS turns at once need as many threads; Python's default (cores + 4) capped them
    at 6 on 2 cores."""
    from bot.app.server import thread_pool_size

    assert thread_pool_size(4) >= 12
    assert thread_pool_size(40) == 48
