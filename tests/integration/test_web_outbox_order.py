"""The web chat's outbox shows every message once, when two processes write to one chat at once (issue 12).

The page polls for the rows after the last id it saw. On PostgreSQL a row's id is taken from a sequence
when it is inserted, so of two transactions writing to one chat the one with the lower id may commit
last; a poll between the two commits used to move past the lower id for good. Here process A's
transaction (an officer's reply) is held after its insert, before its commit, while process B (a dossier
notice) writes to the same chat and the page polls; then A commits and the page polls on from what it
saw. Every message must reach the page, in order, once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import event

from bot.channels.rest import SqlRestOutbox
from bot.core.messages import ConversationKey, OutboundMessage
from knowledge.db import make_session_factory

CHAT = "web-0123456789abcdef0123456789abcdef"


class HeldCommit:
    """Sessions whose first transaction, once its rows are inserted, waits before it commits."""

    def __init__(self, db: DbEngine) -> None:
        self.sessions = make_session_factory(db)
        self.inserted = threading.Event()
        self.commit = threading.Event()
        event.listen(self.sessions, "after_flush", self._hold)

    def _hold(self, session: Any, context: Any) -> None:
        if not self.inserted.is_set():
            self.inserted.set()
            assert self.commit.wait(timeout=10), "the test never let the transaction commit"


def message(text: str) -> OutboundMessage:
    return OutboundMessage(ConversationKey("rest", CHAT), text, sender="officer")


async def test_a_row_committed_after_a_later_id_was_polled_still_reaches_the_page(db_engine) -> None:
    held = HeldCommit(db_engine)
    process_a, process_b = SqlRestOutbox(held.sessions), SqlRestOutbox(make_session_factory(db_engine))

    first = asyncio.create_task(process_a.send(message("Tin thứ nhất")))
    assert await asyncio.to_thread(held.inserted.wait, 10)  # A's row has its id, uncommitted
    second = asyncio.create_task(process_b.send(message("Tin thứ hai")))
    await asyncio.wait({second}, timeout=1.0)  # B commits at once, or waits for A (either may be right)
    shown = await process_b.pending(CHAT, 0)  # the page polls meanwhile
    held.commit.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    after = max((int(m["custom"]["seq"]) for m in shown), default=0)
    shown += await process_b.pending(CHAT, after)

    assert [m["text"] for m in shown] == ["Tin thứ nhất", "Tin thứ hai"]
    seqs = [int(m["custom"]["seq"]) for m in shown]
    assert seqs == sorted(seqs) and len(set(seqs)) == 2
