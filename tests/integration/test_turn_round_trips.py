"""Round trips to PostgreSQL of one turn (issue 12, item 5): counted on the wire, bounded.

The app production wires (SQL stores, advisory locks, the ticket sink and the turn outcomes) with the
rule-based fake NLU, on a private PostgreSQL schema. A known turn of a conversation that already has
its row goes through ``App.handler`` while libpq traces the pooled connections
(``benchmarks.bench_turn_cost.WireCounter``: one ``ReadyForQuery`` per round trip); the conversation
lock's two statements on the lock connection are counted apart.

Before the cut the store's part of the turn cost 8 round trips in the pool: the read was ``BEGIN`` /
``SELECT`` / ``ROLLBACK``, the save ``BEGIN`` / ``UPDATE`` / ``SELECT id`` / ``INSERT`` / ``COMMIT`` (and
a history read, ``BEGIN`` / ``SELECT id`` / ``SELECT`` / ``ROLLBACK``, looked the id up first). Now it is
two: the state read alone, the state and the log written in one statement. The hand-off's part (the
turn's outcome; for a chat with an open ticket, the citizen's message added to it) was a transaction
each (``BEGIN`` / ``INSERT`` / ``COMMIT``; the ticket's look-up ``BEGIN`` / ``SELECT`` / ``ROLLBACK``
before): 3, and 9 with a ticket. Now it is one statement each, in autocommit, the outcome's commit
not waiting for the disk. Without ``HELPLINE_TEST_DATABASE_URL`` these tests are skipped.
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

POOL_ROUND_TRIPS_AT_MOST = 3
"""The engine's load 1 and save 1, the turn outcome's insert 1 (autocommit). With the outcome in its
own transaction (``BEGIN``, ``INSERT``, ``COMMIT``): 5; the old store: 12 (19 while the outcome was read
back from the store, before 66c0cf6)."""
WITH_TICKET_AT_MOST = 4
"""A turn of a chat whose open ticket the bot still answers (a ``negative_rating`` ticket not claimed
yet): :data:`POOL_ROUND_TRIPS_AT_MOST` and the citizen's message added to the ticket, one statement that
finds the ticket too. Before: 11 (the look-up ``BEGIN`` / ``SELECT`` / ``ROLLBACK`` and the insert
``BEGIN`` / ``INSERT`` / ``COMMIT``)."""


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


async def test_a_turn_costs_at_most_three_round_trips_in_the_pool(db_engine: Engine, tmp_path: Path) -> None:
    app = _app(db_engine)
    app.tickets.open_keys_ttl = 3600.0  # the set of chats with an open ticket: read by the first turn only
    await app.handler(InboundMessage(key=KEY, text="xin chào"))  # the conversation's row exists now
    trips, statements, replies = await _counted_turn(app, QUESTION, tmp_path)

    assert replies and "kết hôn" in replies[0].text.lower()
    lock = trips.pop("lock statement (lock connection)")
    # the save and the outcome, both one statement in autocommit (the bench's count takes every write
    # in autocommit as durable; the outcome's is not: test_the_outcome_alone_is_not_durable)
    assert trips.pop(DURABLE) <= 2
    assert lock == 2  # take and release, on the lock connection
    assert sum(trips.values()) <= POOL_ROUND_TRIPS_AT_MOST, trips
    # The conversation store: its reads without a transaction, its id never looked up apart.
    assert statements["SELECT conversations"] == 1, statements  # the engine's load
    assert trips["ROLLBACK"] == trips["BEGIN"] == trips["COMMIT"] == 0, trips  # no transaction at all
    assert trips["INSERT turn_outcomes"] == 1, trips
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


async def test_a_turn_of_a_chat_with_an_open_ticket_adds_the_message_in_one_statement(
    db_engine: Engine, tmp_path: Path
) -> None:
    """The bot still answers a chat whose ``negative_rating`` ticket waits for an officer; the citizen's
    message goes to the ticket (found and added by one ``INSERT ... SELECT``), the whole turn within
    :data:`WITH_TICKET_AT_MOST` round trips, no transaction opened; the ticket holds the message once,
    and a message of no open ticket adds nothing."""
    from bot.core.domain import TicketReason
    from bot.handoff.tables import TicketMessageRow

    app = _app(db_engine)
    app.tickets.open_keys_ttl = 3600.0
    await app.handler(InboundMessage(key=KEY, text="xin chào"))
    ticket = app.tickets.open(KEY, TicketReason.NEGATIVE_RATING)  # noted in the set of open chats
    trips, statements, replies = await _counted_turn(app, QUESTION, tmp_path)

    assert replies and "kết hôn" in replies[0].text.lower()
    assert trips.pop("lock statement (lock connection)") == 2
    trips.pop(DURABLE)
    assert sum(trips.values()) <= WITH_TICKET_AT_MOST, trips
    assert trips["ROLLBACK"] == trips["BEGIN"] == trips["COMMIT"] == 0, trips
    assert statements["INSERT ticket_messages"] == 1 and statements["SELECT tickets"] == 0, statements
    with db_engine.connect() as conn:
        texts = (
            conn.execute(
                select(TicketMessageRow.text)
                .where(TicketMessageRow.ticket_id == ticket.id, TicketMessageRow.sender == "citizen")
                .order_by(TicketMessageRow.id)
            )
            .scalars()
            .all()
        )
    assert texts == ["xin chào", QUESTION]  # the history copied at opening, then the turn's message
    app.tickets.open_keys_ttl = 0.0  # re-read: the set still holds the chat, the statement decides
    assert app.tickets.append_citizen_message(ConversationKey("rest", "no-ticket"), "alo") is None
    app.adapters.locks.close()


def test_a_message_taken_again_is_added_to_its_ticket_once(db_engine: Engine) -> None:
    """A message of an inbox row taken again (``again``) is added only when the ticket lacks it: the
    second append finds it (same time, same masked text), adds nothing and still names the ticket."""
    from datetime import UTC, datetime

    from bot.core.domain import TicketReason
    from bot.handoff.tables import TicketMessageRow

    app = _app(db_engine)
    key = ConversationKey("telegram", "again")
    ticket = app.tickets.open(key, TicketReason.REQUEST_HUMAN)
    at = datetime(2026, 12, 3, 8, 30, 0, 123456, tzinfo=UTC)
    text = "số của tôi 0912345678"
    assert app.tickets.append_citizen_message(key, text, at, again=True) == ticket.id
    assert app.tickets.append_citizen_message(key, text, at, again=True) == ticket.id
    assert app.tickets.append_citizen_message(key, "khác", at, again=True) == ticket.id
    with db_engine.connect() as conn:
        texts = (
            conn.execute(
                select(TicketMessageRow.text)
                .where(TicketMessageRow.ticket_id == ticket.id)
                .order_by(TicketMessageRow.id)
            )
            .scalars()
            .all()
        )
    assert texts == ["số của tôi *******678", "khác"]
    app.adapters.locks.close()


def test_the_outcome_alone_is_not_durable(db_engine: Engine) -> None:
    """The outcome's statement turns ``synchronous_commit`` off for its own implicit transaction only
    (its commit does not wait for the disk); the pooled connection is ``on`` again right after, for
    the conversation's and the tickets' writes."""
    from sqlalchemy import func

    from bot.core.timeutil import utcnow
    from bot.handoff.outcomes import _PG_INSERT_NOT_DURABLE
    from bot.handoff.tables import TurnOutcomeRow

    row = {
        "channel": "rest",
        "chat_id": "async",
        "created_at": utcnow(),
        "kind": "answer",
        "action": "",
        "intent": None,
        "confidence": float("nan"),
        "procedure_code": None,
        "question": "",
        "reply": "",
    }
    with db_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        seen = conn.execute(_PG_INSERT_NOT_DURABLE.returning(func.current_setting("synchronous_commit")), row)
        assert seen.scalar_one() == "off"
        assert conn.execute(select(func.current_setting("synchronous_commit"))).scalar_one() == "on"
        assert conn.execute(select(TurnOutcomeRow.kind, TurnOutcomeRow.chat_id)).all() == [
            ("answer", "async")
        ]


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
