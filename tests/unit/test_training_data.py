"""Rasa 3 YAML NLU training data: parsing, annotations, tables, errors with line context, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.training_data import (
    EntitySpan,
    TrainingDataError,
    annotate,
    dump_training_data,
    load_training_data,
    parse_annotated,
    parse_training_data,
    write_training_data,
)

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "nlu" / "nlu.yml"

SAMPLE = """version: "3.1"
nlu:
- intent: ask_documents
  examples: |
    - làm [giấy phép xây dựng](procedure) cần giấy tờ gì
    - [gplx]{"entity": "procedure", "value": "giấy phép lái xe"} hết hạn đổi ở đâu
    - [gplx](procedure:giấy phép lái xe) hết hạn
- intent: greet
  metadata:
    source: editor
  examples:
    - text: xin chào
    - chào bạn
- synonym: giấy phép lái xe
  examples: |
    - bằng lái
- regex: dossier_code
  examples: |
    - \\d{3}\\.\\d{2}\\.\\d{2}\\.H\\d{2}-\\d{6}-\\d{4}
- lookup: procedure
  examples: |
    - giấy khai sinh
    - sổ đỏ
"""


def test_examples_and_entity_spans_are_parsed() -> None:
    data = parse_training_data(SAMPLE)
    first, second, third = data.examples[:3]
    assert first.text == "làm giấy phép xây dựng cần giấy tờ gì"
    assert first.entities == (EntitySpan(4, 22, "procedure", "giấy phép xây dựng"),)
    assert first.text[4:22] == "giấy phép xây dựng"
    assert second.text == "gplx hết hạn đổi ở đâu"
    assert second.entities[0].value == "giấy phép lái xe"
    assert third.entities[0] == EntitySpan(0, 4, "procedure", "giấy phép lái xe")
    assert data.intents == ["ask_documents", "greet"]
    assert data.entity_types == ["procedure"]
    assert data.counts() == {"ask_documents": 3, "greet": 2}


def test_list_examples_and_metadata() -> None:
    data = parse_training_data(SAMPLE)
    greet = [ex for ex in data.examples if ex.intent == "greet"]
    assert [ex.text for ex in greet] == ["xin chào", "chào bạn"]
    assert greet[0].metadata == {"source": "editor"}


def test_synonyms_regexes_lookups() -> None:
    data = parse_training_data(SAMPLE)
    # explicit synonym plus the one implied by the annotation whose value differs from its text
    assert data.synonyms == {"giấy phép lái xe": ["gplx", "bằng lái"]}
    assert data.synonym_map()["bằng lái"] == "giấy phép lái xe"
    assert data.regexes == {"dossier_code": [r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}"]}
    assert data.lookups == {"procedure": ["giấy khai sinh", "sổ đỏ"]}


def test_annotation_with_role_and_group_round_trips() -> None:
    text = '[Hà Nội]{"entity": "city", "role": "from"} đến [Huế](city)'
    plain, spans = parse_annotated(text)
    assert plain == "Hà Nội đến Huế"
    assert spans[0] == EntitySpan(0, 6, "city", "Hà Nội", role="from")
    assert annotate(plain, spans) == text


def test_round_trip_through_the_writer(tmp_path: Path) -> None:
    data = parse_training_data(SAMPLE)
    again = parse_training_data(dump_training_data(data))
    assert again == data
    write_training_data(data, tmp_path / "out" / "nlu.yml")
    assert load_training_data(tmp_path / "out") == data


def test_fixture_file_loads() -> None:
    data = load_training_data(FIXTURE)
    assert "ask_documents" in data.intents
    assert parse_training_data(dump_training_data(data)) == data


def test_duplicate_text_under_two_intents_is_a_warning() -> None:
    text = "nlu:\n- intent: a\n  examples: |\n    - xin chào\n- intent: b\n  examples: |\n    - Xin chào\n"
    data = parse_training_data(text, "dup.yml")
    assert len(data.warnings) == 1
    assert "dup.yml:7" in data.warnings[0]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("nlu:\n- intent: x\n  examples: |\n    - a\n    b\n", 5, "must start with '- '"),
        ('nlu:\n- intent: x\n  examples: |\n    - ok\n    - [a]{"entity": }\n', 5, "not valid JSON"),
        ('nlu:\n- intent: x\n  examples: |\n    - [a]{"value": "b"}\n', 4, '"entity"'),
        ("nlu:\n- intnt: x\n  examples: |\n    - a\n", 2, "unknown key"),
        ("nlu:\n- intent: x\n", 2, "no 'examples'"),
        ("nlu:\n- intent: x\n  regex: y\n  examples: |\n    - a\n", 2, "exactly one"),
        ("nlu:\n- regex: r\n  examples: |\n    - ([a-z\n", 4, "invalid pattern"),
        ("nlu:\n- intent: x\n  examples: |\n    - [a](bad name)\n", 4, "bad entity name"),
        ("nlu:\n  - intent: x\n   examples: |\n", 3, "invalid YAML"),
        ('version: "2.0"\nnlu: []\n', 1, "unsupported"),
        ("nlu: {}\n", 1, "must be a list"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(TrainingDataError) as info:
        parse_training_data(text, "bad.yml")
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"bad.yml:{line}:")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="cannot read"):
        load_training_data(tmp_path / "nope.yml")


def test_writer_refuses_multiline_text() -> None:
    data = parse_training_data(SAMPLE)
    data.lookups["x"] = ["two\nlines"]
    with pytest.raises(ValueError, match="multi-line"):
        dump_training_data(data)
