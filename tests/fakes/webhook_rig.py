"""A real server process fed through its Telegram webhook, killed with SIGKILL and restarted: the rig of
the durable-inbox fault test (tests/integration/test_inbox_kill.py) and soak benchmark
(benchmarks/bench_inbox_soak.py).

The server is ``python -m tests.fakes.serve PORT`` (the production app, fake NLU, factory procedures) on
PostgreSQL, in webhook mode, replying to a :class:`tests.fakes.telegram_server.FakeTelegramServer` that
records every ``sendMessage``. Every update comes from a chat of its own, so a chat's replies are the
answers to exactly one update.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bot.channels.telegram import SECRET_HEADER
from knowledge.db import make_engine
from tests.fakes.telegram_server import FakeTelegramServer

ROOT = Path(__file__).resolve().parents[2]
FIRST_CHAT = 7_100_000_000


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def update(n: int, text: str = "xin chào") -> dict[str, Any]:
    """Telegram update ``n``: a private chat of its own (chat id ``FIRST_CHAT + n``) saying ``text``."""
    chat = {"id": FIRST_CHAT + n, "first_name": "Dân", "type": "private"}
    return {
        "update_id": 500_000 + n,
        "message": {
            "message_id": 10 + n,
            "from": {"id": FIRST_CHAT + n, "is_bot": False, "first_name": "Dân"},
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        },
    }


def chat_of(n: int) -> str:
    return str(FIRST_CHAT + n)


class PgSchema:
    """A PostgreSQL schema of its own for one run (dropped at the end)."""

    def __init__(self, url: str, name: str) -> None:
        self.admin_url, self.name = url, name

    @property
    def url(self) -> str:
        """The database URL whose connections use this schema."""
        sep = "&" if "?" in self.admin_url else "?"
        return f"{self.admin_url}{sep}options=-csearch_path%3D{self.name}"

    def create(self) -> None:
        engine = make_engine(self.admin_url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        engine.dispose()

    def drop(self) -> None:
        engine = make_engine(self.admin_url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        engine.dispose()

    def column(self, sql: str) -> list[Any]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql)).scalars())
        finally:
            engine.dispose()

    def count(self, sql: str) -> int:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar() or 0)
        finally:
            engine.dispose()


class Server:
    """``tests.fakes.serve`` as a subprocess on ``port``, its output in ``log``."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.serve", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

    async def ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"server not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(
    database_url: str, tg: FakeTelegramServer, port: int, secret: str, **extra: str
) -> dict[str, str]:
    """The environment of a server process: only what the rig sets, plus PATH and the like."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(
        {
            "HELPLINE_DATABASE_URL": database_url,
            "HELPLINE_TELEGRAM_TOKEN": tg.token,
            "HELPLINE_TELEGRAM_BASE_URL": tg.base_url,
            "HELPLINE_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/telegram",
            "HELPLINE_TELEGRAM_WEBHOOK_SECRET": secret,
            "HELPLINE_SESSION_SECRET": secrets.token_urlsafe(32),
            "HELPLINE_INBOX_LEASE_SECONDS": "5",
            "HELPLINE_OUTBOX_LEASE_SECONDS": "10",
            "PTB_TIMEDELTA": "true",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


async def post_all(
    server: Server,
    secret: str,
    numbers: Iterable[int],
    *,
    concurrency: int = 8,
    until_acknowledged: bool = False,
    acknowledged: set[int] | None = None,
    latencies: list[float] | None = None,
) -> set[int]:
    """Post update ``n`` for each number; the set of those answered 200 (with ``until_acknowledged``,
    each is posted again until it is, as Telegram does)."""
    acked = acknowledged if acknowledged is not None else set()
    todo: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        todo.put_nowait(n)

    async def worker(client: httpx.AsyncClient) -> None:
        while not todo.empty():
            n = todo.get_nowait()
            while True:
                started = time.perf_counter()
                try:
                    res = await client.post(server.webhook, json=update(n), headers={SECRET_HEADER: secret})
                    ok = res.status_code == 200
                except httpx.TransportError:
                    ok = False
                if ok:
                    acked.add(n)
                    if latencies is not None:
                        latencies.append(time.perf_counter() - started)
                if ok or not until_acknowledged:
                    break
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return acked


def replies_per_chat(tg: FakeTelegramServer) -> Counter[str]:
    """How many ``sendMessage`` calls each chat received."""
    return Counter(str(c["chat_id"]) for c in tg.calls_to("sendMessage"))


async def wait_for_replies(tg: FakeTelegramServer, chats: int, timeout: float) -> None:
    """Until ``chats`` chats have a reply, or ``timeout``; then a moment more for any second reply."""
    deadline = time.monotonic() + timeout
    while len(replies_per_chat(tg)) < chats and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)
