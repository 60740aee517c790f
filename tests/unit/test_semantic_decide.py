"""``fusion: decide`` of the semantic ranker (nlu/semantic.py): the raw cosine settles a near tie of the
linker's candidates and never raises a score nor adds a candidate (issue 10)."""

from __future__ import annotations

import pytest

from nlu.semantic import SemanticSettings, decide, numerals_only_apart


def _ranking(*rows: tuple[str, str, float]) -> list[dict[str, object]]:
    return [{"code": c, "name": n, "score": s} for c, n, s in rows]


TIE = (("1.1", "Đăng ký nghĩa vụ quân sự tạm vắng", 0.83), ("1.2", "Đăng ký nghĩa vụ quân sự lần đầu", 0.80))


def test_a_tie_whose_best_is_clearly_nearest_is_settled_below_the_margin() -> None:
    ranking = _ranking(*TIE)
    assert decide(ranking, {"1.1": 0.71, "1.2": 0.59}, SemanticSettings(fusion="decide")) == "kept"
    assert [r["code"] for r in ranking] == ["1.1", "1.2"]
    assert ranking[0]["score"] == 0.83  # the best keeps the linker's score
    assert ranking[1]["score"] == pytest.approx(0.83 - 0.05 - 0.01)  # no longer within close_margin


def test_a_small_cosine_lead_leaves_the_tie_to_the_policy() -> None:
    ranking = _ranking(*TIE)
    assert decide(ranking, {"1.1": 0.71, "1.2": 0.65}, SemanticSettings(fusion="decide")) is None
    assert [r["score"] for r in ranking] == [0.83, 0.80]


def test_a_tie_whose_nearest_is_not_the_linker_s_best_is_not_settled() -> None:
    ranking = _ranking(*TIE)
    assert (
        decide(ranking, {"1.1": 0.50, "1.2": 0.70}, SemanticSettings(fusion="decide")) is None
    )  # lead < 0.25
    assert [r["code"] for r in ranking] == ["1.1", "1.2"]
    # a lead of 0.3 within the swap window: the nearer one takes the best's place, still tied -> asked
    assert decide(ranking, {"1.1": 0.40, "1.2": 0.70}, SemanticSettings(fusion="decide")) == "swapped"
    assert [(r["code"], r["score"]) for r in ranking] == [("1.2", 0.83), ("1.1", 0.80)]


def test_below_min_cosine_nothing_is_decided() -> None:
    ranking = _ranking(*TIE)
    assert decide(ranking, {"1.1": 0.38, "1.2": 0.10}, SemanticSettings(fusion="decide")) is None  # floor 0.4
    assert (
        decide(ranking, {"1.1": 0.71, "1.2": 0.30}, SemanticSettings(fusion="decide", min_cosine=0.8)) is None
    )


def test_names_apart_only_in_numbers_are_never_settled() -> None:
    assert numerals_only_apart("Công bố mở cảng cá loại III", "Công bố mở cảng cá loại I, loại II")
    assert not numerals_only_apart("Công bố mở cảng cá loại III", "Công bố mở cảng cạn")
    ranking = _ranking(
        ("a", "Công bố mở cảng cá loại III", 0.61), ("b", "Công bố mở cảng cá loại I, loại II", 0.57)
    )
    assert decide(ranking, {"a": 0.65, "b": 0.51}, SemanticSettings(fusion="decide")) is None


def test_a_clearly_nearer_candidate_in_the_swap_window_takes_the_best_s_place() -> None:
    ranking = _ranking(("1.3", "Đăng ký thuế", 0.65), ("1.4", "Khai thuế sử dụng đất phi nông nghiệp", 0.55))
    s = SemanticSettings(fusion="decide", swap_window=0.1, swap_margin=0.25)
    assert decide(ranking, {"1.3": 0.36, "1.4": 0.63}, s) == "swapped"
    assert [(r["code"], r["score"]) for r in ranking] == [("1.4", 0.65), ("1.3", 0.55)]
    # outside the window (0.12 apart) or with swapping off: unchanged
    far = _ranking(("1.3", "Đăng ký thuế", 0.67), ("1.4", "Khai thuế sử dụng đất phi nông nghiệp", 0.55))
    assert decide(far, {"1.3": 0.36, "1.4": 0.63}, s) is None
    off = SemanticSettings(fusion="decide", swap_window=0.0)
    assert (
        decide(
            _ranking(("1.3", "Đăng ký thuế", 0.65), ("1.4", "Khai thuế", 0.55)), {"1.3": 0.3, "1.4": 0.9}, off
        )
        is None
    )
