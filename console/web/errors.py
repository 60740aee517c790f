"""HTTP status codes of the service errors: the one place where :mod:`bot.core.errors` meets HTTP.

Services raise the :class:`bot.core.errors.HelplineError` tree and never know they are behind HTTP;
the routers give each error its code with :func:`status_of`, or let :func:`helpline_error_handler`
(installed by :func:`install_error_handler`) answer it. The most specific class of the error that is
in :data:`STATUS_CODES` decides::

    BadRequest          400   the input cannot be used as given (a refused request)
    ValidationFailed    422   the input is wrong; the answer lists ``problems``
    NotFound            404
    Conflict            409
    Forbidden           403
    UnavailableError    503   a system we depend on does not answer
    ConfigurationError  500
    HelplineError       400   any other refusal

The console's JSON routers answer an error that leaves a route as :func:`error_response` through
:class:`ApiRoute` (their ``route_class``), so including such a router in an app is all it takes; the
pages translate errors into their own re-rendered forms with :func:`status_of` and leave the rest to
:class:`console.web.kit.PageRoute`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from bot.core.errors import (
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    HelplineError,
    NotFound,
    UnavailableError,
    ValidationFailed,
)

STATUS_CODES: Mapping[type[HelplineError], int] = {
    HelplineError: 400,
    BadRequest: 400,
    ValidationFailed: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    UnavailableError: 503,
    ConfigurationError: 500,
}
"""The status code of each error class; a subclass gets the code of its nearest listed ancestor."""


def status_of(error: HelplineError) -> int:
    """The HTTP status code that answers ``error`` (see :data:`STATUS_CODES`)."""
    for cls in type(error).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400


def error_body(error: HelplineError) -> dict[str, Any]:
    """The JSON of an error answer: ``{"detail": "..."}`` in Vietnamese, with the ``problems`` (field ->
    message, or one line each) of a :class:`ValidationFailed` that is not a mere :class:`BadRequest` and
    lists any (a bad date range has none: its answer is the detail alone, as it always was)."""
    body: dict[str, Any] = {"detail": str(error)}
    if problems := problems_of(error):
        body["problems"] = problems
    return body


def problems_of(error: HelplineError) -> list[str] | dict[str, str]:
    """What a refusal lists as wrong (field -> message, or one line each); empty for any error but a
    :class:`ValidationFailed` that is not a mere :class:`BadRequest`."""
    if isinstance(error, ValidationFailed) and not isinstance(error, BadRequest):
        return error.problems
    return []


def error_response(error: HelplineError) -> JSONResponse:
    """The answer to ``error``: :func:`error_body` with the :func:`status_of` code."""
    return JSONResponse(error_body(error), status_code=status_of(error))


async def helpline_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI exception handler: a service error the router did not catch, as :func:`error_response`."""
    assert isinstance(exc, HelplineError)
    return error_response(exc)


def install_error_handler(app: FastAPI) -> None:
    """Let ``app`` answer every :class:`HelplineError` a route lets through with :func:`helpline_error_handler`."""
    app.add_exception_handler(HelplineError, helpline_error_handler)


class ApiRoute(APIRoute):
    """The route class of the console's JSON routers: a service error raised by the route or one of its
    dependencies answers as :func:`error_response`, whatever app the router is included in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_api(request: Request) -> Response:
            try:
                return await handle(request)
            except HelplineError as exc:
                return error_response(exc)

        return handle_api
