"""Search: diacritics, typos, abbreviations, aliases, codes and score ranges on realistic names."""

from __future__ import annotations

import pytest

from knowledge.domain import Procedure
from knowledge.search import SearchIndex

NAMES = {
    "1.013225": (
        "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
        "Hoạt động xây dựng",
    ),
    "1.013226": (
        "Cấp điều chỉnh giấy phép xây dựng đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
        "Hoạt động xây dựng",
    ),
    "1.013228": (
        "Gia hạn giấy phép xây dựng đối với công trình cấp III, cấp IV và nhà ở riêng lẻ",
        "Hoạt động xây dựng",
    ),
    "1.001193": ("Thủ tục đăng ký khai sinh", "Hộ tịch"),
    "2.000528": ("Thủ tục đăng ký khai sinh có yếu tố nước ngoài", "Hộ tịch"),
    "1.000894": ("Thủ tục đăng ký kết hôn", "Hộ tịch"),
    "1.004222": ("Đăng ký thường trú", "Đăng ký, quản lý cư trú"),
    "1.004194": ("Đăng ký tạm trú", "Đăng ký, quản lý cư trú"),
    "1.014063": ("Cấp đổi thẻ căn cước", "Căn cước"),
    "3.000333": ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "Lý lịch tư pháp"),
}


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    procs = [Procedure(code=c, name=n, field=f) for c, (n, f) in NAMES.items()]
    procs.append(Procedure(code="9.999999", name="Đăng ký kết hôn lưu động", catalogue_only=True))
    return SearchIndex.build(
        procs,
        aliases={
            "1.013225": ["giấy phép xây dựng", "xin phép xây nhà"],
            "1.013226": ["giấy phép xây dựng"],
            "1.013228": ["giấy phép xây dựng"],
            "1.014063": ["cccd", "làm căn cước"],
        },
        abbreviations={"j": "gì", "ko": "không", "gpxd": "giấy phép xây dựng"},
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("đăng ký khai sinh", "1.001193"),
        ("dang ky khai sinh", "1.001193"),
        ("dang ki khai sinh", "1.001193"),  # kí / ký spelled both ways
        ("dang ky khai sinhh", "1.001193"),  # typo
        ("dang ky ket hon can gi", "1.000894"),
        ("xin phép xây nhà", "1.013225"),
        ("gpxd nha o moi can j", "1.013225"),
        ("lam cccd", "1.014063"),
        ("ly lich tu phap", "3.000333"),
        ("gia han giay phep xay dung", "1.013228"),
        ("dieu chinh gpxd", "1.013226"),
        ("thuong tru", "1.004222"),
        ("1.000894", "1.000894"),
    ],
)
def test_top_hit(index: SearchIndex, query: str, expected: str) -> None:
    hits = index.search(query, k=3)
    assert hits, query
    assert hits[0].code == expected, [(h.code, h.score) for h in hits]


def test_scores_are_ranked_and_bounded(index: SearchIndex) -> None:
    hits = index.search("đăng ký khai sinh có yếu tố nước ngoài", k=10)
    assert hits[0].code == "2.000528"
    assert all(0.0 < h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_shared_alias_keeps_ambiguity(index: SearchIndex) -> None:
    hits = index.search("giấy phép xây dựng", k=5)
    codes = [h.code for h in hits[:3]]
    assert set(codes) == {"1.013225", "1.013226", "1.013228"}
    assert hits[0].score - hits[2].score < 0.1


def test_detailed_record_beats_catalogue_only_twin(index: SearchIndex) -> None:
    hits = index.search("dang ky ket hon", k=3)
    assert hits[0].code == "1.000894"


@pytest.mark.parametrize("query", ["", "   ", "😀😀", "xyzzy qwerty", "天气怎么样", "\x00\x01"])
def test_nothing_known_gives_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


def test_overlong_query_is_fine(index: SearchIndex) -> None:
    hits = index.search("đăng ký khai sinh " * 3000, k=2)
    assert hits[0].code == "1.001193"


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("thế mất bao lâu", "1.014063", 1),  # "the": thẻ, folded
        ("đăng ký kết hôn", "1.000894", 4),  # dang, ky (ki), ket, hon
        ("lam cccd", "1.014063", 2),  # its aliases "cccd", "làm căn cước": lam, cccd
        ("1.000894", "1.000894", 0),  # a code typed is not counted
    ],
)
def test_a_hit_says_how_many_of_the_query_s_words_it_holds(
    index: SearchIndex, query: str, code: str, words: int
) -> None:
    hit = next(h for h in index.search(query, k=20) if h.code == code)
    assert hit.words == words
