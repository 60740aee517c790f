"""What each turn came to reaches the learning inbox (issue 14, item 2), through production's wiring.

The app is the one the server builds (factory procedures, rule-based NLU): the engine publishes each
turn to the ticket sink, which files a ``turn_outcomes`` row. A refused question ("thời tiết …", out of
scope at full confidence) and an FAQ-answered one used to leave no trace in the inbox, which read only
fallbacks and low confidences; now both are there with what the bot replied.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.handoff.tables import TurnOutcomeRow
from tests import factories as f
from tests.fakes.app import factory_app


@pytest.fixture
def app(factory_settings):
    return factory_app(factory_settings)


def outcomes(app) -> list[tuple[str, str, str]]:
    with app.adapters.sessions() as session:
        rows = session.execute(
            select(TurnOutcomeRow.question, TurnOutcomeRow.kind, TurnOutcomeRow.action).order_by(
                TurnOutcomeRow.id
            )
        ).all()
    return [tuple(r) for r in rows]


async def test_a_refusal_offers_a_way_out_and_reaches_the_inbox_with_the_reply(app) -> None:
    replies = await app.engine.handle(f.inbound("thời tiết hôm nay thế nào", chat_id="oos"))
    payloads = [b.payload for r in replies for b in r.buttons]
    assert "/request_human" in payloads and "/help" in payloads
    assert outcomes(app) == [("thời tiết hôm nay thế nào", "out_of_scope", "action_out_of_scope")]

    [item] = [i for i in app.learning.inbox() if i.text == "thời tiết hôm nay thế nào"]
    assert item.out_of_scope == 1
    assert item.count == 1
    assert item.bot_reply is not None and "chỉ trả lời được các câu hỏi về thủ tục" in item.bot_reply


async def test_an_faq_answer_reaches_the_inbox_with_the_answer_given(app) -> None:
    question = "Giờ làm việc của bộ phận một cửa"
    replies = await app.engine.handle(f.inbound(question, chat_id="faq"))
    assert replies[0].text.startswith("Dạ, Bộ phận Một cửa")
    assert outcomes(app)[-1][1:] == ("faq", "action_faq_answer")

    [item] = [i for i in app.learning.inbox() if i.text == question]
    # counted once: as FAQ-answered, or as low-confidence when the NLU was unsure of it too
    assert item.count == 1
    assert item.faq_answered + item.low_confidence + item.fallbacks == 1
    assert item.bot_reply is not None and item.bot_reply.startswith("Dạ, Bộ phận Một cửa")


async def test_answers_and_greetings_are_filed_but_stay_out_of_the_inbox(app) -> None:
    await app.engine.handle(f.inbound("xin chào", chat_id="ok"))
    await app.engine.handle(f.inbound("đăng ký kết hôn cần giấy tờ gì", chat_id="ok"))
    kinds = [kind for _, kind, _ in outcomes(app)]
    assert kinds == ["other", "answer"]
    texts = {i.text for i in app.learning.inbox()}
    assert "xin chào" not in texts and "đăng ký kết hôn cần giấy tờ gì" not in texts
