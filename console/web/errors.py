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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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
    message, or one line each) of a :class:`ValidationFailed` that is not a mere :class:`BadRequest`."""
    body: dict[str, Any] = {"detail": str(error)}
    if isinstance(error, ValidationFailed) and not isinstance(error, BadRequest):
        body["problems"] = error.problems
    return body


async def helpline_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI exception handler: a service error the router did not catch, as :func:`error_body` with
    its :func:`status_of` code."""
    assert isinstance(exc, HelplineError)
    return JSONResponse(error_body(exc), status_code=status_of(exc))


def install_error_handler(app: FastAPI) -> None:
    """Let ``app`` answer every :class:`HelplineError` a route lets through with :func:`helpline_error_handler`."""
    app.add_exception_handler(HelplineError, helpline_error_handler)
