"""A real server process fed through its Telegram webhook, killed with SIGKILL and restarted: the rig of
the durable-inbox fault test (tests/integration/test_inbox_kill.py) and soak benchmark
(benchmarks/bench_inbox_soak.py). :class:`Platforms` feeds the three webhooks (Telegram, Zalo OA
signed, Zalo Bot) of a server of several worker processes (``Server(..., workers=N)``).

The server is ``python -m tests.fakes.serve PORT`` (the production app, fake NLU, factory procedures) on
PostgreSQL, in webhook mode, replying to a :class:`tests.fakes.telegram_server.FakeTelegramServer` that
records every ``sendMessage``. Every update comes from a chat of its own, so a chat's replies are the
answers to exactly one update.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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

from bot.channels import zalo_bot
from bot.channels.telegram import SECRET_HEADER
from bot.channels.zalo_oa import SIGNATURE_HEADER, sign_event
from knowledge.db import make_engine
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.zalo import FakeZaloServer

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

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql))]
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

    def __init__(self, env: dict[str, str], port: int, log: Path, *, workers: int = 1) -> None:
        self.env, self.port, self.log, self.workers = env, port, log, workers
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_pids(self) -> list[int]:
        """The worker processes of a ``workers`` > 1 server (children of uvicorn's supervisor)."""
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        pids = []
        for pid in map(int, children):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
                pids.append(pid)
        return pids

    async def ready_workers(
        self, count: int, timeout: float = 120.0, exclude: Iterable[int] = ()
    ) -> set[int]:
        """Until ``count`` worker processes (none of ``exclude``) answered ``/readyz`` ready: their pids.
        Each look is a new connection, so the kernel hands it to any worker of the shared socket."""
        ready: set[int] = set()
        excluded = set(exclude)
        deadline = time.monotonic() + timeout
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection, so any worker may take it
        async with httpx.AsyncClient(timeout=2, limits=fresh) as client:
            while len(ready) < count:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{len(ready)} of {count} workers ready:\n{self.log.read_text()[-3000:]}"
                    )
                try:
                    res = await client.get(self.url("/readyz"))
                    body = res.json()
                    if (
                        res.status_code == 200
                        and body.get("status") == "ready"
                        and body["pid"] not in excluded
                    ):
                        ready.add(int(body["pid"]))
                except (httpx.TransportError, ValueError):
                    pass
                await asyncio.sleep(0.2)
        return ready

    def start(self) -> None:
        out = self.log.open("ab")
        workers = [str(self.workers)] if self.workers > 1 else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.serve", str(self.port), *workers],
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
        workers = self.worker_pids()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        for pid in workers:  # a supervisor killed, or stuck, leaves its workers behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


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


CHANNELS = ("telegram", "zalo", "zalo_bot")
"""The webhooks :class:`Platforms` feeds, update ``n`` on ``CHANNELS[n % 3]``."""

WEBHOOK_PATHS = {"telegram": "/webhooks/telegram", "zalo": "/webhooks/zalo", "zalo_bot": "/webhooks/zalo-bot"}


def channel_of(n: int) -> str:
    return CHANNELS[n % len(CHANNELS)]


def zalo_oa_event(n: int, app_id: str, text: str = "xin chào") -> dict[str, Any]:
    """A Zalo OA ``user_send_text`` event from user ``chat_of(n)``, stamped now (Zalo's milliseconds)."""
    return {
        "app_id": app_id,
        "user_id_by_app": f"9{n:017d}",
        "event_name": "user_send_text",
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": chat_of(n)},
        "recipient": {"id": "3662729599332560487"},
        "message": {"text": text, "msg_id": f"zoa{n:020d}"},
    }


def zalo_bot_update(n: int, text: str = "xin chào") -> dict[str, Any]:
    """A Zalo Bot ``message.text.received`` update from chat ``chat_of(n)`` (wrapped, as Zalo sends it)."""
    sender = {"id": chat_of(n), "display_name": "Dân", "is_bot": False}
    return {
        "ok": True,
        "result": {
            "event_name": zalo_bot.TEXT_EVENT,
            "message": {
                "from": sender,
                "chat": {"id": chat_of(n), "chat_type": "PRIVATE"},
                "text": text,
                "message_id": f"zb{n:020d}",
                "date": int(time.time() * 1000),
            },
        },
    }


