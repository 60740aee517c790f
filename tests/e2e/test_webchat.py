"""The web chat as a citizen uses it, in headless Chromium on a phone (390×844), a desktop (1280×800)
and the narrowest phone (320 px): the newest message in view above the input, a failed send kept with
a retry, the conversation back after a reload, waiting feedback, the keyboard kept open, 44 px targets,
labels, focus order, ``aria-live`` and text contrast.

One server for the module (building it indexes the seed and loads the model: seconds); every test opens
browser contexts of its own, so each is a new visitor with a conversation of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.messages import ConversationKey, OutboundMessage
from tests.e2e.conftest import BOT_BUBBLE, LiveServer, serve

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
ALL_SIZES = [*SIZES, pytest.param(NARROW, id="320px")]
MESSAGE = "#log > .msg:not(.msg--typing)"


@pytest.fixture(scope="module")
def container(module_real_settings):
    from bot.app.bootstrap import bootstrap

    return bootstrap(module_real_settings)


@pytest.fixture(scope="module")
def chat_server(container) -> Iterator[LiveServer]:
    with serve(container) as server:
        yield server


@pytest.fixture
def visitor(chromium, chat_server):
    """``open(viewport)``: a new visitor's page on the web chat, the greeting shown."""
    contexts = []

    def open_chat(viewport: dict, *, touch: bool = False):
        context = chromium.new_context(
            locale="vi-VN", viewport=viewport, has_touch=touch, is_mobile=touch and viewport["width"] < 500
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(chat_server.url + "/")
        page.locator(BOT_BUBBLE).first.wait_for()
        return page

    yield open_chat
    for context in contexts:
        context.close()


def ask(page, text: str, *, click: bool = False) -> None:
    """Send ``text`` (typing it, then Enter or a click on Send) and wait until the reply is in."""
    before = page.locator(".msg--bot:not(.msg--typing)").count()
    page.fill("#text", text)
    if click:
        page.click("#send")
    else:
        page.press("#text", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('.msg--bot:not(.msg--typing)').length > {before}"
        " && !document.querySelector('.msg--typing')"
    )


def newest_is_in_view(page) -> dict:
    """Where the newest message is, against the viewport, the log and the input bar."""
    return page.evaluate(
        """() => {
          const items = document.querySelectorAll('#log > .msg:not(.msg--typing)');
          const m = items[items.length - 1].getBoundingClientRect();
          const log = document.getElementById('log').getBoundingClientRect();
          const bar = document.getElementById('composer').getBoundingClientRect();
          return {top: m.top, bottom: m.bottom, height: m.height, logTop: log.top, logHeight: log.height,
                  barTop: bar.top, barBottom: bar.bottom, vh: window.innerHeight, vw: window.innerWidth,
                  scrollWidth: document.documentElement.scrollWidth};
        }"""
    )


def assert_newest_fully_visible(page) -> None:
    box = newest_is_in_view(page)
    assert box["barBottom"] <= box["vh"] + 0.5, box  # the input bar itself is on screen
    if box["height"] <= box["logHeight"] - 16:
        assert box["top"] >= box["logTop"] - 0.5 and box["bottom"] <= box["barTop"] + 0.5, box
    else:  # taller than the conversation's area: its beginning is shown, under the header
        assert abs(box["top"] - box["logTop"]) <= 24, box
    assert box["top"] >= 0 and box["bottom"] <= box["vh"] or box["height"] > box["logHeight"] - 16, box
    assert box["scrollWidth"] <= box["vw"], box  # nothing wider than the screen


@pytest.mark.parametrize("viewport", ALL_SIZES)
def test_the_newest_message_is_always_fully_visible_above_the_input(visitor, viewport) -> None:
    page = visitor(viewport)
    assert_newest_fully_visible(page)  # the greeting and its menu
    ask(page, "đăng ký kết hôn cần giấy tờ gì")  # a long answer
    assert_newest_fully_visible(page)
    ask(page, "lệ phí bao nhiêu", click=True)  # a short one, the answer the issue saw hidden
    assert "kết hôn" in page.locator(BOT_BUBBLE).last.inner_text().lower()
    assert_newest_fully_visible(page)
    ask(page, "tôi muốn gặp cán bộ")  # the hand-off's confirmation, the other one hidden before
    assert_newest_fully_visible(page)
    page.set_viewport_size({"width": viewport["width"], "height": viewport["height"] - 300})  # keyboard up
    page.wait_for_timeout(50)
    assert_newest_fully_visible(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_a_failed_send_keeps_the_text_and_its_retry_works_once_the_server_is_back(visitor, viewport) -> None:
    page = visitor(viewport)
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("connectionrefused"))  # server down
    page.fill("#text", "đăng ký khai sinh cần giấy tờ gì")
    page.press("#text", "Enter")
    failed = page.locator(".msg--user.msg--failed")
    failed.wait_for()
    assert failed.locator(".msg__bubble").inner_text() == "đăng ký khai sinh cần giấy tờ gì"
    assert "Chưa gửi được" in failed.locator(".msg__state").inner_text()
    retry = failed.get_by_role("button", name="Gửi lại tin nhắn: đăng ký khai sinh cần giấy tờ gì")
    assert_newest_fully_visible(page)  # the failure is next to the message, in view, not off screen
    assert page.locator("#send").is_enabled()

    # a server error is a failure too, and the retry keeps failing while it lasts
    page.unroute("**/webhooks/rest/webhook")
    errors = []
    page.route(
        "**/webhooks/rest/webhook", lambda route: (errors.append(route), route.fulfill(status=503, body="{}"))
    )
    retry.click()
    page.wait_for_function("document.querySelector('.msg--user').dataset.state === 'failed'")
    assert len(errors) == 1

    page.unroute("**/webhooks/rest/webhook")  # the server is back
    failed.get_by_role("button", name="Gửi lại tin nhắn: đăng ký khai sinh cần giấy tờ gì").click()
    page.locator('.msg--user[data-state="sent"]').wait_for()
    page.wait_for_function(f"document.querySelectorAll('{BOT_BUBBLE}').length > 1")
    assert page.locator(".msg--failed").count() == 0  # the error is gone
    assert page.locator(".msg--user").count() == 1  # sent once, not twice
    assert "khai sinh" in page.locator(BOT_BUBBLE).last.inner_text().lower()
    assert page.locator("#status").is_hidden()
    assert_newest_fully_visible(page)


def _chat_id(page) -> str:
    from bot.channels.rest import SESSION_COOKIE, web_sender

    (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    return web_sender(cookie["value"])


def _texts(page) -> list[str]:
    return page.locator(f"{MESSAGE} .msg__bubble").all_inner_texts()


@pytest.mark.parametrize("viewport", SIZES)
def test_a_reload_restores_the_conversation_from_the_server_even_while_waiting_for_an_officer(
    visitor, viewport, container
) -> None:
    page = visitor(viewport)
    ask(page, "đăng ký kết hôn cần giấy tờ gì")
    button = page.locator(".msg--bot").last.locator(".msg__buttons button").first
    title = button.inner_text()
    button.click()
    page.locator('.msg--user[data-state="sent"]', has_text=title).wait_for()
    page.wait_for_function("!document.querySelector('.msg--typing')")
    shown = _texts(page)
    page.reload()
    page.locator(BOT_BUBBLE).first.wait_for()
    page.wait_for_function(f"document.querySelectorAll('{MESSAGE}').length >= {len(shown)}")
    assert _texts(page) == shown  # the same conversation, a button shown by its title
    assert_newest_fully_visible(page)
    # the context is the server's and the citizen sees it: a follow-up is about the same procedure
    ask(page, "nộp ở đâu")
    assert "kết hôn" in page.locator(BOT_BUBBLE).last.inner_text().lower()

    ask(page, "tôi muốn gặp cán bộ")
    waiting = _texts(page)
    key = ConversationKey("rest", _chat_id(page))
    ticket = container.tickets.open_ticket(key)
    assert ticket is not None  # the hand-off happened: the officer's inbox has it
    inbox = [m.text for m in container.tickets.messages(ticket.id)]
    for _ in range(2):
        page.reload()
        page.wait_for_function(f"document.querySelectorAll('{MESSAGE}').length >= {len(waiting)}")
        assert _texts(page) == waiting  # not a blank page while waiting for an officer
    page.wait_for_timeout(300)
    assert [m.text for m in container.tickets.messages(ticket.id)] == inbox  # reloads add nothing
    said = [m.text for m in container.adapters.conversations.recent_messages(key, 100) if m.direction == "in"]
    assert said.count("/start") == 1, said  # the greeting once, not once per reload


@pytest.mark.parametrize("viewport", SIZES)
def test_typing_dots_and_a_disabled_send_while_the_bot_works_and_the_keyboard_stays_open(
    visitor, viewport
) -> None:
    page = visitor(viewport, touch=viewport is PHONE)
    held = []
    page.route(
        "**/webhooks/rest/webhook", lambda route: held.append(route)
    )  # a slow network: the answer waits
    page.click("#text")
    page.fill("#text", "đăng ký khai tử ở đâu")
    if viewport is PHONE:
        page.tap("#send")
    else:
        page.click("#send")
    typing = page.locator(".msg--typing")
    typing.wait_for()
    assert page.locator("#send").is_disabled()
    assert page.locator(".msg--user").last.get_attribute("data-state") == "sending"
    assert "đang trả lời" in typing.inner_text().lower()  # said to a screen reader, dots to the eye
    assert page.evaluate("document.activeElement.id") == "text"  # the keyboard is not closed
    box = typing.bounding_box()
    assert box and box["y"] + box["height"] <= page.locator("#composer").bounding_box()["y"] + 0.5
    page.press("#text", "Enter")  # a second message while the first is out is not sent
    assert page.locator(".msg--user").count() == 1

    held[0].continue_()
    page.locator('.msg--user[data-state="sent"]').wait_for()
    typing.wait_for(state="detached")
    assert page.locator("#send").is_enabled()
    assert page.evaluate("document.activeElement.id") == "text"
    assert page.input_value("#text") == ""
    page.unroute("**/webhooks/rest/webhook")


@pytest.mark.parametrize("viewport", ALL_SIZES)
def test_every_target_is_44_px_and_nothing_is_wider_than_the_screen(visitor, viewport) -> None:
    page = visitor(viewport)
    ask(page, "đăng ký kết hôn cần giấy tờ gì")
    page.route("**/webhooks/rest/webhook", lambda route: route.abort())
    ask_failed = "lệ phí bao nhiêu"
    page.fill("#text", ask_failed)
    page.press("#text", "Enter")
    page.locator(".msg__retry").wait_for()
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, input, a')].map(e => {
             const r = e.getBoundingClientRect();
             return {name: e.textContent || e.id, w: r.width, h: r.height, tag: e.tagName};
           }).filter(r => r.tag !== 'A' && (r.h < 44 || r.w < 44))"""
    )
    assert small == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert page.evaluate(
        "document.querySelector('#log').scrollWidth <= document.querySelector('#log').clientWidth"
    )


CONTRAST = """() => {
  const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { return c; }
    }
    return [255, 255, 255, 1];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || el.closest('.visually-hidden') || el.disabled || style.visibility === 'hidden' || el.offsetParent === null) { continue; }
    const fg = rgba(style.color), bg = background(el);
    const mixed = fg.slice(0, 3).map((c, i) => c * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    out.push({text: el.textContent.trim().slice(0, 30), ratio: (a + 0.05) / (b + 0.05)});
  }
  const input = document.getElementById('text');
  const ph = rgba(getComputedStyle(input, '::placeholder').color), bgi = background(input);
  const [p, q] = [lum(ph), lum(bgi)].sort((x, y) => y - x);
  out.push({text: 'placeholder', ratio: (p + 0.05) / (q + 0.05)});
  return out;
}"""


@pytest.mark.parametrize("viewport", SIZES)
def test_labels_focus_order_live_log_and_contrast(visitor, viewport) -> None:
    page = visitor(viewport)
    assert page.get_attribute("html", "lang") == "vi"
    assert page.get_by_label("Nhập câu hỏi").count() == 1
    assert page.get_by_role("button", name="Gửi", exact=True).count() == 1
    log = page.locator("#log")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("aria-label")
    assert page.locator("#status").get_attribute("role") == "status"  # where an error is announced
    ask(page, "đăng ký kết hôn cần giấy tờ gì")
    page.route("**/webhooks/rest/webhook", lambda route: route.abort())
    page.fill("#text", "lệ phí bao nhiêu")
    page.press("#text", "Enter")
    page.locator(".msg__retry").wait_for()

    # the order of the page: the conversation's buttons, then the input, then Send
    page.focus("#text")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"
    page.focus("#text")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "msg__retry"  # the newest control
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.closest('.msg__buttons') !== null")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible

    ratios = page.evaluate(CONTRAST)
    assert len(ratios) > 10
    low = [r for r in ratios if r["ratio"] < 4.5]
    assert low == [], low


@pytest.mark.parametrize("viewport", SIZES)
def test_another_visitor_naming_this_conversation_neither_reads_nor_writes_it(
    visitor, viewport, container
) -> None:
    alice = visitor(viewport)
    ask(alice, "đăng ký khai sinh cần giấy tờ gì")
    alice_id = _chat_id(alice)
    mallory = visitor(viewport)  # another browser: a session of its own
    assert _chat_id(mallory) != alice_id
    mallory.evaluate(
        """async (id) => {
             await fetch('/webhooks/rest/webhook', {method: 'POST', headers: {'Content-Type': 'application/json'},
                          body: JSON.stringify({sender: id, message: 'tôi muốn gặp cán bộ'})});
           }""",
        alice_id,
    )
    officer = OutboundMessage(ConversationKey("rest", alice_id), "Chị Lan (cán bộ) đây ạ.", sender="officer")
    _run(container.adapters.web_outbox.send(officer))
    stolen = mallory.evaluate(
        """async (id) => {
             const poll = await (await fetch('/webhooks/rest/poll?after=0&sender=' + id)).json();
             const history = await (await fetch('/webhooks/rest/history?sender=' + id)).json();
             return {poll, history: history.messages.map(m => m.text)};
           }""",
        alice_id,
    )
    assert stolen["poll"] == [] and "Chị Lan (cán bộ) đây ạ." not in stolen["history"]
    alice.locator(".msg--officer", has_text="Chị Lan (cán bộ) đây ạ.").wait_for()  # Alice's poll has it
    assert_newest_fully_visible(alice)
    assert alice.locator(".msg--user", has_text="gặp cán bộ").count() == 0
    alice.reload()
    alice.locator(".msg--officer", has_text="Chị Lan (cán bộ) đây ạ.").wait_for()
    assert "gặp cán bộ" not in " ".join(_texts(alice))  # Mallory's message is in Mallory's conversation


def _run(coroutine) -> None:
    """Run ``coroutine`` to its end outside this thread (Playwright's sync API holds its event loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def _readme_dossier() -> tuple[str, str]:
    """The first demo dossier the README lists that is being processed, and its verification digits."""
    from tests.unit.test_readme_demo import readme_dossiers

    code, (digits, _, _) = next((c, v) for c, v in readme_dossiers().items() if v[2] == "Đang giải quyết")
    return code, sorted(digits)[0]


@pytest.mark.parametrize("viewport", SIZES)
def test_a_demo_dossier_listed_in_the_readme_can_be_looked_up(visitor, viewport) -> None:
    code, digits = _readme_dossier()
    page = visitor(viewport)
    ask(page, "hồ sơ của tôi đến đâu rồi")
    assert "mã hồ sơ" in page.locator(BOT_BUBBLE).last.inner_text().lower()
    ask(page, code)
    ask(page, digits)
    status = page.locator(BOT_BUBBLE).last.inner_text()
    assert code in status and "Đang giải quyết" in status
    assert_newest_fully_visible(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_with_the_server_stopped_a_send_fails_in_place_and_its_retry_works_after_the_restart(
    chromium, factory_settings, viewport
) -> None:
    """A real stop and a new server process's app on the same database and port: the session, the
    conversation and the failed message all survive it."""
    from bot.app.server import create_app
    from tests.fakes.app import factory_app

    def start(port: int | None = None) -> LiveServer:
        return LiveServer(create_app(factory_app(factory_settings)), port=port).__enter__()

    server = start()
    context = chromium.new_context(locale="vi-VN", viewport=viewport)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(server.url + "/")
        page.locator(BOT_BUBBLE).first.wait_for()
        ask(page, "đăng ký kết hôn cần giấy tờ gì")
        server.__exit__()  # the server stops

        page.fill("#text", "lệ phí bao nhiêu")
        page.press("#text", "Enter")
        failed = page.locator('.msg--user[data-state="failed"]')
        failed.wait_for()
        assert failed.locator(".msg__bubble").inner_text() == "lệ phí bao nhiêu"
        assert_newest_fully_visible(page)
        assert page.input_value("#text") == ""  # the text is kept in its message, not lost
        failed.locator(".msg__retry").click()  # still down: still failed
        page.wait_for_function(
            "[...document.querySelectorAll('.msg--user')].pop().dataset.state === 'failed'"
            " && !document.querySelector('.msg--typing')"
        )

        server = start(server.port)  # the server is back
        failed.locator(".msg__retry").click()
        page.locator('.msg--user[data-state="sent"]', has_text="lệ phí bao nhiêu").wait_for()
        page.wait_for_function("!document.querySelector('.msg--typing')")
        assert page.locator(".msg--failed").count() == 0
        assert "kết hôn" in page.locator(BOT_BUBBLE).last.inner_text().lower()  # the context survived
        shown = _texts(page)
        page.reload()
        page.wait_for_function(f"document.querySelectorAll('{MESSAGE}').length >= {len(shown)}")
        assert _texts(page) == shown  # the session outlives a restart (nothing signed with a process key)
    finally:
        context.close()
        server.__exit__()
