"""Every refusal offers an officer and says what the bot can do (issue 10, item 4).

A refusal is each reply the policy gives instead of an answer: out of scope, not understood (with or
without candidates), the officer offer after two misses, "ask again". Each is rendered from the shipped
texts and must hold the "Gặp cán bộ" button and a sentence telling the citizen what to ask instead.
"""

from __future__ import annotations

import pytest

from bot.core.responses import parse_payload
from tests import factories as f

REFUSALS = {
    "utter_out_of_scope": "tôi chỉ trả lời được các câu hỏi về thủ tục hành chính (giấy tờ, lệ phí",
    "utter_clarify": "Có phải bạn hỏi về một trong các thủ tục sau",
    "utter_clarify_no_candidates": "bạn cần làm thủ tục gì?",
    "utter_offer_officer": "Tôi trả lời được giấy tờ, lệ phí, nơi nộp, thời gian",
    "utter_rephrase": "có tên thủ tục",
    "utter_procedure_unknown": "Bạn gõ lại tên thủ tục",
}
"""Each refusal and the words in it that say what the bot can do (or how to ask so that it can)."""


@pytest.mark.parametrize("key", sorted(REFUSALS))
def test_every_refusal_offers_an_officer_and_says_what_the_bot_can_do(key: str) -> None:
    rendered = f.catalogue().render(key)
    assert REFUSALS[key] in rendered.text
    commands = [parse_payload(b.payload) for b in rendered.buttons]
    assert ("request_human", {}) in commands, key
