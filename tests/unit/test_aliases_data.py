"""The citizen-words data files: ``data/aliases.yml`` and ``data/abbreviations.yml``.

The shape checks run on the files alone. The checks against the official records need the seed knowledge
base (``knowledge/seed/procedures.jsonl.gz``) and skip while it is not built; they never read ../shared.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.text import fix_tone_marks, fold, normalize, tokenize

ROOT = Path(__file__).resolve().parents[2]
ALIASES = ROOT / "data" / "aliases.yml"
ABBREVIATIONS = ROOT / "data" / "abbreviations.yml"
SEED = ROOT / "knowledge" / "seed" / "procedures.jsonl.gz"

CODE_RE = re.compile(r"^\d\.\d{6}$")
KEY_RE = re.compile(r"^[a-z0-9]+$")

# Words that name no procedure on their own: an alias made only of them would match anything.
# fmt: off
GENERIC = {
    "thủ tục", "hồ sơ", "đăng ký", "giấy phép", "giấy tờ", "cấp", "cấp lại", "cấp đổi", "cấp mới", "làm",
    "làm giấy", "xin", "xin giấy", "gia hạn", "thay đổi", "điều chỉnh", "xác nhận", "chứng nhận", "đất",
    "nhà", "xe", "giấy", "mất", "đổi", "bổ sung", "hỏi", "lệ phí", "thuế", "bảo hiểm", "công an",
    "uỷ ban",
}
# fmt: on
MAX_CODES_PER_ALIAS = 5  # a colloquial name shared by more procedures is too vague to ask about

# Real words whose folded spelling must never be an abbreviation key (normalize() looks keys up by the
# folded token, so a key "hong" would turn "thẻ bị hỏng" into "thẻ bị không").
# fmt: off
COMMON_WORDS = [
    "hỏng", "hẻm", "hôm", "có", "cơ", "cả", "cá", "đi", "dì", "đang", "đáng", "mà", "mã", "má", "đã",
    "là", "lá", "rơi", "rời", "vay", "lún", "số", "sổ", "thẻ", "xe", "đất", "nhà", "con", "cha", "mẹ",
    "vợ", "chồng", "tên", "họ", "hộ", "hạn", "tạm", "trú", "sao", "bản", "bằng", "lái", "phí", "thuế",
    "tiền", "ngày", "tháng", "năm", "giờ", "xã", "phường", "tỉnh", "huyện", "quận", "sinh", "tử", "hôn",
    "chữ", "ký", "kí", "dấu", "cũ", "mới", "lại", "đổi", "mất", "bị", "cho", "của", "và", "với", "thì",
    "nào", "đâu", "gì",
]
# fmt: on


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _shadows(tok: str, abbreviations: dict[str, str]) -> bool:
    """True when expanding ``tok`` by its folded form would replace a different real word.

    "đk" or "qđ" is the abbreviation itself spelled with đ, not a different word.
    """
    key = fold(tok)
    if tok == key or tok.replace("đ", "d") == key:
        return False
    return key in abbreviations and abbreviations[key] != tok


def _canon(text: str) -> str:
    """Case, Unicode form, tone-mark placement and spacing folded away, diacritics kept."""
    text = fix_tone_marks(unicodedata.normalize("NFC", text)).casefold()
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def aliases_doc() -> dict[str, Any]:
    return _load(ALIASES)


@pytest.fixture(scope="module")
def procedures(aliases_doc: dict[str, Any]) -> list[dict[str, Any]]:
    return aliases_doc["procedures"]


@pytest.fixture(scope="module")
def abbreviations() -> dict[str, str]:
    doc = _load(ABBREVIATIONS)
    assert doc["version"] == 1
    abbr = doc["abbreviations"]
    assert isinstance(abbr, dict)
    return abbr


@pytest.fixture(scope="module")
def seed() -> dict[str, dict[str, Any]]:
    if not SEED.is_file():
        pytest.skip("seed knowledge base not built yet")
    records: dict[str, dict[str, Any]] = {}
    with gzip.open(SEED, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                records[str(rec["code"])] = rec
    return records


# --- aliases.yml -----------------------------------------------------------------------------------


def test_aliases_file_loads(aliases_doc: dict[str, Any]) -> None:
    assert aliases_doc["version"] == 1
    assert isinstance(aliases_doc["procedures"], list)
    assert len(aliases_doc["procedures"]) >= 60


def test_every_entry_has_its_fields(procedures: list[dict[str, Any]]) -> None:
    for entry in procedures:
        assert set(entry) == {"code", "official", "check", "aliases"}, entry.get("code")
        assert isinstance(entry["official"], str) and entry["official"].strip(), entry["code"]
        assert isinstance(entry["check"], list) and entry["check"], entry["code"]
        assert all(isinstance(w, str) and w.strip() for w in entry["check"]), entry["code"]
        assert isinstance(entry["aliases"], list) and entry["aliases"], entry["code"]


def test_codes_are_national_codes(procedures: list[dict[str, Any]]) -> None:
    bad = [e["code"] for e in procedures if not (isinstance(e["code"], str) and CODE_RE.match(e["code"]))]
    assert not bad


def test_no_duplicate_codes(procedures: list[dict[str, Any]]) -> None:
    counts = Counter(e["code"] for e in procedures)
    assert [c for c, n in counts.items() if n > 1] == []


def test_aliases_are_lower_case_canonical_and_unique(procedures: list[dict[str, Any]]) -> None:
    for entry in procedures:
        seen: set[str] = set()
        for alias in entry["aliases"]:
            assert isinstance(alias, str) and alias.strip(), entry["code"]
            assert alias == alias.lower(), (entry["code"], alias)
            # The same canonical form the normalizer gives messages ("hoà", "xoá", no punctuation).
            assert normalize(alias) == alias, (entry["code"], alias, normalize(alias))
            assert alias not in seen, (entry["code"], alias)
            seen.add(alias)


def test_aliases_are_specific(procedures: list[dict[str, Any]]) -> None:
    owners: dict[str, list[str]] = {}
    for entry in procedures:
        for alias in entry["aliases"]:
            assert alias not in GENERIC, (entry["code"], alias)
            owners.setdefault(alias, []).append(entry["code"])
    too_shared = {a: codes for a, codes in owners.items() if len(codes) > MAX_CODES_PER_ALIAS}
    assert not too_shared


# --- abbreviations.yml -----------------------------------------------------------------------------


def test_abbreviation_count(abbreviations: dict[str, str]) -> None:
    assert 80 <= len(abbreviations) <= 200


def test_abbreviation_keys_are_single_lower_case_ascii_tokens(abbreviations: dict[str, str]) -> None:
    bad = [k for k in abbreviations if not (isinstance(k, str) and KEY_RE.match(k))]
    assert not bad


def test_abbreviation_values_are_canonical_expansions(abbreviations: dict[str, str]) -> None:
    for key, value in abbreviations.items():
        assert isinstance(value, str) and value.strip(), key
        assert value != key, key
        assert normalize(value) == value, (key, value, normalize(value))


def test_abbreviation_keys_do_not_shadow_common_words(abbreviations: dict[str, str]) -> None:
    shadowed = {fold(w): w for w in COMMON_WORDS if fold(w) in abbreviations and abbreviations[fold(w)] != w}
    assert not shadowed


def test_abbreviation_keys_do_not_shadow_alias_words(
    abbreviations: dict[str, str], procedures: list[dict[str, Any]]
) -> None:
    shadowed = set()
    for entry in procedures:
        for alias in entry["aliases"]:
            shadowed.update(tok for tok in tokenize(alias) if _shadows(tok, abbreviations))
    assert not shadowed


def test_expansion_examples(abbreviations: dict[str, str]) -> None:
    assert normalize("ko bít dk kết hôn ở đâu", abbreviations) == "không biết đăng ký kết hôn ở đâu"
    assert normalize("lm cccd mất bn tiền v", abbreviations) == "làm căn cước công dân mất bao nhiêu tiền vậy"
    assert normalize("thẻ căn cước bị hỏng", abbreviations) == "thẻ căn cước bị hỏng"
    assert normalize("Đk gpxd ở UBND xã", abbreviations) == "đăng ký giấy phép xây dựng ở uỷ ban nhân dân xã"


# --- against the official records (seed knowledge base) ---------------------------------------------


def test_alias_codes_exist_in_seed(procedures: list[dict[str, Any]], seed: dict[str, dict[str, Any]]) -> None:
    missing = [e["code"] for e in procedures if e["code"] not in seed]
    assert not missing, f"codes not in the seed knowledge base: {missing}"


def test_check_words_appear_in_official_names(
    procedures: list[dict[str, Any]], seed: dict[str, dict[str, Any]]
) -> None:
    mismatches = []
    for entry in procedures:
        rec = seed.get(entry["code"])
        if rec is None:
            continue  # reported by test_alias_codes_exist_in_seed
        name = _canon(str(rec["name"]))
        mismatches += [(entry["code"], w, rec["name"]) for w in entry["check"] if _canon(w) not in name]
    assert not mismatches


def test_abbreviation_keys_do_not_shadow_words_of_official_names(
    abbreviations: dict[str, str], seed: dict[str, dict[str, Any]]
) -> None:
    shadowed = set()
    for rec in seed.values():
        shadowed.update(tok for tok in tokenize(str(rec["name"])) if _shadows(tok, abbreviations))
    assert not shadowed
