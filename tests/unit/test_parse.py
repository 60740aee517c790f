"""The typed parse: read from the NLU's Rasa-shaped dict, refused when unusable, written back the same."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.parse import Candidate, Entity, IntentScore, Parse

RASA: dict[str, Any] = {
    "text": "le phi ket hon ho so H12.22-250315-0001",
    "intent": {"name": "ask_fee", "confidence": 0.93},
    "intent_ranking": [{"name": "ask_fee", "confidence": 0.93}, {"name": "ask_documents", "confidence": 0.04}],
    "entities": [
        {"entity": "procedure", "value": "ket hon", "start": 7, "end": 14, "confidence": 1.0, "extractor": "m"},
        {"entity": "dossier_code", "value": "H12.22-250315-0001", "start": 21, "end": 39, "confidence": None,
         "extractor": "regex"},
    ],
    "procedure": {"code": "1.000894", "name": "Đăng ký kết hôn", "score": 0.96},
    "procedure_ranking": [{"code": "1.000894", "name": "Đăng ký kết hôn", "score": 0.96}],
}  # fmt: skip


def test_a_rasa_parse_reads_into_typed_fields_and_writes_back_the_same() -> None:
    parse = Parse.from_rasa(RASA)
    assert parse.intent == IntentScore("ask_fee", 0.93)
    assert parse.intent_name == "ask_fee"
    assert parse.entities[0] == Entity("procedure", "ket hon", 7, 14, 1.0, "m")
    assert parse.procedure == Candidate("1.000894", "Đăng ký kết hôn", 0.96)
    assert parse.to_rasa() == RASA


def test_entity_is_the_first_with_a_value() -> None:
    parse = Parse.from_rasa(
        {**RASA, "entities": [{"entity": "rating", "value": ""}, {"entity": "rating", "value": 4}]}
    )
    assert parse.entity("rating") == "4"
    assert parse.entity("procedure") is None


def test_missing_parts_are_empty_and_a_procedure_without_code_is_none() -> None:
    parse = Parse.from_rasa({"text": "x", "intent": {"name": "greet", "confidence": 1}, "procedure": {}})
    assert (parse.entities, parse.intent_ranking, parse.procedure, parse.procedure_ranking) == (
        (),
        (),
        None,
        (),
    )
    assert Parse.from_rasa({**RASA, "procedure": {"code": "", "score": 0.5}}).procedure is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "ask_fee",
        {"text": "x"},
        {"text": "x", "intent": "ask_fee"},
        {"text": "x", "intent": {"confidence": 0.9}},
        {"text": "x", "intent": {"name": "ask_fee", "confidence": "high"}},
        {**RASA, "entities": [{"value": "no type"}]},
        {**RASA, "entities": "procedure"},
        {**RASA, "procedure_ranking": [{"code": "1", "score": True}]},
    ],
)
def test_an_unusable_parse_is_refused(raw: Any) -> None:
    with pytest.raises(ValueError):
        Parse.from_rasa(raw)
