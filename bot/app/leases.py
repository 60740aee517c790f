"""Jobs exactly one process of the deployment runs: the Telegram poller, the dossier watcher, the retry
worker.

Every process starts a :class:`LeasedJob` for each; it tries the job's lease
(:meth:`bot.core.ports.Locks.try_lease`, a PostgreSQL advisory lock on the process's lock connection)
every ``every`` seconds. The process that holds it runs the job and checks every ``every`` seconds that it
still does; the others keep trying. When the holder dies its connection ends, the lock is free and the
next try of another process takes it: the job moves within ``every`` seconds. A holder that loses its
connection stops the job before trying again. With SQLite (one process) the lease is always this
process's and the job starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.core.ports import Locks

log = logging.getLogger(__name__)


class LeasedJob:
    """Runs ``start``/``stop`` only while this process holds the lease ``lease:<name>``.

    Args:
        name: the job's name (and its lease's).
        start: starts the job (returns once it runs in the background).
        stop: stops it; the job may be started again afterwards.
        locks: the deployment's locks.
        every: seconds between two tries of the lease, and between two checks that it is still held.
    """

    def __init__(
        self,
        name: str,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        locks: Locks,
        every: float = 5.0,
    ) -> None:
        self.name = name
        self._start_job = start
        self._stop_job = stop
        self._locks = locks
        self._every = every
        self._lease = f"lease:{name}"
        self._halt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.running = False

    async def start(self) -> None:
        """Start competing for the lease (a process without other processes runs the job at once)."""
        self._halt = asyncio.Event()
        if not self._locks.shared and await self._locks.try_lease(self._lease):
            await self._run_job()  # one process: no background loop, the job starts with the server
            return
        self._task = asyncio.create_task(self._compete(), name=f"lease {self.name}")

    async def _run_job(self) -> None:
        await self._start_job()
        self.running = True
        log.warning("this process runs the %s", self.name)

    async def _halt_job(self) -> None:
        if self.running:
            self.running = False
            await self._stop_job()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), timeout=self._every)

    async def _compete(self) -> None:
        while not self._halt.is_set():
            try:
                if await self._locks.try_lease(self._lease):
                    await self._run_job()
                    while not self._halt.is_set():
                        await self._pause()
                        if self._halt.is_set() or not await self._locks.lease_held(self._lease):
                            break
                    if not self._halt.is_set():
                        log.error("lost the lease of the %s: stopping it here", self.name)
                        await self._halt_job()
                        continue
                    return
            except Exception:  # database unreachable: try again at the next round
                log.exception("could not take or check the lease of the %s", self.name)
                with contextlib.suppress(Exception):
                    await self._halt_job()
            await self._pause()

    async def stop(self) -> None:
        """Stop the job if it runs here and give the lease up (another process takes it)."""
        self._halt.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            await self._halt_job()
        finally:
            with contextlib.suppress(Exception):
                await self._locks.release_lease(self._lease)
