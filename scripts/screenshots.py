"""Regenerate the screenshots of docs/walkthrough.md into docs/img/, on a phone and a desktop.

Usage (from the project root; Debian's chromium, as the browser tests)::

    .venv/bin/python scripts/screenshots.py                 # every screen
    .venv/bin/python scripts/screenshots.py chat-failed     # only the screens named
    .venv/bin/python scripts/screenshots.py --model-dir var/models   # reuse a trained NLU model

The script starts the whole server on a loopback port over a fresh SQLite database in a temporary
folder (the shipped seed, the demo dossiers, the accounts of :data:`ACCOUNTS`) and the NLU model
(copied from ``--model-dir`` when given, else trained: about a minute), then, for every :class:`Screen`
of :data:`SCREENS` and every size, opens a new browser (a new visitor), runs the screen's actions and
saves ``docs/img/<name>-<size>.png``. Nothing is downloaded.

To add a screen, append a :class:`Screen` to :data:`SCREENS` (web chat entries first, then the consoles)
and a line for it in docs/walkthrough.md; ``tests/unit/test_walkthrough.py`` checks that every screen
is in the walk-through and has its images.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, EDITOR, OFFICER, log_in, serve  # noqa: E402  (root on the path)

OUT = ROOT / "docs" / "img"
SIZES: dict[str, dict[str, int]] = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 800},
}
BOT = ".msg--bot .msg__bubble"


ACCOUNTS = (OFFICER, EDITOR)
"""The console accounts of the demo server: the browser tests' (tests/e2e/conftest.py)."""


@dataclass
class Demo:
    """What a screen's actions may use: the server's address and the app behind it."""

    url: str
    app: Any  # bot.app.bootstrap.App


Actions = Callable[[Any, Demo], None]
"""``actions(page, demo)``: brings the page (already at the screen's url) to the state to shoot."""


@dataclass(frozen=True)
class Screen:
    """One screenshot: ``docs/img/<name>-<size>.png`` for each of ``sizes``.

    Attributes:
        name: the file name's stem (and the id used on the command line).
        url: the path opened first, on the demo server.
        actions: what to do on the page before the shot.
        sizes: the sizes of :data:`SIZES` it is taken at.
        full_page: the whole page rather than the viewport.
    """

    name: str
    url: str
    actions: Actions
    sizes: tuple[str, ...] = ("phone", "desktop")
    full_page: bool = False


# --- the web chat -----------------------------------------------------------------------------------


def _greeted(page: Any, demo: Demo) -> None:
    page.locator(BOT).first.wait_for()
    page.wait_for_function("!document.querySelector('.msg--typing')")


def _ask(page: Any, text: str) -> None:
    before = page.locator(BOT).count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('{BOT}').length > {before} && !document.querySelector('.msg--typing')"
    )


def chat_greeting(page: Any, demo: Demo) -> None:
    """A new visitor: the greeting and its menu of topics."""
    _greeted(page, demo)


def chat_answer(page: Any, demo: Demo) -> None:
    """A question, then a short follow-up answered about the same procedure, in view above the input."""
    _greeted(page, demo)
    _ask(page, "đăng ký kết hôn cần giấy tờ gì")
    _ask(page, "lệ phí bao nhiêu")


def chat_failed(page: Any, demo: Demo) -> None:
    """The network drops: the message is kept, marked as not sent, with "Gửi lại" beside it."""
    _greeted(page, demo)
    _ask(page, "đăng ký khai sinh cần giấy tờ gì")
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("connectionrefused"))
    page.fill("#text", "nộp hồ sơ ở đâu")
    page.press("#text", "Enter")
    page.locator(".msg--failed .msg__retry").wait_for()
    page.locator("#text").blur()


