"""Two real server processes on one PostgreSQL (issue 12): what a citizen, an officer and an editor see
when their requests land on different processes.

Each server is a ``uvicorn`` process running production's wiring (``bootstrap`` + ``create_app``: SQL
adapters, advisory locks, the LISTEN/NOTIFY change feed, leases) with the rule-based fake NLU, started
*at the same time on an empty schema* so they race to migrate and seed. The Telegram channel (webhook
mode) talks to a fake Bot API served from a thread of this test. The requests are the public ones: the
REST channel ``/webhooks/rest/webhook`` with the web chat's session cookie, the Telegram webhook and the
console API. Without ``HELPLINE_TEST_DATABASE_URL`` every test here is skipped.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, text

from knowledge.db import make_engine, make_session_factory
from knowledge.seed import SEED_PATH, read_records
from tests.conftest import PG_SKIP_REASON, PG_URL, ROOT
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

SCHEMA = f"helpline_mp_{os.getpid()}"
DATA = ROOT / "tests" / "data" / "channels"
API_TOKEN = secrets.token_urlsafe(32)
TG_SECRET = secrets.token_urlsafe(32)
SERVER = """
import sys, uvicorn
from bot.app.bootstrap import bootstrap
from bot.app.server import create_app
from bot.core.settings import Settings
from tests.fakes.adapters import fake_adapters
from tests.fakes.interpreter import FakeInterpreter

settings = Settings(_env_file=None)
app = create_app(bootstrap(settings, adapters=fake_adapters(settings, interpreter=FakeInterpreter())))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", timeout_graceful_shutdown=5)
"""


def _url_with_schema(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")


class TelegramThread:
    """The fake Bot API in a thread of its own (the servers call it while the tests wait)."""

    def __init__(self) -> None:
        self.fake = FakeTelegramServer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeTelegramServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@dataclass
class Servers:
    urls: list[str]
    pids: list[int]
    db: Engine
    telegram: FakeTelegramServer
    started_seconds: float


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(
    urls: list[str], procs: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(urls)
    while waiting and time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a server exited at start-up: {log.read_text(errors='replace')[-3000:]}")
        for url in list(waiting):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    waiting.discard(url)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if waiting:
        raise RuntimeError(f"not ready after {timeout:.0f} s: {sorted(waiting)}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    try:
        url = _url_with_schema(PG_URL, SCHEMA)
        folder = tmp_path_factory.mktemp("multiprocess")
        with TelegramThread() as tg:
            ports = [_free_port(), _free_port()]
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")},
                "HELPLINE_DATABASE_URL": url,
                "HELPLINE_MODEL_DIR": str(folder / "models"),
                "HELPLINE_SESSION_SECRET": secrets.token_urlsafe(32),
                "HELPLINE_RASA_AUTH_TOKEN": API_TOKEN,
                "HELPLINE_LEASE_SECONDS": "0.5",
                "HELPLINE_TELEGRAM_TOKEN": tg.token,
                "HELPLINE_TELEGRAM_BASE_URL": tg.base_url,
                "HELPLINE_TELEGRAM_WEBHOOK_URL": "https://helpline.example.gov.vn/webhooks/telegram",
                "HELPLINE_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
                "PTB_TIMEDELTA": "true",
                "PYTHONPATH": str(ROOT),
            }
            log_paths = [folder / f"server-{i}.log" for i in range(2)]
            logs = [path.open("wb") for path in log_paths]
            t0 = time.monotonic()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
                )
                for port, log in zip(ports, logs, strict=True)
            ]
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            db = make_engine(url)
            try:
                # Seeding 4,259 procedures into PostgreSQL is most of this (about 40 s on 2 shared cores).
                _wait_ready(urls, procs, log_paths, timeout=150)
                yield Servers(urls, [p.pid for p in procs], db, tg, time.monotonic() - t0)
            finally:
                for proc in procs:  # the processes this fixture started, by their own handle
                    proc.send_signal(signal.SIGTERM)
                for proc in procs:
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(5)
                for log in logs:
                    log.close()
                db.dispose()
    finally:  # also when a server failed to start
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()


# --- helpers ------------------------------------------------------------------------------------------


async def say(client: httpx.AsyncClient, url: str, text_: str) -> httpx.Response:
    """A web chat page's message (its session cookie is in the client, whichever process issued it)."""
    res = await client.post(f"{url}/webhooks/rest/webhook", json={"message": text_})
    assert res.status_code == 200, res.text
    return res


async def web_session(client: httpx.AsyncClient, url: str) -> None:
    """Open a web chat page on the process at ``url``: the client keeps the session cookie it issues."""
    res = await client.get(f"{url}/webhooks/rest/history")
    assert res.status_code == 200, res.text
    assert client.cookies, "no session cookie issued"


