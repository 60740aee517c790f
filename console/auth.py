"""Console accounts: users, password hashes, signed session cookies, CSRF tokens and role checks.

Standard library only:

* passwords are hashed with ``hashlib.scrypt`` (random 16-byte salt, parameters stored with the hash, so
  they can be raised later without breaking old hashes);
* the session is a cookie holding ``base64(json) + "." + HMAC-SHA256`` signed with
  ``HELPLINE_SESSION_SECRET`` (a random per-process secret when unset: sessions then end on restart and
  are not shared between workers, and a warning says so). The cookie is HttpOnly and SameSite=Lax, and
  Secure when the public URL is https;
* every POST (form or JSON) must carry the session's CSRF token, in the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header; anonymous visitors get a session with a token only, so the login form is
  protected too.

Roles: ``officer`` answers tickets, ``editor`` edits the knowledge base, ``admin`` does both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request, Response
from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.timeutil import utcnow
from knowledge.db import Base

log = logging.getLogger(__name__)

ROLES = ("officer", "editor", "admin")
"""Every role; ``admin`` passes every role check."""

COOKIE_NAME = "helpline_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 12 * 3600
"""Seconds a login lasts (one working day and a little more)."""

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class UserRow(Base):
    """One console account."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username", name="uq_users_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- Passwords -----------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (a :func:`hash_password` result); constant-time compare."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password(secrets.token_hex(8))
"""Checked against when the user does not exist, so a login takes as long either way."""


# --- Users ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A console account as the pages and the API see it (no hash)."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool = True

    def has_role(self, *roles: str) -> bool:
        """True when the user's role is one of ``roles``; admins have every role."""
        return self.active and (self.role == "admin" or self.role in roles)


class UserExistsError(ValueError):
    """A user with this username already exists."""


def _user(row: UserRow) -> User:
    return User(row.id, row.username, row.display_name, row.role, bool(row.active))


class UserService:
    """Creates and checks console accounts.

    Args:
        sessions: the database session factory.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, username: str, password: str, role: str = "officer", display_name: str = "") -> User:
        """Create an account.

        Raises:
            ValueError: bad username, role or a password shorter than 8 characters.
            UserExistsError: the username is taken.
        """
        username = username.strip().lower()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise ValueError(
                "tên đăng nhập không hợp lệ (không để trống, không có dấu cách, tối đa 64 ký tự)"
            )
        if role not in ROLES:
            raise ValueError(f"vai trò phải là một trong: {', '.join(ROLES)}")
        if len(password) < 8:
            raise ValueError("mật khẩu cần ít nhất 8 ký tự")
        row = UserRow(
            username=username,
            display_name=(display_name.strip() or username)[:128],
            role=role,
            password_hash=hash_password(password),
            active=True,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError as exc:
            raise UserExistsError(f"tên đăng nhập {username!r} đã có") from exc

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or None (same work whether the user exists or not)."""
        with self._sessions() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()
            if row is None or not row.active:
                verify_password(password, _DUMMY_HASH)
                return None
            if not verify_password(password, row.password_hash):
                return None
            user = _user(row)
        with self._sessions.begin() as session:
            session.execute(update(UserRow).where(UserRow.id == user.id).values(last_login_at=utcnow()))
        return user

    def get(self, user_id: int) -> User | None:
        """The user with this id (active or not), or None."""
        with self._sessions() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row is not None else None

    def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable an account; False when there is no such user."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(UserRow).where(UserRow.username == username.strip().lower()).values(active=active)
            )
            return bool(getattr(result, "rowcount", 0))


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
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any]) -> str:
        """The cookie value for ``data`` (stamped with the signing time)."""
        payload = {**data, "iat": int(self._clock())}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str) -> dict[str, Any] | None:
        """The payload of a valid, unexpired cookie value; None otherwise."""
        body, _, signature = value.partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
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
        cached = getattr(request.state, "console_session", None)
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
