"""The routers' dependencies: the running app's services, and who is asking.

A route names what it needs in its signature (``editor: Editor``, ``user: EditorUser``), in the style of
the full-stack-fastapi-template's ``api/deps.py``. The services come from the composition root through
``request.app.state`` (:func:`_root` is the only line that knows where), so tests give their own with
``app.dependency_overrides[editor_service] = lambda: service``.

Who is asking: the JSON API answers 401 (no session) or 403 (wrong role, missing CSRF token on a
POST, PUT, PATCH or DELETE) through :func:`api_user`; the pages have their own check in
:func:`console.web.kit.open_page` (a redirect to the login page instead of 401). The user is looked up
in a worker thread: it is a database read, and routes run on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Protocol, cast
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request

from bot.core.config import EscalationConfig
from bot.core.errors import Forbidden
from bot.core.live import ReloadStatus
from bot.handoff.service import TicketService
from console.analytics.service import AnalyticsService
from console.auth.sessions import ConsoleAuth, NotLoggedIn
from console.auth.users import User
from console.editor.service import EditorService
from console.learning.service import LearningService

OFFICER_ROLES = ("officer",)
"""Roles allowed to work on tickets (admins always are)."""
EDITOR_ROLES = ("editor",)
"""Roles allowed to edit the knowledge base and the texts (admins always are)."""
LEARNING_ROLES = ("editor",)
"""Roles allowed to teach the bot and move its data in and out (admins always are)."""
ANALYTICS_ROLES = ("editor", "officer")
"""Roles that may read the analytics (admins always may)."""
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
"""Methods that change nothing, so need no CSRF token."""


# --- The services of the running app ------------------------------------------------------------------


class _Reloader(Protocol):
    """Where the live rebuild stands."""

    def status(self) -> ReloadStatus: ...


class ConsoleRoot(Protocol):
    """What the console's routers need from the composition root's object on ``app.state``."""

    @property
    def console_auth(self) -> ConsoleAuth: ...
    @property
    def tickets(self) -> TicketService: ...
    @property
    def editor(self) -> EditorService: ...
    @property
    def learning(self) -> LearningService: ...
    @property
    def analytics(self) -> AnalyticsService: ...
    @property
    def live_reloader(self) -> _Reloader: ...
    @property
    def escalation(self) -> EscalationConfig: ...


def _root(request: Request) -> ConsoleRoot:
    """What the composition root put on the app: the one place that knows where the services are."""
    return cast(ConsoleRoot, request.app.state.app)


def console_auth(request: Request) -> ConsoleAuth:
    """Sessions, CSRF tokens and accounts."""
    return _root(request).console_auth


def ticket_service(request: Request) -> TicketService:
    """The hand-off to officers."""
    return _root(request).tickets


def editor_service(request: Request) -> EditorService:
    """The editors' service."""
    return _root(request).editor


def learning_service(request: Request) -> LearningService:
    """The learning loop's service."""
    return _root(request).learning


def analytics_service(request: Request) -> AnalyticsService:
    """The analytics report."""
    return _root(request).analytics


def reload_status(request: Request) -> Callable[[], ReloadStatus]:
    """How to read where the live rebuild stands (read when a page is drawn, after the route's work)."""
    return _root(request).live_reloader.status


def console_zone(request: Request) -> ZoneInfo:
    """The time zone the pages show times in: the escalation's, where the officers work."""
    return ZoneInfo(_root(request).escalation.timezone)


def analytics_roles() -> tuple[str, ...]:
    """Who may read the analytics: :data:`ANALYTICS_ROLES` (a dependency, so an app can narrow it)."""
    return ANALYTICS_ROLES


Auth = Annotated[ConsoleAuth, Depends(console_auth)]
Tickets = Annotated[TicketService, Depends(ticket_service)]
Editor = Annotated[EditorService, Depends(editor_service)]
Learning = Annotated[LearningService, Depends(learning_service)]
Analytics = Annotated[AnalyticsService, Depends(analytics_service)]
StatusReader = Annotated[Callable[[], ReloadStatus], Depends(reload_status)]
Zone = Annotated[ZoneInfo, Depends(console_zone)]


# --- Who is asking (JSON API) ---------------------------------------------------------------------------


async def signed_in(request: Request, auth: ConsoleAuth) -> User | None:
    """The logged-in, active user of the request's session, or None (read in a worker thread)."""
    return await asyncio.to_thread(auth.user, request)


async def api_user(request: Request, auth: ConsoleAuth, roles: tuple[str, ...]) -> User:
    """The logged-in user having one of ``roles`` (any role when empty).

    Raises:
        NotLoggedIn: no valid session (401).
        HTTPException: 403, a POST, PUT, PATCH or DELETE without the session's CSRF token.
        Forbidden: the user has none of ``roles`` (403).
    """
    user = await signed_in(request, auth)
    if user is None:
        raise NotLoggedIn()
    if request.method not in SAFE_METHODS:
        await auth.check_csrf(request)
    if roles and not user.has_role(*roles):
        raise Forbidden("Tài khoản của bạn không có quyền làm việc này.")
    return user


async def any_api_user(request: Request, auth: Auth) -> User:
    """Anyone logged in."""
    return await api_user(request, auth, ())


async def officer_api_user(request: Request, auth: Auth) -> User:
    """An officer (or admin)."""
    return await api_user(request, auth, OFFICER_ROLES)


async def editor_api_user(request: Request, auth: Auth) -> User:
    """An editor (or admin)."""
    return await api_user(request, auth, EDITOR_ROLES)


async def learning_api_user(request: Request, auth: Auth) -> User:
    """Someone who may teach the bot."""
    return await api_user(request, auth, LEARNING_ROLES)


async def analytics_api_user(
    request: Request, auth: Auth, roles: Annotated[tuple[str, ...], Depends(analytics_roles)]
) -> User:
    """Someone who may read the analytics."""
    return await api_user(request, auth, roles)


AnyUser = Annotated[User, Depends(any_api_user)]
Officer = Annotated[User, Depends(officer_api_user)]
EditorUser = Annotated[User, Depends(editor_api_user)]
LearningUser = Annotated[User, Depends(learning_api_user)]
AnalyticsReader = Annotated[User, Depends(analytics_api_user)]


RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a row id (64-bit, from 1)")]
"""A row id in a URL: one outside 1 .. 2**63-1 (the databases' 64-bit integers; ids start at 1) is refused
with 422, never a 500 (SQLite raises OverflowError below -2**63 or above 2**63-1)."""