def conversation(db: Engine, channel: str, chat_id: str) -> tuple[dict[str, Any], list[str]]:
    """The stored state of a chat and the directions of its logged messages, in order."""
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT id, state FROM conversations WHERE channel = :c AND chat_id = :k"),
            {"c": channel, "k": chat_id},
        ).one()
        directions = conn.execute(
            text("SELECT direction FROM messages WHERE conversation_id = :i ORDER BY id"), {"i": row.id}
        ).scalars()
        state = row.state if isinstance(row.state, dict) else json.loads(row.state)
        return state, list(directions)


def web_chat_id(db: Engine, before: set[str]) -> str:
    with db.connect() as conn:
        now = set(conn.execute(text("SELECT chat_id FROM conversations WHERE channel = 'rest'")).scalars())
    (new,) = now - before
    return new


def rest_chats(db: Engine) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(text("SELECT chat_id FROM conversations WHERE channel = 'rest'")).scalars())


async def login(client: httpx.AsyncClient, url: str, username: str, password: str) -> str:
    token = (await client.get(f"{url}/api/csrf")).json()["csrf_token"]
    res = await client.post(
        f"{url}/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token}
    )
    assert res.status_code == 200, res.text
    return (await client.get(f"{url}/api/csrf")).json()["csrf_token"]


@pytest.fixture(scope="module")
def accounts(servers: Servers) -> dict[str, str]:
    from console.auth.users import UserService

    users = UserService(make_session_factory(servers.db))
    passwords = {"lan": "sen-hong-2026-mp", "minh": "tre-xanh-2026-mp", "hoa": "lua-vang-2026-mp"}
    users.add("lan", passwords["lan"], "officer", "Trần Thị Lan")
    users.add("minh", passwords["minh"], "officer", "Lê Văn Minh")
    users.add("hoa", passwords["hoa"], "editor", "Phạm Hoa")
    return passwords


# --- the tests ------------------------------------------------------------------------------------------


def test_two_workers_seeding_an_empty_database_both_serve_the_whole_catalogue(servers: Servers) -> None:
    seeded = len(read_records(SEED_PATH)[0])
    assert seeded > 4000  # the shipped catalogue (4,259 procedures)
    counts = [httpx.get(f"{url}/healthz", timeout=30).json()["procedures"] for url in servers.urls]
    assert counts == [seeded, seeded]
    with servers.db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procedures")).scalar() == seeded


def test_each_single_job_runs_in_exactly_one_process(servers: Servers) -> None:
    runs = [httpx.get(f"{url}/readyz", timeout=5).json() for url in servers.urls]
    assert {r["pid"] for r in runs} == set(servers.pids)
    everywhere = [job for r in runs for job in r["runs"]]
    assert "dossier watcher" in everywhere
    assert len(everywhere) == len(set(everywhere))  # no job runs in both


async def test_two_messages_of_one_chat_sent_at_once_to_two_processes_are_both_kept(servers: Servers) -> None:
    a, b = servers.urls
    pages = [httpx.AsyncClient(timeout=30) for _ in range(12)]
    chats = []
    try:
        for page in pages:
            before = rest_chats(servers.db)
            await web_session(page, a)
            await say(page, a, "xin chào")
            chats.append(web_chat_id(servers.db, before))
        # both messages of every chat at the same moment, one to each process
        await asyncio.gather(*(say(page, url, "chào bạn") for page in pages for url in (a, b)))
    finally:
        for page in pages:
            await page.aclose()
    for chat_id in chats:
        state, directions = conversation(servers.db, "rest", chat_id)
        assert state["turns"] == 3, (chat_id, state)  # one turn lost = a state overwritten
        assert directions.count("in") == 3
        # turns never interleave: each message's replies follow it before the next message
        assert directions[0] == "in" and "in" not in directions[-1:]


async def test_a_telegram_update_delivered_to_both_processes_is_answered_once(servers: Servers) -> None:
    update = json.loads((DATA / "telegram_text_message.json").read_text(encoding="utf-8"))
    update["update_id"] = 880001
    update["message"]["text"] = "xin chào"
    chat_id = 990000 + os.getpid() % 1000
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat_id
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(f"{url}/webhooks/telegram", json=copy.deepcopy(update), headers=headers)
                for url in servers.urls
            )
        )
    assert [r.status_code for r in answers] == [200, 200]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sent = [c for c in servers.telegram.calls_to("sendMessage") if int(c["chat_id"]) == chat_id]
        if sent:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # a second answer, were there one, would come by now
    sent = [c for c in servers.telegram.calls_to("sendMessage") if int(c["chat_id"]) == chat_id]
    state, directions = conversation(servers.db, "telegram", str(chat_id))
    assert directions.count("in") == 1 and state["turns"] == 1
    assert len(sent) == directions.count("out") >= 1


