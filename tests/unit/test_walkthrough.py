"""docs/walkthrough.md shows every screen scripts/screenshots.py makes, at every size, and the images are
there (the script regenerates them; this only checks that the three agree)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_screen_is_in_the_walkthrough_with_its_images() -> None:
    shots = _script()
    doc = (ROOT / "docs" / "walkthrough.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((img/[^)]+\.png)\)", doc))
    expected = {f"img/{s.name}-{size}.png" for s in shots.SCREENS for size in s.sizes}
    assert expected <= linked, sorted(expected - linked)
    assert linked <= expected, sorted(linked - expected)  # no image of a screen the script no longer makes
    missing = [p for p in sorted(expected) if not (ROOT / "docs" / p).is_file()]
    assert missing == [], "run scripts/screenshots.py"
    assert len({s.name for s in shots.SCREENS}) == len(shots.SCREENS)
    assert all(set(s.sizes) <= set(shots.SIZES) for s in shots.SCREENS)
