"""The one error hierarchy of helpline's services; HTTP codes are given to them at the web edge only.

Services (hand-off, dossiers, editor, learning, analytics, accounts) raise these; callers catch the
level they care about, as with httpx's ``_exceptions.py``. The console's FastAPI exception handler
(:mod:`console.web.errors`) is the one place that turns them into status codes, so a service never
knows it is behind HTTP::

    HelplineError
    ├── ConfigurationError   a setting or config.yml section is wrong (start-up stops)
    ├── UnavailableError     a system we depend on does not answer (``retryable`` says whether to retry)
    ├── NotFound             the thing asked for does not exist                          -> 404
    ├── Conflict             the request clashes with the current state (already claimed) -> 409
    ├── Forbidden            the user may not do this to this thing                      -> 403
    └── ValidationFailed     the input is wrong; ``problems`` lists what, line by line     -> 422
        └── BadRequest       the input cannot be read at all                              -> 400

The engine's own errors (:mod:`bot.engine.engine`: ``EngineError`` and its stages) never leave the
engine: they are caught at its edge and answered with the apology.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class HelplineError(Exception):
    """Base of every error a helpline service raises on purpose. ``str(error)`` is the Vietnamese
    message an officer or editor may read."""


class ConfigurationError(HelplineError, ValueError):
    """A setting or a config.yml section is invalid; the process must not start with it."""


class UnavailableError(HelplineError):
    """An outside system (dossier system, chat platform) failed to answer.

    Args:
        message: what failed.
        retryable: True when trying again later may work (network, 429, 5xx), False when it cannot
            (refused, unknown recipient).
    """

    def __init__(self, message: str = "", *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotFound(HelplineError, LookupError):
    """The thing asked for does not exist (ticket, procedure, audit entry, account)."""


class Conflict(HelplineError):
    """The request clashes with the current state (a ticket already claimed or closed)."""


class Forbidden(HelplineError):
    """The user is known but may not do this (another officer's ticket)."""


class ValidationFailed(HelplineError, ValueError):
    """The input is wrong; ``problems`` lists each problem when there are several: one line each
    (``["Dòng 3: ..."]``), or by field path (``{"documents.2.originals": "..."}``)."""

    def __init__(self, message: str = "", problems: Sequence[str] | Mapping[str, str] = ()) -> None:
        super().__init__(message)
        self.problems: list[str] | dict[str, str] = (
            dict(problems) if isinstance(problems, Mapping) else list(problems)
        )


class BadRequest(ValidationFailed):
    """The input cannot be read at all (not a CSV, not YAML, wrong encoding)."""
