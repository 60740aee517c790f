"""Round trips to PostgreSQL of one turn (issue 12, item 5): counted on the wire, bounded.

The app production wires (SQL stores, advisory locks, the ticket sink and the turn outcomes) with the
rule-based fake NLU, on a private PostgreSQL schema. A known turn of a conversation that already has
its row goes through ``App.handler`` while libpq traces the pooled connections
(``benchmarks.bench_turn_cost.WireCounter``: one ``ReadyForQuery`` per round trip); the conversation
lock's two statements on the lock connection are counted apart.

Before the cut the store's part of the turn cost 8 round trips in the pool: the read was ``BEGIN`` /
``SELECT`` / ``ROLLBACK``, the save ``BEGIN`` / ``UPDATE`` / ``SELECT id`` / ``INSERT`` / ``COMMIT`` (and
a history read, ``BEGIN`` / ``SELECT id`` / ``SELECT`` / ``ROLLBACK``, looked the id up first). Now it is
two: the state read alone, the state and the log written in one statement. Without
``HELPLINE_TEST_DATABASE_URL`` these tests are skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from benchmarks.bench_turn_cost import DURABLE, StatementCounter, WireCounter, count_lock_statements
from bot.app.bootstrap import App, pool_options
from bot.app.migrations import migrate
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.storage.sql import ConversationRow, MessageRow, SqlConversationStore
from knowledge.db import make_engine
from tests.conftest import PG_SKIP_REASON, PG_URL, _reset_schema, pg_options
from tests.fakes.app import factory_app, settings_for

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

KEY = ConversationKey("rest", "rt-known")
QUESTION = "đăng ký kết hôn cần giấy tờ gì"

POOL_ROUND_TRIPS_AT_MOST = 5
"""The engine's load 1 and save 1, the turn outcome's insert in its transaction 3 (``BEGIN``, ``INSERT``,
``COMMIT``). The old store: 12 (19 while the outcome was read back from the store, before 66c0cf6)."""


@pytest.fixture
def db_engine() -> Iterator[Engine]:
    """A migrated, empty private schema, on the pool production builds (``pool_options``: no ping)."""
    _reset_schema()
    engine = make_engine(PG_URL, connect_args={"options": pg_options()}, **pool_options(settings_for(PG_URL)))
    migrate(engine)
    yield engine
    engine.dispose()
    _reset_schema(drop_only=True)


def _app(db_engine: Engine) -> App:
    return factory_app(settings_for(PG_URL), db=db_engine)


async def _counted_turn(
    app: App, text: str, folder: Path
) -> tuple[Counter[str], Counter[str], list[OutboundMessage]]:
    db = app.adapters.db
    wire = WireCounter(db, folder)
    statements = StatementCounter(db)
    locks: Counter[str] = Counter()
    undo = count_lock_statements(app.adapters.locks, locks)
    wire.start()
    try:
        replies = await app.handler(InboundMessage(key=KEY, text=text))
    finally:
        trips = wire.stop()
        statements.close()
        undo()
    return trips + locks, statements.kinds, replies


async def test_a_turn_costs_at_most_five_round_trips_in_the_pool(db_engine: Engine, tmp_path: Path) -> None:
    app = _app(db_engine)
    app.tickets.open_keys_ttl = 3600.0  # the set of chats with an open ticket: read by the first turn only
    await app.handler(InboundMessage(key=KEY, text="xin chào"))  # the conversation's row exists now
    trips, statements, replies = await _counted_turn(app, QUESTION, tmp_path)

    assert replies and "kết hôn" in replies[0].text.lower()
    lock = trips.pop("lock statement (lock connection)")
    assert trips.pop(DURABLE) <= 2  # the save (one statement, autocommit) and the outcome's COMMIT
    assert lock == 2  # take and release, on the lock connection
    assert sum(trips.values()) <= POOL_ROUND_TRIPS_AT_MOST, trips
    # The conversation store: its reads without a transaction, its id never looked up apart.
    assert statements["SELECT conversations"] == 1, statements  # the engine's load
    assert trips["ROLLBACK"] == 0, trips
    assert trips["BEGIN"] <= 1, trips  # only the outcome's insert opens a transaction
    assert statements["WITH conversations"] == 1  # the state and the log: one statement
    assert statements["UPDATE conversations"] == statements["INSERT messages"] == 0

    with db_engine.connect() as conn:
        conversation = conn.execute(
            select(ConversationRow.id, ConversationRow.state).where(ConversationRow.chat_id == KEY.chat_id)
        ).one()
        logged = conn.execute(
            select(MessageRow.direction, MessageRow.text)
            .where(MessageRow.conversation_id == conversation.id)
            .order_by(MessageRow.id)
        ).all()
    assert conversation.state["turns"] == 2
    assert logged[0] == ("in", "xin chào")
    assert logged[-len(replies) - 1 :] == [("in", QUESTION)] + [("out", r.text) for r in replies]
    app.adapters.locks.close()


def test_the_one_statement_save_keeps_order_creates_the_row_and_survives_a_purge(db_engine: Engine) -> None:
    """The PostgreSQL save (upsert of the state with the log in one statement): a new chat gets its row,
    the messages keep their order, and a conversation deleted between two turns (retention) is made
    again rather than written under a stale id."""
    from bot.core.ports import MessageRecord
    from bot.core.state import ConversationState
    from knowledge.db import make_session_factory

    store = SqlConversationStore(make_session_factory(db_engine))
    key = ConversationKey("telegram", "purged")
    records = [MessageRecord(key, "in", "số CCCD 012345678901", confidence=0.5)]
    records += [MessageRecord(key, "out", f"trả lời {i}", sender="bot", intent="x") for i in range(3)]
    store.save_turn(ConversationState(key=key).evolve(turns=1), records, InboundMessage(key, ""), [])
    assert store.load(key).turns == 1
    got = store.recent_messages(key)
    assert [r.text for r in got] == ["số CCCD *********901", "trả lời 0", "trả lời 1", "trả lời 2"]
    assert [(r.direction, r.sender, r.intent) for r in got[:2]] == [
        ("in", "citizen", None),
        ("out", "bot", "x"),
    ]
    assert got[0].confidence == 0.5 and got[1].confidence is None
    assert [r.text for r in store.recent_messages(key, 2)] == ["trả lời 1", "trả lời 2"]

    with db_engine.begin() as conn:
        conn.execute(delete(ConversationRow).where(ConversationRow.chat_id == key.chat_id))  # retention
    store.save_turn(ConversationState(key=key).evolve(turns=5), records[:1], InboundMessage(key, ""), [])
    assert store.load(key).turns == 5
    assert [r.direction for r in store.recent_messages(key)] == ["in"]
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ConversationRow)).scalar() == 1


def test_a_message_logged_alone_is_one_statement_and_makes_its_row(db_engine: Engine) -> None:
    """What the engine logs while an officer has the chat (``log``): one statement on PostgreSQL, the
    conversation's row made with a fresh state when missing, the state of an existing one untouched."""
    from bot.core.ports import MessageRecord
    from bot.core.state import ConversationState, Mode
    from knowledge.db import make_session_factory

    store = SqlConversationStore(make_session_factory(db_engine))
    new, held = ConversationKey("zalo", "new"), ConversationKey("zalo", "held")
    store.save(ConversationState(key=held).evolve(mode=Mode.WITH_OFFICER, turns=3))
    statements = StatementCounter(db_engine)
    try:
        store.log([MessageRecord(new, "in", "alo 0912345678")])
        store.log([MessageRecord(held, "in", "còn đó không"), MessageRecord(held, "in", "cán bộ ơi")])
    finally:
        statements.close()
    assert statements.kinds == Counter({"WITH conversations": 2})
    assert store.load(new) == ConversationState(key=new)
    assert [r.text for r in store.recent_messages(new)] == ["alo *******678"]
    assert store.load(held).turns == 3 and store.load(held).mode == Mode.WITH_OFFICER
    assert [r.text for r in store.recent_messages(held)] == ["còn đó không", "cán bộ ơi"]


