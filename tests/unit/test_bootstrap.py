"""Start-up validation: bad behaviour settings and placeholder secrets stop the server at boot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.bootstrap import bootstrap
from bot.core.config import load_config
from bot.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, policy: str) -> Path:
    text = (ROOT / "config.yml").read_text(encoding="utf-8")
    start = text.index("policy:")
    end = text.find("\n\n", start)
    end = len(text) if end == -1 else end
    path = tmp_path / "config.yml"
    path.write_text(text[:start] + policy + text[end:], encoding="utf-8")
    return path


def test_shipped_config_gives_a_policy() -> None:
    config = load_config(ROOT / "config.yml")
    assert config.policy.officer_after_misses == 2 and config.policy.max_choices == 5


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("policy:\n  ambiguity_margin: 3\n", "ambiguity_margin"),
        ("policy:\n  max_choices: 1\n", "max_choices"),
        ("policy:\n  no_such_setting: 1\n", "no_such_setting"),
    ],
)
def test_bad_policy_stops_start_up(tmp_path: Path, policy: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap(Settings(config_path=_config(tmp_path, policy), database_url=f"sqlite:///{tmp_path}/x.db"))


@pytest.mark.parametrize(
    "env",
    [
        {"HELPLINE_TELEGRAM_TOKEN": "changeme"},
        {"HELPLINE_TELEGRAM_TOKEN": "123:abc", "HELPLINE_TELEGRAM_WEBHOOK_URL": "https://x.example/hook"},
        {"HELPLINE_ZALO_BOT_TOKEN": "1:abc"},
        {"HELPLINE_PORT": "70000"},
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError):
        Settings()
