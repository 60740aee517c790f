"""The outbox's lease under a backlog (issue 12): a reply is leased only when its sender is about to
hand it to the platform, not while it waits for one of the sender's slots.

Found by benchmarks/bench_inbox_soak.py (two worker processes, 100 updates/s over the three webhooks
on a loaded machine): every due chat's task leased its reply at once and then queued for one of the 8
slots; the queue outlasted the lease, the other process took the same replies again, and 835 of 1,000
chats were answered twice although no process had died.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine

from bot.channels.durable import OutboxSender
from bot.core.messages import ConversationKey, OutboundMessage
from bot.storage.inbox import SqlOutbox
from knowledge.db import make_session_factory
from tests.fakes.clock import FakeClock

CHATS = [ConversationKey("zalo_bot", c) for c in ("a", "b", "c")]


async def test_a_reply_waiting_for_a_slot_is_not_leased_so_another_process_cannot_send_it_too(
    db_engine: Engine,
) -> None:
    clock = FakeClock()
    sessions = make_session_factory(db_engine)
    lease = timedelta(seconds=10)
    delivered: Counter[str] = Counter()
    gate = asyncio.Event()

    async def slow(message: OutboundMessage) -> None:  # the busy process: its one slot is taken by "a"
        delivered[message.key.chat_id] += 1
        await gate.wait()

    async def quick(message: OutboundMessage) -> None:  # the other process
        delivered[message.key.chat_id] += 1

    busy = OutboxSender(SqlOutbox(sessions, lease=lease, clock=clock), slow, parallel=1, clock=clock)
    other = OutboxSender(SqlOutbox(sessions, lease=lease, clock=clock), quick, parallel=8, clock=clock)
    SqlOutbox(sessions, clock=clock).put([OutboundMessage(key, f"Trả lời {key.chat_id}") for key in CHATS])

    assert await busy.send_due() == 3  # a task per chat; "a" holds the only slot, "b" and "c" wait
    async with asyncio.timeout(5):
        while not delivered:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # "b" and "c" are queued for the slot by now

    clock.advance(lease + timedelta(seconds=1))  # the queue outlasted a lease
    await other.flush(timeout=5)  # "b" and "c" were due and free: the other process sends them
    gate.set()  # the busy process's slot frees up
    await busy.flush(timeout=5)
    await busy.stop()
    await other.stop()

    # "a" was being handed to the platform for longer than its lease: sent again, by design (the lease
    # is longer than one send). "b" and "c" never left the queue of the busy process: once each.
    assert delivered["b"] == 1 and delivered["c"] == 1, dict(delivered)
    assert SqlOutbox(sessions, clock=clock).undelivered() == 0
