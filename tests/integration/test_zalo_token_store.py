"""The Zalo OA tokens in the database every process shares (bot/storage/zalo_tokens.py), against the fake
OA whose refresh tokens are single-use (tests/fakes/zalo.py), on SQLite and PostgreSQL.

Each "process" is a channel with a store of its own over the one database. On PostgreSQL each also has
its own lock connection (``PgLocks``), so the refresh lock really excludes across connections as it does
across processes; on SQLite, which is one process, they share that process's ``LocalLocks``.
Every test here fails with the former per-process ``InMemoryTokenStore``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.channels.base import DeliveryError
from bot.channels.zalo_oa import ZaloOAChannel, ZaloOASettings, ZaloTokens
from bot.core.coordination import LocalLocks
from bot.core.ports import Locks
from bot.storage.coordination import PgLocks
from bot.storage.zalo_tokens import SqlZaloTokenStore, ZaloTokenRow, _pair_digest
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

    def __init__(
        self,
        db: Engine,
        locks: Locks,
        fake: FakeZaloOA,
        seed: ZaloTokens = SEED,
        app_secret_key: str | None = None,
    ) -> None:
        secret = fake.app_secret_key if app_secret_key is None else app_secret_key

        async def no_wait(_: float) -> None:
            return None

        self.store = SqlZaloTokenStore(
            make_session_factory(db), locks, APP_ID, seed, app_secret_key=secret, sleep=no_wait
        )
        self.client = httpx.AsyncClient(transport=fake.transport)
        settings = ZaloOASettings(app_id=APP_ID, oa_secret_key="oa-secret", app_secret_key=secret)

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


def _rows(db: Engine) -> list[tuple[str, str, str]]:
    with make_session_factory(db)() as session:
        return [(r.app_id, r.access_token, r.refresh_token) for r in session.scalars(select(ZaloTokenRow))]


async def test_two_first_seeds_at_once_make_one_row_and_raise_nothing(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    a, b = Process(db_engine, new_locks(), fake), Process(db_engine, new_locks(), fake)
    both_inserting = threading.Barrier(2, timeout=5)

    def meet_before_the_insert(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO ZALO_OA_TOKENS"):
            both_inserting.wait()  # both processes found no row and insert now

    event.listen(db_engine, "before_cursor_execute", meet_before_the_insert)
    try:
        loaded = await asyncio.gather(a.store.load(), b.store.load())
    finally:
        event.remove(db_engine, "before_cursor_execute", meet_before_the_insert)
        await a.close()
        await b.close()
    assert not both_inserting.broken  # the two inserts did race
    assert loaded == [SEED, SEED]
    assert _rows(db_engine) == [(APP_ID, "access-1", "refresh-1")]


def test_a_database_error_shows_no_parameter_values(db_engine: Engine) -> None:
    def row(access: str) -> ZaloTokenRow:
        return ZaloTokenRow(
            app_id=APP_ID,
            access_token=access,
            refresh_token="refresh-secret-7f3a",
            generation=1,
            seed_digest="d",
            seen_digests="",
        )

    sessions = make_session_factory(db_engine)
    with sessions.begin() as session:
        session.add(row("access-secret-9c1e"))
    with pytest.raises(IntegrityError) as caught, sessions.begin() as session:
        session.add(row("access-secret-2b7d"))
    message = str(caught.value)
    assert "INSERT INTO zalo_oa_tokens" in message  # the statement is there, its values are not
    for secret in ("access-secret-2b7d", "refresh-secret-7f3a"):
        assert secret not in message


class FailingWrites:
    """Makes the next ``count`` writes of the token row fail as a database outage would."""

    def __init__(self, db: Engine, count: int) -> None:
        self.db, self.left = db, count
        event.listen(db, "before_cursor_execute", self._fail)

    def _fail(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.left > 0 and statement.lstrip().upper().startswith("UPDATE ZALO_OA_TOKENS"):
            self.left -= 1
            raise OperationalError(statement, None, Exception("the database is unreachable"))

    def stop(self) -> None:
        event.remove(self.db, "before_cursor_execute", self._fail)


async def _refresh_while_writes_fail(
    process: Process, fake: FakeZaloOA, failing: FailingWrites, *texts: str
) -> FailingWrites:
    """One send, then the access token expires and ``texts`` are sent while ``failing`` holds."""
    try:
        await process.send("u1", "trước")
        fake.expire_token_once()
        for text in texts:
            await process.send("u1", text)
    finally:
        failing.stop()
    return failing


async def test_a_refreshed_pair_is_saved_again_when_the_database_write_fails(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    a = Process(db_engine, new_locks(), fake)
    try:
        failing = await _refresh_while_writes_fail(a, fake, FailingWrites(db_engine, 2), "ghi lỗi hai lần")
    finally:
        await a.close()
    assert failing.left == 0
    assert _rows(db_engine) == [(APP_ID, "access-2", "refresh-2")]  # Zalo spent refresh-1: kept
    assert len(fake.delivered) == 2


async def test_a_pair_the_database_never_took_is_kept_and_logged_without_the_tokens(
    db_engine: Engine, new_locks: Callable[[], Locks], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    a = Process(db_engine, new_locks(), fake)
    try:
        with caplog.at_level(logging.DEBUG):
            failing = FailingWrites(db_engine, 1000)
            await _refresh_while_writes_fail(a, fake, failing, "không ghi được", "vẫn dùng cặp mới")
        assert _rows(db_engine) == [(APP_ID, "access-1", "refresh-1")]
        await a.send("u1", "cơ sở dữ liệu đã ghi lại được")
    finally:
        await a.close()
    assert len(fake.token_calls()) == 1
    assert [c.headers["access_token"] for c in fake.message_calls()][-3:] == ["access-2"] * 3
    assert _rows(db_engine) == [(APP_ID, "access-2", "refresh-2")]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(APP_ID in m and "not saved" in m for m in errors)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "access-2" not in logged and "refresh-2" not in logged


async def test_a_wrong_app_secret_key_does_not_mark_the_pair_refused(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    fake.answer_wrong_secret_with(-14003, "Invalid parameter")
    wrong = Process(db_engine, new_locks(), fake, app_secret_key="typo-secret")
    try:
        fake.expire_token_once()
        with pytest.raises(DeliveryError) as caught:
            await wrong.send("u1", "khóa bí mật sai")
    finally:
        await wrong.close()
    assert caught.value.retryable is False
    assert (await wrong.store.load()).refused_at is None
    fixed = Process(db_engine, new_locks(), fake)  # restarted with the right key, same pair
    try:
        await fixed.send("u1", "khóa bí mật đúng")
    finally:
        await fixed.close()
    assert [c.body["refresh_token"] for c in fake.token_calls()] == ["refresh-1", "refresh-1"]
    assert fake.delivered == [("u1", "khóa bí mật đúng")]


async def test_another_app_secret_key_in_the_settings_clears_a_refusal(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)  # answers a wrong key with the refresh-token error, -14014
    wrong = Process(db_engine, new_locks(), fake, app_secret_key="typo-secret")
    again = Process(db_engine, new_locks(), fake, app_secret_key="typo-secret")
    try:
        fake.expire_token_once()
        for process in (wrong, again):  # a restart with the same settings does not ask again
            with pytest.raises(DeliveryError):
                await process.send("u1", "bị từ chối")
    finally:
        await wrong.close()
        await again.close()
    assert len(fake.token_calls()) == 1
    assert (await again.store.load()).refused_at is not None
    fixed = Process(db_engine, new_locks(), fake)  # the same pair, the right key
    try:
        await fixed.send("u1", "khóa đã sửa")
    finally:
        await fixed.close()
    assert [c.body["refresh_token"] for c in fake.token_calls()] == ["refresh-1", "refresh-1"]
    assert fake.delivered == [("u1", "khóa đã sửa")]
    assert (await fixed.store.load()).refused_at is None


async def test_a_process_with_older_settings_keeps_the_newer_pair(
    db_engine: Engine, new_locks: Callable[[], Locks]
) -> None:
    fake = FakeZaloOA(app_id=APP_ID)
    old = Process(db_engine, new_locks(), fake)
    try:
        await old.send("u1", "cặp cũ")
    finally:
        await old.close()
    # rolling deploy: the operator issued a new pair; the new release's settings carry it
    fake.access_token, fake.refresh_token = "access-new", "refresh-new"
    new = Process(db_engine, new_locks(), fake, seed=ZaloTokens("access-new", "refresh-new"))
    try:
        await new.send("u1", "cặp mới")
    finally:
        await new.close()
    # a process of the old release (re)starts meanwhile, with the old settings
    old_again = Process(db_engine, new_locks(), fake)
    try:
        await old_again.send("u1", "tiến trình cũ khởi động lại")
    finally:
        await old_again.close()
    assert [c.headers["access_token"] for c in fake.message_calls()] == ["access-1"] + ["access-new"] * 2
    assert fake.token_calls() == []
    assert _rows(db_engine) == [(APP_ID, "access-new", "refresh-new")]


def test_tokens_never_show_in_a_repr() -> None:
    assert "access-1" not in repr(SEED) and "refresh-1" not in repr(SEED)


def test_migration_0013_keeps_the_pair_a_row_has_seen(db_engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.app.migrations import alembic_config, migrate

    command.downgrade(alembic_config(db_engine), "0012")
    with db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO zalo_oa_tokens (app_id, access_token, refresh_token, generation, seed_digest,"
                " updated_at) VALUES (:app, 'access-3', 'refresh-3', 3, :digest, CURRENT_TIMESTAMP)"
            ),
            {"app": APP_ID, "digest": _pair_digest(SEED)},
        )
    migrate(db_engine)
    with make_session_factory(db_engine)() as session:
        row = session.get(ZaloTokenRow, APP_ID)
        assert row is not None and row.seen_digests == _pair_digest(SEED)
    # a restart with the settings that seeded it keeps the refreshed pair
    store = SqlZaloTokenStore(make_session_factory(db_engine), LocalLocks(), APP_ID, SEED)
    assert asyncio.run(store.load()).access_token == "access-3"
