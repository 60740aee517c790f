"""The README's table of demo dossiers is the seed's (issue 14 item 7), and ``helpline serve`` warns of
the minute-long preparation only on the first start."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.app.cli import starting_message

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`]+)` \| (`\d{4}`(?: or `\d{4}`)?) \| ([^|]+) \| ([^|]+) \|$", re.M)


def readme_dossiers() -> dict[str, tuple[set[str], str, str]]:
    """code -> (the verification digits, procedure, status) as the README lists them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {
        code: (set(re.findall(r"\d{4}", digits)), procedure.strip(), status.strip())
        for code, digits, procedure, status in ROW.findall(text)
    }


def test_the_readme_lists_every_demo_dossier_with_its_verification_digits() -> None:
    seed = yaml.safe_load((ROOT / "knowledge" / "seed" / "demo_dossiers.yml").read_text(encoding="utf-8"))
    listed = readme_dossiers()
    assert len(listed) == len(seed["dossiers"]) == 20
    for d in seed["dossiers"]:
        digits, procedure, status = listed[d["code"]]
        assert digits == {d["phone"][-4:], d["id_number"][-4:]}
        assert procedure == seed["procedures"][d["procedure_code"]]
        assert status == d["status"]


def test_the_first_start_says_it_takes_a_minute_and_later_starts_do_not(tmp_path: Path) -> None:
    first = starting_message(tmp_path / "models")
    assert "lần đầu có thể mất khoảng một phút" in first
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "latest").write_text("nlu-20261203", encoding="utf-8")
    later = starting_message(tmp_path / "models")
    assert "một phút" not in later and later.startswith("Đang khởi động")