def test_a_log_racing_the_rows_creation_is_written_once(db_engine: Engine) -> None:
    """Another transaction makes the conversation's row while ``log`` runs: the one statement waits for
    it, then neither makes the row nor sees it (its snapshot is older), writes nothing, and the log
    falls back to a transaction that finds the row: the message is logged once, under that row."""
    import threading
    import time

    from sqlalchemy import insert

    from bot.core.ports import MessageRecord
    from bot.core.state import ConversationState
    from knowledge.db import make_session_factory

    store = SqlConversationStore(make_session_factory(db_engine))
    key = ConversationKey("telegram", "race")
    fresh = ConversationState(key=key)
    with db_engine.connect() as other:
        other.begin()
        other.execute(
            insert(ConversationRow).values(
                channel=key.channel, chat_id=key.chat_id, mode=fresh.mode.value, state=fresh.to_dict()
            )
        )
        statements = StatementCounter(db_engine)
        logging = threading.Thread(target=store.log, args=([MessageRecord(key, "in", "alo")],))
        logging.start()
        time.sleep(0.5)  # the log's statement is waiting on the uncommitted row now
        assert logging.is_alive()
        other.commit()
    logging.join(10)
    statements.close()
    # The one statement wrote nothing; the transaction looked the id up and wrote the message.
    assert statements.kinds == Counter(
        {"WITH conversations": 1, "SELECT conversations": 1, "INSERT messages": 1}
    )
    with db_engine.connect() as conn:
        rows = conn.execute(select(MessageRow.text, MessageRow.conversation_id)).all()
        ids = (
            conn.execute(select(ConversationRow.id).where(ConversationRow.chat_id == "race")).scalars().all()
        )
    assert len(ids) == 1 and rows == [("alo", ids[0])]
