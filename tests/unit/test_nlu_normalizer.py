"""VietnameseNormalizer: canonical tokens, abbreviations, folding, offsets into the original text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from nlu.component import ConfigError
from nlu.message import Message, TrainingSet
from nlu.normalizer import VietnameseNormalizer, align_folded
from nlu.training_data import Example, TrainingData

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"


def make(**settings) -> VietnameseNormalizer:
    settings.setdefault("abbreviations_path", "abbreviations.yml")
    comp = VietnameseNormalizer(settings)
    comp.train(TrainingSet(TrainingData(), []), {"base_dir": str(DATA)})
    return comp


def run(comp: VietnameseNormalizer, text: str) -> Message:
    msg = Message.build(text)
    comp.process(msg)
    return msg


def test_lower_case_tone_marks_and_folding() -> None:
    msg = run(make(), "Đăng Ký HÒA GIẢI Thủy lợi")
    assert msg.normalized == "đăng ký hoà giải thuỷ lợi"
    assert msg.folded == "dang ki hoa giai thuy loi"  # lone consonant + y folds to i, as the search index


def test_abbreviations_expand_and_keep_the_typed_span() -> None:
    msg = run(make(), "gplx het han ko, đc k?")
    assert msg.normalized == "giấy phép lái xe het han không được không"
    gplx = [t for t in msg.tokens if t.text == "gplx"]
    assert [t.norm for t in gplx] == ["giấy", "phép", "lái", "xe"]
    assert {(t.start, t.end) for t in gplx} == {(0, 4)}
    dc = next(t for t in msg.tokens if t.norm == "được")
    assert msg.text[dc.start : dc.end] == "đc"


def test_inline_abbreviations_override_the_file() -> None:
    msg = run(make(abbreviations={"hs": "học sinh"}), "hs")
    assert msg.normalized == "học sinh"


def test_decomposed_input_maps_back_to_original_offsets() -> None:
    text = unicodedata.normalize("NFD", "xin giấy phép")
    msg = run(make(), text)
    assert msg.normalized == "xin giấy phép"
    giay = msg.tokens[1]
    assert unicodedata.normalize("NFC", text[giay.start : giay.end]) == "giấy"


def test_control_characters_are_spaces_and_offsets_stay() -> None:
    msg = run(make(), "a\x00b\u200bc")
    assert [t.norm for t in msg.tokens] == ["a", "b", "c"]
    assert [t.start for t in msg.tokens] == [0, 2, 4]


@pytest.mark.parametrize("text", ["", "🙂🙂", "   ", "\x00\x01", "中文 тест", "x" * 20_000, None, 42])
def test_odd_input_never_raises(text) -> None:
    msg = run(make(), text)
    assert isinstance(msg.normalized, str)
    assert len(msg.text) <= 2000


def test_align_folded_is_identity_for_ascii() -> None:
    folded, offsets = align_folded("Ho So")
    assert folded == "ho so"
    assert offsets == [0, 1, 2, 3, 4, 5]


def test_training_adds_copies_without_diacritics() -> None:
    comp = make()
    msgs = [
        Message.from_example(Example("cần giấy tờ gì", "ask_documents")),
        Message.from_example(Example("abc", "x")),
    ]
    out = comp.process_training(msgs)
    assert [m.text for m in out] == ["cần giấy tờ gì", "can giay to gi", "abc"]
    assert make(augment_without_diacritics=False).process_training(msgs[:1])[0].text == "cần giấy tờ gì"


def test_missing_abbreviations_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not found"):
        make(abbreviations_path="nope.yml")


def test_state_round_trip() -> None:
    comp = make()
    fresh = VietnameseNormalizer({"abbreviations_path": None})
    fresh.load(comp.persist())
    assert run(fresh, "gpxd ko").normalized == run(comp, "gpxd ko").normalized
