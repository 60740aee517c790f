"""The cost of one turn on PostgreSQL next to SQLite (issue 12, item 5): the same turns on both, side by side.

Run:  HELPLINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python -m benchmarks.bench_turn_cost [--turns 200] [--model-dir DIR]

One process, one turn at a time: a server's app (production wiring, the real NLU, the shipped catalogue
of 4,259 procedures) on a SQLite file and on a private PostgreSQL schema; 20 citizens of
``benchmarks.bench_engine.Citizen`` (seeded, so both databases hear the same texts: the run checks it)
say ``--turns`` things through ``App.handler``, what the REST route calls; a first pass of the same
length creates their rows and warms the caches, the second is measured.

Per turn, on each database:

* **statements by kind**, from SQLAlchemy's ``before_cursor_execute`` (verb and table);
* on PostgreSQL, **round trips on the wire**: libpq's trace of every pooled connection (one
  ``ReadyForQuery`` from the server per round trip: a ``BEGIN``, a statement, a pipelined
  ``executemany``, a ``COMMIT`` or ``ROLLBACK``), by the kind of what was sent, plus the conversation
  lock's statements on the lock connection (outside the pool; each is one round trip);
* **milliseconds per turn** (median, p90) of ``App.handler``, the ratio PostgreSQL / SQLite, and the
  difference PostgreSQL − SQLite of the same turn (the two apps take turns message by message);
* the milliseconds of **one bare round trip** (``SELECT 1``) and of **one durable commit** (PostgreSQL
  waits for the WAL on disk; SQLite in WAL mode with ``synchronous=NORMAL`` does not) before and after
  the turns: times the round trips and the commits of a turn, what the database adds to it here.

The NLU and the catalogue take the same time on both; the difference is the database. The machine is
shared (2 cores): the load average is recorded with the figures. Results in
``benchmarks/results/turn_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from benchmarks.common import ROOT, percentile, temp_dir, train, write_result

SCHEMA = "helpline_bench_turn_cost"
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def kind_of(sql: str) -> str:
    """``VERB table`` of a statement (``SELECT conversations``), or the verb alone (``BEGIN``)."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else ""
    if verb == ";":
        return "pre-ping (;)"  # SQLAlchemy's ping of a connection before its checkout
    found = _TABLE.search(sql)
    return f"{verb} {found.group(1)}" if found else verb


class StatementCounter:
    """Statements sent through ``engine`` by kind, from SQLAlchemy's events (both databases)."""

    def __init__(self, engine: Engine) -> None:
        self.kinds: Counter[str] = Counter()
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        self.kinds[kind_of(statement)] += 1

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._statement)


class WireCounter:
    """Round trips of PostgreSQL's pooled connections, read from libpq's trace (one file per connection).

    Every connection checked out after :meth:`start` is traced; :meth:`stop` ends the traces (libpq
    flushes them) and counts the server's ``ReadyForQuery`` messages, each classified by the first
    message the client sent in that round trip (a simple ``Query``'s text, a ``Parse``'s statement, or
    the statement a ``Bind`` names when psycopg has prepared it).
    """

    def __init__(self, engine: Engine, folder: Path) -> None:
        self._engine = engine
        self._folder = folder
        self._traced: dict[int, tuple[Any, Path]] = {}
        self._on = False
        event.listen(engine, "checkout", self._checkout)

    def start(self) -> None:
        self._on = True

    def _checkout(self, dbapi_conn, record, proxy):  # type: ignore[no-untyped-def]
        if not self._on or id(dbapi_conn) in self._traced:
            return
        import psycopg

        path = self._folder / f"trace-{len(self._traced)}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        dbapi_conn.pgconn.trace(fd)
        dbapi_conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self._traced[id(dbapi_conn)] = (dbapi_conn, path)

    def stop(self) -> Counter[str]:
        self._on = False
        event.remove(self._engine, "checkout", self._checkout)
        kinds: Counter[str] = Counter()
        for conn, path in self._traced.values():
            if not conn.closed:
                conn.pgconn.untrace()
            kinds += round_trips_in(path.read_text(errors="replace"))
        return kinds


_WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")
DURABLE = "(of which durable commits: COMMIT, or a write in autocommit)"
_MESSAGE = re.compile(r"^([FB])\t\d+\t(\w+)\t?(.*)$")
_QUOTED = re.compile(r'"([^"]*)"')


def _messages(trace: str) -> list[tuple[str, str, str]]:
    """(side, message type, contents) of each traced message; a statement's text may span lines."""
    out: list[tuple[str, str, str]] = []
    for line in trace.splitlines():
        found = _MESSAGE.match(line)
        if found:
            out.append((found.group(1), found.group(2), found.group(3)))
        elif out:
            side, message, contents = out[-1]
            out[-1] = (side, message, contents + "\n" + line)
    return out


