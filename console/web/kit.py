"""What the console's page routers share: the templates, the signed-in :class:`Page`, the login redirect.

Each group of pages (:mod:`console.web.officer`, :mod:`console.web.editor`, :mod:`console.web.learning`,
:mod:`console.web.analytics`) builds its templates once with :func:`console_templates`, declares a page
dependency with :func:`open_page` (who may see the group, what every page of it shows) and puts its
routes on an ``APIRouter(route_class=PageRoute)``. The dependency refuses a visitor who is not logged in
with :class:`LoginRequired` and a user without the group's role with :class:`bot.core.errors.Forbidden`;
:class:`PageRoute` answers both in one place, as the pages always did: a redirect to ``/console/login``
(303), and the group's error page with the message (403). A service error a route does not turn into
its own form answers the same way, with the code of :func:`console.web.errors.status_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from bot.core.errors import Forbidden, HelplineError
from bot.core.responses import parse_payload
from console.auth.sessions import CSRF_FIELD, ConsoleAuth
from console.auth.users import User
from console.web.deps import signed_in
from console.web.errors import status_of

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LOGIN_URL = "/console/login"
ZONE = "local_zone"
"""The template value holding the time zone :func:`local_time` shows times in (set by :meth:`Page.render`)."""


class LoginRequired(Exception):
    """No logged-in user: a page answers with a redirect to the login page."""


# --- Templates ------------------------------------------------------------------------------------------


@pass_context
def local_time(context: Context, value: datetime | None) -> str:
    """A time as ``14:05 23/11/2026`` in the page's time zone."""
    return value.astimezone(context[ZONE]).strftime("%H:%M %d/%m/%Y") if value else ""


def console_templates(**values: Any) -> Jinja2Templates:
    """The console's templates with the ``local_time`` and ``readable`` filters and ``values`` as globals."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["local_time"] = local_time
    templates.env.filters["readable"] = readable_message
    templates.env.globals.update(values)
    return templates


# --- Pages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One request for a console page, ready to render.

    Attributes:
        request: the request.
        auth: sessions and CSRF tokens.
        templates: the group's templates.
        zone: the time zone times are shown in.
        user: the logged-in user (None on the login page).
        extra: values every page of the group shows, computed when the page is drawn (after the route's
            work, so a status line shows what the work started).
    """

    request: Request
    auth: ConsoleAuth
    templates: Jinja2Templates
    zone: ZoneInfo
    user: User | None = None
    extra: Callable[[], dict[str, Any]] | None = None

    @property
    def account(self) -> User:
        """The logged-in user (every page but the login page has one)."""
        if self.user is None:
            raise LoginRequired()
        return self.user

    def render(self, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        """The template ``name`` with the user, the CSRF token and the group's values; a new session's
        cookie is set on the response."""
        values: dict[str, Any] = {
            "csrf_token": self.auth.csrf_token(self.request),
            "csrf_field": CSRF_FIELD,
            ZONE: self.zone,
        }
        if self.user is not None:
            values["user"] = self.user
        if self.extra is not None:
            values.update(self.extra())
        values.update(context)
        response = self.templates.TemplateResponse(self.request, name, values, status_code=status_code)
        self.auth.save_if_new(self.request, response)
        return response

    def error(self, message: str, status_code: int) -> Response:
        """The error page with ``message``."""
        return self.render("error.html", {"message": message}, status_code)


async def open_page(
    request: Request,
    auth: ConsoleAuth,
    zone: ZoneInfo,
    templates: Jinja2Templates,
    *,
    roles: tuple[str, ...],
    forbidden: str,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> Page:
    """The page of the logged-in user having one of ``roles``; a form POST must also carry the session's
    CSRF token.

    Raises:
        LoginRequired: nobody is logged in.
        Forbidden: the user has none of ``roles`` (``forbidden`` is the message shown).
        HTTPException: 403, a POST without the CSRF token.
    """
    user = await signed_in(request, auth)
    if user is None:
        raise LoginRequired()
    page = Page(request, auth, templates, zone, user, extra)
    request.state.console_page = page  # where PageRoute shows an error that leaves the route
    if not user.has_role(*roles):
        raise Forbidden(forbidden)
    if request.method == "POST":
        await auth.check_csrf(request)
    return page


class PageRoute(APIRoute):
    """The route class of the page routers: :class:`LoginRequired` redirects to the login page (303); a
    service error that leaves a route shows the error page with its :func:`status_of` code."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired:
                return RedirectResponse(LOGIN_URL, status_code=303)
            except HelplineError as exc:
                page: Page | None = getattr(request.state, "console_page", None)
                if page is None:
                    raise
                return page.error(str(exc), status_of(exc))

        return handle_page


def redirect_back(url: str, notice: str) -> Response:
    """A redirect (303) to ``url`` showing ``notice``, after a form was handled."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}notice={quote(notice)}", status_code=303)


# --- Messages as officers read them ---------------------------------------------------------------------

_PRESSED: dict[str, str] = {
    "start": "bắt đầu trò chuyện",
    "help": "xem hướng dẫn",
    "more": "xem thêm",
    "rephrase": "hỏi lại",
    "request_human": "gặp cán bộ",
    "check_dossier_status": "tra cứu hồ sơ",
    "subscribe_dossier": "nhận thông báo về hồ sơ",
    "procedure_notes": "xem lưu ý",
    "choose": "chọn thủ tục",
    "choose_group": "chọn trường hợp",
    "ask_documents": "hỏi giấy tờ",
    "ask_fee": "hỏi lệ phí",
    "ask_steps": "hỏi các bước",
    "ask_where": "hỏi nơi nộp",
    "give_feedback": "đánh giá",
    "affirm": "đồng ý",
    "deny": "không đồng ý",
}


def readable_message(text: str) -> str:
    """A citizen's button press as words for the officer ("[Bấm nút] đánh giá 1/5"); other text as is."""
    pressed = parse_payload(text)
    if pressed is None:
        return text
    intent, entities = pressed
    label = _PRESSED.get(intent, intent.replace("_", " "))
    if "rating" in entities:
        label += f" {entities['rating']}/5"
    elif "procedure" in entities:
        label += f" {entities['procedure']}"
    elif entities:
        label += " " + ", ".join(entities.values())
    return f"[Bấm nút] {label}"
