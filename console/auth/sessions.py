"""Console sessions (server-side, in the database) and CSRF tokens of the pages and the API (the role
checks are :func:`console.web.deps.api_user` and :func:`console.web.kit.open_page`).

* The cookie holds ``base64(json) + "." + HMAC-SHA256`` signed with ``HELPLINE_SESSION_SECRET``:
  a CSRF token, the signing time and, once logged in, a random session id. The signature only proves the
  server wrote it; whether the session still stands is read from the ``console_sessions`` table on
  every request (:class:`SessionStore`), so every worker process agrees and a session ends for all of
  them at once: at logout, when the account's password, role or activity changes, after
  :data:`IDLE_TIMEOUT` without a request and :data:`SESSION_MAX_AGE` after the login at the latest.
  A cookie signed in the future (beyond a minute of clock skew) is refused.
* The cookie is HttpOnly; ``Secure`` and ``SameSite=Strict`` when the site is served over https (the
  ``HELPLINE_PUBLIC_URL`` setting), ``SameSite=Lax`` on plain http for development.
* Every POST (form or JSON) must carry the session's CSRF token, in the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header; anonymous visitors get a cookie with a token only, so the login form is
  protected too.
* Logins go through :class:`console.auth.login.LoginGuard` (throttled per account and per address).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import HTTPException, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.throttle import InMemoryThrottleStore, Throttle
from bot.core.timeutil import as_utc, utcnow
from console.auth.events import AuthEvents
from console.auth.login import LOGIN_RULES, LoginGuard
from console.auth.passwords import b64, unb64
from console.auth.tables import ConsoleSessionRow
from console.auth.users import User, UserService

log = logging.getLogger(__name__)

COOKIE_NAME = "helpline_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 12 * 3600
"""Seconds a login lasts at most (one working day and a little more): the absolute timeout."""
IDLE_TIMEOUT = 45 * 60
"""Seconds without a request after which a session ends (the console's pages poll every few seconds,
so an open tab keeps its session; a forgotten one does not)."""
CLOCK_SKEW = 60
"""Seconds a cookie's signing time may be ahead of this server's clock (another worker's clock)."""
_TOUCH_EVERY = 60
"""Seconds between two writes of a session's last request time (not one write per poll)."""
HOUSEKEEPING_EVERY = 3600
"""Seconds between two clean-ups of ended sessions and stale login counts (at a login)."""


# --- Signed cookies -----------------------------------------------------------------------------------


class SessionSigner:
    """Signs and checks cookie payloads (JSON dicts) with HMAC-SHA256.

    Args:
        secret: the signing secret (its strength is checked at start-up, :mod:`bot.core.settings`).
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
        """The payload of a valid, unexpired cookie value, not signed in the future; None otherwise."""
        body, _, signature = value.partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(unb64(body))
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        iat = data.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            return None
        age = self._clock() - float(iat)
        if age > self.max_age or age < -CLOCK_SKEW:
            return None
        return data


# --- Server-side sessions -----------------------------------------------------------------------------


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """The ``console_sessions`` table: which logged-in sessions still stand (blocking calls).

    Args:
        sessions: the database session factory.
        max_age: seconds from login to the absolute end of a session.
        idle: seconds without a request that end a session.
        clock: current time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_age: int = SESSION_MAX_AGE,
        idle: int = IDLE_TIMEOUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.max_age = timedelta(seconds=max_age)
        self.idle = timedelta(seconds=idle)
        self._clock = clock

    def open(self, user_id: int, address: str = "") -> str:
        """Start a session for ``user_id``; its id (for the cookie; only its hash is stored)."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._sessions.begin() as session:
            session.add(
                ConsoleSessionRow(
                    id_hash=_id_hash(session_id),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    address=address[:64],
                )
            )
        return session_id

    def user_of(self, session_id: str) -> int | None:
        """The account of a standing session (its last request time updated), or None when the session
        ended: logged out, revoked, idle too long or older than the absolute timeout."""
        key = _id_hash(session_id)
        now = self._clock()
        with self._sessions() as session:
            row = session.get(ConsoleSessionRow, key)
            if row is None:
                return None
            user_id = row.user_id
            created, seen = as_utc(row.created_at) or now, as_utc(row.last_seen_at) or now
        if now - created > self.max_age or now - seen > self.idle:
            self.close(session_id)
            return None
        if (now - seen).total_seconds() >= _TOUCH_EVERY:
            with self._sessions.begin() as session:
                session.execute(
                    update(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == key).values(last_seen_at=now)
                )
        return user_id

    def close(self, session_id: str) -> None:
        """End one session (logout)."""
        with self._sessions.begin() as session:
            session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == _id_hash(session_id))
            )

    def count(self, user_id: int) -> int:
        """How many sessions of ``user_id`` stand (for tests and the admin's view)."""
        with self._sessions() as session:
            return len(
                session.scalars(
                    select(ConsoleSessionRow.id_hash).where(ConsoleSessionRow.user_id == user_id)
                ).all()
            )

    def prune(self) -> int:
        """Delete the sessions past either timeout; how many (housekeeping)."""
        now = self._clock()
        with self._sessions.begin() as session:
            result = session.execute(
                delete(ConsoleSessionRow).where(
                    (ConsoleSessionRow.created_at < now - self.max_age)
                    | (ConsoleSessionRow.last_seen_at < now - self.idle)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)


# --- Request helpers ----------------------------------------------------------------------------------


class NotLoggedIn(HTTPException):
    """No valid session (pages redirect to the login page, the API answers 401)."""

    def __init__(self) -> None:
        super().__init__(status_code=401, detail="Bạn cần đăng nhập.")


def client_address(request: Request) -> str:
    """The address the request came from (the proxy's ``X-Forwarded-For`` is read by uvicorn's
    ``--proxy-headers`` for trusted proxies only, never here)."""
    return request.client.host if request.client else ""


class ConsoleAuth:
    """Sessions, CSRF, logins and role checks for the console pages and the API.

    Args:
        users: the account store.
        secret: the cookie signing secret (``HELPLINE_SESSION_SECRET``, checked at start-up).
        secure_cookie: the site is served over https: cookie ``Secure`` and ``SameSite=Strict``.
        max_age: seconds a login lasts at most.
        idle: seconds without a request that end a session.
        throttle: the login throttle (the composition root passes one on the shared SQL store; an
            in-memory one by default, for one process).
        clock: current time.
    """

    def __init__(
        self,
        users: UserService,
        secret: str,
        *,
        secure_cookie: bool = False,
        max_age: int = SESSION_MAX_AGE,
        idle: int = IDLE_TIMEOUT,
        throttle: Throttle | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.users = users
        self.signer = SessionSigner(secret, max_age=max_age, clock=lambda: clock().timestamp())
        self.secure_cookie = secure_cookie
        self.store = SessionStore(users.sessions, max_age=max_age, idle=idle, clock=clock)
        self.events = AuthEvents(users.sessions, clock=clock)
        self.logins = LoginGuard(
            users, throttle or Throttle(InMemoryThrottleStore(), LOGIN_RULES, clock), self.events
        )
        self._clock = clock
        self._swept_at: datetime | None = None

    # session

    def session(self, request: Request) -> dict[str, Any]:
        """The request's cookie payload: ``{"sid": str | None, "csrf": str}``; a new anonymous one when
        absent or invalid.

        A new payload is remembered on ``request.state`` so :meth:`save_if_new` can set its cookie.
        """
        cached: dict[str, Any] | None = getattr(request.state, "console_session", None)
        if cached is not None:
            return cached
        raw = request.cookies.get(COOKIE_NAME)
        data = self.signer.loads(raw) if raw else None
        if data is None or not isinstance(data.get("csrf"), str):
            data = {"sid": None, "csrf": secrets.token_urlsafe(24)}
            request.state.console_session_new = True
        request.state.console_session = data
        return data

    def save_if_new(self, request: Request, response: Response) -> None:
        """Set the cookie of a session created during this request."""
        if getattr(request.state, "console_session_new", False):
            self.write(response, request.state.console_session)

    @property
    def _samesite(self) -> Literal["strict", "lax"]:
        return "strict" if self.secure_cookie else "lax"

    def write(self, response: Response, data: dict[str, Any]) -> None:
        """Set the session cookie to ``data``."""
        response.set_cookie(
            COOKIE_NAME,
            self.signer.dumps({"sid": data.get("sid"), "csrf": data["csrf"]}),
            max_age=self.signer.max_age,
            httponly=True,
            samesite=self._samesite,
            secure=self.secure_cookie,
            path="/",
        )

    def cookie_for(self, user: User, address: str = "") -> str:
        """A new logged-in session of ``user``: its cookie value (the login routes and tests)."""
        sid = self.store.open(user.id, address)
        return self.signer.dumps({"sid": sid, "csrf": secrets.token_urlsafe(24)})

    def housekeeping(self) -> int:
        """Delete ended sessions and login counts that no longer matter; how many rows (blocking)."""
        return self.store.prune() + self.logins.throttle.prune()

    def login(self, response: Response, user: User, address: str = "") -> None:
        """Start a session for ``user`` with a fresh CSRF token (no fixation of the anonymous one), and
        at most once an hour clean up (:meth:`housekeeping`). Blocking (database writes)."""
        now = self._clock()
        if self._swept_at is None or (now - self._swept_at).total_seconds() >= HOUSEKEEPING_EVERY:
            self._swept_at = now
            try:
                self.housekeeping()
            except Exception:  # housekeeping must never cost a login; the next one tries again
                log.exception("could not clean up ended console sessions")
        sid = self.store.open(user.id, address)
        self.write(response, {"sid": sid, "csrf": secrets.token_urlsafe(24)})

    def logout(self, request: Request, response: Response) -> None:
        """End the request's session, on the server (every copy of the cookie stops working) and in the
        browser. Blocking (a database write)."""
        sid = self.session(request).get("sid")
        if isinstance(sid, str):
            user_id = self.store.user_of(sid)
            self.store.close(sid)
            user = self.users.get(user_id) if user_id is not None else None
            if user is not None:
                self.events.record("logout", user.username, address=client_address(request))
        response.delete_cookie(
            COOKIE_NAME,
            path="/",
            httponly=True,
            samesite=self._samesite,
            secure=self.secure_cookie,
        )

    def csrf_token(self, request: Request) -> str:
        """The CSRF token to put in forms and the ``X-CSRF-Token`` header."""
        return str(self.session(request)["csrf"])

    def user(self, request: Request) -> User | None:
        """The logged-in, active user of a standing session, or None. Blocking (a database read)."""
        cached = getattr(request.state, "console_user", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        sid = self.session(request).get("sid")
        if not isinstance(sid, str):
            return None
        uid = self.store.user_of(sid)
        user = self.users.get(uid) if uid is not None else None
        if user is None or not user.active:
            return None
        request.state.console_user = user
        return user

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