def chat_waiting(page: Any, demo: Demo) -> None:
    """Handed to an officer, then reloaded: the conversation is still there while the citizen waits."""
    _greeted(page, demo)
    _ask(page, "đăng ký khai tử cần giấy tờ gì")
    _ask(page, "tôi muốn gặp cán bộ")
    count = page.locator(".msg").count()
    page.reload()
    page.wait_for_function(f"document.querySelectorAll('.msg').length >= {count}")


# --- the consoles (officers and editors) ------------------------------------------------------------


def _citizen(demo: Demo, sender: str, *texts: str) -> None:
    """A citizen writing in the web chat, through its REST channel (the officer's screens need one)."""
    import httpx

    with httpx.Client(base_url=demo.url, timeout=60) as chat:  # one visitor: the chat's cookie kept
        for text in texts:
            chat.post("/webhooks/rest/webhook", json={"sender": sender, "message": text}).raise_for_status()


def _log_in(page: Any, demo: Demo, account: Any, url: str) -> None:
    """Log in as ``account`` (the browser tests' way), then open ``url``."""
    log_in(page, demo.url + url, account)
    page.locator(".who", has_text=account.display_name).wait_for()
    page.goto(demo.url + url)


def _waiting_ticket(demo: Demo) -> None:
    """Once: a citizen asked about marriage registration, then for an officer; a canned reply exists."""
    if demo.app.tickets.list("waiting") or demo.app.tickets.list("claimed"):
        return
    _citizen(demo, "demo-console", "/start", "đăng ký kết hôn cần giấy tờ gì", "/request_human")
    if not demo.app.tickets.canned_replies():
        demo.app.tickets.save_canned_reply(
            None,
            "Giờ làm việc",
            "Bộ phận một cửa làm việc từ thứ Hai đến thứ Sáu, sáng từ 7 giờ 30, chiều từ 13 giờ 30.",
            "Phạm Thị Hoa",
        )


def console_inbox(page: Any, demo: Demo) -> None:
    """The officer's inbox: the citizen's question, the procedure's name, how long they have waited,
    the unread count."""
    _waiting_ticket(demo)
    _log_in(page, demo, OFFICER, "/console")
    page.locator(".ticket__question").first.wait_for()


def console_ticket(page: Any, demo: Demo) -> None:
    """A claimed ticket: the whole conversation, the canned reply and the bot's fee answer inserted,
    a private note."""
    _waiting_ticket(demo)
    _log_in(page, demo, OFFICER, "/console?tab=mine" if demo.app.tickets.list("claimed") else "/console")
    page.locator(".ticket a").first.click()
    if page.locator("#claim").count():
        page.click("#claim")
        page.locator("#status", has_text="Đang xử lý").wait_for()
    if not page.locator("#notes .note").count():
        page.fill("#note-text", "Người dân cần đăng ký trước ngày 20; đã hỏi bộ phận hộ tịch.")
        page.click("#add-note")
        page.locator("#notes .note").first.wait_for()
    page.select_option("#canned", index=1)
    page.select_option("#bot-topic", "fee")
    page.wait_for_function("document.getElementById('reply-text').value.includes('Dạ')")
    page.locator("#reply-text").scroll_into_view_if_needed()


def console_editor_form(page: Any, demo: Demo) -> None:
    """The procedure form folded into sections, the fee section open: a multi-line fee box."""
    _log_in(page, demo, EDITOR, "/console/editor/procedures/1.001193")
    page.click("#section-channels > summary")


