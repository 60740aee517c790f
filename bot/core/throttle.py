"""Failure throttling: the one backoff-and-lock rule of the console logins and the dossier verification.

A *subject* is an opaque string (``login:user:lan``, ``login:addr:203.0.113.7``, ``chat:telegram:42``,
``dossier:H12.22-250301-0001``); its :class:`ThrottleState` counts failures in a window. The
:class:`ThrottleRule` of the subject's kind says what follows:

* the first ``free`` failures cost nothing (people mistype);
* from then on every failure makes the subject wait, ``first_wait`` doubled at each further failure up to
  ``max_wait`` (exponential backoff: a guesser is slowed to a few tries an hour, a person barely notices);
* after ``lock_after`` failures the subject is locked for ``lock_for`` (an admin can lift it earlier);
* a window older than ``window`` (counted from its first failure) starts again at zero; a success clears it.

The rules are pure functions of (rule, state, now); :class:`Throttle` applies them over a
:class:`ThrottleStore` (the port: :class:`InMemoryThrottleStore` here, ``bot.storage.throttle.SqlThrottleStore``
in production, shared by every worker process). The dossier look-up's guard
(:class:`VerificationGuard`) is this same mechanism with three subject kinds: the requester, the code
and the whole system.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ThrottleRule:
    """How failures of one kind of subject are limited (see the module docstring).

    Attributes:
        free: failures allowed before any wait.
        first_wait: the wait after failure ``free``; doubled at each further failure.
        max_wait: the longest backoff wait.
        window: failures are counted in a window this long from its first failure.
        lock_after: failures after which the subject is locked (None: never, only backoff).
        lock_for: how long a lock lasts.
    """

    free: int = 5
    first_wait: timedelta = timedelta(seconds=30)
    max_wait: timedelta = timedelta(hours=1)
    window: timedelta = timedelta(days=1)
    lock_after: int | None = None
    lock_for: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.free < 1 or (self.lock_after is not None and self.lock_after <= self.free - 1):
            raise ValueError("a throttle rule needs free >= 1 and lock_after >= free")

    def wait_after(self, failures: int) -> timedelta:
        """The backoff wait after the ``failures``-th failure of a window (zero while still free)."""
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 40)
        return min(self.first_wait * (1 << doublings), self.max_wait)


@dataclass(frozen=True)
class ThrottleState:
    """What is remembered of one subject.

    Attributes:
        failures: failures in the current window.
        window_started_at: the first failure of the window (None: no failure yet).
        blocked_until: no attempt before this time (backoff or lock).
        locked: the block is a lock (an admin may lift it), not a backoff wait.
    """

    failures: int = 0
    window_started_at: datetime | None = None
    blocked_until: datetime | None = None
    locked: bool = False


CLEAR = ThrottleState()
"""A subject with no failure."""


@dataclass(frozen=True)
class Verdict:
    """Whether a subject may try now.

    Attributes:
        allowed: it may.
        retry_after: how long until it may (zero when allowed).
        locked: the refusal is a lock (an admin may lift it), not a backoff wait.
    """

    allowed: bool
    retry_after: timedelta = timedelta(0)
    locked: bool = False


def verdict(state: ThrottleState, now: datetime) -> Verdict:
    """May a subject in ``state`` try at ``now``?"""
    if state.blocked_until is not None and state.blocked_until > now:
        return Verdict(False, state.blocked_until - now, state.locked)
    return Verdict(True)


def after_failure(rule: ThrottleRule, state: ThrottleState, now: datetime) -> ThrottleState:
    """The state after one more failure at ``now``."""
    start = state.window_started_at
    failures = state.failures
    if start is None or now - start >= rule.window:
        start, failures = now, 0
    failures += 1
    if rule.lock_after is not None and failures >= rule.lock_after:
        return ThrottleState(failures, start, now + rule.lock_for, locked=True)
    wait = rule.wait_after(failures)
    blocked = now + wait if wait else state.blocked_until
    still_locked = state.locked and blocked is not None and blocked > now
    return ThrottleState(failures, start, blocked, locked=still_locked)


def forgettable(rule: ThrottleRule, state: ThrottleState, now: datetime) -> bool:
    """True when remembering ``state`` changes nothing any more (no block running, window over)."""
    blocked = state.blocked_until is not None and state.blocked_until > now
    window_open = state.window_started_at is not None and now - state.window_started_at < rule.window
    return not blocked and not window_open


class ThrottleStore(Protocol):
    """Where the throttle states live: shared by every worker process in production.

    Blocking calls (a database in production): call them off the event loop.
    """

    def load(self, subjects: Sequence[str]) -> dict[str, ThrottleState]:
        """The states of ``subjects`` (:data:`CLEAR` for an unknown one)."""
        ...

    def change(
        self, subjects: Sequence[str], step: Callable[[str, ThrottleState], ThrottleState]
    ) -> dict[str, ThrottleState]:
        """Replace each subject's state by ``step(subject, state)`` atomically (one transaction, rows
        locked against concurrent workers); the new states."""
        ...

    def clear(self, subjects: Sequence[str]) -> int:
        """Forget ``subjects`` (a success, or an admin lifting a lock); how many were remembered."""
        ...

    def blocked(self, prefix: str, now: datetime) -> dict[str, ThrottleState]:
        """Subjects starting with ``prefix`` blocked at ``now`` (for an admin's list of locks)."""
        ...

    def prune(self, keep: Callable[[str, ThrottleState], bool]) -> int:
        """Delete the subjects for which ``keep`` is false; how many."""
        ...


class InMemoryThrottleStore:
    """:class:`ThrottleStore` in a dict (tests, the editor's "try it" box; one process only)."""

    def __init__(self) -> None:
        self.states: dict[str, ThrottleState] = {}

    def load(self, subjects: Sequence[str]) -> dict[str, ThrottleState]:
        return {s: self.states.get(s, CLEAR) for s in subjects}

    def change(
        self, subjects: Sequence[str], step: Callable[[str, ThrottleState], ThrottleState]
    ) -> dict[str, ThrottleState]:
        for subject in dict.fromkeys(subjects):
            self.states[subject] = step(subject, self.states.get(subject, CLEAR))
        return {s: self.states[s] for s in subjects}

    def clear(self, subjects: Sequence[str]) -> int:
        return sum(self.states.pop(s, None) is not None for s in dict.fromkeys(subjects))

    def blocked(self, prefix: str, now: datetime) -> dict[str, ThrottleState]:
        return {
            s: st
            for s, st in self.states.items()
            if s.startswith(prefix) and st.blocked_until is not None and st.blocked_until > now
        }

    def prune(self, keep: Callable[[str, ThrottleState], bool]) -> int:
        gone = [s for s, st in self.states.items() if not keep(s, st)]
        for subject in gone:
            del self.states[subject]
        return len(gone)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Throttle:
    """Applies :class:`ThrottleRule` s to subjects over a :class:`ThrottleStore` (blocking calls).

    Args:
        store: where the states live.
        rules: the rule of each subject kind, by prefix (``"login:user:"``); the longest matching prefix
            wins, and ``""`` is the default.
        clock: current time (aware UTC).
    """

    def __init__(
        self,
        store: ThrottleStore,
        rules: Mapping[str, ThrottleRule],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.rules = dict(rules)
        self.clock = clock

    def rule(self, subject: str) -> ThrottleRule:
        """The rule of ``subject``'s kind."""
        prefixes = [p for p in self.rules if subject.startswith(p)]
        if not prefixes:
            raise KeyError(f"no throttle rule for {subject!r}")
        return self.rules[max(prefixes, key=len)]

    def check(self, subjects: Sequence[str]) -> Verdict:
        """May all of ``subjects`` try now? The longest wait when not (a lock wins over a backoff)."""
        now = self.clock()
        refused = [
            v for v in (verdict(st, now) for st in self.store.load(subjects).values()) if not v.allowed
        ]
        if not refused:
            return Verdict(True)
        return max(refused, key=lambda v: (v.locked, v.retry_after))

    def states(self, subjects: Sequence[str]) -> dict[str, ThrottleState]:
        """The current states of ``subjects``."""
        return self.store.load(subjects)

    def fail(self, subjects: Sequence[str]) -> Verdict:
        """Count one failure for each subject; whether they may try again now."""
        now = self.clock()
        new = self.store.change(subjects, lambda s, st: after_failure(self.rule(s), st, now))
        refused = [v for v in (verdict(st, now) for st in new.values()) if not v.allowed]
        return max(refused, key=lambda v: (v.locked, v.retry_after)) if refused else Verdict(True)

    def charge(self, subjects: Sequence[str]) -> Verdict:
        """Count one failure *before* the attempt is checked, atomically: so parallel attempts cannot all
        pass :meth:`check` before any failure is counted. A subject that may not try now is left as it
        is. Refused: the longest wait; allowed: go on, then :meth:`succeed` or :meth:`refund` on success.
        """
        now = self.clock()
        refused: list[Verdict] = []

        def step(subject: str, state: ThrottleState) -> ThrottleState:
            current = verdict(state, now)
            if not current.allowed:
                refused.append(current)
                return state
            return after_failure(self.rule(subject), state, now)

        self.store.change(subjects, step)
        return max(refused, key=lambda v: (v.locked, v.retry_after)) if refused else Verdict(True)

    def refund(self, subjects: Sequence[str]) -> None:
        """Take back a failure counted by :meth:`charge` (the attempt succeeded), with the wait it started."""
        now = self.clock()

        def step(subject: str, state: ThrottleState) -> ThrottleState:
            if state.failures == 0 or (state.locked and verdict(state, now).locked):
                return state
            failures = state.failures - 1
            blocked = state.blocked_until if failures >= self.rule(subject).free else None
            return replace(state, failures=failures, blocked_until=blocked)

        self.store.change(subjects, step)

    def succeed(self, subjects: Sequence[str]) -> None:
        """Forget the failures of ``subjects`` (not a running lock: a lock is lifted by an admin or by
        time)."""
        now = self.clock()
        states = self.store.load(subjects)
        self.store.clear([s for s, st in states.items() if not verdict(st, now).locked])

    def lift(self, subjects: Sequence[str]) -> int:
        """Lift the locks and waits of ``subjects`` (an admin's action); how many were remembered."""
        return self.store.clear(subjects)

    def blocked(self, prefix: str) -> dict[str, ThrottleState]:
        """Subjects starting with ``prefix`` that may not try now."""
        return self.store.blocked(prefix, self.clock())

    def known(self, subject: str) -> bool:
        """True when one of the rules is for ``subject``."""
        return any(subject.startswith(p) for p in self.rules)

    def prune(self) -> int:
        """Forget subjects of these rules whose state no longer matters (others are left alone); how many."""
        now = self.clock()
        return self.store.prune(lambda s, st: not self.known(s) or not forgettable(self.rule(s), st, now))


# --- The dossier verification guard ---------------------------------------------------------------------


REQUESTER = "chat:"
"""Subjects of the requester: the conversation (platform user) asking."""
CODE = "dossier:"
"""Subjects of the dossier code asked about."""
EVERYONE = "all:verifications"
"""Subjects counting every failed verification of one channel (``all:verifications:telegram``): a
flood of cheap web-chat identities cools down the web chat, not Telegram's or Zalo's citizens."""


def everyone_of(subjects: Sequence[str]) -> str:
    """The :data:`EVERYONE` subject of the channel of the requester in ``subjects``
    (``chat:telegram:42`` -> ``all:verifications:telegram``)."""
    for subject in subjects:
        if subject.startswith(REQUESTER):
            channel = subject.removeprefix(REQUESTER).partition(":")[0]
            return f"{EVERYONE}:{channel}"
    return f"{EVERYONE}:"


@dataclass(frozen=True)
class VerificationLimits:
    """The limits of the dossier verification (the three rules of :class:`VerificationGuard`).

    Attributes:
        requester: per requester (chat / platform user): a few free tries, then a wait doubling from a
            minute up to an hour, so one client reaches about ten guesses in its first hour and one an
            hour after that (it was five per half hour, and any number with a new sender id).
        code: per dossier code: a cool-down after a few failures, doubling up to ``code.max_wait``. It
            holds the requesters that already failed in their window; a requester with a clean record
            (the owner, most likely) is not held by it, so strangers' failures do not lock the owner out.
        everyone: every failed verification of one channel: past ``everyone.free`` in its window, a
            short cool-down of that channel (a minute, doubling up to ten) holds every requester on it.
            It caps what many fresh identities can guess together; the officer still helps while it
            runs, and the other channels go on.
    """

    requester: ThrottleRule = ThrottleRule(
        free=5, first_wait=timedelta(minutes=1), max_wait=timedelta(hours=1), window=timedelta(days=1)
    )
    code: ThrottleRule = ThrottleRule(
        free=5, first_wait=timedelta(minutes=1), max_wait=timedelta(minutes=30), window=timedelta(hours=1)
    )
    everyone: ThrottleRule = ThrottleRule(
        free=100,
        first_wait=timedelta(minutes=1),
        max_wait=timedelta(minutes=10),
        window=timedelta(minutes=10),
    )

    @classmethod
    def of(cls, attempts: int, cool_down_cap: timedelta) -> VerificationLimits:
        """Limits with ``attempts`` free failures per requester and per code and the code's cool-down
        capped at ``cool_down_cap`` (``config.yml`` ``dossier.verification_attempts`` / ``lock_minutes``)."""
        base = cls()
        return cls(
            requester=replace(base.requester, free=attempts),
            code=replace(base.code, free=attempts, max_wait=max(cool_down_cap, base.code.first_wait)),
            everyone=base.everyone,
        )

    def rules(self) -> dict[str, ThrottleRule]:
        """The rules by subject prefix, for a :class:`Throttle`."""
        return {REQUESTER: self.requester, CODE: self.code, EVERYONE: self.everyone}


class Grants(Protocol):
    """Successful verifications remembered for a while (so the chat may subscribe). Blocking calls."""

    def grant(self, grant: str, until: datetime) -> None:
        """Remember ``grant`` until ``until``."""
        ...

    def granted_until(self, grant: str) -> datetime | None:
        """Until when ``grant`` holds (None: never granted)."""
        ...

    def prune(self, now: datetime) -> int:
        """Forget grants that ran out; how many."""
        ...


class InMemoryGrants:
    """:class:`Grants` in a dict."""

    def __init__(self) -> None:
        self.until: dict[str, datetime] = {}

    def grant(self, grant: str, until: datetime) -> None:
        self.until[grant] = until

    def granted_until(self, grant: str) -> datetime | None:
        return self.until.get(grant)

    def prune(self, now: datetime) -> int:
        gone = [g for g, until in self.until.items() if until <= now]
        for grant in gone:
            del self.until[grant]
        return len(gone)


class Offload(Protocol):
    """Runs a blocking call from async code (``asyncio.to_thread`` for a database)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


async def _inline(fn: Callable[[], T]) -> T:
    return fn()


class VerificationGuard:
    """:class:`bot.core.ports.DossierAccessGuard` on a :class:`Throttle` (the login's mechanism).

    The action passes the subjects ``("chat:<conversation>", "dossier:<code>")``; the guard adds the
    channel-wide :data:`EVERYONE` subject. A request is held by its requester's backoff and its channel's
    cool-down always, and by the code's cool-down only when the requester already failed in its window: so an
    attacker's failures on a code slow the attacker, and never stop the owner's first try from their
    own chat (see :class:`VerificationLimits`).

    Args:
        store: the throttle states.
        grants: the remembered successes.
        limits: the three rules.
        grant_for: how long a success lets the chat subscribe.
        clock: current time.
        offload: how to run a blocking call from async code (``asyncio.to_thread`` for a database; the
            default runs it inline, for in-memory stores).
    """

    def __init__(
        self,
        store: ThrottleStore,
        grants: Grants,
        limits: VerificationLimits | None = None,
        grant_for: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = _utcnow,
        offload: Offload = _inline,
    ) -> None:
        self.limits = limits or VerificationLimits()
        self.throttle = Throttle(store, self.limits.rules(), clock)
        self.grants = grants
        self.grant_for = grant_for
        self.clock = clock
        self._offload = offload

    def _holding(self, subjects: Sequence[str]) -> list[str]:
        """The subjects whose blocks apply to this request."""
        requesters = [s for s in subjects if not s.startswith(CODE)]
        codes = [s for s in subjects if s.startswith(CODE)]
        now = self.clock()
        dirty = not requesters or any(
            st.window_started_at is not None and now - st.window_started_at < self.throttle.rule(s).window
            for s, st in self.throttle.states(requesters).items()
        )
        return [*requesters, *(codes if dirty else ()), everyone_of(subjects)]

    def check_now(self, subjects: Sequence[str]) -> Verdict:
        """Blocking :meth:`locked`, with the wait."""
        return self.throttle.check(self._holding(subjects))

    async def locked(self, subjects: Sequence[str]) -> bool:
        return not (await self._offload(lambda: self.check_now(subjects))).allowed

    def fail_now(self, subjects: Sequence[str]) -> Verdict:
        """Blocking :meth:`failed`, with the wait."""
        self.throttle.fail([*subjects, everyone_of(subjects)])
        return self.throttle.check(self._holding(subjects))

    async def failed(self, subjects: Sequence[str]) -> bool:
        return not (await self._offload(lambda: self.fail_now(subjects))).allowed

    async def succeeded(self, subjects: Sequence[str], grant: str) -> None:
        def write() -> None:
            self.throttle.succeed([s for s in subjects if not s.startswith(CODE)])
            self.grants.grant(grant, self.clock() + self.grant_for)

        await self._offload(write)

    async def granted(self, grant: str) -> bool:
        until = await self._offload(lambda: self.grants.granted_until(grant))
        return until is not None and until > self.clock()

    def prune(self) -> int:
        return self.throttle.prune() + self.grants.prune(self.clock())
