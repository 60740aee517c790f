"""The SQL conversation store: states survive a restart, the log is redacted, both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.core.messages import Button
from bot.core.ports import MessageRecord
from bot.core.state import Continuation, ConversationState, Mode
from bot.storage.sql import MessageRow, SqlConversationStore
from knowledge.db import make_engine, make_session_factory
from tests import factories as f
from tests.conftest import pg_options


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    """The migrated database of each backend (tests/conftest.py)."""
    return db_engine


@pytest.fixture
def store(engine: Engine) -> SqlConversationStore:
    return SqlConversationStore(make_session_factory(engine))


def rich_state() -> ConversationState:
    return ConversationState(
        key=f.key("42", "zalo"),
        mode=Mode.AWAITING_CHOICE,
        procedure=f.GPXD_NEW,
        pending_intent="ask_documents",
        choices=(Button("Cấp điều chỉnh", '/choose{"procedure":"1.013226"}'),),
        fallback_streak=1,
        continuation=Continuation("documents", f.GPXD_NEW, 5),
        last_intent="ask_documents",
        last_action="action_choose_procedure",
        turns=3,
    )


def test_unknown_conversation_loads_a_fresh_state(store: SqlConversationStore) -> None:
    assert store.load(f.key("new")) == ConversationState(key=f.key("new"))


def test_state_survives_a_new_store_instance(engine: Engine) -> None:
    SqlConversationStore(make_session_factory(engine)).save(rich_state())
    engine.dispose()
    # A server restart: a new engine, a new session factory, a new store.
    fresh = make_engine(
        engine.url,
        **({"connect_args": {"options": pg_options()}} if engine.dialect.name == "postgresql" else {}),
    )
    try:
        assert SqlConversationStore(make_session_factory(fresh)).load(f.key("42", "zalo")) == rich_state()
    finally:
        fresh.dispose()


def test_save_replaces_and_keeps_one_row_per_key(store: SqlConversationStore) -> None:
    store.save(rich_state())
    store.save(rich_state().evolve(mode=Mode.WITH_OFFICER, turns=4))
    assert store.load(f.key("42", "zalo")).mode == Mode.WITH_OFFICER
    assert store.conversations_in_mode("with_officer") == [f.key("42", "zalo")]
    assert store.conversations_in_mode("answering") == []


def test_same_chat_id_on_two_channels_are_two_conversations(store: SqlConversationStore) -> None:
    store.save(ConversationState(key=f.key("7", "telegram"), procedure=f.BIRTH))
    store.save(ConversationState(key=f.key("7", "zalo"), procedure=f.MARRIAGE))
    assert store.load(f.key("7", "telegram")).procedure == f.BIRTH
    assert store.load(f.key("7", "zalo")).procedure == f.MARRIAGE


def test_log_redacts_id_and_phone_numbers(store: SqlConversationStore, engine: Engine) -> None:
    k = f.key()
    store.log(
        [
            MessageRecord(
                k, "in", "CCCD của tôi 001203004567, SĐT 0912345678", intent="nlu_fallback", confidence=0.3
            ),
            MessageRecord(
                k,
                "out",
                "Dạ, lệ phí Đăng ký kết hôn: 0 đồng",
                sender="bot",
                intent="ask_fee",
                procedure=f.MARRIAGE,
            ),
        ]
    )
    with make_session_factory(engine)() as session:
        texts = list(session.scalars(select(MessageRow.text).order_by(MessageRow.id)))
    assert "001203004567" not in texts[0] and "0912345678" not in texts[0]
    assert texts[0].endswith("*******678")
    assert texts[1] == "Dạ, lệ phí Đăng ký kết hôn: 0 đồng"


def test_recent_messages_are_the_last_ones_oldest_first(store: SqlConversationStore) -> None:
    k = f.key()
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    store.log([MessageRecord(k, "in", f"tin {i}", created_at=start + timedelta(minutes=i)) for i in range(5)])
    store.log([MessageRecord(f.key("other"), "in", "khác")])
    recent = store.recent_messages(k, limit=3)
    assert [r.text for r in recent] == ["tin 2", "tin 3", "tin 4"]
    assert recent[-1].created_at == start + timedelta(minutes=4)
    assert recent[0].key == k


def test_log_of_nothing_writes_nothing(store: SqlConversationStore) -> None:
    store.log([])
    assert store.recent_messages(f.key()) == []