def _seeded_week(demo: Demo) -> None:
    """Once per demo database: the known week of the analytics tests (tests/analytics_data.py)."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    from tests.analytics_data import VN, seed_week

    if demo.app.adapters.sessions is getattr(_seeded_week, "done", None):
        return
    _seeded_week.done = demo.app.adapters.sessions  # type: ignore[attr-defined]
    # the seed drives the ticket service with asyncio.run: not on the browser's thread (its own loop)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            seed_week, demo.app.adapters.sessions, datetime.now(VN).date(), "1.000894", "1.001193"
        ).result()


def console_analytics(page: Any, demo: Demo) -> None:
    """The dashboard: what the questions came to, each kind counted apart, the figure defined."""
    _seeded_week(demo)
    _log_in(page, demo, OFFICER, "/console/analytics")
    page.locator("#questions").scroll_into_view_if_needed()


def console_learning(page: Any, demo: Demo) -> None:
    """The learning inbox: a question the bot refused as out of scope, with what it replied."""
    question = "lương tối thiểu vùng năm nay là bao nhiêu"
    if not any(i.text == question for i in demo.app.learning.inbox()):
        _citizen(demo, "demo-learning", question)
    _log_in(page, demo, EDITOR, "/console/learning")
    item = page.locator("#inbox .item", has_text=question)
    item.locator(".bot-reply summary").click()
    item.scroll_into_view_if_needed()


SCREENS: list[Screen] = [
    # the web chat (citizens)
    Screen("chat-greeting", "/", chat_greeting),
    Screen("chat-answer", "/", chat_answer),
    Screen("chat-failed", "/", chat_failed),
    Screen("chat-waiting", "/", chat_waiting),
    # the officer and editor consoles (an action logs in with tests.e2e.conftest.log_in and may seed
    # through demo.app)
    Screen("console-inbox", "/console", console_inbox),
    Screen("console-ticket", "/console", console_ticket),
    Screen("console-editor-form", "/console/editor/procedures/1.001193", console_editor_form),
    Screen("console-analytics", "/console/analytics", console_analytics),
    Screen("console-learning", "/console/learning", console_learning),
]


# --- the demo server --------------------------------------------------------------------------------


@contextmanager
def demo_server(folder: Path, model_dir: Path | None) -> Iterator[Demo]:
    """The whole helpline server on a fresh database in ``folder``, on a loopback port."""
    from bot.app.bootstrap import bootstrap
    from bot.core.settings import Settings

    models = folder / "models"
    if model_dir is not None and (model_dir / "latest").exists():
        shutil.copytree(model_dir, models)
    settings = Settings(
        _env_file=None, database_url=f"sqlite:///{folder / 'helpline.sqlite3'}", model_dir=models
    )
    app = bootstrap(settings)
    app.migrate()
    for account in ACCOUNTS:
        app.users.add(
            account.username, account.password, role=account.role, display_name=account.display_name
        )
    with serve(app) as server:
        yield Demo(server.url, app)


def shoot(screens: list[Screen], demo: Demo, out: Path) -> list[Path]:
    """Every screen at every one of its sizes, each in a new browser context; the files written."""
    from playwright.sync_api import sync_playwright

    written = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for screen in screens:
                for size in screen.sizes:
                    context = browser.new_context(locale="vi-VN", viewport=SIZES[size])
                    page = context.new_page()
                    page.set_default_timeout(30_000)
                    page.goto(demo.url + screen.url)
                    screen.actions(page, demo)
                    page.wait_for_timeout(200)  # let the scroll settle
                    path = out / f"{screen.name}-{size}.png"
                    page.screenshot(path=str(path), full_page=screen.full_page, animations="disabled")
                    written.append(path)
                    context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these screens (default: all)")
    parser.add_argument("--model-dir", type=Path, help="a trained NLU model folder to copy (else trained)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the images go (default: docs/img)")
    args = parser.parse_args(argv)
    known = {s.name: s for s in SCREENS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown screen(s): {', '.join(unknown)}; known: {', '.join(known)}")
    if not CHROMIUM.exists():
        print(
            "Cần chromium của Debian tại /usr/bin/chromium (bash scripts/install-browser.sh).",
            file=sys.stderr,
        )
        return 1
    screens = [known[n] for n in args.names] if args.names else SCREENS
    with (
        tempfile.TemporaryDirectory(prefix="helpline-shots-") as tmp,
        demo_server(Path(tmp), args.model_dir) as demo,
    ):
        for path in shoot(screens, demo, args.out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
