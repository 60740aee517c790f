"""Browser-test fixtures: a real server on a loopback port and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOT_BUBBLE = ".msg--bot .msg__bubble"
"""A speech bubble of the bot in the web chat."""


@dataclass(frozen=True)
class Account:
    """A console user the test server is created with."""

    username: str
    password: str
    role: str
    display_name: str


EDITOR = Account("hoa", "lua-vang-2026", "editor", "Phạm Thị Hoa")
OFFICER = Account("lan", "sen-hong-2026", "officer", "Trần Thị Lan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving ``app`` in a thread; ``url`` is where it listens (``port``: a given one, e.g. to
    start a server again where the last one was)."""

    def __init__(self, app, port: int | None = None) -> None:
        import uvicorn

        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def serve(container) -> LiveServer:
    """A :class:`LiveServer` of the whole helpline app over ``container`` (use it with ``with``)."""
    from bot.app.server import create_app

    return LiveServer(create_app(container))


def container_with(settings, *accounts: Account, models: Path | None = None):
    """A migrated container whose database has ``accounts``.

    With ``models``, the model folder is first copied there, so a live rebuild writes to a private copy.
    """
    from bot.app.bootstrap import bootstrap

    if models is not None:
        shutil.copytree(settings.model_dir, models)
        settings = settings.model_copy(update={"model_dir": models})
    container = bootstrap(settings)
    container.migrate()
    for account in accounts:
        container.users.add(
            account.username, account.password, role=account.role, display_name=account.display_name
        )
    return container


def log_in(page, url: str, account: Account) -> None:
    """Open ``url`` (a console page, which shows the login form) and log in as ``account``."""
    page.goto(url)
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("#login")


def second_page(page):
    """Another page in the same browser context (another person on the same machine's browser)."""
    other = page.context.new_page()
    other.set_default_timeout(15_000)
    return other


def ask(page, text: str) -> None:
    """Type ``text`` in the web chat, press Enter and wait until the bot has said something more."""
    before = page.locator(BOT_BUBBLE).count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.wait_for_function(f"document.querySelectorAll('{BOT_BUBBLE}').length > {before}")


@pytest.fixture
def live_server(real_settings) -> Iterator[LiveServer]:
    """The whole helpline server on a private seeded database."""
    from bot.app.bootstrap import bootstrap

    with serve(bootstrap(real_settings)) as server:
        yield server


def _launch(pw):
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make test installs it)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module (Debian's; Playwright cannot download browsers here); each
    test opens contexts of its own, so no cookie or storage crosses tests. While it runs, Playwright's
    sync API holds a running event loop in this thread: a test using it must not call ``asyncio.run``
    itself (run a coroutine in another thread), and a module whose fixtures do uses :func:`browser_page`."""
    with _playwright() as pw:
        browser = _launch(pw)
        yield browser
        browser.close()


@pytest.fixture
def browser_page():
    """A fresh Chromium page, in a browser started for this test only (after the test's other fixtures,
    which may run ``asyncio.run``)."""
    with _playwright() as pw:
        browser = _launch(pw)
        context = browser.new_context(locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def editor_server(real_settings, tmp_path) -> Iterator[LiveServer]:
    """The server with the editor account; a save's live rebuild writes to a private copy of the model."""
    with serve(container_with(real_settings, EDITOR, models=tmp_path / "models")) as server:
        yield server