def round_trips_in(trace: str) -> Counter[str]:
    """Round trips in one connection's libpq trace, by kind (see :class:`WireCounter`)."""
    prepared: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    first: str | None = None
    for side, message, contents in _messages(trace):
        if side == "B":
            if message == "ReadyForQuery":
                kinds[first or "?"] += 1
                if first == "COMMIT" or (contents.strip() == "I" and (first or "").startswith(_WRITES)):
                    kinds[DURABLE] += 1  # not a round trip of its own: taken out of the sum
                first = None
            continue
        if message == "Query":
            kind = kind_of(contents.strip().strip('"'))
        elif message == "Parse":
            # Parse "name" "statement" ...: the statement's text is between the second quote and the
            # last one (it may hold quoted identifiers itself).
            name = _QUOTED.match(contents.strip())
            body = contents.strip()[len(name.group(0)) if name else 0 :].strip()
            statement = body[1 : body.rfind('"')] if body.startswith('"') else body
            prepared[name.group(1) if name else ""] = statement
            kind = kind_of(statement)
        elif message == "Bind":
            names = _QUOTED.findall(contents)
            kind = kind_of(prepared.get(names[1], "?")) if len(names) >= 2 else "?"
        else:
            continue
        if first is None:
            first = kind
    return kinds


def count_lock_statements(locks: Any, counts: Counter[str]) -> Callable[[], None]:
    """Count each statement of the PostgreSQL lock connection (``PgLocks._run``); returns the undo."""
    run = getattr(locks, "_run", None)
    if run is None:
        return lambda: None

    def counted(fn: Any) -> Any:
        counts["lock statement (lock connection)"] += 1
        return run(fn)

    locks._run = counted
    return lambda: setattr(locks, "_run", run)


# ------------------------------------------------------------------------------------------ the turns


