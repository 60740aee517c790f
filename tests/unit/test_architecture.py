"""The dependency rule of docs/architecture.md is enforced: ``lint-imports`` passes on the tree and
fails when a forbidden import is added (checked on a copy of the packages, so the tree is untouched)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "nlu", "knowledge", "actions", "console")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is a dev dependency")


def _copy_packages(target: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.gz")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("bot/engine/engine.py", "import actions.registry", "The engine imports no action"),
        ("actions/faq.py", "import bot.engine.policy", "Actions speak through bot.core only"),
        ("knowledge/text.py", "import bot.core.messages", "Layers"),
        ("bot/handoff/service.py", "import bot.app.bootstrap", "Nothing imports the composition root"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, forbidden: str, contract: str
) -> None:
    _copy_packages(tmp_path)
    assert _lint(tmp_path).returncode == 0, "the copied tree keeps every contract"
    path = tmp_path / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{forbidden}  # noqa\n", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout and "BROKEN" in result.stdout