class Platforms:
    """The fake Telegram, Zalo OA and Zalo Bot a server replies to, and update ``n`` as its platform
    posts it: ``(path, body, headers)``, the same bytes on every delivery (a redelivery is the same
    event, so a Zalo OA event keeps its first timestamp and signature)."""

    OA_SECRET = "oa-secret-key-for-the-soak"

    def __init__(self, tg: FakeTelegramServer, zalo: FakeZaloServer) -> None:
        self.tg, self.zalo = tg, zalo
        self.telegram_secret = secrets.token_urlsafe(32)
        self.zalo_bot_secret = secrets.token_urlsafe(32)
        self._requests: dict[int, tuple[str, bytes, dict[str, str]]] = {}

    def env(self, database_url: str, port: int, **extra: str) -> dict[str, str]:
        """The server's environment: the three channels on these fakes."""
        oa = self.zalo.oa
        return server_env(
            database_url,
            self.tg,
            port,
            self.telegram_secret,
            HELPLINE_ZALO_OA_APP_ID=oa.app_id,
            HELPLINE_ZALO_OA_SECRET_KEY=self.OA_SECRET,
            HELPLINE_ZALO_APP_SECRET_KEY=oa.app_secret_key,
            HELPLINE_ZALO_OA_ACCESS_TOKEN=oa.access_token,
            HELPLINE_ZALO_OA_REFRESH_TOKEN=oa.refresh_token,
            HELPLINE_ZALO_BOT_TOKEN=self.zalo.bot.token,
            HELPLINE_ZALO_BOT_BASE_URL=self.zalo.base_url,
            HELPLINE_ZALO_BOT_WEBHOOK_SECRET=self.zalo_bot_secret,
            FAKE_ZALO_OA_URL=self.zalo.base_url,
            **extra,
        )

    def request(self, n: int) -> tuple[str, bytes, dict[str, str]]:
        """Update ``n``'s webhook path, body and headers (made at its first delivery)."""
        if n not in self._requests:
            self._requests[n] = self._make(n)
        return self._requests[n]

    def _make(self, n: int) -> tuple[str, bytes, dict[str, str]]:
        channel = channel_of(n)
        json_type = {"content-type": "application/json"}
        if channel == "telegram":
            body = json.dumps(update(n)).encode()
            return WEBHOOK_PATHS[channel], body, {**json_type, SECRET_HEADER: self.telegram_secret}
        if channel == "zalo":
            event = zalo_oa_event(n, self.zalo.oa.app_id)
            body = json.dumps(event, ensure_ascii=False).encode()
            mac = sign_event(self.zalo.oa.app_id, body, event["timestamp"], self.OA_SECRET)
            return WEBHOOK_PATHS[channel], body, {**json_type, SIGNATURE_HEADER: mac}
        body = json.dumps(zalo_bot_update(n), ensure_ascii=False).encode()
        return WEBHOOK_PATHS[channel], body, {**json_type, zalo_bot.SECRET_HEADER: self.zalo_bot_secret}

    def replies(self) -> dict[str, Counter[str]]:
        """Per channel, how many replies each chat received."""
        return {
            "telegram": replies_per_chat(self.tg),
            "zalo": Counter(user for user, _ in self.zalo.oa.delivered),
            "zalo_bot": Counter(str(chat) for chat, _ in self.zalo.bot.sent()),
        }

    def answered(self) -> int:
        """Chats answered at least once, over the three platforms."""
        return sum(len(per_chat) for per_chat in self.replies().values())


class PlatformsProcess(Platforms):
    """:class:`Platforms` whose three fakes run in a process of their own
    (``python -m tests.fakes.webhook_rig PORT_FILE``), so a load generator and the fakes it is answered
    through do not share one event loop; the replies are asked for over HTTP. :meth:`stop` ends it."""

    def __init__(self, workdir: Path, timeout: float = 60.0) -> None:
        port_file = workdir / "platforms.json"
        out = (workdir / "platforms.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.webhook_rig", str(port_file)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((workdir / "platforms.log").read_text()[-3000:])
            time.sleep(0.05)
        ports = json.loads(port_file.read_text())
        tg, zalo = FakeTelegramServer(), FakeZaloServer()  # not started here: their addresses only
        tg.port, zalo.port = ports["telegram"], ports["zalo"]
        super().__init__(tg, zalo)
        self._replies_url = f"http://127.0.0.1:{ports['stats']}/replies"

    def replies(self) -> dict[str, Counter[str]]:
        data = httpx.get(self._replies_url, timeout=30).json()
        return {channel: Counter(per_chat) for channel, per_chat in data.items()}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def _serve_platforms(port_file: Path) -> None:
    """The fakes of :class:`PlatformsProcess` and ``GET /replies``, until SIGTERM."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async with FakeTelegramServer() as tg, FakeZaloServer() as zalo:
        platforms = Platforms(tg, zalo)

        async def replies(request: Request) -> JSONResponse:
            return JSONResponse(platforms.replies())

        stats = FakeTelegramServer()  # its HTTP server, serving the counts
        stats.app = Starlette(routes=[Route("/replies", replies)])
        await stats.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready = port_file.with_suffix(".tmp")
        ready.write_text(json.dumps({"telegram": tg.port, "zalo": zalo.port, "stats": stats.port}))
        ready.rename(port_file)
        await stop.wait()
        await stats.stop()


if __name__ == "__main__":
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run  # type: ignore[assignment]
    run(_serve_platforms(Path(sys.argv[1])))
