"""The static vectors distilled from multilingual-e5-small (nlu/static_vectors.py): the segmentation, the
weighted mean on a hand-made table, and the shipped table (package data, no model, no network)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nlu.message import Message
from nlu.semantic import SemanticProcedureRanker
from nlu.static_vectors import DATA_PATH, StaticEmbedder, StaticVectors, segment, write_table


def test_segment_takes_the_best_scoring_cut_and_skips_uncovered_characters() -> None:
    scores = {"▁dang": -2.0, "▁d": -3.0, "ang": -3.0, "ky": -2.5, "k": -4.0, "y": -4.0}
    assert segment("dangky", scores, max_len=5) == ["▁dang", "ky"]  # -4.5 beats ▁d+ang+ky (-8.5)
    assert segment("dang€ky", scores, max_len=5) == ["▁dang", "ky"]  # € is covered by no piece
    assert segment("€", scores, max_len=5) == []


def _toy_table(path: Path) -> Path:
    # rows: 0 "đăng", 1 "ký", 2 "đăng ký", 3 "hôn", 4 folded "dang", 5 piece-only row
    vectors = np.array(
        [[100, 0, 0], [0, 100, 0], [0, 0, 100], [0, 50, 50], [100, 0, 0], [0, 0, -100]], dtype=np.int8
    )
    write_table(
        path,
        {
            "keys": np.array(["đăng", "ký", "đăng ký", "hôn", "dang"]),
            "vectors": vectors,
            "scales": np.full(6, 0.01, dtype=np.float32),
            "weights": np.array([1.0, 0.5, 2.0, 1.0, 1.0, 0.0], dtype=np.float16),
            "piece_keys": np.array(["▁zz", "q"]),
            "piece_scores": np.array([-1.0, -1.0], dtype=np.float32),
            "piece_rows": np.array([5, -1], dtype=np.int32),
            "meta": np.array(json.dumps({"digest": "abc"})),
        },
    )
    return path


def test_a_text_is_the_weighted_mean_of_its_words_and_pairs(tmp_path: Path) -> None:
    table = StaticVectors(_toy_table(tmp_path / "t.npz"))
    # đăng (1.0 x e0) + ký (0.5 x e1) + the pair "đăng ký" (2.0 x e2), normalised
    expected = np.array([1.0, 0.5, 2.0]) / np.linalg.norm([1.0, 0.5, 2.0])
    np.testing.assert_allclose(table.embed("Đăng  KÝ!"), expected, rtol=1e-3)
    # a word the table lacks with diacritics is looked up without them: "dăng" -> "dang"
    np.testing.assert_allclose(table.embed("dăng"), [1.0, 0.0, 0.0], atol=1e-6)
    # an unknown word is cut into pieces: "zz" -> "▁zz", whose row points down e2
    np.testing.assert_allclose(table.embed("zz"), [0.0, 0.0, -1.0], atol=1e-6)


def test_a_text_of_unknown_words_is_the_zero_vector(tmp_path: Path) -> None:
    table = StaticVectors(_toy_table(tmp_path / "t.npz"))
    for text in ("", "😀😀", "\x00\x07", "123 456", "ыыы", "x" * 20000):
        vec = table.embed(text)
        assert vec.shape == (3,) and not vec.any()


def test_the_table_is_written_byte_for_byte_the_same(tmp_path: Path) -> None:
    a, b = _toy_table(tmp_path / "a.npz"), _toy_table(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()


def test_a_file_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    write_table(path, {"keys": np.array(["a"])})
    with pytest.raises(ValueError, match="not a static vector table"):
        StaticVectors(path)


# --- the shipped table ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> StaticVectors:
    return StaticVectors()


def test_the_table_ships_inside_the_nlu_package() -> None:
    packaged = resources.files("nlu") / "static_vectors.npz"
    assert packaged.is_file() and Path(str(packaged)) == DATA_PATH
    assert DATA_PATH.stat().st_size < 8_000_000


def _cos(table: StaticVectors, a: str, b: str) -> float:
    return float(table.embed(a) @ table.embed(b))


def test_a_paraphrase_is_closer_than_an_unrelated_name(shipped: StaticVectors) -> None:
    foreign = "Đăng ký kết hôn có yếu tố nước ngoài"
    passport = "Cấp hộ chiếu phổ thông"
    question = "lấy chồng người hàn quốc thì làm giấy tờ kết hôn thế nào"
    assert _cos(shipped, question, foreign) > _cos(shipped, question, passport) + 0.1
    birth = "con tôi mới sinh cần làm giấy tờ gì"
    assert _cos(shipped, birth, "Đăng ký khai sinh") > _cos(shipped, birth, "Đăng ký khai tử") + 0.1


def test_a_question_without_diacritics_lands_near_its_written_form(shipped: StaticVectors) -> None:
    assert _cos(shipped, "dang ky ket hon", "đăng ký kết hôn") > 0.9
    assert _cos(shipped, "lam ho chieu", "làm hộ chiếu") > 0.85
    assert _cos(shipped, "lam ho chieu", "đăng ký kết hôn") < 0.3


class _Index:
    def names(self) -> list[tuple[str, str]]:
        return [
            ("1.000001", "Đăng ký kết hôn"),
            ("1.000002", "Đăng ký kết hôn có yếu tố nước ngoài"),
            ("1.000004", "Cấp hộ chiếu phổ thông"),
            ("1.000005", "Đăng ký khai sinh"),
        ]


def _ranked(tmp_path: Path, **settings: object) -> Message:
    ranker = SemanticProcedureRanker(
        {"enabled": True, "encoder": "static", "weight": 0.5, "top_k": 3, "cache_dir": str(tmp_path)}
        | settings,
        {"knowledge_index": _Index()},
    )
    message = Message(text="con tôi mới sinh cần làm giấy tờ gì")
    message.procedure_ranking = [
        {"code": "1.000001", "name": "Đăng ký kết hôn", "score": 0.7},
        {"code": "1.000005", "name": "Đăng ký khai sinh", "score": 0.6},
    ]
    ranker.process(message)
    assert isinstance(ranker.embedder(), StaticEmbedder)
    return message


def test_the_ranker_with_the_static_encoder_moves_the_meant_procedure_up(tmp_path: Path) -> None:
    message = _ranked(tmp_path)
    # add: 0.5 x 0.6 + 0.5 x 1 (the nearest name) = 0.8, above the linker's best 0.7
    assert message.procedure is not None and message.procedure["code"] == "1.000005"
    assert message.procedure["score"] == pytest.approx(0.8, abs=1e-3)
    assert message.diagnostics["semantic"]["nearest"] == "1.000005"
    assert not list(tmp_path.iterdir())  # the static encoder keeps no disk cache


def test_rerank_fusion_reorders_without_raising_the_linker_s_confidence(tmp_path: Path) -> None:
    message = _ranked(tmp_path, fusion="rerank")
    # rerank: 0.5 x 0.6 + 0.5 x 0.7 (the linker's best) x 1 = 0.65
    assert message.procedure is not None and message.procedure["code"] == "1.000005"
    assert message.procedure["score"] == pytest.approx(0.65, abs=1e-3)
    assert max(r["score"] for r in message.procedure_ranking) <= 0.7


def test_the_ranker_decides_with_the_shipped_table_and_adds_nothing(tmp_path: Path) -> None:
    ranker = SemanticProcedureRanker(
        {"enabled": True, "encoder": "static", "fusion": "decide", "cache_dir": str(tmp_path)},
        {"knowledge_index": _Index()},
    )
    message = Message(text="con tôi mới sinh thì đăng ký khai sinh ở đâu")
    message.procedure_ranking = [
        {"code": "1.000005", "name": "Đăng ký khai sinh", "score": 0.62},
        {"code": "1.000001", "name": "Đăng ký kết hôn", "score": 0.60},
    ]
    message.procedure = dict(message.procedure_ranking[0])
    ranker.process(message)
    assert message.diagnostics["semantic"] == {"decided": "kept"}
    assert [(r["code"], r["score"]) for r in message.procedure_ranking] == [
        ("1.000005", 0.62),
        ("1.000001", pytest.approx(0.56)),
    ]
    assert message.procedure == {"code": "1.000005", "name": "Đăng ký khai sinh", "score": 0.62}
