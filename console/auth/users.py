"""Console accounts: who may log in, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.errors import Conflict, ValidationFailed
from bot.core.timeutil import utcnow
from console.auth.passwords import DUMMY_HASH, hash_password, verify_password
from console.auth.tables import UserRow

ROLES = ("officer", "editor", "admin")
"""Every role; ``admin`` passes every role check."""


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


class UserExistsError(Conflict, ValueError):
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
            ValidationFailed: bad username, role or a password shorter than 8 characters.
            UserExistsError: the username is taken.
        """
        username = username.strip().lower()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise ValidationFailed(
                "tên đăng nhập không hợp lệ (không để trống, không có dấu cách, tối đa 64 ký tự)"
            )
        if role not in ROLES:
            raise ValidationFailed(f"vai trò phải là một trong: {', '.join(ROLES)}")
        if len(password) < 8:
            raise ValidationFailed("mật khẩu cần ít nhất 8 ký tự")
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
                verify_password(password, DUMMY_HASH)
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
