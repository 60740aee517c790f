"""The send rate limit shared by every process and machine of a deployment, kept in Redis.

:class:`~bot.channels.ratelimit.RateLimiter` counts the messages of one process, so ``helpline serve
--workers 4`` (or two machines) could send 4 × 30 messages/s for one bot and Telegram answers 429 (issue
12, item 3). :class:`RedisRateLimiter` applies the same two limits — one message per chat per
``per_chat_period / per_chat`` seconds, at most ``overall`` messages in any ``overall_period`` seconds
— to all processes together: one Lua script reserves the chat's next slot and takes a place in the
overall sliding window (a sorted set of send times), atomically, in one round trip (about 0.1 ms on
loopback, ``benchmarks/bench_ratelimit.py``). Times come from the Redis server's clock, so machines whose
clocks differ still share one window.

When Redis does not answer (down, timeout, wrong address) a send is never held up and never lost: the
limiter logs a warning (at most once a minute) and applies the in-process limit instead, trying Redis
again a few seconds later. While Redis is down the limit is therefore per process again.

Without ``HELPLINE_REDIS_URL`` :func:`send_limiter` returns the in-process limiter (SQLite, one process,
the default).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any

from bot.channels.ratelimit import RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisRateLimiter", "send_limiter"]

log = logging.getLogger(__name__)

# KEYS[1] the chat's next free slot, KEYS[2] the overall window (sorted set of send times, microseconds).
# ARGV: mode ("chat": reserve the chat slot, then try the window; "window": the window only), the chat
# interval, the overall period, the overall count (the three in microseconds / messages), now in
# microseconds or "" for the server's clock, a unique member for the window.
# Returns {0, 0} when the message may go now, {1, wait} to wait for the chat slot (then call again with
# "window"), {2, wait} when the window is full (call again with "window" after the wait).
# Numbers are passed to redis.call through %.0f: Lua 5.1 would print 1.7e15 with 14 digits only.
_SCRIPT = """
local function num(x) return string.format('%.0f', x) end
local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
if ARGV[1] == 'chat' then
  local interval = tonumber(ARGV[2])
  local nxt = tonumber(redis.call('GET', KEYS[1]) or now)
  local slot = math.max(now, nxt)
  redis.call('SET', KEYS[1], num(slot + interval), 'PX', num(math.ceil((slot + interval - now) / 1000) + 1000))
  if slot > now then
    return {1, num(slot - now)}
  end
end
local period = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', num(now - period))
if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[2], num(now), ARGV[6])
  redis.call('PEXPIRE', KEYS[2], num(math.ceil(period / 1000) + 1000))
  return {0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {2, num(tonumber(oldest[2]) + period - now)}
"""

WARN_EVERY = 60.0
"""Seconds between two warnings that Redis does not answer (one process, one limiter)."""


class RedisRateLimiter(RateLimiter):
    """:class:`RateLimiter`'s limits held in Redis for every process together, with a local fallback.

    Args:
        client: an asyncio Redis client (``redis.asyncio.Redis``); give it short socket timeouts.
        scope: what the limits belong to (one bot); processes with the same scope share them.
        overall, overall_period, per_chat, per_chat_period: as for :class:`RateLimiter`.
        clock: seconds for the window; None: the Redis server's clock (one clock for all machines).
            Tests give a fake clock. The local fallback uses it too, or ``time.monotonic``.
        sleep: coroutine function that waits the given seconds.
        retry_after: seconds of local limiting after Redis failed, before Redis is tried again.
    """

    def __init__(
        self,
        client: Redis,
        *,
        scope: str,
        overall: int = 30,
        overall_period: float = 1.0,
        per_chat: int = 1,
        per_chat_period: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        retry_after: float = 5.0,
    ) -> None:
        local_clock = clock if clock is not None else time.monotonic
        super().__init__(
            overall=overall,
            overall_period=overall_period,
            per_chat=per_chat,
            per_chat_period=per_chat_period,
            clock=local_clock,
            sleep=sleep,
        )
        self._client = client
        self._script = client.register_script(_SCRIPT)
        self._prefix = f"helpline:ratelimit:{scope}:"
        self._shared_clock = clock
        self._local_clock = local_clock
        self._args = (
            round(per_chat_period / per_chat * 1e6),
            round(overall_period * 1e6),
            overall,
        )
        self._member = uuid.uuid4().hex
        self._count = 0
        self._retry_after = retry_after
        self._redis_down_until = float("-inf")
        self._warned_at = float("-inf")
        self.fallbacks = 0
        """How many acquisitions were limited locally because Redis did not answer."""

    async def acquire(self, chat_id: Hashable) -> None:
        """Wait until one more message to ``chat_id`` may be sent by any process, and count it."""
        if self._local_clock() < self._redis_down_until:
            await super().acquire(chat_id)
            return
        try:
            await self._acquire_shared(chat_id)
        except Exception as exc:  # any Redis failure: limit locally, never hold up or drop a send
            if not _is_redis_failure(exc):
                raise
            self._redis_failed(exc)
            await super().acquire(chat_id)

    async def aclose(self) -> None:
        """Close the Redis client's connections."""
        await self._client.aclose()

    async def _acquire_shared(self, chat_id: Hashable) -> None:
        keys = [f"{self._prefix}chat:{chat_id}", f"{self._prefix}all"]
        mode = "chat"
        while True:
            self._count += 1
            now = "" if self._shared_clock is None else str(round(self._shared_clock() * 1e6))
            kind, wait = await self._script(
                keys=keys, args=[mode, *self._args, now, f"{self._member}:{self._count}"]
            )
            if int(kind) == 0:
                return
            mode = "window"
            await self._sleep(int(wait) / 1e6)

    def _redis_failed(self, exc: BaseException) -> None:
        now = self._local_clock()
        self.fallbacks += 1
        self._redis_down_until = now + self._retry_after
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(
                "Redis does not answer (%s): the send rate limit is per process until it does",
                type(exc).__name__,
            )


def _is_redis_failure(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError | TimeoutError)


def send_limiter(redis_url: str, *, scope: str, **limits: Any) -> RateLimiter:
    """The limiter for a channel's sends: shared in Redis when ``redis_url`` is set, else in-process.

    Args:
        redis_url: ``HELPLINE_REDIS_URL`` (``redis://host:6379/0``); empty: the in-process limiter.
        scope: what the limits belong to (e.g. ``telegram:<bot id>``).
        limits: the limits, as for :class:`RateLimiter`.
    """
    if not redis_url:
        return RateLimiter(**limits)
    from redis.asyncio import Redis

    # Short timeouts: a Redis that does not answer costs a send at most this, then the local limit.
    client = Redis.from_url(redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
    return RedisRateLimiter(client, scope=scope, **limits)
