"""What an attacker gets from the dossier verification's limits, before and after issue 13 (no timing:
a simulation on a fake clock, so the figures are exact and the same on every machine).

Run:  .venv/bin/python -m benchmarks.bench_dossier_guard

*After* is the guard production runs (:class:`bot.core.throttle.VerificationGuard`, as
:class:`bot.core.ports.InMemoryDossierAccessGuard` builds it from config.yml's defaults: 5 attempts,
``lock_minutes`` 30). *Before* is the rule it replaced, re-stated in :class:`BeforeGuard` exactly as
``bot/core/ports.py`` had it before issue 13: 5 failures of a chat or of a code within 30 minutes lock
that chat or code for 30 minutes, for everyone.

Scenarios (each attempt is what the dossier action does: ``locked`` first, then on wrong digits
``failed``; a refused attempt is not counted as a failure):

* **one client, one sender id** guesses as fast as the guard lets it, a new code each time (so no code
  limit binds): guesses in the first hour and in 24 hours;
* **one client, a new sender id per guess** (what the REST channel allowed before the web chat's
  sessions), 60 attempts a second (the issue's pass measured 58.8 guesses/s): guesses in an hour;
* **keep one citizen locked out for 24 hours**: the owner tries once every 5 minutes from their own chat
  on the attacker's channel (the web chat); the attacker, with as many fresh sender ids there as
  needed, sends wrong digits whenever one would change something: the failures it needs and the share of
  the owner's tries refused (after: the channel's cool-down is what holds the owner, so every web-chat
  citizen is held with them; Telegram's and Zalo's are not);
* **the issue's burst**: 200 wrong verifications over 20 dossiers in 1.5 s on the web chat, then
  nothing: how long an owner on the web chat, and one on Telegram, is locked out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.core.ports import InMemoryDossierAccessGuard

START = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
RESULTS = Path(__file__).resolve().parent / "results" / "dossier_guard.json"


class Clock:
    """The simulation's time."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Guard(Protocol):
    async def locked(self, subjects: Sequence[str]) -> bool: ...
    async def failed(self, subjects: Sequence[str]) -> bool: ...


class BeforeGuard:
    """The rule before issue 13 (``InMemoryDossierAccessGuard`` at commit a563413~1), failures only."""

    def __init__(self, clock: Clock, max_failures: int = 5, lock_for: timedelta = timedelta(minutes=30)):
        self.clock, self.max_failures, self.lock_for = clock, max_failures, lock_for
        self.failures: dict[str, list[datetime]] = {}
        self.locked_until: dict[str, datetime] = {}

    async def locked(self, subjects: Sequence[str]) -> bool:
        now = self.clock()
        return any(self.locked_until.get(s, now) > now for s in subjects)

    async def failed(self, subjects: Sequence[str]) -> bool:
        now = self.clock()
        locked = False
        for subject in subjects:
            recent = [t for t in self.failures.get(subject, []) if now - t < self.lock_for] + [now]
            if len(recent) >= self.max_failures:
                self.locked_until[subject] = now + self.lock_for
                recent = []
            self.failures[subject] = recent
            locked = locked or self.locked_until.get(subject, now) > now
        return locked


def guards(clock: Clock) -> dict[str, Guard]:
    return {"before": BeforeGuard(clock), "after": InMemoryDossierAccessGuard(clock=clock)}


def code(i: int) -> str:
    return f"H12.22-2503{i // 10000 % 100:02d}-{i % 10000:04d}"


async def attempt(guard: Guard, chat: str, dossier: str) -> bool:
    """One wrong verification, as the action makes it; True when it was counted (not refused)."""
    subjects = (f"chat:{chat}", f"dossier:{dossier}")
    if await guard.locked(subjects):
        return False
    await guard.failed(subjects)
    return True


async def one_sender(guard: Guard, clock: Clock, hours: int) -> int:
    guesses, i = 0, 0
    end = START + timedelta(hours=hours)
    while clock.now < end:
        if await attempt(guard, "rest:attacker", code(i)):
            guesses, i = guesses + 1, i + 1
        clock.now += timedelta(seconds=1)
    return guesses


async def new_sender_each_guess(guard: Guard, clock: Clock, per_second: int, seconds: int) -> int:
    guesses = 0
    for second in range(seconds):
        for k in range(per_second):
            n = second * per_second + k
            guesses += await attempt(guard, f"rest:bot-{n}", code(n))
        clock.now += timedelta(seconds=1)
    return guesses


async def keep_locked(guard: Guard, clock: Clock, kind: str, hours: int = 24) -> dict[str, float]:
    """The cheapest attack we know on each rule, against an owner trying every 5 minutes."""
    target = code(424242)
    failures, fresh, tries, refused = 0, 0, 0, 0
    end = START + timedelta(hours=hours)
    step = timedelta(seconds=5)
    while clock.now < end:
        # The attacker: before, the code's own lock; after, the code's cool-down does not hold the owner,
        # so only the global cool-down does: fail on many codes from fresh ids until it runs.
        while not await guard.locked(
            (f"chat:rest:probe-{fresh}", f"dossier:{target}")
        ):  # the owner's channel
            victim = target if kind == "before" else code(fresh)
            fresh += 1
            failures += await attempt(guard, f"rest:bot-{fresh}", victim)
        if (clock.now - START) % timedelta(minutes=5) == timedelta(0):
            tries += 1
            refused += await guard.locked(("chat:rest:owner", f"dossier:{target}"))
        clock.now += step
    return {
        "attacker_failures_per_hour": round(failures / hours, 1),
        "attacker_sender_ids_per_hour": round(fresh / hours, 1),
        "owner_tries_refused_percent": round(100 * refused / tries, 1),
    }


async def burst(guard: Guard, clock: Clock, owner: str) -> float:
    """200 wrong verifications over 20 dossiers in 1.5 s on the web chat; minutes until an owner on
    ``owner``'s channel may try again."""
    for n in range(200):
        await attempt(guard, f"rest:bot-{n}", code(n % 20))
        clock.now += timedelta(seconds=1.5 / 200)
    start = clock.now
    while await guard.locked((f"chat:{owner}", f"dossier:{code(0)}")):
        clock.now += timedelta(seconds=1)
    return round((clock.now - start).total_seconds() / 60, 1)


async def main() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for kind in ("before", "after"):
        row: dict[str, object] = {}
        for name, hours in (("one_sender_guesses_first_hour", 1), ("one_sender_guesses_24h", 24)):
            clock = Clock()
            row[name] = await one_sender(guards(clock)[kind], clock, hours)
        clock = Clock()
        row["new_sender_each_guess_guesses_per_hour"] = await new_sender_each_guess(
            guards(clock)[kind], clock, 60, 3600
        )
        clock = Clock()
        row["keep_one_citizen_locked_24h"] = await keep_locked(guards(clock)[kind], clock, kind)
        for channel in ("rest", "telegram"):
            clock = Clock()
            row[f"{channel}_owner_locked_after_the_issue_burst_minutes"] = await burst(
                guards(clock)[kind], clock, f"{channel}:owner"
            )
        out[kind] = row
    return out


if __name__ == "__main__":
    results = asyncio.run(main())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
