"""Custom actions on a real rasa-sdk action server, started here, through the whole server.

rasa-sdk (3.11.2, the first release installable on Python 3.11; its action protocol is Rasa 3.6's) lives
in its own virtual environment, since it pins websockets, ruamel.yaml, protobuf and sanic versions
the project's environment must not take: ``make rasa-sdk`` creates ``var/rasa-sdk``, or
HELPLINE_RASA_SDK_PYTHON names another interpreter that has it. Without one the tests skip with that
reason. The actions are tests/data/rasa_sdk/helpline_test_actions.py, written as a Rasa team writes them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.app.server import create_app
from bot.core.config import ActionEndpointConfig, HelplineConfig, load_config
from tests.fakes.app import factory_app, settings_for
from tests.fakes.interpreter import FakeInterpreter, IntentRule

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "tests" / "data" / "rasa_sdk"
SDK_PYTHON = Path(os.environ.get("HELPLINE_RASA_SDK_PYTHON") or ROOT / "var" / "rasa-sdk" / "bin" / "python")


def _has_rasa_sdk() -> bool:
    if not SDK_PYTHON.exists():
        return False
    probe = subprocess.run([str(SDK_PYTHON), "-c", "import rasa_sdk"], capture_output=True, timeout=60)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _has_rasa_sdk(),
    reason=f"no rasa-sdk at {SDK_PYTHON}: run `make rasa-sdk` (its own virtual environment) or set "
    "HELPLINE_RASA_SDK_PYTHON",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    """A rasa-sdk action server on 127.0.0.1 running the test actions; its webhook URL."""
    port = _free_port()
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "PYTHONPATH": str(ACTIONS)}
    process = subprocess.Popen(
        [
            str(SDK_PYTHON),
            "-m",
            "rasa_sdk",
            "--actions",
            "helpline_test_actions",
            "--port",
            str(port),
            "--quiet",
        ],
        cwd=ACTIONS,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rasa-sdk did not start: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stderr.close()  # type: ignore[union-attr]


def _config(url: str) -> HelplineConfig:
    endpoint = ActionEndpointConfig(
        url=url,
        actions=["action_weather", "action_dossier_status", "action_refuses"],
        intents={"ask_weather": "action_weather", "refuse_me": "action_refuses"},
        timeout_seconds=20,
        retries=0,
    )
    return load_config(ROOT / "config.yml").model_copy(update={"action_endpoint": endpoint})


API_TOKEN = "sdk-test-" + "4b1e8c27d93a4f6e8a0b5c71e2d9f384"


def _client(db_engine: Engine, tmp_path: Path, url: str) -> httpx.AsyncClient:
    # the factory procedures instead of the 4,259 of the seed: importing those took most of each test
    # a trusted API client (the Rasa HTTP API's token): it names the sender of each conversation
    settings = settings_for("sqlite://", model_dir=tmp_path / "models", rasa_auth_token=API_TOKEN)
    interpreter = FakeInterpreter(intents=[IntentRule("thoi tiet", "ask_weather")])
    app = create_app(factory_app(settings, interpreter=interpreter, db=db_engine, config=_config(url)))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", params={"token": API_TOKEN}
    )


async def say(client: httpx.AsyncClient, text: str, sender: str = "u1") -> list[dict]:
    res = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert res.status_code == 200, res.text
    return res.json()


async def test_a_routed_intent_runs_the_sdk_action(
    db_engine: Engine, tmp_path: Path, action_server: str
) -> None:
    async with _client(db_engine, tmp_path, action_server) as client:
        replies = await say(client, "thời tiết hôm nay thế nào")
        tracker = (await client.get("/conversations/u1/tracker")).json()
    assert replies == [
        {
            "recipient_id": "u1",
            "text": "Trời nắng, u1.",
            "buttons": [{"title": "Cảm ơn", "payload": "/thank"}],
        },
        {"recipient_id": "u1", "image": "https://example.org/sun.png"},
        {"recipient_id": "u1", "custom": {"kind": "forecast", "days": 3}},
    ]
    assert tracker["slots"]["case"] == "hỏi thời tiết"  # the SlotSet the action returned


async def test_an_sdk_action_replaces_a_built_in_one(
    db_engine: Engine, tmp_path: Path, action_server: str
) -> None:
    async with _client(db_engine, tmp_path, action_server) as client:
        replies = await say(client, "/check_dossier_status", sender="u2")
        tracker = (await client.get("/conversations/u2/tracker")).json()
    texts = [r.get("text", "") for r in replies]
    assert "mã hồ sơ" in texts[0].lower()  # utter_ask_dossier_code, rendered from the catalogue by name
    assert texts[1] == "intent=check_dossier_status procedure=None domain=True paused=False"
    assert tracker["slots"]["procedure"] == "1.000894"


async def test_a_rejected_call_gets_the_apology(
    db_engine: Engine, tmp_path: Path, action_server: str
) -> None:
    async with _client(db_engine, tmp_path, action_server) as client:
        replies = await say(client, "/refuse_me", sender="u3")
    assert "trục trặc" in replies[0]["text"]
    assert any(b["payload"] == "/request_human" for b in replies[0]["buttons"])


async def test_when_the_server_is_down_the_built_in_action_answers(db_engine: Engine, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{_free_port()}/webhook"
    async with _client(db_engine, tmp_path, closed) as client:
        replies = await say(client, "/check_dossier_status", sender="u4")
        weather = await say(client, "thời tiết", sender="u5")
    assert "mã hồ sơ" in replies[0]["text"].lower() and len(replies) == 1  # the built-in's question
    assert "trục trặc" in weather[0]["text"]  # a new action with no built-in: the apology
