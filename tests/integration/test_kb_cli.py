"""``helpline kb`` end to end on the shipped seed: import, show, search, stats, export, re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app.cli import main


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.sqlite3'}"


@pytest.fixture(scope="module")
def imported(db_url: str) -> dict:
    mp = pytest.MonkeyPatch()
    mp.setenv("HELPLINE_DATABASE_URL", db_url)
    yield {"url": db_url}
    mp.undo()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_show_search_stats_export(imported, capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", imported["url"])
    code, out, _ = run(capsys, "kb", "import", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["created"] > 4000 and report["errors"] == []

    code, out, _ = run(capsys, "kb", "import", "--json")
    again = json.loads(out)
    assert (again["created"], again["updated"]) == (0, 0)
    assert again["unchanged"] == report["created"]

    code, out, _ = run(capsys, "kb", "show", "1.013225", "--json")
    permit = json.loads(out)
    assert permit["name"].startswith("Cấp giấy phép xây dựng mới")
    assert [(c["kind"], c["time_text"]) for c in permit["channels"]] == [
        ("truc_tuyen", "20 Ngày"),
        ("buu_chinh", "20 Ngày"),
        ("truc_tiep", "15 Ngày"),
    ]
    assert "gpxd" in permit["aliases"]  # merged from data/aliases.yml
    numbers = {lb["number"] for lb in permit["legal_basis"]}
    assert {"50/2014/QH13", "175/2024/NĐ-CP"} <= numbers

    code, out, _ = run(capsys, "kb", "show", "1.013225")
    assert "Thành phần hồ sơ:" in out and "bản chính" in out

    code, _, err = run(capsys, "kb", "show", "9.999999")
    assert code == 1 and "Không có thủ tục" in err

    code, out, _ = run(capsys, "kb", "search", "lam", "cccd", "mat", "bao", "lau", "--json", "-k", "3")
    hits = json.loads(out)
    assert len(hits) == 3 and hits[0]["code"].startswith("1.01406")

    code, out, _ = run(capsys, "kb", "stats", "--json")
    stats = json.loads(out)
    assert stats["with_documents_share"] >= 0.98
    assert stats["with_time_share"] >= 0.95
    assert stats["catalogue_only"] > 1000

    export = tmp_path / "export.jsonl"
    code, _, _ = run(capsys, "kb", "export", "--out", str(export))
    assert code == 0
    code, out, _ = run(capsys, "kb", "import", str(export), "--json")
    assert json.loads(out)["unchanged"] == report["created"]


def test_import_reports_bad_lines_and_keeps_the_rest(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    good = {"code": "1.000894", "name": "Thủ tục đăng ký kết hôn", "channels": []}
    bad = {"code": "1.000001", "name": "x", "channels": [], "no_such_field": 1}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n{not json\n", encoding="utf-8")
    code, out, _ = run(capsys, "kb", "import", str(path), "--json")
    report = json.loads(out)
    assert report["created"] == 1
    assert {e["code"] for e in report["errors"]} == {"1.000001", "dòng 3"}


def test_missing_path_is_a_clear_error(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'y.sqlite3'}")
    code, out, err = run(capsys, "kb", "import", str(tmp_path / "nope"))
    assert code == 1
    assert "không tìm thấy" in err
