"""The cross-process pieces of issue 12 on a real PostgreSQL, each "process" an adapter of its own
(its own lock connection, its own listening connection): conversation locks, leases that move when
their holder's connection ends, the start-up lock and the change feed. The two-server tests are in
``test_multiprocess.py``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.app.leases import LeasedJob
from bot.core.coordination import LocalChangeFeed, LocalLocks
from bot.core.ports import Change
from bot.storage.coordination import PgChangeFeed, PgLocks, lock_id
from tests.conftest import PG_SKIP_REASON, PG_URL, _reset_schema, pg_engine, pg_options

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]
ARGS = {"options": pg_options()}


@pytest.fixture
def db() -> Iterator[Engine]:
    _reset_schema()
    engine = pg_engine()
    yield engine
    engine.dispose()
    _reset_schema(drop_only=True)


@pytest.fixture
def two(db: Engine) -> Iterator[tuple[PgLocks, PgLocks]]:
    a, b = PgLocks(db, connect_args=ARGS), PgLocks(db, connect_args=ARGS)
    yield a, b
    a.close()
    b.close()


def test_lock_ids_are_stable_and_separate_by_schema() -> None:
    assert lock_id("test/s1", "conversation:rest:a") == lock_id("test/s1", "conversation:rest:a")
    assert lock_id("test/s1", "conversation:rest:a") != lock_id("test/s2", "conversation:rest:a")
    assert -(2**63) <= lock_id("x", "y") < 2**63


async def test_a_conversation_is_held_by_one_process_at_a_time(two: tuple[PgLocks, PgLocks]) -> None:
    a, b = two
    seen: list[str] = []
    a_inside = asyncio.Event()

    async def first() -> None:
        async with a.hold("conversation:rest:lan"):
            a_inside.set()
            seen.append("a in")
            await asyncio.sleep(0.3)  # b tries meanwhile and must wait
            seen.append("a out")

    async def second() -> None:
        await a_inside.wait()
        async with b.hold("conversation:rest:lan"):
            seen.append("b in")

    await asyncio.gather(first(), second())
    assert seen == ["a in", "a out", "b in"]


async def test_other_conversations_do_not_wait(two: tuple[PgLocks, PgLocks]) -> None:
    a, b = two
    async with a.hold("conversation:rest:lan"):
        async with asyncio.timeout(2):  # would hang if the chats shared a lock
            async with b.hold("conversation:rest:minh"):
                pass


async def test_a_lease_moves_when_its_holder_goes(two: tuple[PgLocks, PgLocks]) -> None:
    a, b = two
    assert await a.try_lease("lease:dossier watcher")
    assert not await b.try_lease("lease:dossier watcher")
    assert await a.lease_held("lease:dossier watcher")
    await asyncio.to_thread(a.close)  # the process ends: its connection, and the lock, go with it
    # The server frees the lock when the ended session's backend exits: at once on a quiet machine, a
    # little later on a loaded one, so b tries as a waiting process does, again and again.
    for _ in range(100):
        if await b.try_lease("lease:dossier watcher"):
            break
        await asyncio.sleep(0.05)
    assert await b.lease_held("lease:dossier watcher")
    assert not await a.lease_held("lease:dossier watcher")


async def test_leased_job_runs_in_exactly_one_process_and_moves(two: tuple[PgLocks, PgLocks]) -> None:
    a, b = two
    running: dict[str, int] = {"a": 0, "b": 0}

    def job(who: str, locks: PgLocks) -> LeasedJob:
        async def start() -> None:
            running[who] += 1

        async def stop() -> None:
            running[who] -= 1

        return LeasedJob("dossier watcher", start, stop, locks, every=0.05)

    job_a, job_b = job("a", a), job("b", b)
    await job_a.start()
    await asyncio.sleep(0.2)
    await job_b.start()
    await asyncio.sleep(0.3)
    assert running == {"a": 1, "b": 0} and job_a.running and not job_b.running
    await job_a.stop()  # a graceful stop gives the lease up
    for _ in range(60):
        if job_b.running:
            break
        await asyncio.sleep(0.05)
    assert running == {"a": 0, "b": 1}
    await job_b.stop()
    assert running == {"a": 0, "b": 0}


def test_start_up_is_one_process_at_a_time(two: tuple[PgLocks, PgLocks]) -> None:
    inside: list[str] = []
    overlap: list[bool] = []

    def prepare(who: str, locks: PgLocks) -> None:
        with locks.exclusive("prepare"):
            overlap.append(bool(inside))
            inside.append(who)
            time.sleep(0.2)
            inside.remove(who)

    threads = [threading.Thread(target=prepare, args=(n, lk)) for n, lk in zip("ab", two, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert overlap == [False, False]


async def test_a_change_reaches_the_other_process_and_not_its_origin(db: Engine) -> None:
    here, there = PgChangeFeed(db, "here", connect_args=ARGS), PgChangeFeed(db, "there", connect_args=ARGS)
    got_here: list[Change] = []
    got_there: list[Change] = []
    stop = asyncio.Event()

    async def keep(into: list[Change], change: Change) -> None:
        into.append(change)

    tasks = [
        asyncio.create_task(here.run(lambda c: keep(got_here, c), stop)),
        asyncio.create_task(there.run(lambda c: keep(got_there, c), stop)),
    ]
    async with asyncio.timeout(10):  # both listening
        await here.listening.wait()
        await there.listening.wait()
    await asyncio.to_thread(here.publish, Change("knowledge", model="nlu-2.tar"))
    await asyncio.to_thread(here.publish, Change("responses"))
    for _ in range(40):
        if len(got_there) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    assert got_there == [Change("knowledge", "nlu-2.tar", "here"), Change("responses", None, "here")]
    assert got_here == []


def test_a_notification_of_another_schema_or_unreadable_is_ignored(db: Engine) -> None:
    feed = PgChangeFeed(db, "me", connect_args=ARGS)
    assert feed.decode('{"ns": "test/other", "kind": "responses", "origin": "x"}', "test/mine") is None
    assert feed.decode("not json", "test/mine") is None
    assert feed.decode('{"ns": "test/mine", "kind": "drop tables", "origin": "x"}', "test/mine") is None
    assert feed.decode('{"ns": "test/mine", "kind": "responses", "origin": "x"}', "test/mine") == Change(
        "responses", None, "x"
    )


async def test_one_process_adapters() -> None:
    locks, feed = LocalLocks(), LocalChangeFeed()
    assert not locks.shared
    assert await locks.try_lease("lease:x") and await locks.lease_held("lease:x")
    await locks.release_lease("lease:x")
    assert not await locks.lease_held("lease:x")
    order: list[int] = []

    async def turn(n: int) -> None:
        async with locks.hold("conversation:rest:a"):
            order.append(n)
            await asyncio.sleep(0.01)
            order.append(n)

    await asyncio.gather(turn(1), turn(2))
    assert order == [1, 1, 2, 2]
    feed.publish(Change("responses"))
    assert list(feed.published) == [Change("responses")]
