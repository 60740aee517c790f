"""The domain signal (nlu/domain.py) and the fallback's reply to a question outside the domain
(actions/fallback.py)."""

from __future__ import annotations

from typing import Any

import pytest

import actions.fallback as fallback
import nlu.domain as domain
from actions.fallback import ClarifyAction
from bot.core.events import FallbackCounted, ModeChanged
from bot.core.parse import Parse
from bot.core.state import Mode
from nlu.component import REGISTRY
from nlu.domain import DomainClassifier
from nlu.message import Message
from tests import factories as f
from tests.unit.test_nlu_asking_new import ASKING, NORMALIZER  # the same test normalizer and asking clause

DOMAIN = DomainClassifier()


def read(
    text: str,
    intent: str = "ask_fee",
    mention: str | None = None,
    code: str = f.BIRTH,
    component: DomainClassifier = DOMAIN,
) -> Message:
    """``text`` through the normalizer, the asking clause and the domain, with ``intent`` classified and,
    when ``mention`` is given, that phrase of the text named as procedure ``code`` (the linked one)."""
    msg = Message.build(text)
    NORMALIZER.process(msg)
    ASKING.process(msg)
    msg.intent = {"name": intent, "confidence": 0.9}
    msg.intent_ranking = [dict(msg.intent), {"name": "out_of_scope", "confidence": 0.05}]
    if mention is not None:
        start = text.index(mention)
        msg.entities.append(
            {
                "entity": "procedure",
                "value": mention,
                "start": start,
                "end": start + len(mention),
                "codes": [code],
            }
        )
        msg.procedure = {"code": code, "name": "Thủ tục đăng ký khai sinh", "score": 0.8}
        msg.procedure_ranking = [dict(msg.procedure)]
    component.process(msg)
    return msg


def signal(msg: Message) -> tuple[str, float]:
    (ent,) = [e for e in msg.entities if e["entity"] == "domain"]
    return str(ent["value"]), float(ent["confidence"])


# --------------------------------------------------------------------------------------------- NLU


def test_registered_for_config_yml() -> None:
    import nlu.pipeline  # noqa: F401 - imports every built-in component

    assert REGISTRY["DomainClassifier"] is DomainClassifier


@pytest.mark.parametrize(
    ("text", "kinds", "confidence"),
    [
        # a penalty asked as a fee: penalty (0.85)
        ("Không đăng ký tạm trú thì bị phạt bao nhiêu tiền?", ["penalty"], 0.85),
        # a legal opinion on a situation, read here, and "vi phạm" of the asking clause: the heavier
        # kind (penalty, 0.85) + 0.1 for the second
        (
            "Chủ nhà giữ căn cước của tôi như vậy có vi phạm pháp luật không?",
            ["penalty", "legal_opinion"],
            0.95,
        ),
        # a rule of entitlement, without diacritics
        ("nhung truong hop nao duoc hoan tra le phi", ["entitlement"], 0.7),
    ],
)
def test_questions_about_no_procedure_become_out_of_scope(
    text: str, kinds: list[str], confidence: float
) -> None:
    msg = read(text)
    assert signal(msg) == ("not_procedure", confidence)
    assert msg.diagnostics["domain"]["kinds"] == kinds
    assert msg.intent == {"name": "out_of_scope", "confidence": max(0.9, confidence)}
    assert msg.intent_ranking[0]["name"] == "out_of_scope"
    assert [r["name"] for r in msg.intent_ranking].count("out_of_scope") == 1
    # the kinds read here are entities too, for the reply to say what was asked
    assert {e["value"] for e in msg.entities if e["entity"] == "not_procedure"} >= set(kinds)


def test_a_practical_part_asked_keeps_the_procedure_question() -> None:
    # penalty 0.85 - 0.35 (documents asked by an interrogative) = 0.5 < 0.6
    msg = read("Lỡ quá hạn bị phạt rồi, giờ đăng ký tạm trú cần giấy tờ gì?", intent="ask_documents")
    assert signal(msg) == ("procedure", 0.5)
    assert msg.intent is not None and msg.intent["name"] == "ask_documents"


def test_a_plain_procedure_question() -> None:
    msg = read("Làm giấy khai sinh cho con cần giấy tờ gì?", intent="ask_documents", mention="giấy khai sinh")
    assert signal(msg) == ("procedure", 1.0)
    assert msg.intent is not None and msg.intent["name"] == "ask_documents"


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("xin giấy khám sức khỏe để thi bằng lái ở đâu", "thi bằng lái"),
        ("mat giay chung sinh cua be truoc khi lam khai sinh thi xin cap lai o dau", "lam khai sinh"),
        ("Học bạ ghi sai tên so với giấy khai sinh thì sửa ở đâu?", "giấy khai sinh"),
    ],
)
def test_a_procedure_named_only_as_context_is_another_procedure(text: str, mention: str) -> None:
    msg = read(text, intent="ask_where", mention=mention)
    assert signal(msg) == ("other_procedure", 0.7)
    assert msg.diagnostics["domain"]["kinds"] == ["side_mention"]
    assert msg.intent is not None and msg.intent["name"] == "out_of_scope"


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        # nothing of its own outside the clause
        ("Tôi muốn hỏi để làm khai sinh thì cần gì?", "làm khai sinh"),
        # "de nghi" typed without diacritics is "đề nghị", not "để"
        ("mau giay de nghi dang ky khai sinh", "dang ky khai sinh"),
        # the procedure is named in the main clause as well
        ("Đăng ký khai sinh cho con để đi học thì làm ở đâu?", "Đăng ký khai sinh"),
    ],
)
def test_a_procedure_named_in_the_main_clause_stays(text: str, mention: str) -> None:
    msg = read(text, intent="ask_where", mention=mention)
    assert signal(msg)[0] == "procedure"
    assert msg.intent is not None and msg.intent["name"] == "ask_where"


