"""Structure of the NLU training data (data/nlu.yml) and of the held-out test set.

Reads both files with PyYAML only, so it needs neither Rasa nor the shared catalogues; the codes in
the held-out set are checked against the catalogues by tests/data/check_heldout.py.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PATH = ROOT / "data" / "nlu.yml"
HELDOUT_PATH = ROOT / "tests" / "data" / "nlu_heldout.yml"

ASK_INTENTS = [
    "ask_documents",
    "ask_forms",
    "ask_steps",
    "ask_fee",
    "ask_processing_time",
    "ask_where",
    "ask_channels",
    "ask_conditions",
    "ask_legal_basis",
    "ask_result",
    "ask_procedure_overview",
    "check_dossier_status",
]
SMALL_INTENTS = [
    "request_human",
    "give_feedback",
    "greet",
    "thank",
    "goodbye",
    "affirm",
    "deny",
    "out_of_scope",
]
INTENTS = ASK_INTENTS + SMALL_INTENTS
ENTITIES = {"procedure", "dossier_code", "phone", "id_number", "date"}
MIN_TRAIN = {**dict.fromkeys(ASK_INTENTS, 60), **dict.fromkeys(SMALL_INTENTS, 30)}

# Rasa 3's own annotation pattern (rasa/shared/nlu/training_data/entities_parser.py).
RASA_ENTITY_RE = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<entity_dict>[^}]+?)\}|\[(?P<list_entity_dicts>.*?)\])"
)
CODE_RE = re.compile(r"^\d\.\d{6}$")


def fold(text: str) -> str:
    """Lower-case, no diacritics, punctuation collapsed: the form used to compare texts."""
    text = text.lower().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic."""
    return fold(text) != " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def lines_of(block: str) -> list[str]:
    """The ``- item`` lines of an ``examples: |`` block, without the dash."""
    return [line.strip()[2:] for line in block.splitlines() if line.strip()]


