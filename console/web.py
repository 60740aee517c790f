"""What the console's page routers share: the templates, rendering with the CSRF token, the role check.

The officer pages (:mod:`console.pages`), the editor pages (:mod:`console.editor_pages`), the learning
pages (:mod:`console.learning_pages`) and the analytics dashboard (:mod:`console.analytics_pages`) each
build one :class:`PageKit` for their roles and use its ``render``, ``user_or_redirect`` and ``checked_post``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.core.responses import parse_payload
from console.auth.sessions import CSRF_FIELD, ConsoleAuth
from console.auth.users import User

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def console_templates(zone: ZoneInfo) -> Jinja2Templates:
    """The console's templates with the ``local_time`` filter (``14:05 23/11/2026`` in ``zone``)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    def local_time(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%H:%M %d/%m/%Y") if value else ""

    templates.env.filters["local_time"] = local_time
    templates.env.filters["readable"] = readable_message
    return templates


class PageKit:
    """Rendering and access checks of one group of console pages.

    Args:
        templates: the group's templates (see :func:`console_templates`).
        auth: sessions, users and CSRF tokens.
        roles: a user needs one of these to see the group's pages.
        forbidden: the message shown (403) to a signed-in user without any of ``roles``.
        context: extra template values computed for each page (put before the page's own values).
    """

    def __init__(
        self,
        templates: Jinja2Templates,
        auth: ConsoleAuth,
        *,
        roles: tuple[str, ...],
        forbidden: str,
        context: Callable[[Request], dict[str, Any]] | None = None,
    ) -> None:
        self.templates = templates
        self.auth = auth
        self.roles = roles
        self.forbidden = forbidden
        self._context = context

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        """The template ``name`` with the CSRF token; a new session's cookie is set on the response."""
        extra = self._context(request) if self._context is not None else {}
        values = {
            "csrf_token": self.auth.csrf_token(request),
            "csrf_field": CSRF_FIELD,
            **extra,
            **context,
        }
        response = self.templates.TemplateResponse(request, name, values, status_code=status_code)
        self.auth.save_if_new(request, response)
        return response

    def user_or_redirect(self, request: Request) -> User | Response:
        """The signed-in user with one of the roles; else a redirect to the login or a 403 page."""
        user = self.auth.user(request)
        if user is None:
            return RedirectResponse("/console/login", status_code=303)
        if not user.has_role(*self.roles):
            return self.render(request, "error.html", {"user": user, "message": self.forbidden}, 403)
        return user

    async def checked_post(self, request: Request) -> User | Response:
        """:meth:`user_or_redirect` for a form POST, which must also carry a valid CSRF token."""
        user = self.user_or_redirect(request)
        if isinstance(user, User):
            await self.auth.check_csrf(request)
        return user


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
