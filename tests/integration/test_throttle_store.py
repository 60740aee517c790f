"""The SQL throttle store (bot/storage/throttle.py) on SQLite and PostgreSQL: what one worker counts,
another sees; concurrent failures are all counted (rows locked FOR UPDATE on PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.core.throttle import Throttle, ThrottleRule, ThrottleState
from bot.storage.throttle import SqlThrottleStore
from knowledge.db import make_session_factory

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
RULES = {
    "login:user:": ThrottleRule(free=2, lock_after=3, lock_for=timedelta(hours=1)),
    "login:addr:": ThrottleRule(free=50, window=timedelta(hours=1)),
}


def test_counts_locks_lifts_and_prunes_across_two_stores(db_engine: Engine) -> None:
    clock = [NOW]
    one = Throttle(SqlThrottleStore(make_session_factory(db_engine)), RULES, lambda: clock[0])
    two = Throttle(SqlThrottleStore(make_session_factory(db_engine)), RULES, lambda: clock[0])
    one.fail(["login:user:lan", "login:addr:203.0.113.7"])
    two.fail(["login:user:lan"])
    assert not one.check(["login:user:lan"]).allowed  # the second failure (free=2) makes it wait
    verdict = two.fail(["login:user:lan"])
    assert verdict.locked and two.states(["login:user:lan"])["login:user:lan"].failures == 3
    assert set(one.blocked("login:user:")) == {"login:user:lan"}
    assert one.blocked("login:addr:") == {}
    assert two.lift(["login:user:lan"]) == 1 and one.check(["login:user:lan"]).allowed
    clock[0] = NOW + timedelta(days=2)
    assert one.prune() == 1  # the address's window ran out
    assert one.states(["login:addr:203.0.113.7"])["login:addr:203.0.113.7"].failures == 0


def test_concurrent_failures_are_all_counted(db_engine: Engine) -> None:
    store = SqlThrottleStore(make_session_factory(db_engine))
    throttle = Throttle(store, RULES, lambda: NOW)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: throttle.fail(["login:addr:198.51.100.1"]), range(40)))
    assert store.load(["login:addr:198.51.100.1"])["login:addr:198.51.100.1"].failures == 40


def test_prune_reads_in_batches_and_spares_a_row_changed_meanwhile(db_engine: Engine) -> None:
    """2,500 stale subjects (more than one read batch and one delete batch) are forgotten; one that got a
    new failure while the prune was scanning is kept with its count."""
    store = SqlThrottleStore(make_session_factory(db_engine))
    subjects = [f"login:addr:10.0.{i // 250}.{i % 250}" for i in range(2500)]
    store.change(subjects, lambda s, st: replace(st, failures=1, window_started_at=NOW))
    late = subjects[1234]

    def keep(subject: str, state: ThrottleState) -> bool:
        if subject == late:  # another worker counts a failure of this subject during the scan
            store.change([late], lambda s, st: replace(st, failures=st.failures + 1))
        return False

    assert store.prune(keep) == 2499
    assert store.load([late])[late].failures == 2
    assert store.load([subjects[0]])[subjects[0]].failures == 0
