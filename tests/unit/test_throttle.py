"""The one throttle (bot/core/throttle.py) of console logins and dossier verifications: its rules, and
the figures docs/security.md gives for the dossier look-up (issue 13, item 4), computed on a fake clock.

The figures are known answers worked out by hand from the rules (5 free failures, then 1, 2, 4 ... minutes
up to an hour per requester; a global cool-down past 100 failures in 10 minutes); benchmarks/
bench_dossier_guard.py prints them beside the rule they replaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.ports import InMemoryDossierAccessGuard
from bot.core.throttle import (
    CLEAR,
    InMemoryThrottleStore,
    Throttle,
    ThrottleRule,
    after_failure,
    verdict,
)

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


def test_waits_start_after_the_free_failures_and_double_up_to_the_cap() -> None:
    rule = ThrottleRule(free=3, first_wait=timedelta(seconds=30), max_wait=timedelta(minutes=3))
    assert [rule.wait_after(n).total_seconds() for n in range(1, 8)] == [0, 0, 30, 60, 120, 180, 180]


def test_a_lock_after_enough_failures_and_a_window_that_starts_again() -> None:
    rule = ThrottleRule(free=2, lock_after=3, lock_for=timedelta(hours=1), window=timedelta(minutes=10))
    state = CLEAR
    for _ in range(3):
        state = after_failure(rule, state, NOW)
    assert state.locked and verdict(state, NOW + timedelta(minutes=59)).locked
    assert verdict(state, NOW + timedelta(minutes=61)).allowed
    later = after_failure(rule, state, NOW + timedelta(minutes=61))  # a new window: one failure, free
    assert (later.failures, later.locked, verdict(later, NOW + timedelta(minutes=61)).allowed) == (
        1,
        False,
        True,
    )


def test_success_clears_failures_but_not_a_running_lock() -> None:
    clock = [NOW]
    rules = {"a:": ThrottleRule(free=1, lock_after=2, lock_for=timedelta(hours=1))}
    throttle = Throttle(InMemoryThrottleStore(), rules, lambda: clock[0])
    throttle.fail(["a:x", "a:y"])
    throttle.fail(["a:x"])
    throttle.succeed(["a:x", "a:y"])
    assert not throttle.check(["a:x"]).allowed and throttle.check(["a:y"]).allowed
    assert throttle.lift(["a:x"]) == 1 and throttle.check(["a:x"]).allowed
    with pytest.raises(KeyError):
        throttle.rule("b:z")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def _wrong(guard: InMemoryDossierAccessGuard, chat: str, code: str) -> bool:
    subjects = (f"chat:{chat}", f"dossier:{code}")
    if await guard.locked(subjects):
        return False
    await guard.failed(subjects)
    return True


async def test_one_sender_gets_ten_guesses_in_its_first_hour_and_33_in_a_day() -> None:
    """Was 10 in the first hour and 240 a day (5 per half hour, then a fresh count)."""
    clock = Clock()
    guard = InMemoryDossierAccessGuard(clock=clock)
    counted = []
    for second in range(24 * 3600):
        clock.now = NOW + timedelta(seconds=second)
        if await _wrong(guard, "rest:attacker", f"H12.22-250301-{len(counted):04d}"):
            counted.append(second)
    assert len([s for s in counted if s < 3600]) == 10  # t = 0..4 s, then after 1, 2, 4, 8, 16 minutes
    assert counted[5:10] == [64, 184, 424, 904, 1864]
    assert len(counted) == 33  # then one an hour


async def test_fresh_sender_ids_are_capped_by_the_global_cool_down() -> None:
    """Was unlimited by the guard (the issue's pass reached 58.8 guesses/s with a new sender id each)."""
    clock = Clock()
    guard = InMemoryDossierAccessGuard(clock=clock)
    guesses = 0
    for second in range(3600):
        clock.now = NOW + timedelta(seconds=second)
        for k in range(60):
            n = second * 60 + k
            guesses += await _wrong(
                guard, f"rest:bot-{n}", f"H12.22-2503{n // 10000 % 100:02d}-{n % 10000:04d}"
            )
    assert guesses == 412  # 100 free each 10-minute window, then a cool-down of 1, 2, 4 ... minutes


async def test_the_issues_burst_locks_owners_out_for_a_minute_not_half_an_hour() -> None:
    clock = Clock()
    guard = InMemoryDossierAccessGuard(clock=clock)
    for n in range(200):  # 200 wrong verifications over the 20 demo dossiers in 1.5 s
        await _wrong(guard, f"rest:bot-{n}", f"H12.22-250301-{n % 20:04d}")
        clock.now += timedelta(seconds=1.5 / 200)
    web_owner = ("chat:rest:owner", "dossier:H12.22-250301-0000")
    telegram_owner = ("chat:telegram:owner", "dossier:H12.22-250301-0000")
    assert await guard.locked(web_owner) is True  # the web chat cools down...
    assert await guard.locked(telegram_owner) is False  # ...Telegram's citizens go on
    clock.now = NOW + timedelta(seconds=61.5)
    assert await guard.locked(web_owner) is False
