"""An asyncio rate limiter for outgoing platform messages.

Telegram allows a bot about 30 messages per second overall and about one message per second in a
chat; beyond that it answers 429 and the bot must wait. :class:`RateLimiter` keeps the sender under
both limits so flood control stays the exception. (python-telegram-bot's own limiter needs an optional
extra that this project does not install.)

The clock and the sleep function are injected so tests run on a fake clock without sleeping.

The limits hold for one process. With several processes or machines and ``HELPLINE_REDIS_URL`` set, the
channels use :class:`bot.channels.shared_ratelimit.RedisRateLimiter`, the same limits shared in Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces messages per chat and caps them overall within a sliding window.

    A chat gets at most ``per_chat`` messages per ``per_chat_period`` seconds, evenly spaced (each
    caller reserves the next free slot of its chat, so callers of one chat are served in order and
    other chats are not held up). Then the overall limit is applied: at most ``overall`` messages in any
    ``overall_period`` seconds.

    Args:
        overall: messages allowed in one overall window.
        overall_period: length of the overall window in seconds.
        per_chat: messages allowed per chat in one chat period.
        per_chat_period: length of the chat period in seconds.
        clock: monotonic time in seconds.
        sleep: coroutine function that waits the given seconds.
    """

    def __init__(
        self,
        *,
        overall: int = 30,
        overall_period: float = 1.0,
        per_chat: int = 1,
        per_chat_period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if overall < 1 or per_chat < 1 or overall_period <= 0 or per_chat_period <= 0:
            raise ValueError("rate limits must be positive")
        self._overall = overall
        self._overall_period = overall_period
        self._chat_interval = per_chat_period / per_chat
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._chat_next: dict[Hashable, float] = {}
        self._overall_lock = asyncio.Lock()

    async def acquire(self, chat_id: Hashable) -> None:
        """Wait until one more message to ``chat_id`` may be sent, and count it as sent."""
        now = self._clock()
        slot = max(now, self._chat_next.get(chat_id, now))
        self._chat_next[chat_id] = slot + self._chat_interval
        self._forget_idle_chats(now)
        if slot > now:
            await self._sleep(slot - now)
        async with self._overall_lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self._overall_period:
                    self._sent.popleft()
                if len(self._sent) < self._overall:
                    self._sent.append(now)
                    return
                await self._sleep(self._sent[0] + self._overall_period - now)

    async def aclose(self) -> None:
        """Release what the limiter holds: nothing here (the Redis limiter closes its client)."""

    def _forget_idle_chats(self, now: float) -> None:
        # Keep the per-chat table small: a chat whose next slot has passed needs no entry.
        if len(self._chat_next) > 1000:
            self._chat_next = {chat: t for chat, t in self._chat_next.items() if t > now}
