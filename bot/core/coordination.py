"""The one-process adapters of :class:`bot.core.ports.Locks` and :class:`bot.core.ports.ChangeFeed`.

With SQLite (``make run``) the deployment is one process: a conversation's turns are ordered by an
asyncio lock per conversation, every lease is this process's, start-up is serialised by a thread lock
and there is no other process to tell of a change. Several processes need the PostgreSQL adapters of
:mod:`bot.storage.coordination`; ``helpline serve --workers N`` refuses N > 1 on SQLite.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from bot.core.ports import Change


class LocalLocks:
    """Locks of one process (implements :class:`bot.core.ports.Locks`)."""

    shared = False

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._leases: set[str] = set()
        self._exclusive: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.get(name)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[name] = lock
        async with lock:  # the local variable keeps the weakly held lock alive while it is held
            yield

    async def try_lease(self, name: str) -> bool:
        self._leases.add(name)
        return True

    async def lease_held(self, name: str) -> bool:
        return name in self._leases

    async def release_lease(self, name: str) -> None:
        self._leases.discard(name)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._exclusive.setdefault(name, threading.Lock())
        with lock:
            yield

    def close(self) -> None:
        self._leases.clear()


class LocalChangeFeed:
    """No other process to tell (implements :class:`bot.core.ports.ChangeFeed`): publishing records the
    change in :attr:`published` (what tests read) and :meth:`run` waits for the stop."""

    origin = "local"

    def __init__(self) -> None:
        self.published: deque[Change] = deque(maxlen=100)

    def publish(self, change: Change) -> None:
        self.published.append(change)

    async def run(self, receive: Callable[[Change], Awaitable[None]], stop: asyncio.Event) -> None:
        await stop.wait()
