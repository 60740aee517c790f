"""One fake clock for every test that injects time: wall-clock ``datetime``, monotonic seconds and sleep.

Production code takes its time from injected callables (``clock: Callable[[], datetime]`` for the Zalo
channel, the ticket service and the dossier gateway; ``clock: Callable[[], float]`` plus an async
``sleep`` for the rate limiter and the channels' retries). :class:`FakeClock` is all of them at once, so
the two views of time never disagree: sleeping on it moves both, and setting :attr:`FakeClock.now`
moves :meth:`FakeClock.monotonic` too. Nothing really waits, so tests stay fast and deterministic.

Usage::

    clock = FakeClock(datetime(2024, 6, 10, 6, 13, tzinfo=UTC))
    channel = ZaloOAChannel(client, settings, store, clock=clock, sleep=clock.sleep)
    limiter = RateLimiter(clock=clock.monotonic, sleep=clock.sleep)
    clock.advance(timedelta(days=7))
    assert clock.sleeps == [0.5, 1.0]
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when a test moves it or when code sleeps on it.

    Time is kept as float seconds elapsed since ``start``, so the monotonic view adds up exactly as
    ``time.monotonic`` arithmetic would (``1000.0 + 1.0 + 1.0 == 1002.0``) while the ``datetime`` view
    is derived from it.

    Args:
        start: the wall-clock time the clock shows at first (time-zone aware, UTC by convention).
        monotonic_start: what :meth:`monotonic` returns at first; any value, as for ``time.monotonic``.

    Attributes:
        sleeps: every duration given to :meth:`sleep`, rounded to the microsecond, in order.
    """

    def __init__(self, start: datetime = DEFAULT_START, *, monotonic_start: float = 1000.0) -> None:
        self._start = start
        self._monotonic_start = monotonic_start
        self._elapsed = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        """The current wall-clock time: pass the clock itself where a ``() -> datetime`` is expected."""
        return self.now

    @property
    def now(self) -> datetime:
        """The current wall-clock time; assign to it to jump (forwards or backwards)."""
        return self._start + timedelta(seconds=self._elapsed)

    @now.setter
    def now(self, value: datetime) -> None:
        self._elapsed = (value - self._start).total_seconds()

    def monotonic(self) -> float:
        """Monotonic seconds: pass ``clock.monotonic`` where a ``() -> float`` is expected."""
        return self._monotonic_start + self._elapsed

    def advance(self, by: float | timedelta) -> None:
        """Move time forward by ``by`` seconds (or a timedelta) without recording a sleep."""
        self._elapsed += by.total_seconds() if isinstance(by, timedelta) else by

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, move time forward by it, and yield once to the event loop (never waits)."""
        self.sleeps.append(round(seconds, 6))
        self.advance(seconds)
        await asyncio.sleep(0)
