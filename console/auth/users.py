"""Console accounts: who may log in, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.errors import Conflict, ValidationFailed
from bot.core.timeutil import utcnow
from console.auth.passwords import DUMMY_HASH, hash_password, password_problem, verify_and_update
from console.auth.tables import ConsoleSessionRow, UserRow

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

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The database session factory (the console's session store and events share it)."""
        return self._sessions

    def add(self, username: str, password: str, role: str = "officer", display_name: str = "") -> User:
        """Create an account.

        Raises:
            ValidationFailed: bad username, role, or a password the policy refuses
                (:func:`console.auth.passwords.password_problem`).
            UserExistsError: the username is taken.
        """
        username = username.strip().lower()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise ValidationFailed(
                "tên đăng nhập không hợp lệ (không để trống, không có dấu cách, tối đa 64 ký tự)"
            )
        if role not in ROLES:
            raise ValidationFailed(f"vai trò phải là một trong: {', '.join(ROLES)}")
        problem = password_problem(password, username)
        if problem:
            raise ValidationFailed(problem)
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
        """The active user with these credentials, or None (same work whether the user exists or not).

        A hash of an older scheme (scrypt) or weaker parameters is replaced by a current argon2id one.
        Throttling is the caller's (:class:`console.auth.login.LoginGuard`).
        """
        with self._sessions() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()
            if row is None or not row.active:
                verify_and_update(password, DUMMY_HASH)
                return None
            valid, new_hash = verify_and_update(password, row.password_hash)
            if not valid:
                return None
            user = _user(row)
        values: dict[str, object] = {"last_login_at": utcnow()}
        if new_hash is not None:
            values["password_hash"] = new_hash
        with self._sessions.begin() as session:
            session.execute(update(UserRow).where(UserRow.id == user.id).values(**values))
        return user

    def by_name(self, username: str) -> User | None:
        """The user with this username (active or not), or None."""
        with self._sessions() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()
            return _user(row) if row is not None else None

    def all(self) -> list[User]:
        """Every account, by username."""
        with self._sessions() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]

    def _change(self, username: str, **values: object) -> bool:
        """Update the account and end all its sessions, in one transaction; False when there is none."""
        with self._sessions.begin() as session:
            uid = session.scalars(
                select(UserRow.id).where(UserRow.username == username.strip().lower())
            ).first()
            if uid is None:
                return False
            session.execute(update(UserRow).where(UserRow.id == uid).values(**values))
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == uid))
            return True

    def set_password(self, username: str, password: str) -> bool:
        """Give the account a new password (ending all its sessions); False when there is no such user.

        Raises:
            ValidationFailed: the policy refuses the password.
        """
        problem = password_problem(password, username.strip().lower())
        if problem:
            raise ValidationFailed(problem)
        return self._change(username, password_hash=hash_password(password))

    def set_role(self, username: str, role: str) -> bool:
        """Change the account's role (ending all its sessions); False when there is no such user.

        Raises:
            ValidationFailed: not a role.
        """
        if role not in ROLES:
            raise ValidationFailed(f"vai trò phải là một trong: {', '.join(ROLES)}")
        return self._change(username, role=role)

    def end_sessions(self, user_id: int) -> int:
        """End every session of the account; how many there were."""
        with self._sessions.begin() as session:
            result = session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == user_id))
            return int(getattr(result, "rowcount", 0) or 0)

    def get(self, user_id: int) -> User | None:
        """The user with this id (active or not), or None."""
        with self._sessions() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row is not None else None

    def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable an account (ending all its sessions); False when there is no such user."""
        return self._change(username, active=active)
