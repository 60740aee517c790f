"""Channels: platform adapters between Telegram / Zalo and the channel-neutral messages.

``base`` holds what they share (the :class:`OutputChannel` port, the registry, errors); ``durable``
the inbox and outbox every webhook and poller goes through; ``telegram``, ``zalo_oa`` and ``zalo_bot`` are the adapters. Import the adapters from their
modules so that a deployment without Telegram never imports python-telegram-bot.
"""

from bot.channels.base import (
    ChannelError,
    ChannelRegistry,
    DeliveryError,
    MessageHandler,
    OutputChannel,
    QueueFullError,
    TextOnlyChannel,
)
from bot.channels.ratelimit import RateLimiter

__all__ = [
    "ChannelError",
    "ChannelRegistry",
    "DeliveryError",
    "MessageHandler",
    "OutputChannel",
    "QueueFullError",
    "RateLimiter",
    "TextOnlyChannel",
]