async def test_two_officers_claiming_one_ticket_on_two_processes(
    servers: Servers, accounts: dict[str, str]
) -> None:
    a, b = servers.urls
    async with (
        httpx.AsyncClient(timeout=30) as lan,
        httpx.AsyncClient(timeout=30) as minh,
        httpx.AsyncClient(timeout=30) as citizen,
    ):
        await web_session(citizen, a)
        before = rest_chats(servers.db)
        await say(citizen, a, "tôi muốn gặp cán bộ")
        chat_id = web_chat_id(servers.db, before)
        lan_csrf = await login(lan, a, "lan", accounts["lan"])
        minh_csrf = await login(minh, b, "minh", accounts["minh"])
        # a session made on one process is valid on the other
        assert (await lan.get(f"{b}/api/me")).json()["username"] == "lan"
        tickets = (await lan.get(f"{b}/api/tickets")).json()
        (ticket,) = [t for t in tickets if t["chat_id"] == chat_id]
        claims = await asyncio.gather(
            lan.post(f"{a}/api/tickets/{ticket['id']}/claim", headers={"X-CSRF-Token": lan_csrf}),
            minh.post(f"{b}/api/tickets/{ticket['id']}/claim", headers={"X-CSRF-Token": minh_csrf}),
        )
        codes = sorted(r.status_code for r in claims)
        assert codes[0] == 200 and codes[1] == 409, [r.text for r in claims]
        winner, csrf, at = (lan, lan_csrf, a) if claims[0].status_code == 200 else (minh, minh_csrf, b)
        # the winner replies on their process; the citizen's page polls the other one
        reply = "Chào bạn, tôi là cán bộ một cửa, tôi xem giúp bạn ngay."
        res = await winner.post(
            f"{at}/api/tickets/{ticket['id']}/reply", json={"text": reply}, headers={"X-CSRF-Token": csrf}
        )
        assert res.status_code == 200, res.text
        other = b if at == a else a
        polled = (await citizen.get(f"{other}/webhooks/rest/poll", params={"after": 0})).json()
        assert reply in [m.get("text") for m in polled]
        # and while the officer holds the chat, the bot is silent on both processes
        for url in (a, b):
            assert (await say(citizen, url, "xin chào")).json() == []
        state, _ = conversation(servers.db, "rest", chat_id)
        assert state["mode"] == "with_officer"


async def test_an_editors_text_reaches_the_other_process(servers: Servers, accounts: dict[str, str]) -> None:
    a, b = servers.urls
    new_text = f"Xin chào từ bản đã sửa {secrets.token_hex(3)}: bạn cần thủ tục gì?"
    async with httpx.AsyncClient(timeout=30) as hoa, httpx.AsyncClient(timeout=30) as citizen:
        csrf = await login(hoa, a, "hoa", accounts["hoa"])
        current = (await hoa.get(f"{a}/api/editor/responses/utter_greet")).json()
        variants = [{**current["variants"][0], "text": new_text}]
        res = await hoa.put(
            f"{a}/api/editor/responses/utter_greet",
            json={"variants": variants},
            headers={"X-CSRF-Token": csrf},
        )
        assert res.status_code == 200, res.text
        await web_session(citizen, b)
        seen: list[str] = []
        for _ in range(50):  # LISTEN/NOTIFY takes milliseconds; the reload a little more
            seen = [m.get("text", "") for m in (await say(citizen, b, "xin chào")).json()]
            if new_text in seen:
                break
            await asyncio.sleep(0.1)
        assert new_text in seen
        res = await hoa.delete(f"{a}/api/editor/responses/utter_greet", headers={"X-CSRF-Token": csrf})
        assert res.status_code == 200, res.text


async def test_an_faq_added_on_one_process_is_answered_by_the_other(
    servers: Servers, accounts: dict[str, str]
) -> None:
    a, b = servers.urls
    question = f"Trụ sở mở cửa đến mấy giờ ngày thứ bảy {secrets.token_hex(2)}"
    answer = "Bộ phận một cửa mở cửa sáng thứ bảy, từ 7 giờ 30 đến 11 giờ 30."
    async with httpx.AsyncClient(timeout=30) as hoa, httpx.AsyncClient(timeout=30) as citizen:
        csrf = await login(hoa, a, "hoa", accounts["hoa"])
        body = {"questions": [question], "answer": answer, "procedure_codes": [], "tags": [], "enabled": True}
        res = await hoa.post(f"{a}/api/editor/faqs", json=body, headers={"X-CSRF-Token": csrf})
        assert res.status_code == 201, res.text
        await web_session(citizen, b)
        seen: list[str] = []
        for _ in range(100):
            seen = [m.get("text", "") for m in (await say(citizen, b, question)).json()]
            if any(answer in t for t in seen):
                break
            await asyncio.sleep(0.1)
        assert any(answer in t for t in seen), seen
