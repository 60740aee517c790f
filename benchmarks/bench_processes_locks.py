"""Which cross-process lock: PostgreSQL advisory locks or Redis (issue 12, the measured reason).

Run:  .venv/bin/python -m benchmarks.bench_processes_locks [--rounds 3000]
      (HELPLINE_TEST_DATABASE_URL or --pg for PostgreSQL, --redis host:port for Redis)

Per lock taken and released by one client on loopback, the two ways a turn would do it:

* PostgreSQL: ``SELECT pg_try_advisory_lock(k)`` then ``SELECT pg_advisory_unlock(k)`` on one
  autocommit connection (psycopg 3), what :class:`bot.storage.coordination.PgAdvisoryLocks` runs;
* Redis: ``SET k token NX PX 30000`` then the compare-and-delete script (``EVAL``) that a safe release
  needs, over a minimal RESP client (no package: the measurement should not pull in a dependency the
  project may not keep).

It also measures handing a lock over: a second client waiting on a lock the first holds gets it
when the first client's connection dies (PostgreSQL frees a session's locks when its connection ends;
Redis keeps the key until its expiry).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
import uuid

import psycopg

from benchmarks.common import percentile


class Resp:
    """A minimal blocking RESP2 client: enough for SET/EVAL/DEL."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, *args: str) -> object:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            b = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)
        return self._read()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self) -> object:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest.decode()
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data.decode()
        raise ValueError(line)

    def close(self) -> None:
        self.sock.close()


RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def pg_rounds(url: str, rounds: int) -> list[float]:
    samples = []
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(rounds):
            t0 = time.perf_counter()
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (1_000_000 + i % 50,)).fetchone()
            assert got and got[0]
            conn.execute("SELECT pg_advisory_unlock(%s)", (1_000_000 + i % 50,))
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


def redis_rounds(host: str, port: int, rounds: int) -> list[float]:
    client = Resp(host, port)
    samples = []
    try:
        for i in range(rounds):
            key, token = f"helpline:bench:lock:{i % 50}", uuid.uuid4().hex
            t0 = time.perf_counter()
            assert client.call("SET", key, token, "NX", "PX", "30000") == "OK"
            client.call("EVAL", RELEASE, "1", key, token)
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        client.close()
    return samples


def pg_handover(url: str) -> float:
    """Seconds from the holder's connection dying to the waiter holding the lock."""
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(4242)")
    waiter = psycopg.connect(url, autocommit=True)
    assert not waiter.execute("SELECT pg_try_advisory_lock(4242)").fetchone()[0]  # type: ignore[index]
    holder.close()  # what the kernel does to the socket of a process killed with -9
    t0 = time.perf_counter()
    while not waiter.execute("SELECT pg_try_advisory_lock(4242)").fetchone()[0]:  # type: ignore[index]
        time.sleep(0.001)
    took = time.perf_counter() - t0
    waiter.execute("SELECT pg_advisory_unlock(4242)")
    waiter.close()
    return took


def show(name: str, samples: list[float]) -> None:
    print(
        f"{name:<34} n={len(samples)} mean {statistics.fmean(samples):.3f} ms  "
        f"p50 {percentile(samples, 50):.3f}  p99 {percentile(samples, 99):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    host, _, port = args.redis.partition(":")
    for _ in range(2):  # the first pass warms both servers and the client
        pg = pg_rounds(args.pg, args.rounds)
        rd = redis_rounds(host, int(port or 6379), args.rounds)
    show("postgresql advisory try+unlock", pg)
    show("redis SET NX PX + EVAL release", rd)
    print(f"postgresql hand-over after the holder's connection ends: {pg_handover(args.pg) * 1000:.1f} ms")
    print("redis hand-over after the holder dies: the key's expiry (PX), 30 000 ms here")


if __name__ == "__main__":
    main()
