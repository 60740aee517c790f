"""Signed session cookies, CSRF tokens and role checks of the console pages and the API.

* the session is a cookie holding ``base64(json) + "." + HMAC-SHA256`` signed with
  ``HELPLINE_SESSION_SECRET`` (a random per-process secret when unset: sessions then end on restart and
  are not shared between workers, and a warning says so). The cookie is HttpOnly and SameSite=Lax, and
  Secure when the public URL is https;
* every POST (form or JSON) must carry the session's CSRF token, in the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header; anonymous visitors get a session with a token only, so the login form is
  protected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request, Response

from console.auth.passwords import b64, unb64
from console.auth.users import User, UserService

log = logging.getLogger(__name__)

COOKIE_NAME = "helpline_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 12 * 3600
"""Seconds a login lasts (one working day and a little more)."""


# --- Signed sessions ----------------------------------------------------------------------------------


def resolve_secret(configured: str) -> str:
    """The session secret: ``HELPLINE_SESSION_SECRET``, or a random one for this process (with a warning)."""
    if configured:
        return configured
    log.warning(
        "HELPLINE_SESSION_SECRET is not set: using a random secret, so console logins end when the "
        "server restarts and are not shared between workers"
    )
    return secrets.token_urlsafe(32)


class SessionSigner:
    """Signs and checks session payloads (JSON dicts) with HMAC-SHA256.

    Args:
        secret: the signing secret.
        max_age: seconds a signed payload stays valid.
        clock: seconds since the epoch; injectable for tests.
    """

    def __init__(self, secret: str, max_age: int = SESSION_MAX_AGE, clock: Callable[[], float] = time.time):
        if not secret:
            raise ValueError("the session secret must not be empty")
        self._key = hashlib.sha256(b"helpline-console-session\x00" + secret.encode()).digest()
        self.max_age = max_age
        self._clock = clock

    def _sign(self, body: str) -> str:
        return b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any]) -> str:
        """The cookie value for ``data`` (stamped with the signing time)."""
        payload = {**data, "iat": int(self._clock())}
        body = b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str) -> dict[str, Any] | None:
        """The payload of a valid, unexpired cookie value; None otherwise."""
        body, _, signature = value.partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(unb64(body))
        except ValueError:
            return None
        if not isinstance(data, dict) or self._clock() - float(data.get("iat", 0)) > self.max_age:
            return None
        return data


# --- Request helpers ----------------------------------------------------------------------------------


class NotLoggedIn(HTTPException):
    """No valid session (pages redirect to the login page, the API answers 401)."""

    def __init__(self) -> None:
        super().__init__(status_code=401, detail="Bạn cần đăng nhập.")


class ConsoleAuth:
    """Sessions, CSRF and role checks for the console pages and the API.

    Args:
        users: the account store.
        secret: the session secret (see :func:`resolve_secret`).
        secure_cookie: mark the cookie Secure (set when the site is served over https).
        max_age: seconds a login lasts.
    """

    def __init__(
        self, users: UserService, secret: str, *, secure_cookie: bool = False, max_age: int = SESSION_MAX_AGE
    ) -> None:
        self.users = users
        self.signer = SessionSigner(secret, max_age=max_age)
        self.secure_cookie = secure_cookie

    # session

    def session(self, request: Request) -> dict[str, Any]:
        """The request's session: ``{"uid": int | None, "csrf": str}``; a new anonymous one when absent.

        A new session is remembered on ``request.state`` so :meth:`save_if_new` can set its cookie.
        """
        cached: dict[str, Any] | None = getattr(request.state, "console_session", None)
        if cached is not None:
            return cached
        raw = request.cookies.get(COOKIE_NAME)
        data = self.signer.loads(raw) if raw else None
        if data is None or not isinstance(data.get("csrf"), str):
            data = {"uid": None, "csrf": secrets.token_urlsafe(24)}
            request.state.console_session_new = True
        request.state.console_session = data
        return data

    def save_if_new(self, request: Request, response: Response) -> None:
        """Set the cookie of a session created during this request."""
        if getattr(request.state, "console_session_new", False):
            self.write(response, request.state.console_session)

    def write(self, response: Response, data: dict[str, Any]) -> None:
        """Set the session cookie to ``data``."""
        response.set_cookie(
            COOKIE_NAME,
            self.signer.dumps({"uid": data.get("uid"), "csrf": data["csrf"]}),
            max_age=self.signer.max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookie,
            path="/",
        )

    def login(self, response: Response, user: User) -> None:
        """Start a session for ``user`` with a fresh CSRF token (no fixation of the anonymous one)."""
        self.write(response, {"uid": user.id, "csrf": secrets.token_urlsafe(24)})

    def logout(self, response: Response) -> None:
        """End the session."""
        response.delete_cookie(
            COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=self.secure_cookie
        )

    def csrf_token(self, request: Request) -> str:
        """The CSRF token to put in forms and the ``X-CSRF-Token`` header."""
        return str(self.session(request)["csrf"])

    def user(self, request: Request) -> User | None:
        """The logged-in, active user, or None."""
        uid = self.session(request).get("uid")
        if not isinstance(uid, int):
            return None
        user = self.users.get(uid)
        return user if user is not None and user.active else None

    # checks

    async def check_csrf(self, request: Request) -> None:
        """Raise 403 unless the request carries the session's CSRF token (header or form field)."""
        expected = self.csrf_token(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not given or not hmac.compare_digest(given, expected):
            raise HTTPException(
                status_code=403, detail="Phiên làm việc không hợp lệ, vui lòng tải lại trang."
            )

    def require(self, *roles: str) -> Callable[[Request], Awaitable[User]]:
        """A FastAPI dependency: the logged-in user having one of ``roles`` (401 / 403 otherwise).

        POST, PUT, PATCH and DELETE requests are also checked for the CSRF token.
        """

        async def dependency(request: Request) -> User:
            user = self.user(request)
            if user is None:
                raise NotLoggedIn()
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                await self.check_csrf(request)
            if roles and not user.has_role(*roles):
                raise HTTPException(status_code=403, detail="Tài khoản của bạn không có quyền làm việc này.")
            return user

        return dependency
