"""Names citizens read (issue 11, item 4): short names that differ where the procedures differ, no national
code in what they read, and buttons that never look alike after shortening, checked on the real records.

The choice situations are the ones the catalogue produces most: every colloquial name the aliases file
gives to several procedures ("sổ đỏ", "hộ chiếu", "bằng lái" ...: the bot asks which one is meant), and
the families citizens ask about (all variants of the land certificate 1.0139xx, of birth registration,
passports, ID cards, driving licences, vehicle registration, construction permits ...). For each, the
buttons offered together must be pairwise distinct and each a whole phrase: never "…", never ending
inside a phrase ("... cấp trung…", "... do cơ quan có"). The checks need the seed knowledge base
(``knowledge/seed/procedures.jsonl.gz``) and skip while it is not built.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest
import yaml

from actions.procedure.actions import candidate_buttons
from actions.procedure.names import BUTTON_CHARS, STRETCH, display_name, distinct_labels, label_name
from bot.core.parse import Candidate
from knowledge.domain import Procedure
from knowledge.seed import SEED_PATH, read_records

ROOT = Path(__file__).resolve().parents[2]
ALIASES = ROOT / "data" / "aliases.yml"

pytestmark = pytest.mark.skipif(not SEED_PATH.exists(), reason="the seed knowledge base is not built")

FAMILIES = {
    "land certificate 1.0139xx": lambda p: p.code.startswith("1.0139"),
    "birth registration": lambda p: "khai sinh" in p.name.lower(),
    "passport": lambda p: "hộ chiếu" in p.name.lower(),
    "ID card": lambda p: "căn cước" in p.name.lower(),
    "driving licence": lambda p: "giấy phép lái xe" in p.name.lower(),
    "vehicle registration": lambda p: "đăng ký xe" in p.name.lower() or "biển số xe" in p.name.lower(),
    "construction permit": lambda p: "giấy phép xây dựng" in p.name.lower(),
    "criminal record": lambda p: "lý lịch tư pháp" in p.name.lower(),
    "permanent residence": lambda p: "thường trú" in p.name.lower(),
    "temporary residence": lambda p: "tạm trú" in p.name.lower(),
    "marriage": lambda p: "kết hôn" in p.name.lower(),
    "certification": lambda p: "chứng thực" in p.name.lower(),
    "household business": lambda p: "hộ kinh doanh" in p.name.lower(),
    "land use right certificate": lambda p: "giấy chứng nhận quyền sử dụng đất" in p.name.lower(),
}
"""Families of procedures citizens ask about, offered side by side when a message fits several."""

JOINING = (
    "và|hoặc|hay|đối với|trong trường hợp|trong|theo|tại|do|của|cho|để|khi|nếu|mà|được|trừ|kèm theo|"
    "thực hiện|chứng minh|bao gồm|gồm|về|với|từ|đã|là|nhưng|sau khi|trước khi|bằng|qua"
)
_ENDS_WHOLE_RE = re.compile(rf"^(?:$|[,;:)]|\s\(|\s(?:{JOINING})\s)", re.IGNORECASE)
_DANGLING_RE = re.compile(rf"\s(?:{JOINING}|các|những|một|có|ở|đối|quy)$", re.IGNORECASE)


@cache
def _records() -> dict[str, Procedure]:
    records, _ = read_records()
    return {p.code: p for p in records}


@cache
def _groups() -> dict[str, tuple[str, ...]]:
    """Name of the choice situation -> the codes offered together."""
    records = _records()
    groups: dict[str, tuple[str, ...]] = {}
    shared: dict[str, set[str]] = defaultdict(set)
    for entry in yaml.safe_load(ALIASES.read_text(encoding="utf-8"))["procedures"]:
        for alias in entry["aliases"]:
            if entry["code"] in records:
                shared[alias].add(entry["code"])
    for alias, codes in shared.items():
        if len(codes) > 1:
            groups[f"alias «{alias}»"] = tuple(sorted(codes))
    for family, member in FAMILIES.items():
        groups[family] = tuple(sorted(c for c, p in records.items() if not p.catalogue_only and member(p)))
    return groups


def _ends_whole(label: str, name: str) -> bool:
    """``label`` (without a parenthesis it adds) is found in ``name`` and ends where a phrase ends."""
    core = re.sub(r"\s*\((?:mã [\d.]+|[^()]*)\)$", "", label) or label
    at = name.lower().find(core.lower())
    if at < 0:
        return False
    return bool(_ENDS_WHOLE_RE.match(name[at + len(core) :])) and not _DANGLING_RE.search(core)


def test_the_choice_situations_cover_the_families_citizens_ask_about() -> None:
    groups = _groups()
    assert sum(1 for g in groups if g.startswith("alias")) >= 20
    assert (
        "1.013978" in groups["land certificate 1.0139xx"] and len(groups["land certificate 1.0139xx"]) >= 15
    )
    assert {"1.001193", "1.004884", "2.000528"} <= set(groups["birth registration"])
    assert {"1.001456", "1.001471"} <= set(groups["passport"])


@pytest.mark.parametrize("group", sorted(_groups()) if SEED_PATH.exists() else [])
def test_buttons_offered_together_are_distinct_whole_phrases(group: str) -> None:
    records = _records()
    codes = _groups()[group]
    buttons = candidate_buttons([Candidate(c, records[c].name, 0.9) for c in codes])
    titles = [b.title for b in buttons]
    lowered = [t.lower() for t in titles]
    assert len(set(lowered)) == len(lowered), [t for t in titles if lowered.count(t.lower()) > 1]
    for code, title in zip(codes, titles, strict=True):
        name = label_name(records[code].name)
        assert "…" not in title, (code, title)
        # A whole phrase may run a little longer than a button's usual length rather than be cut.
        assert len(title) <= BUTTON_CHARS * STRETCH, (code, title)
        assert _ends_whole(title, name), (code, title, name)
        if "(mã " in title:  # only names that say nothing apart may carry their code
            twins = [c for c in codes if c != code and label_name(records[c].name).lower() == name.lower()]
            assert twins, (code, title)


def test_the_land_certificate_family_reads_apart() -> None:
    records = _records()
    codes = ["1.013978", "1.013831", "1.012783", "1.012786"]  # "sổ đỏ": the four the bot asks between
    titles = [b.title for b in candidate_buttons([Candidate(c, records[c].name, 1.0) for c in codes])]
    assert titles == [
        "Đăng ký đất đai, cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
        "Đăng ký biến động quyền sử dụng đất",
        "Cấp đổi Giấy chứng nhận quyền sử dụng đất",
        "Cấp lại Giấy chứng nhận do bị mất",
    ]


def test_passport_levels_are_said_not_cut() -> None:
    records = _records()
    titles = [
        b.title
        for b in candidate_buttons([Candidate(c, records[c].name, 1.0) for c in ("1.001456", "1.001471")])
    ]
    assert titles == [
        "Cấp hộ chiếu phổ thông ở trong nước (cấp tỉnh)",
        "Cấp hộ chiếu phổ thông ở trong nước (cấp trung ương)",
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1.001193", "Đăng ký khai sinh"),
        ("1.004222", "Đăng ký thường trú"),
        ("1.014061", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"),
        ("1.001456", "Cấp hộ chiếu phổ thông ở trong nước (cấp tỉnh)"),
        ("1.013225", "Cấp giấy phép xây dựng mới (công trình cấp III, IV và nhà ở riêng lẻ)"),
        ("3.000347", "Đổi giấy phép lái xe"),
        ("1.013067", "Đăng ký, cấp biển số xe lần đầu bằng dịch vụ công một phần hoặc trực tiếp"),
    ],
)
def test_names_in_messages_are_whole(code: str, expected: str) -> None:
    assert display_name(_records()[code].name) == expected


def test_no_name_in_the_catalogue_is_cut_with_an_ellipsis_in_a_message() -> None:
    cut = [p.code for p in _records().values() if display_name(p.name).endswith("…")]
    assert len(cut) <= len(_records()) // 100, cut[:20]  # a name with no phrase end at all is rare


def test_labels_that_only_differ_in_order_are_told_apart() -> None:
    labels = distinct_labels(
        [
            "Hộ gia đình, cá nhân, cộng đồng dân cư",
            "Người gốc Việt Nam định cư ở nước ngoài",
            "Cá nhân, cộng đồng dân cư, hộ gia đình, người gốc Việt Nam định cư ở nước ngoài đã có Thông báo "
            "xác nhận kết quả đăng ký đất đai",
        ]
    )
    assert labels == [
        "Hộ gia đình, cá nhân, cộng đồng dân cư",
        "Người gốc Việt Nam định cư ở nước ngoài",
        "Đã có Thông báo xác nhận kết quả đăng ký đất đai",
    ]


def test_tone_marks_tell_words_apart() -> None:
    assert distinct_labels(["Cấp giấy phép lái xe", "Cấp lại giấy phép lái xe"]) == [
        "Cấp giấy phép lái xe",
        "Cấp lại giấy phép lái xe",
    ]
