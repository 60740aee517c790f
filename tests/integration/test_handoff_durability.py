"""The hand-off loses nothing and repeats nothing (issue 12), on SQLite and PostgreSQL.

* A turn's outcome is filed from the turn itself: a turn of more replies than the 12 logged messages it
  used to read back keeps its question and every reply.
* A citizen's message taken again from the durable inbox (its first process died after recording it on
  the ticket) reaches the officer once.
* An escalation whose process died between the turn's commit and the ticket's write is recovered by the
  retry worker: the state the turn saved (``with_officer``) is the record; the ticket is opened with the
  conversation so far.

Citizens talk to the app production wires (``tests/integration/test_tickets.py``'s :class:`World`); the
engine of the many-replies turn is built by hand because no shipped action says 13 things at once (an
action server may).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.registry import ActionDeps, build_actions
from bot.channels.durable import DurableInboundQueue
from bot.core.domain import ActionName
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID, INBOX_TAKE
from bot.core.redact import redact
from bot.core.sdk import CollectingDispatcher, MessageDraft, Tracker
from bot.core.state import Mode
from bot.core.timeutil import utcnow
from bot.engine.engine import Engine
from bot.handoff.model import Ticket
from bot.handoff.outcomes import ANSWER
from bot.handoff.retry import DeliveryRetrier
from bot.handoff.service import TicketService
from bot.handoff.sink import InboundRecorder
from bot.handoff.tables import TurnOutcomeRow
from bot.storage.inbox import SqlInbox
from bot.storage.sql import SqlConversationStore
from tests import factories as f
from tests.fakes.interpreter import FakeInterpreter
from tests.integration.test_tickets import World


@pytest.fixture
def world(db_engine) -> World:
    return World(db_engine)


# --- the outcome of a turn of many replies -------------------------------------------------------------


class ManyReplies:
    """The fee action answering in ``count`` messages, as an external action server's may."""

    name = ActionName.FEE

    def __init__(self, count: int) -> None:
        self.count = count

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        for n in range(1, self.count + 1):
            dispatcher.send(MessageDraft("remote", f"Phần {n} của lệ phí"))
        return []


async def test_a_turn_of_thirteen_replies_is_filed_with_its_question_and_every_reply(world: World) -> None:
    sessions = world.sessions
    store = SqlConversationStore(sessions)
    actions = build_actions(ActionDeps(f.knowledge()))
    actions[ActionName.FEE] = ManyReplies(13)
    sink = world.app.engine.events  # the ticket sink the composition root built, filing the outcomes
    engine = Engine(FakeInterpreter(), f.knowledge(), store, f.catalogue(), actions, events=sink)
    key = ConversationKey("rest", "many")

    replies = await engine.handle(f.inbound("lệ phí đăng ký kết hôn bao nhiêu", "many", "rest"))

    assert [r.text for r in replies] == [f"Phần {n} của lệ phí" for n in range(1, 14)]
    assert len(store.recent_messages(key, 100)) == 14  # the question and 13 replies, as logged
    with sessions() as session:
        [row] = session.scalars(select(TurnOutcomeRow).where(TurnOutcomeRow.chat_id == "many")).all()
    assert (row.kind, row.action, row.procedure_code) == (ANSWER, ActionName.FEE, f.MARRIAGE)
    assert row.question == "lệ phí đăng ký kết hôn bao nhiêu"
    assert row.reply == "\n\n".join(f"Phần {n} của lệ phí" for n in range(1, 14))


# --- a citizen's message taken again from the inbox ---------------------------------------------------


class ProcessDied(Exception):
    """The process handling the message stopped here (``kill -9``): nothing after it ran."""


async def dies(message: InboundMessage) -> list[OutboundMessage]:
    raise ProcessDied


