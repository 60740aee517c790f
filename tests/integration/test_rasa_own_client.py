"""Rasa 3.6.21's own code as the client of the project's server, over real HTTP on 127.0.0.1: its
``RasaNLUHttpInterpreter`` (what Rasa uses for an external NLU server) parses through ``/model/parse``, and
its ``Event.from_parameters`` and ``DialogueStateTracker`` read the tracker of a conversation made on the
REST channel. Rasa needs Python < 3.11, so it runs in its own virtual environment (``make rasa36``, or
HELPLINE_RASA_PYTHON); without one the test skips and says so."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.app.bootstrap import bootstrap
from bot.app.server import create_app
from bot.core.settings import Settings
from tests.fakes.adapters import fake_adapters
from tests.fakes.interpreter import FakeInterpreter

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = Path(os.environ.get("HELPLINE_RASA_PYTHON") or ROOT / "var" / "rasa36" / "bin" / "python")
CLIENT = ROOT / "tests" / "data" / "rasa36" / "rasa_client.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not RASA_PYTHON.exists(),
        reason=f"no Rasa at {RASA_PYTHON}: Rasa 3.6 needs Python < 3.11, `make rasa36` installs it in its "
        "own virtual environment (or set HELPLINE_RASA_PYTHON)",
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The project's server (rule-based NLU, a private SQLite file) on a free loopback port."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", model_dir=tmp_path / "models")
    app = create_app(bootstrap(settings, adapters=fake_adapters(settings, interpreter=FakeInterpreter())))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def test_rasa_reads_the_parse_and_the_tracker(server: str) -> None:
    replies = httpx.post(
        f"{server}/webhooks/rest/webhook", json={"sender": "rasa_user", "message": "lệ phí kết hôn"}
    )
    assert replies.status_code == 200
    conversation = replies.json()[0]["recipient_id"]  # the server's session: no API token is set here
    run = subprocess.run(
        [str(RASA_PYTHON), str(CLIENT), server, conversation],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},  # offline: Rasa must not try to report
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["parse_intent"] == {"name": "ask_fee", "confidence": 0.93}
    assert seen["parse_procedure"]["code"] == "1.000894"
    assert seen["events"] == [
        "ActionExecuted",
        "SessionStarted",
        "ActionExecuted",
        "UserUttered",
        "BotUttered",
        "ActionExecuted",
    ]
    assert seen["latest_text"] == "lệ phí kết hôn" and seen["latest_intent"] == "ask_fee"
    assert seen["bot_texts"] == [r["text"] for r in replies.json()]
    assert seen["latest_action_name"] == "action_listen"
