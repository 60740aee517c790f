"""The console's routers in a bare FastAPI app over the services a test built, as the server mounts them.

The routers read their services through the dependencies of :mod:`console.web.deps`; a test gives its own
with ``app.dependency_overrides`` (the FastAPI way), so it needs no composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from console.auth.sessions import ConsoleAuth
from console.web import ROUTERS, deps


def console_app(
    auth: ConsoleAuth,
    *,
    tickets: Any = None,
    editor: Any = None,
    learning: Any = None,
    analytics: Any = None,
    reload_status: Callable[[], Any] | None = None,
    analytics_roles: tuple[str, ...] | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> FastAPI:
    """Every console router over these services (a route whose service is not given fails if called);
    ``analytics_roles`` narrows who may read the analytics."""
    app = FastAPI()
    for router in ROUTERS:
        app.include_router(router)
    given: dict[Callable[..., Any], Any] = {
        deps.console_auth: auth,
        deps.console_zone: ZoneInfo(timezone),
        deps.ticket_service: tickets,
        deps.editor_service: editor,
        deps.learning_service: learning,
        deps.analytics_service: analytics,
        deps.reload_status: reload_status,
        deps.analytics_roles: analytics_roles,
    }
    for dependency, value in given.items():
        if value is not None:
            app.dependency_overrides[dependency] = _returning(value)
    return app


def _returning(value: Any) -> Callable[[], Any]:
    return lambda: value
