"""Fixtures of the console's browser tests: one Chromium per module, a page at phone and at desktop size.

Import them into a test module (``from tests.e2e.console_pages import console_browser, sized_page``);
each test that takes ``sized_page`` runs twice, at 390×844 and at 1280×800.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Account, log_in

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def console_browser():
    """One headless Debian chromium for the module (Playwright cannot download browsers here)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make test installs it)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(params=list(SIZES))
def sized_page(request, console_browser):
    """A page of a fresh context at phone, then desktop size; ``page.size`` names which."""
    context = console_browser.new_context(locale="vi-VN", viewport=SIZES[request.param])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.size = request.param
    yield page
    context.close()


def open_as(page, url: str, account: Account) -> None:
    """Log in as ``account`` and open ``url`` (the login page leads to the account's home)."""
    log_in(page, url, account)
    page.locator(".who", has_text=account.display_name).wait_for()
    page.goto(url)


def page_width(page) -> int:
    """How wide the page is drawn (wider than the viewport: the page scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def page_height(page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))
