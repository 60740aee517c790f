"""Several server processes on one PostgreSQL: advisory locks, leases and the change feed.

Why PostgreSQL and not Redis (``benchmarks/bench_processes_locks.py``, loopback, 2 shared cores): taking
and releasing a lock costs 0.17 ms on PostgreSQL (``pg_try_advisory_lock`` + ``pg_advisory_unlock``)
against 0.08 ms on Redis (``SET NX PX`` + the compare-and-delete script): 0.1 ms of a turn that costs
several milliseconds. What decides is what happens when a holder dies: PostgreSQL frees a session's
locks the moment its connection ends (0.6 ms measured after the holder's connection closed, which is
what ``kill -9`` does to a socket), while a Redis lock stays until its expiry, so either every
waiter waits out the expiry after a crash or a turn slower than the expiry runs beside another. And the
database is already there: no second service to run, secure and back up.

* :class:`PgLocks` keeps **one** connection per process (autocommit) on which it takes session-level
  advisory locks on a 64-bit hash of the lock's name (with the database and schema, so test schemas never
  meet). A conversation's turn, a lease and nothing else: the engine's per-conversation asyncio lock
  already lets only one turn per chat and process ask, so one connection carries every lock of the
  process and the pool is untouched. Statements run in one dedicated thread, never on the event loop
  and never waiting in the default thread pool behind turns. Waiting is polling with a short backoff
  (2 to 50 ms): two processes holding the same chat at once is rare (a citizen's two messages landing
  on two processes), so a blocked thread per waiter would cost more than it saves.
* Leases are the same locks taken with ``pg_try_advisory_lock`` and kept: the process whose lock it is
  runs the job; when it dies its connection ends and the next process that tries takes it.
* :class:`PgChangeFeed` publishes with ``pg_notify`` and listens with ``LISTEN`` on a connection of its
  own. A notification reaches every listening process within milliseconds; one sent while a listener
  was reconnecting is lost, so after a reconnect the listener reports a ``resync`` and the process
  reloads everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, text

from bot.core.ports import Change, ResponseOverrides

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "helpline_changes"
"""The ``LISTEN/NOTIFY`` channel of the change feed."""
_KINDS = frozenset({"responses", "knowledge", "resync"})


def conninfo(db: Engine) -> str:
    """A libpq connection URI for ``db`` (its driver name dropped, the password kept)."""
    return db.url.set(drivername="postgresql").render_as_string(hide_password=False)


def process_name() -> str:
    """This process in logs and in the changes it publishes: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def lock_id(namespace: str, name: str) -> int:
    """The advisory lock key of ``name``: a signed 64-bit hash (PostgreSQL's ``bigint``)."""
    digest = hashlib.blake2b(f"{namespace}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _namespace(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_database(), current_schema()").fetchone()
    return f"{row[0]}/{row[1]}" if row else ""


class PgLocks:
    """:class:`bot.core.ports.Locks` on PostgreSQL advisory locks (see the module doc).

    Args:
        db: the deployment's database (its URL is used for the lock connection).
        connect_args: extra libpq parameters (tests put connections in a private schema).
        wait: first and longest pause between two tries of a lock another process holds, in seconds.
    """

    shared = True

    def __init__(
        self,
        db: Engine,
        *,
        connect_args: Mapping[str, Any] | None = None,
        wait: tuple[float, float] = (0.002, 0.05),
    ) -> None:
        self._conninfo = conninfo(db)
        self._connect_args = dict(connect_args or {})
        self._wait = wait
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpline-locks")
        self._conn: psycopg.Connection[Any] | None = None
        self._namespace = ""
        self._generation = 0  # bumped when the lock connection is replaced: every lock on it is gone
        self._leases: dict[str, int] = {}
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # --- the lock connection, used only from the lock thread

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, **self._connect_args)
            # An adapter dropped without close() (a test's app, a failed start) closes its connection
            # when collected, instead of leaving it to psycopg's __del__ warning.
            weakref.finalize(self, _close_quietly, self._conn)
            self._namespace = _namespace(self._conn)
            self._generation += 1
        return self._conn

    def _run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        conn = self._connect()
        try:
            return fn(conn)
        except psycopg.OperationalError:
            # The connection broke: the server has freed every lock of this process with it.
            with contextlib.suppress(Exception):
                conn.close()
            self._conn = None
            raise

    async def _call(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, fn)

    def _try(self, name: str) -> Callable[[psycopg.Connection[Any]], bool]:
        def run(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (lock_id(self._namespace, name),)
            ).fetchone()
            return bool(row and row[0])

        return run

    def _unlock(self, name: str) -> Callable[[psycopg.Connection[Any]], None]:
        def run(conn: psycopg.Connection[Any]) -> None:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id(self._namespace, name),))

        return run

    # --- the port

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        # One waiter per name in this process: the lock connection must never take a lock twice
        # (advisory locks are re-entrant per session, which would let two local turns in at once).
        local = self._local.get(name)
        if local is None:
            local = asyncio.Lock()
            self._local[name] = local
        async with local:  # the local variable keeps the weakly held lock alive while it is used
            pause, longest = self._wait
            while not await self._call(self._try(name)):
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)
            try:
                yield
            finally:
                try:
                    await asyncio.shield(self._call(self._unlock(name)))
                except Exception:  # a broken connection has freed it already
                    log.warning("could not release the lock %s (connection lost?)", name)

    async def try_lease(self, name: str) -> bool:
        if name in self._leases and await self.lease_held(name):
            return True
        if not await self._call(self._try(name)):
            return False
        self._leases[name] = self._generation
        return True

    async def lease_held(self, name: str) -> bool:
        taken = self._leases.get(name)
        if taken is None:
            return False
        try:
            await self._call(lambda conn: conn.execute("SELECT 1"))
        except Exception:
            log.warning("lost the database connection that held the lease %s", name)
            self._leases.pop(name, None)
            return False
        if taken != self._generation:
            self._leases.pop(name, None)
            return False
        return True

    async def release_lease(self, name: str) -> None:
        taken = self._leases.pop(name, None)
        if taken is not None and taken == self._generation:
            with contextlib.suppress(Exception):
                await self._call(self._unlock(name))

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        with psycopg.connect(self._conninfo, autocommit=True, **self._connect_args) as conn:
            key = lock_id(_namespace(conn), name)
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        """Close the lock connection (every lock and lease of this process is freed with it)."""

        def shut() -> None:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None

        with contextlib.suppress(RuntimeError):  # already shut down
            self._thread.submit(shut).result(timeout=5)
        self._thread.shutdown(wait=False)
        self._leases.clear()