def drive_turns(
    apps: Sequence[Any], turns: int, passes: int = 2, before_last: Callable[[], None] | None = None
) -> tuple[list[list[float]], list[str]]:
    """``passes`` × ``turns`` turns of 20 citizens through each app's ``handler``, one at a time, each
    timed; ``before_last`` is called before the last pass (the measured one).

    Every app has citizens of its own, seeded alike, so each hears the same texts as long as it answers
    alike; the apps take turns message by message (which goes first alternates), so a change of the
    machine's load falls on all of them. Returns, per app, the milliseconds of every turn of the last
    pass and a digest of everything it was told.
    """
    from benchmarks.bench_engine import Citizen, heldout_texts
    from bot.core.messages import ConversationKey, InboundMessage

    texts = heldout_texts()
    crowds = []
    for _ in apps:
        rng = random.Random(12)
        crowds.append([Citizen(f"rt-{i}", rng, texts) for i in range(20)])
    digests = [hashlib.sha256() for _ in apps]
    samples: list[list[float]] = [[] for _ in apps]

    async def one_turn(i: int, n: int) -> None:
        citizen = crowds[i][n % 20]
        said, _ = citizen.next_text(n // 20)
        digests[i].update(said.encode() + b"\0")
        message = InboundMessage(key=ConversationKey("rest", citizen.chat_id), text=said)
        start = time.perf_counter()
        replies = await apps[i].handler(message)
        samples[i].append((time.perf_counter() - start) * 1000)
        citizen.heard(replies)

    async def one_pass() -> None:
        for n in range(turns):
            order = range(len(apps)) if n % 2 == 0 else reversed(range(len(apps)))
            for i in order:
                await one_turn(i, n)

    for p in range(passes):
        if p == passes - 1 and before_last is not None:
            before_last()
        for taken in samples:
            taken.clear()
        asyncio.run(one_pass())
    return samples, [d.hexdigest()[:16] for d in digests]


def probe_ms(engine: Engine, n: int = 300) -> dict[str, dict[str, float]]:
    """Milliseconds, median and p90 of ``n``, of one bare round trip (``SELECT 1``) and of one durable
    commit (a one-row ``INSERT`` in autocommit: PostgreSQL waits for its WAL to reach the disk), on a
    pooled connection: what each round trip and each commit of a turn costs here, now."""
    from sqlalchemy import text

    def timed(sql: str) -> dict[str, float]:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            conn.execute(text(sql))
            samples.append((time.perf_counter() - start) * 1000)
        return {"median": round(percentile(samples, 50), 3), "p90": round(percentile(samples, 90), 3)}

    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit_probe (x integer)"))
        result = {
            "round_trip": timed("SELECT 1"),
            "commit": timed("INSERT INTO bench_commit_probe VALUES (1)"),
        }
        conn.execute(text("DROP TABLE bench_commit_probe"))
    return result


class Measured:
    """One app on its database, with its counters (see the module's docstring)."""

    def __init__(self, settings: Any, folder: Path) -> None:
        from bot.app.bootstrap import bootstrap

        self.app = bootstrap(settings)
        self.app.prepare()
        self.db = self.app.adapters.db
        self.postgres = self.db.dialect.name == "postgresql"
        self.statements = StatementCounter(self.db)
        self.wire = WireCounter(self.db, folder) if self.postgres else None
        self.locks: Counter[str] = Counter()
        self._undo = count_lock_statements(self.app.adapters.locks, self.locks)

    def start(self) -> None:
        """The measured pass begins: what the warm-up counted is dropped."""
        self.statements.kinds.clear()
        self.locks.clear()
        if self.wire is not None:
            self.wire.start()

    def result(self, samples: Sequence[float], said: str, turns: int) -> dict[str, Any]:
        trips = self.wire.stop() if self.wire is not None else Counter()
        self.statements.close()
        self._undo()
        kinds = self.statements.kinds
        result: dict[str, Any] = {
            "database": self.db.dialect.name,
            "turns": turns,
            "said_digest": said,
            "ms_per_turn": {
                "median": round(percentile(samples, 50), 2),
                "p90": round(percentile(samples, 90), 2),
                "mean": round(sum(samples) / len(samples), 2),
            },
            "statements_per_turn": round(sum(kinds.values()) / turns, 2),
            "statements_by_kind_per_turn": {k: round(v / turns, 2) for k, v in kinds.most_common()},
        }
        if self.postgres:
            trips += self.locks
            durable = trips.pop(DURABLE, 0)
            result["round_trips_per_turn"] = round(sum(trips.values()) / turns, 2)
            result["durable_commits_per_turn"] = round(durable / turns, 2)
            result["round_trips_by_kind_per_turn"] = {k: round(v / turns, 2) for k, v in trips.most_common()}
            pool = self.db.pool
            size = getattr(pool, "size", lambda: None)()
            result["pool"] = {"size": size, "pre_ping": bool(getattr(pool, "_pre_ping", False))}
        close = getattr(self.app.adapters.locks, "close", None)
        if close is not None:
            close()
        self.db.dispose()
        return result


# ---------------------------------------------------------------------------------------------- main


def pg_settings(url: str, model_dir: Path) -> Any:
    from benchmarks.bench_processes import reset_schema, schema_url
    from bot.core.settings import Settings

    reset_schema(url, SCHEMA)
    return Settings(_env_file=None, database_url=schema_url(url, SCHEMA), model_dir=model_dir)  # type: ignore[call-arg]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("HELPLINE_TEST_DATABASE_URL", ""))
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--model-dir", type=Path, help="a trained model to reuse (default: train one)")
    parser.add_argument("--label", default="", help="kept in the results (e.g. 'before')")
    parser.add_argument("--out", default="turn_cost", help="results/<out>.json")
    args = parser.parse_args()
    if not args.pg:
        sys.exit("needs PostgreSQL: --pg URL or HELPLINE_TEST_DATABASE_URL")
    from bot.core.settings import Settings

    commit = os.popen(f"git -C {ROOT} rev-parse --short HEAD 2>/dev/null").read().strip()
    result: dict[str, Any] = {"command": " ".join(sys.argv), "commit": commit, "label": args.label}
    with temp_dir("helpline-bench-turn-cost-") as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = tmp / "models"
            result["train_s"] = round(train(model_dir), 1)
        sqlite = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=f"sqlite:///{tmp}/helpline.sqlite3", model_dir=model_dir
        )
        folders = [Path(tempfile.mkdtemp(prefix=f"{n}-", dir=tmp)) for n in ("sqlite", "postgresql")]
        measured = [Measured(sqlite, folders[0]), Measured(pg_settings(args.pg, model_dir), folders[1])]
        result["load_average_before"] = round(os.getloadavg()[0], 2)
        result["postgresql_probe_ms_before"] = probe_ms(measured[1].db)

        def start() -> None:
            for m in measured:
                m.start()

        samples, said = drive_turns([m.app for m in measured], args.turns, before_last=start)
        result["load_average_after"] = round(os.getloadavg()[0], 2)
        runs = {
            name: m.result(samples[i], said[i], args.turns)
            for i, (name, m) in enumerate(zip(("sqlite", "postgresql"), measured, strict=True))
        }
        result["postgresql_probe_ms_after"] = probe_ms(measured[1].db)  # the counters are off now
        measured[1].db.dispose()
    result["same_turns"] = runs["sqlite"]["said_digest"] == runs["postgresql"]["said_digest"]
    if not result["same_turns"]:
        print("warning: the two databases did not hear the same turns", file=sys.stderr)
    result.update(runs)
    result["ratio_postgresql_over_sqlite"] = {
        k: round(runs["postgresql"]["ms_per_turn"][k] / runs["sqlite"]["ms_per_turn"][k], 2)
        for k in ("median", "p90")
    }
    extra = sorted(b - a for a, b in zip(samples[0], samples[1], strict=True))
    result["postgresql_minus_sqlite_same_turn_ms"] = {
        "median": round(percentile(extra, 50), 2),
        "p90": round(percentile(extra, 90), 2),
    }
    for name, run in runs.items():
        print(name, run, flush=True)
    print("ratio", result["ratio_postgresql_over_sqlite"])
    path = write_result(args.out, result)
    print(f"written {path}")


if __name__ == "__main__":
    main()
