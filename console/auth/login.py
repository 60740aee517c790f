"""Console logins, throttled per account and per client address (the dossier look-up's mechanism,
:mod:`bot.core.throttle`), with every failure, refusal and lock written as a security event.

Per account (``login:user:<username>``, whether or not the account exists, so the answers do not tell
which accounts do): :data:`ACCOUNT_RULE`, five free failures, then a wait doubling from 30 seconds, and
locked for an hour at the tenth failure of the day; an admin lifts the lock earlier
(``helpline user unlock``, ``POST /api/admin/users/{username}/unlock``). Per address
(``login:addr:<ip>``): :data:`ADDRESS_RULE`, twenty free failures an hour (an office behind one address
mistypes too), then the same doubling wait, up to an hour. While either waits, the password is not even
checked, so guessing gets no answer at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from bot.core.throttle import Throttle, ThrottleRule, Verdict
from console.auth.events import AuthEvents
from console.auth.users import User, UserService

ACCOUNT = "login:user:"
ADDRESS = "login:addr:"

ACCOUNT_RULE = ThrottleRule(
    free=5,
    first_wait=timedelta(seconds=30),
    max_wait=timedelta(minutes=15),
    window=timedelta(days=1),
    lock_after=10,
    lock_for=timedelta(hours=1),
)
"""Failures of one account: 5 free, then 30 s, 1, 2, 4 min..., locked for an hour at the 10th."""
ADDRESS_RULE = ThrottleRule(
    free=20, first_wait=timedelta(seconds=30), max_wait=timedelta(hours=1), window=timedelta(hours=1)
)
"""Failures from one client address: 20 free an hour, then 30 s, 1, 2, 4 min... up to an hour."""
LOGIN_RULES = {ACCOUNT: ACCOUNT_RULE, ADDRESS: ADDRESS_RULE}
"""The login rules by subject prefix, for a :class:`bot.core.throttle.Throttle`."""
REFUSED_EVENT_EVERY = 60.0
"""Seconds between two ``login_refused`` events of one account and address: a guesser hammering a
locked account must not fill the events table."""


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to.

    Attributes:
        user: the account, when the credentials were right and the attempt allowed.
        refused: the throttle's verdict when the attempt was not even checked (or this failure made the
            next one wait); None otherwise.
        checked: the password was checked (False: refused by the throttle before that).
    """

    user: User | None
    refused: Verdict | None = None
    checked: bool = True

    @property
    def status_code(self) -> int:
        """The HTTP status of a failed attempt: 429 when refused unchecked, 401 for wrong credentials."""
        return 401 if self.checked else 429

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before the next attempt (0: none)."""
        if self.refused is None or self.refused.allowed:
            return 0
        return max(1, int(self.refused.retry_after.total_seconds()))

    @property
    def message(self) -> str:
        """What the login form says (Vietnamese)."""
        if self.refused is not None and not self.refused.allowed:
            minutes = max(1, -(-int(self.refused.retry_after.total_seconds()) // 60))
            if self.refused.locked:
                return (
                    f"Tài khoản tạm khóa vì đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút "
                    "hoặc nhờ quản trị viên mở khóa."
                )
            return f"Đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút."
        return "Tên đăng nhập hoặc mật khẩu không đúng."


def _name(username: str) -> str:
    return username.strip().lower()[:64]


class LoginGuard:
    """Checks credentials under the login throttle (blocking calls: database and password hashing).

    Args:
        users: the accounts.
        throttle: the throttle with :data:`LOGIN_RULES` (on the shared SQL store in production).
        events: where security events go.
    """

    def __init__(self, users: UserService, throttle: Throttle, events: AuthEvents) -> None:
        self.users = users
        self.throttle = throttle
        self.events = events
        self._refused_at: dict[tuple[str, str], float] = {}

    def _refused(self, name: str, address: str, verdict: Verdict) -> None:
        now = time.monotonic()
        key = (name, address)
        if now - self._refused_at.get(key, -REFUSED_EVENT_EVERY) < REFUSED_EVENT_EVERY:
            return
        if len(self._refused_at) > 10_000:
            self._refused_at.clear()
        self._refused_at[key] = now
        self.events.record("login_refused", name, address=address, detail=f"retry in {verdict.retry_after}")

    def attempt(self, username: str, password: str, address: str) -> LoginResult:
        """Try to log in ``username`` from ``address``.

        The failure is counted before the password is checked (:meth:`bot.core.throttle.Throttle.charge`)
        and taken back when it was right, so a burst of parallel attempts gets no more tries than a
        sequence.
        """
        name = _name(username)
        account, origin = ACCOUNT + name, ADDRESS + address
        verdict = self.throttle.charge([account, origin])
        if not verdict.allowed:
            self._refused(name, address, verdict)
            return LoginResult(None, verdict, checked=False)
        user = self.users.authenticate(name, password)
        if user is not None:
            self.throttle.succeed([account])
            self.throttle.refund([origin])
            self.events.record("login", name, address=address)
            return LoginResult(user)
        self.events.record("login_failed", name, address=address)
        after = self.throttle.check([account, origin])
        if after.locked:
            self.events.record("account_locked", name, address=address, detail=f"for {after.retry_after}")
        return LoginResult(None, after if not after.allowed else None)

    def unlock(self, username: str, actor: str) -> bool:
        """Lift the lock and waits of ``username`` (an admin's action; written as an event); True when
        there was one."""
        name = _name(username)
        lifted = self.throttle.lift([ACCOUNT + name]) > 0
        self.events.record("unlocked", name, actor=actor, detail="" if lifted else "nothing to lift")
        return lifted

    def locked_accounts(self) -> dict[str, Verdict]:
        """The accounts that may not log in now, with how long (an admin's view)."""
        now = self.throttle.clock()
        return {
            subject.removeprefix(ACCOUNT): Verdict(False, st.blocked_until - now, st.locked)
            for subject, st in self.throttle.blocked(ACCOUNT).items()
            if st.blocked_until is not None
        }