def parse_example(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entity dicts of one annotated example (raises ValueError when malformed)."""
    entities: list[dict[str, Any]] = []
    plain = ""
    pos = 0
    for m in RASA_ENTITY_RE.finditer(text):
        plain += text[pos : m.start()]
        if m.group("list_entity_dicts") is not None:
            raise ValueError(f"list annotations are not used here: {text}")
        if m.group("entity_dict"):
            info = json.loads("{" + m.group("entity_dict") + "}")
        else:
            info = {"entity": m.group("entity"), "value": m.group("value")}
        info["text"] = m.group("entity_text")
        info["start"] = len(plain)
        plain += m.group("entity_text")
        entities.append(info)
        pos = m.end()
    plain += text[pos:]
    if any(ch in plain for ch in "[]{}"):
        raise ValueError(f"unbalanced or stray bracket: {text}")
    return plain, entities


@cache
def training() -> dict[str, Any]:
    """data/nlu.yml as PyYAML reads it."""
    return yaml.safe_load(TRAIN_PATH.read_text(encoding="utf-8"))


@cache
def heldout() -> dict[str, Any]:
    """tests/data/nlu_heldout.yml as PyYAML reads it."""
    return yaml.safe_load(HELDOUT_PATH.read_text(encoding="utf-8"))


def sections(kind: str) -> list[dict[str, Any]]:
    return [item for item in training()["nlu"] if kind in item]


def intent_examples() -> list[tuple[str, str]]:
    """(intent, raw annotated example) for every training example."""
    return [(item["intent"], ex) for item in sections("intent") for ex in lines_of(item["examples"])]


def regexes() -> dict[str, list[re.Pattern[str]]]:
    return {item["regex"]: [re.compile(p) for p in lines_of(item["examples"])] for item in sections("regex")}


# ---------------------------------------------------------------- training data


def test_training_file_has_rasa_3_layout() -> None:
    data = training()
    assert data["version"] == "3.1"
    assert isinstance(data["nlu"], list)
    for item in data["nlu"]:
        keys = set(item)
        kinds = keys & {"intent", "synonym", "regex", "lookup"}
        assert len(kinds) == 1, item
        assert keys <= kinds | {"examples", "metadata"}, item
        assert isinstance(item["examples"], str), item
        for line in item["examples"].splitlines():
            assert line.startswith("- ") and line[2:].strip() == line[2:], f"bad example line {line!r}"


def test_examples_blocks_are_literal_lines() -> None:
    raw = TRAIN_PATH.read_text(encoding="utf-8")
    assert "\t" not in raw
    assert raw.count("examples: |") == len(training()["nlu"])


def test_every_intent_present_with_enough_examples() -> None:
    counts = Counter(intent for intent, _ in intent_examples())
    assert set(counts) == set(INTENTS)
    for intent in INTENTS:
        assert counts[intent] >= MIN_TRAIN[intent], f"{intent}: {counts[intent]}"
    for item in sections("intent"):
        assert len(lines_of(item["examples"])) == len(set(lines_of(item["examples"]))), item["intent"]


def test_annotations_are_well_formed() -> None:
    for _, raw in intent_examples():
        assert raw.count("[") == raw.count("]") and raw.count("(") == raw.count(")"), raw
        plain, entities = parse_example(raw)
        assert plain.strip() == plain and plain, raw
        for ent in entities:
            assert ent["entity"] in ENTITIES, raw
            assert ent["text"].strip() == ent["text"], raw
            assert plain[ent["start"] : ent["start"] + len(ent["text"])] == ent["text"]


def test_no_text_under_two_intents() -> None:
    owner: dict[str, str] = {}
    for intent, raw in intent_examples():
        key = fold(parse_example(raw)[0])
        assert owner.setdefault(key, intent) == intent, f"{raw!r} under {owner[key]} and {intent}"


def test_entities_are_used_and_procedures_varied() -> None:
    used = Counter(ent["entity"] for _, raw in intent_examples() for ent in parse_example(raw)[1])
    assert set(used) == ENTITIES
    procedures = {fold(ent["text"]) for _, raw in intent_examples() for ent in parse_example(raw)[1]}
    assert len(procedures) >= 60


def test_about_forty_percent_without_diacritics() -> None:
    texts = [parse_example(raw)[0] for _, raw in intent_examples()]
    share = sum(not has_diacritics(t) for t in texts) / len(texts)
    assert 0.35 <= share <= 0.55, share


def test_regexes_compile_and_match_the_annotated_values() -> None:
    rx = regexes()
    assert set(rx) == {"dossier_code", "phone", "id_number"}
    for _, raw in intent_examples():
        for ent in parse_example(raw)[1]:
            if ent["entity"] in rx:
                assert any(p.fullmatch(ent["text"]) for p in rx[ent["entity"]]), ent


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("dossier_code", "ma ho so 000.00.24.H12-250301-0007 nhe", "000.00.24.H12-250301-0007"),
        ("dossier_code", "H12.22-250301-0001", "H12.22-250301-0001"),
        ("dossier_code", "so 000.31.23.H56-241212-0123.", "000.31.23.H56-241212-0123"),
        ("phone", "goi 0912345678 nhe", "0912345678"),
        ("phone", "sdt +84912345678", "+84912345678"),
        ("phone", "so 0212345678", None),
        ("id_number", "cccd 001099012345", "001099012345"),
        ("id_number", "0010990123456", None),
    ],
)
def test_regexes_find_real_formats(name: str, text: str, found: str | None) -> None:
    hits = [m.group(0) for p in regexes()[name] for m in p.finditer(text)]
    assert hits == ([found] if found else [])


def test_synonyms_map_each_variant_to_one_value() -> None:
    owner: dict[str, str] = {}
    for item in sections("synonym"):
        for variant in lines_of(item["examples"]):
            key = variant.lower()
            assert owner.setdefault(key, item["synonym"]) == item["synonym"], variant
    for abbr, canon in [
        ("gpxd", "giấy phép xây dựng"),
        ("cccd", "căn cước"),
        ("gplx", "giấy phép lái xe"),
        ("lltp", "lý lịch tư pháp"),
    ]:
        assert owner[abbr] == canon


def test_lookup_table_for_procedures() -> None:
    (lookup,) = sections("lookup")
    assert lookup["lookup"] == "procedure"
    assert len(lines_of(lookup["examples"])) >= 30


# ---------------------------------------------------------------- held-out set


def test_heldout_items_are_well_formed() -> None:
    data = heldout()
    assert data["version"] == 1
    items = data["examples"]
    assert len(items) >= 320
    for item in items:
        assert set(item) <= {"text", "intent", "procedures", "unanswerable"}, item
        assert isinstance(item["text"], str) and item["text"].strip() == item["text"] != "", item
        assert item["intent"] in INTENTS, item
        assert isinstance(item["procedures"], list), item
        assert all(CODE_RE.match(code) for code in item["procedures"]), item
        assert len(set(item["procedures"])) == len(item["procedures"]), item
        if item.get("unanswerable"):
            assert item["unanswerable"] is True and item["procedures"] == [], item
        assert not RASA_ENTITY_RE.search(item["text"]), item


def test_heldout_covers_every_intent() -> None:
    items = heldout()["examples"]
    counts = Counter(item["intent"] for item in items)
    for intent in INTENTS:
        assert counts[intent] >= (10 if intent in ASK_INTENTS else 5), intent
    assert sum(1 for item in items if item.get("unanswerable")) >= 40
    share = sum(not has_diacritics(item["text"]) for item in items) / len(items)
    assert 0.4 <= share <= 0.6, share


def test_heldout_never_overlaps_training() -> None:
    train = {fold(parse_example(raw)[0]) for _, raw in intent_examples()}
    keys = [fold(item["text"]) for item in heldout()["examples"]]
    assert len(keys) == len(set(keys)), "duplicate held-out text"
    overlap = [k for k in keys if k in train]
    assert overlap == []