@pytest.mark.parametrize("recorded_first", [True, False], ids=["died-after-recording", "died-before"])
async def test_a_message_taken_again_after_its_process_died_reaches_the_ticket_once(
    world: World, recorded_first: bool
) -> None:
    key = await world.escalate("again")
    ticket = world.service.open_ticket(key)
    inbox = SqlInbox(world.sessions, clock=world.clock)
    said = "Số CCCD của tôi là 001203004567"
    assert inbox.add(InboundMessage(key, said, message_id="update-1"))

    # The first process takes the row, puts the message on the ticket (or not yet) and dies before the
    # turn commits.
    item = inbox.claim()
    assert item is not None and item.attempts == 1
    if recorded_first:
        metadata = {**item.message.metadata, INBOX_ID: item.id, INBOX_TAKE: item.attempts}
        with pytest.raises(ProcessDied):
            await InboundRecorder(world.service, dies)(replace(item.message, metadata=metadata))

    # Its lease runs out; another process takes the row again and handles it as the server does.
    world.clock.advance(inbox.lease + timedelta(seconds=1))
    queue = DurableInboundQueue(world.handle, inbox, poll_interval=0.05)
    queue.start()
    try:
        await queue.join(timeout=20)
    finally:
        await queue.stop()

    citizen = [m.text for m in world.service.messages(ticket.id) if m.sender == "citizen"]
    assert citizen.count(redact(said)) == 1  # once (masked, as the ticket keeps every citizen message)
    assert world.mode(key) == Mode.WITH_OFFICER and inbox.unfinished() == 0


# --- an escalation whose process died before the ticket was written ----------------------------------


async def recovered_by_the_retry_worker(service: TicketService, key: ConversationKey) -> Ticket | None:
    """Run the ticket service's retry worker until ``key`` has an open ticket (at most 5 s)."""
    retrier = DeliveryRetrier(service, interval=0.05)
    await retrier.start()
    try:
        for _ in range(100):
            ticket = await asyncio.to_thread(service.open_ticket, key)
            if ticket is not None:
                return ticket
            await asyncio.sleep(0.05)
        return None
    finally:
        await retrier.stop()


async def test_an_escalation_left_without_its_ticket_is_opened_by_the_retry_worker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = ConversationKey("rest", "handled")
    await world.escalate("handled")  # its ticket written after the turn, as always
    # The next escalation's turn commits, then its process stops: the sink never runs.
    monkeypatch.setattr(world.app.engine, "events", None)
    lost = await world.escalate("lost")
    assert world.mode(lost) == Mode.WITH_OFFICER and world.service.open_ticket(lost) is None

    # The retry worker of a process running two minutes later (the lost turn's grace is over).
    later = TicketService(
        world.sessions, world.store, world.app.responses, clock=lambda: utcnow() + timedelta(minutes=2)
    )
    ticket = await recovered_by_the_retry_worker(later, lost)

    assert ticket is not None
    assert (ticket.reason, ticket.procedure, ticket.status) == ("request_human", f.MARRIAGE, "waiting")
    messages = later.messages(ticket.id)
    assert [m.text for m in messages if m.sender == "citizen"] == [
        "đăng ký kết hôn cần giấy tờ gì",
        "cho tôi gặp cán bộ",
    ]
    assert messages[-1].sender == "bot"  # the promise of an officer the citizen was given
    # one ticket each: the handled escalation's is not opened again, the lost one's only once
    assert await asyncio.to_thread(later.recover_escalations) == []
    assert sorted(t.key.chat_id for t in later.list("waiting")) == ["handled", "lost"]
    assert world.service.open_ticket(handled) is not None


async def test_an_escalation_is_not_taken_as_lost_within_its_grace_nor_after_its_ticket_closed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.app.engine, "events", None)
    fresh = await world.escalate("fresh")
    now = TicketService(world.sessions, world.store, world.app.responses)  # within the 60 s grace
    assert await asyncio.to_thread(now.recover_escalations) == []

    # A ticket closed while the conversation is still with the officers (giving it back failed, or has
    # not happened yet) covers it: no second ticket.
    later = TicketService(
        world.sessions, world.store, world.app.responses, clock=lambda: utcnow() + timedelta(minutes=2)
    )
    [opened] = await asyncio.to_thread(later.recover_escalations)
    await later.claim(opened, world.lan.id)
    await later.close(opened, world.lan.id, "Đã hướng dẫn")  # no release callable: mode stays
    assert world.mode(fresh) == Mode.WITH_OFFICER
    assert await asyncio.to_thread(later.recover_escalations) == []
