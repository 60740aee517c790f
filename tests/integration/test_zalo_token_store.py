"""The Zalo OA tokens in the database every process shares (bot/storage/zalo_tokens.py), against the fake
OA whose refresh tokens are single-use (tests/fakes/zalo.py), on SQLite and PostgreSQL.

Each "process" is a channel with a store of its own over the one database. On PostgreSQL each also has
its own lock connection (``PgLocks``), so the refresh lock really excludes across connections as it does
across processes; on SQLite, which is one process, they share that process's ``LocalLocks``.
Every test here fails with the former per-process ``InMemoryTokenStore``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, select

from bot.channels.base import DeliveryError
from bot.channels.zalo_oa import ZaloOAChannel, ZaloOASettings, ZaloTokens
from bot.core.coordination import LocalLocks
from bot.core.ports import Locks
from bot.storage.coordination import PgLocks
from bot.storage.zalo_tokens import SqlZaloTokenStore, ZaloTokenRow
from knowledge.db import make_session_factory
from tests.conftest import pg_options
from tests.fakes.zalo import FakeZaloOA

APP_ID = "2553928453557884079"
SEED = ZaloTokens("access-1", "refresh-1")


@pytest.fixture
def new_locks(db_engine: Engine) -> Iterator[Callable[[], Locks]]:
    """Each call: the locks of one more process (PostgreSQL), or this one process's (SQLite)."""
    made: list[PgLocks] = []
    local = LocalLocks()

    def make() -> Locks:
        if db_engine.dialect.name != "postgresql":
            return local
        locks = PgLocks(db_engine, connect_args={"options": pg_options()})
        made.append(locks)
        return locks

    yield make
    for locks in made:
        locks.close()


class Process:
    """One server process's Zalo OA channel and token store on the shared database."""

    def __init__(self, db: Engine, locks: Locks, fake: FakeZaloOA, seed: ZaloTokens = SEED) -> None:
        self.store = SqlZaloTokenStore(make_session_factory(db), locks, APP_ID, seed)
        self.client = httpx.AsyncClient(transport=fake.transport)
        settings = ZaloOASettings(
            app_id=APP_ID, oa_secret_key="oa-secret", app_secret_key=fake.app_secret_key
        )

        async def no_wait(_: float) -> None:
            return None

        self.channel = ZaloOAChannel(self.client, settings, self.store, sleep=no_wait)

    async def send(self, user: str, text: str) -> None:
        await self.channel.send_text(user, text)

    async def close(self) -> None:
        await self.client.aclose()


async def test_two_processes_keep_sending_after_expiry_with_exactly_one_refresh(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    a, b = Process(db_engine, new_locks(), fake), Process(db_engine, new_locks(), fake)
    try:
        await a.send("u1", "trước khi hết hạn (a)")
        await b.send("u2", "trước khi hết hạn (b)")
        fake.expire_token_once()  # the 25 hours are over
        await asyncio.gather(*(p.send(f"u{i}", f"tin {i}") for i, p in enumerate((a, b, a, b, a, b))))
        await b.send("u9", "sau khi làm mới (b)")
        await a.send("u9", "sau khi làm mới (a)")
    finally:
        await a.close()
        await b.close()
    assert len(fake.token_calls()) == 1  # one refresh for both processes
    assert fake.token_calls()[0].body["refresh_token"] == "refresh-1"
    assert len(fake.delivered) == 10
    assert {t for _, t in fake.delivered} >= {f"tin {i}" for i in range(6)}
    assert (
        await a.store.load()
        == await b.store.load()
        == ZaloTokens("access-2", "refresh-2", (await a.store.load()).expires_at)
    )


async def test_a_process_that_used_an_older_token_rereads_instead_of_refreshing(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    a, b = Process(db_engine, new_locks(), fake), Process(db_engine, new_locks(), fake)
    try:
        await b.send("u2", "b đã đọc access-1")
        fake.expire_token_once()
        await a.send("u1", "a làm mới")
        # b's send began with the old access token; the store has a newer one: b takes it, no refresh
        used = await b.store.load()
        assert used.access_token == "access-2"
        await b.channel._refresh(ZaloTokens("access-1", "refresh-1"))
        await b.send("u2", "b dùng access-2")
    finally:
        await a.close()
        await b.close()
    assert len(fake.token_calls()) == 1
    assert [c.headers["access_token"] for c in fake.message_calls()][-1] == "access-2"


async def test_a_restart_keeps_the_refreshed_tokens_and_new_settings_replace_them(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    first = Process(db_engine, new_locks(), fake)
    try:
        fake.expire_token_once()
        await first.send("u1", "trước khi khởi động lại")
    finally:
        await first.close()
    assert fake.refresh_token == "refresh-2"  # refresh-1 is used up
    # the restarted process has the same settings (refresh-1, dead) and must start from the stored pair
    again = Process(db_engine, new_locks(), fake)
    try:
        await again.send("u1", "sau khi khởi động lại")
        fake.expire_token_once()
        await again.send("u1", "hết hạn lần nữa")
    finally:
        await again.close()
    assert [c.body["refresh_token"] for c in fake.token_calls()] == ["refresh-1", "refresh-2"]
    assert [c.headers["access_token"] for c in fake.message_calls()][1] == "access-2"
    assert len(fake.delivered) == 3
    with make_session_factory(db_engine)() as session:
        rows = session.scalars(select(ZaloTokenRow)).all()
    assert [(r.app_id, r.access_token, r.refresh_token) for r in rows] == [(APP_ID, "access-3", "refresh-3")]
    # the operator issued a new pair in Zalo's console and put it in the settings: it replaces the row
    fake.access_token, fake.refresh_token = "access-new", "refresh-new"
    renewed = Process(db_engine, new_locks(), fake, seed=ZaloTokens("access-new", "refresh-new"))
    try:
        await renewed.send("u1", "cặp mới")
    finally:
        await renewed.close()
    assert (await renewed.store.load()).access_token == "access-new"
    assert fake.message_calls()[-1].headers["access_token"] == "access-new"


async def test_a_refused_refresh_is_not_tried_again(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    fake.refresh_token = "refresh-revoked"  # the settings' refresh token is dead (used up elsewhere)
    a, b = Process(db_engine, new_locks(), fake), Process(db_engine, new_locks(), fake)
    errors: list[DeliveryError] = []
    try:
        fake.expire_token_once()
        for process in (a, b, a, b):
            with pytest.raises(DeliveryError) as caught:
                await process.send("u1", "không gửi được")
            errors.append(caught.value)
    finally:
        await a.close()
        await b.close()
    assert len(fake.token_calls()) == 1  # asked once, not once per message nor per process
    assert [e.retryable for e in errors] == [False] * 4
    assert fake.delivered == []
    assert (await a.store.load()).refused_at is not None
    # new tokens in the settings clear the refusal
    fake.access_token, fake.refresh_token = "access-new", "refresh-new"
    c = Process(db_engine, new_locks(), fake, seed=ZaloTokens("expired", "refresh-new"))
    try:
        await c.send("u1", "đã có cặp mới")
    finally:
        await c.close()
    assert fake.delivered == [("u1", "đã có cặp mới")]
    assert len(fake.token_calls()) == 2


def test_tokens_never_show_in_a_repr() -> None:
    assert "access-1" not in repr(SEED) and "refresh-1" not in repr(SEED)