def test_only_questions_about_a_part_are_overridden() -> None:
    msg = read("bị phạt bao nhiêu", intent="give_feedback")
    assert signal(msg)[0] == "not_procedure"
    assert msg.intent is not None and msg.intent["name"] == "give_feedback"


def test_switches() -> None:
    off = read("bị phạt bao nhiêu tiền", component=DomainClassifier({"enabled": False}))
    assert not [e for e in off.entities if e["entity"] == "domain"]
    assert off.intent is not None and off.intent["name"] == "ask_fee"
    kept = read("bị phạt bao nhiêu tiền", component=DomainClassifier({"override_intent": False}))
    assert signal(kept)[0] == "not_procedure"
    assert kept.intent is not None and kept.intent["name"] == "ask_fee"
    strict = read("bị phạt bao nhiêu tiền", component=DomainClassifier({"threshold": 0.9}))
    assert signal(strict) == ("procedure", 0.15)


# ------------------------------------------------------------------------------------------ action


def test_the_action_reads_the_nlus_vocabulary() -> None:
    assert (fallback.DOMAIN_ENTITY, fallback.NOT_PROCEDURE, fallback.OTHER_PROCEDURE) == (
        domain.DOMAIN_ENTITY,
        domain.NOT_PROCEDURE,
        domain.OTHER_PROCEDURE,
    )
    assert set(fallback.KIND_PARTS) == set(domain.DEFAULT_WEIGHTS)


def _parse(value: str, kinds: list[str], ranking: list[tuple[str, float, str]]) -> Parse:
    entities: list[dict[str, Any]] = [{"entity": "domain", "value": value, "confidence": 0.85}]
    entities += [{"entity": "not_procedure", "value": k, "confidence": 1.0} for k in kinds]
    cands = [{"code": c, "name": n, "score": s} for c, s, n in ranking]
    return Parse.from_rasa(
        {
            "text": "…",
            "intent": {"name": "out_of_scope", "confidence": 0.85},
            "entities": entities,
            "procedure": cands[0] if cands else None,
            "procedure_ranking": cands,
        }
    )


async def test_not_a_procedure_question_says_so_and_offers_an_officer() -> None:
    parse = _parse("not_procedure", ["penalty"], [(f.BIRTH, 0.7, "Thủ tục đăng ký khai sinh")])
    drafts, events = await f.run_action(ClarifyAction(f.knowledge()), f.tracker(parse))
    assert [d.response for d in drafts] == ["utter_not_procedure"]
    (draft,) = drafts
    assert "mức phạt" in draft.text and "không phải một thủ tục hành chính" in draft.text
    assert "giấy tờ, lệ phí, nơi nộp" in draft.text  # what the bot can do
    assert [b.payload for b in draft.buttons] == [
        '/choose{"procedure":"1.001193"}',
        "/request_human",
        "/help",
    ]
    assert draft.links == (("Tìm trên Cổng Dịch vụ công", "https://dichvucong.gov.vn"),)
    assert events == [FallbackCounted(1, "out_of_scope"), ModeChanged(Mode.AWAITING_CHOICE)]


async def test_another_procedure_names_the_agency_of_a_catalogue_only_candidate() -> None:
    catalogue = f.catalogue_only_procedure()
    parse = _parse(
        "other_procedure",
        [],
        [(f.BIRTH, 0.8, "Thủ tục đăng ký khai sinh"), (catalogue.code, 0.65, catalogue.name)],
    )
    knowledge = f.knowledge(f.birth_registration(), catalogue)
    drafts, events = await f.run_action(ClarifyAction(knowledge), f.tracker(parse))
    (draft,) = drafts
    assert draft.response == "utter_asked_other_procedure"
    assert "không phải thủ tục Đăng ký khai sinh" in draft.text
    assert "cơ quan phụ trách: Sở Giáo dục và Đào tạo" in draft.text
    assert draft.links == (("Tìm trên Cổng Dịch vụ công", "https://dichvucong.gov.vn"),)
    assert draft.buttons[-1].payload == "/request_human"
    assert [b.payload for b in draft.buttons[:2]] == [
        '/choose{"procedure":"1.001193"}',
        '/choose{"procedure":"1.000031"}',
    ]
    assert events == [FallbackCounted(1, "out_of_scope"), ModeChanged(Mode.AWAITING_CHOICE)]


async def test_without_knowledge_or_candidates_no_agency_and_no_choice() -> None:
    parse = _parse("not_procedure", ["amount"], [])
    drafts, events = await f.run_action(ClarifyAction(), f.tracker(parse))
    (draft,) = drafts
    assert "số tiền được hưởng" in draft.text and "chọn ở đây" not in draft.text
    assert [b.payload for b in draft.buttons] == ["/request_human", "/help"]
    assert events == [FallbackCounted(1, "out_of_scope")]