def _close_quietly(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(Exception):
        conn.close()


class PgChangeFeed:
    """:class:`bot.core.ports.ChangeFeed` on PostgreSQL ``LISTEN/NOTIFY`` (see the module doc).

    Args:
        db: the deployment's database.
        origin: this process's name (changes it published itself are not given back to it).
        connect_args: extra libpq parameters of the listening connection.
    """

    def __init__(
        self, db: Engine, origin: str | None = None, *, connect_args: Mapping[str, Any] | None = None
    ) -> None:
        self._db = db
        self._conninfo = conninfo(db)
        self._connect_args = dict(connect_args or {})
        self.origin = origin or process_name()
        self._namespace: str | None = None
        self._guard = threading.Lock()
        self.listening = asyncio.Event()
        """Set while :meth:`run` is listening (a change published from now on reaches this process)."""

    def _ns(self, conn: Any) -> str:
        if self._namespace is None:
            row = conn.execute(text("SELECT current_database(), current_schema()")).one()
            self._namespace = f"{row[0]}/{row[1]}"
        return self._namespace

    def publish(self, change: Change) -> None:
        try:
            with self._guard, self._db.connect() as conn:
                payload = {
                    "ns": self._ns(conn),
                    "kind": change.kind,
                    "model": change.model,
                    "origin": self.origin,
                }
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": json.dumps(payload)},
                )
                conn.commit()
        except Exception:  # the change is live here; the others catch up at their next resync
            log.exception("could not tell the other processes of a %s change", change.kind)

    def decode(self, payload: str, namespace: str) -> Change | None:
        """The change a notification carries, or None for one of another schema, of this process or
        unreadable."""
        try:
            data = json.loads(payload)
            kind, model, origin = data["kind"], data.get("model"), str(data.get("origin", ""))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored an unreadable change notification")
            return None
        if data.get("ns") != namespace or origin == self.origin or kind not in _KINDS:
            return None
        return Change(kind, str(model) if model else None, origin)

    async def run(self, receive: Callable[[Change], Awaitable[None]], stop: asyncio.Event) -> None:
        connected_before = False
        pause = 1.0
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, **self._connect_args
                )
            except Exception as exc:
                log.warning("change feed: cannot connect (%s); retrying in %.0f s", type(exc).__name__, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                pause = min(pause * 2, 30.0)
                continue
            try:
                async with conn:
                    row = await (await conn.execute("SELECT current_database(), current_schema()")).fetchone()
                    namespace = f"{row[0]}/{row[1]}" if row else ""
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    pause = 1.0
                    if connected_before:  # notifications sent while we were away are lost: reload all
                        await self._give(receive, Change("resync"))
                    connected_before = True
                    while not stop.is_set():
                        async for note in conn.notifies(timeout=0.5):
                            change = self.decode(note.payload, namespace)
                            if change is not None:
                                await self._give(receive, change)
            except Exception as exc:
                self.listening.clear()
                log.warning("change feed: connection lost (%s); reconnecting", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    @staticmethod
    async def _give(receive: Callable[[Change], Awaitable[None]], change: Change) -> None:
        try:
            await receive(change)
        except Exception:  # one failing reload must not stop the feed
            log.exception("could not take in a %s change from %s", change.kind, change.origin)


class AnnouncedOverrides:
    """:class:`bot.core.ports.ResponseOverrides` that tells the other processes after each write (they
    reload the catalogue), over the adapter that stores them.

    Args:
        inner: the store (``SqlResponseOverrides``).
        publish: the change feed's ``publish``.
    """

    def __init__(self, inner: ResponseOverrides, publish: Callable[[Change], None]) -> None:
        self._inner = inner
        self._publish = publish

    def read(self) -> dict[str, Any]:
        return self._inner.read()

    def put(self, key: str, variants: list[dict[str, Any]], by: str) -> None:
        self._inner.put(key, variants, by)
        self._publish(Change("responses"))

    def drop(self, key: str) -> None:
        self._inner.drop(key)
        self._publish(Change("responses"))
