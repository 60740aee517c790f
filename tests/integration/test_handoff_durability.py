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

import pytest
from sqlalchemy import select

from actions.registry import ActionDeps, build_actions
from bot.core.domain import ActionName
from bot.core.messages import ConversationKey
from bot.core.sdk import CollectingDispatcher, MessageDraft, Tracker
from bot.engine.engine import Engine
from bot.handoff.outcomes import ANSWER
from bot.handoff.tables import TurnOutcomeRow
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
