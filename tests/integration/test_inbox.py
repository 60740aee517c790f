"""The durable inbox and outbox on both backends (bot/storage/inbox.py): stored before the answer,
deduplicated only against stored rows, taken in order per chat, taken again after a dead process's
lease, finished in the turn's own transaction, replies delivered in order per chat with retries."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID, INBOX_TAKE, MessageRecord
from bot.core.state import ConversationState
from bot.storage.inbox import InboxRow, OutboxRow, SqlInbox, SqlOutbox
from bot.storage.sql import InboxRowLost, MessageRow, SqlConversationStore
from knowledge.db import make_engine, make_session_factory
from tests.conftest import pg_options
from tests.fakes.clock import FakeClock

A = ConversationKey("telegram", "111")
B = ConversationKey("telegram", "222")


def msg(key: ConversationKey, text: str, message_id: str) -> InboundMessage:
    return InboundMessage(key=key, text=text, message_id=message_id, metadata={"telegram_message_id": 7})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def inbox(db_engine: Engine, clock: FakeClock) -> SqlInbox:
    return SqlInbox(make_session_factory(db_engine), lease=timedelta(seconds=60), max_attempts=3, clock=clock)


@pytest.fixture
def outbox(db_engine: Engine, clock: FakeClock) -> SqlOutbox:
    return SqlOutbox(make_session_factory(db_engine), lease=timedelta(seconds=120), clock=clock)


def count(engine: Engine, table: type, **where: object) -> int:
    stmt = select(func.count()).select_from(table)
    for name, value in where.items():
        stmt = stmt.where(getattr(table, name) == value)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


# --- the inbox ---------------------------------------------------------------------------------------


def test_a_redelivery_is_dropped_only_against_a_stored_row(inbox: SqlInbox, db_engine: Engine) -> None:
    assert inbox.add(msg(A, "đăng ký khai sinh", "1001"))
    assert not inbox.add(msg(A, "đăng ký khai sinh", "1001"))
    assert inbox.add(msg(ConversationKey("zalo", "111"), "đăng ký khai sinh", "1001"))  # another channel
    assert count(db_engine, InboxRow) == 2


def test_the_stored_message_comes_back_whole(inbox: SqlInbox) -> None:
    original = InboundMessage(
        key=A, text="/choose", message_id="9", sender_name="Lan Nguyễn", is_button=True, metadata={"x": [1]}
    )
    inbox.add(original)
    item = inbox.claim()
    assert item is not None and item.attempts == 1
    assert item.message == original


def test_rows_are_taken_in_order_per_chat_and_chats_in_parallel(inbox: SqlInbox) -> None:
    inbox.add(msg(A, "một", "1"))
    inbox.add(msg(A, "hai", "2"))
    inbox.add(msg(B, "ba", "3"))
    first, second = inbox.claim(), inbox.claim()
    assert first is not None and second is not None
    assert (first.message.text, second.message.text) == ("một", "ba")
    assert inbox.claim() is None  # "hai" waits until "một" is finished
    assert inbox.finish(first, [])
    third = inbox.claim()
    assert third is not None and third.message.text == "hai"
    assert inbox.unfinished() == 2


def test_a_row_of_a_dead_process_is_taken_again_after_the_lease(inbox: SqlInbox, clock: FakeClock) -> None:
    inbox.add(msg(A, "một", "1"))
    taken = inbox.claim()
    assert taken is not None
    clock.advance(timedelta(seconds=59))
    assert inbox.claim() is None  # still leased
    clock.advance(timedelta(seconds=2))
    again = inbox.claim()
    assert again is not None and again.id == taken.id and again.attempts == 2


def test_a_row_that_kills_every_process_is_set_aside_and_the_chat_goes_on(
    inbox: SqlInbox, clock: FakeClock, db_engine: Engine
) -> None:
    inbox.add(msg(A, "độc", "1"))
    inbox.add(msg(A, "tiếp", "2"))
    for _ in range(3):  # max_attempts
        assert inbox.claim() is not None
        clock.advance(timedelta(seconds=61))
    nxt = inbox.claim()
    assert nxt is not None and nxt.message.text == "tiếp"
    assert count(db_engine, InboxRow, status="failed") == 1


def test_finish_queues_the_replies_once(inbox: SqlInbox, outbox: SqlOutbox, db_engine: Engine) -> None:
    inbox.add(msg(A, "một", "1"))
    item = inbox.claim()
    assert item is not None
    replies = [
        OutboundMessage(A, "Chào bạn", buttons=(Button("Khai sinh", "/x"),)),
        OutboundMessage(A, "Hai"),
    ]
    assert inbox.finish(item, replies)
    assert not inbox.finish(item, replies)  # a second finish writes nothing
    assert count(db_engine, OutboxRow) == 2
    with db_engine.connect() as conn:
        row = conn.execute(select(InboxRow.message, InboxRow.status).where(InboxRow.id == item.id)).one()
    assert row.status == "done" and row.message is None  # the citizen's text is not kept
    first = outbox.claim_next(A)
    assert first is not None and first.message == replies[0]


def test_a_turn_and_its_inbox_row_commit_together(
    inbox: SqlInbox, outbox: SqlOutbox, db_engine: Engine
) -> None:
    store = SqlConversationStore(make_session_factory(db_engine))
    inbox.add(msg(A, "lệ phí", "1"))
    item = inbox.claim()
    assert item is not None
    message = InboundMessage(A, "lệ phí", message_id="1", metadata={INBOX_ID: item.id, INBOX_TAKE: 1})
    state = ConversationState(key=A, procedure="1.000894", turns=1)
    records = [MessageRecord(A, "in", "lệ phí"), MessageRecord(A, "out", "50.000 đồng", sender="bot")]
    reply = OutboundMessage(A, "50.000 đồng")

    store.save_turn(state, records, message, [reply])
    assert store.load(A) == state
    assert count(db_engine, MessageRow) == 2
    assert count(db_engine, InboxRow, status="done") == 1
    assert outbox.undelivered() == 1

    # The same turn again (a process that lost its lease): nothing of it is written.
    with pytest.raises(InboxRowLost):
        store.save_turn(state.evolve(turns=2), records, message, [reply])
    assert store.load(A).turns == 1
    assert count(db_engine, MessageRow) == 2
    assert outbox.undelivered() == 1


def test_a_process_whose_lease_ran_out_cannot_finish_the_row(
    inbox: SqlInbox, outbox: SqlOutbox, clock: FakeClock
) -> None:
    inbox.add(msg(A, "một", "1"))
    slow = inbox.claim()
    assert slow is not None
    clock.advance(timedelta(seconds=61))
    fresh = inbox.claim()  # the slow process is thought dead: another takes the row
    assert fresh is not None and fresh.id == slow.id
    assert not inbox.finish(slow, [OutboundMessage(A, "trả lời muộn")])
    assert inbox.finish(fresh, [OutboundMessage(A, "trả lời")])
    item = outbox.claim_next(A)
    assert item is not None and item.message.text == "trả lời"
    assert outbox.undelivered() == 1


def test_prune_keeps_what_is_unfinished_and_what_is_recent(db_engine: Engine, clock: FakeClock) -> None:
    inbox = SqlInbox(make_session_factory(db_engine), keep=timedelta(days=7), clock=clock)
    inbox.add(msg(A, "cũ", "1"))
    inbox.add(msg(B, "chưa xong", "2"))
    old = inbox.claim()
    assert old is not None and inbox.finish(old, [])
    clock.advance(timedelta(days=8))
    inbox.add(msg(A, "mới", "3"))
    assert inbox.prune() == 1
    assert inbox.unfinished() == 2
    assert not inbox.add(msg(B, "chưa xong", "2"))  # still recognised


# --- the outbox --------------------------------------------------------------------------------------


def queued(outbox: SqlOutbox, *texts: str, key: ConversationKey = A) -> None:
    outbox.put([OutboundMessage(key, t) for t in texts])


def test_replies_go_in_order_and_a_retry_holds_the_chat_back(outbox: SqlOutbox, clock: FakeClock) -> None:
    queued(outbox, "một", "hai")
    queued(outbox, "khác", key=B)
    assert set(outbox.due_chats()) == {A, B}
    first = outbox.claim_next(A)
    assert first is not None and first.message.text == "một"
    assert outbox.claim_next(A) is None  # leased: not twice at once
    outbox.retry_at(first.id, clock.now + timedelta(seconds=10), "Telegram flood control")
    assert outbox.claim_next(A) is None  # "hai" waits behind "một"
    assert outbox.due_chats() == [B]
    clock.advance(timedelta(seconds=10))
    again = outbox.claim_next(A)
    assert again is not None and again.id == first.id and again.attempts == 2
    outbox.sent(again.id)
    second = outbox.claim_next(A)
    assert second is not None and second.message.text == "hai"


def test_a_final_refusal_sets_the_reply_aside(outbox: SqlOutbox, db_engine: Engine) -> None:
    queued(outbox, "bị chặn", "tiếp")
    first = outbox.claim_next(A)
    assert first is not None
    outbox.failed(first.id, "Forbidden: bot was blocked by the user 0912345678")
    nxt = outbox.claim_next(A)
    assert nxt is not None and nxt.message.text == "tiếp"
    with db_engine.connect() as conn:
        error = conn.execute(select(OutboxRow.last_error).where(OutboxRow.id == first.id)).scalar()
    assert error is not None and "0912345678" not in error


def test_a_sender_that_died_is_replaced_after_the_lease(outbox: SqlOutbox, clock: FakeClock) -> None:
    queued(outbox, "một")
    assert outbox.claim_next(A) is not None
    clock.advance(timedelta(seconds=121))
    again = outbox.claim_next(A)
    assert again is not None and again.attempts == 2


# --- several processes -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_takers_never_share_a_row_nor_a_chat(db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite is the one-process default; several takers are a PostgreSQL deployment")
    chats = [ConversationKey("telegram", str(i)) for i in range(10)]
    setup = SqlInbox(make_session_factory(db_engine))
    for n in range(60):
        setup.add(msg(chats[n % 10], f"tin {n}", str(n)))

    taken: list[tuple[int, str, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        engine = make_engine(db_engine.url, connect_args={"options": pg_options()})
        inbox = SqlInbox(make_session_factory(engine))
        try:
            while (item := inbox.claim()) is not None:
                with lock:
                    busy = [t for t in taken if t[1] == item.message.key.chat_id and t[2] == "taken"]
                    assert not busy, f"chat {item.message.key.chat_id} taken twice at once"
                    taken.append((item.id, item.message.key.chat_id, "taken"))
                with lock:  # marked before the row is finished: the chat's next row cannot be taken sooner
                    entry = (item.id, item.message.key.chat_id, "taken")
                    taken[taken.index(entry)] = (item.id, item.message.key.chat_id, "done")
                inbox.finish(item, [])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [t[0] for t in taken]
    assert len(ids) == 60 and len(set(ids)) == 60
    for chat in chats:  # each chat's rows in the order they were stored
        mine = [t[0] for t in taken if t[1] == chat.chat_id]
        assert mine == sorted(mine)


async def test_a_superseded_turn_says_and_writes_nothing(factory_settings) -> None:
    """The engine's turn for a row another process has taken since (this one's lease ran out) rolls back
    whole and answers nothing: the apology path would overwrite the other process's state."""
    from tests.fakes.app import factory_app

    app = factory_app(factory_settings)
    sessions = app.adapters.sessions
    inbox = SqlInbox(sessions)
    inbox.add(msg(A, "xin chào", "9"))
    slow = inbox.claim()
    assert slow is not None
    later = SqlInbox(sessions, clock=lambda: slow.message.received_at + timedelta(minutes=5))
    assert later.claim() is not None  # taken over
    message = InboundMessage(A, "xin chào", message_id="9", metadata={INBOX_ID: slow.id, INBOX_TAKE: 1})
    assert await app.engine.handle(message) == []
    assert app.adapters.conversations.load(A).turns == 0
    assert app.adapters.conversations.recent_messages(A) == []
    assert SqlOutbox(sessions).undelivered() == 0
