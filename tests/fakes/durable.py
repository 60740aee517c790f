"""The server's inbound path for the channels' tests: the durable inbox and outbox on a SQLite file.

The webhooks and pollers hand messages to :class:`bot.channels.durable.DurableInboundQueue`, which
stores them before answering the platform; workers answer them in order per chat and the replies go
out through the outbox and :class:`bot.channels.durable.OutboxSender`. :class:`DurablePipeline` wires
the same pieces the composition root does (``bot.app.bootstrap``), with short poll intervals, so a
channel test drives exactly what production runs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from bot.app.migrations import migrate
from bot.channels.base import ChannelRegistry, MessageHandler
from bot.channels.durable import DurableInboundQueue, OutboxSender
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.timeutil import utcnow
from bot.handoff.retry import DeliveryRetrier
from bot.storage.inbox import SqlInbox, SqlOutbox
from knowledge.db import make_engine, make_session_factory

_template: Path | None = None


def migrated_sqlite(folder: Path) -> Engine:
    """A migrated, empty SQLite database in ``folder``: a copy of one migrated once per process (the
    migrations take about a second, the copy a millisecond)."""
    global _template
    if _template is None:
        path = Path(tempfile.mkdtemp(prefix="helpline-durable-")) / "template.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()
        _template = path
    target = folder / "inbox.sqlite3"
    shutil.copyfile(_template, target)
    return make_engine(f"sqlite:///{target}")


class DurablePipeline:
    """Inbox, workers, outbox and sender over ``db``, delivering through ``channels``.

    Args:
        handler: the engine.
        channels: where replies are delivered.
        db: a migrated database (:func:`migrated_sqlite`).
        workers: messages handled at once (each of another chat).
        error_reply: the apology queued when the handler raised.
        clock: the inbox's and outbox's time (tests move a :class:`tests.fakes.clock.FakeClock`).
        backoff: seconds before each retry of a refused reply.
    """

    def __init__(
        self,
        handler: MessageHandler,
        channels: ChannelRegistry,
        db: Engine,
        *,
        workers: int = 4,
        error_reply: Callable[[ConversationKey], OutboundMessage] | None = None,
        clock: Callable[[], datetime] = utcnow,
        backoff: Sequence[float] = (0.05, 0.1),
    ) -> None:
        sessions = make_session_factory(db)
        self.db = db
        self.inbox = SqlInbox(sessions, lease=timedelta(seconds=60), clock=clock)
        self.outbox = SqlOutbox(sessions, clock=clock)
        self.sender = OutboxSender(
            self.outbox, channels.deliver, backoff=backoff, max_attempts=3, clock=clock
        )
        self.retrier = DeliveryRetrier(None, interval=0.05, outbox=self.sender.send_due)
        self.queue = DurableInboundQueue(
            handler,
            self.inbox,
            workers=workers,
            error_reply=error_reply,
            on_reply=self.retrier.wake,
            poll_interval=0.05,
            outbox_idle=self.sender.idle,
        )

    async def offer(self, message: InboundMessage) -> bool:
        """Store ``message`` (False for a redelivery already stored)."""
        return await self.queue.offer(message)

    async def join(self) -> None:
        """Wait until every stored message was answered and its replies delivered."""
        self.retrier.wake()
        await self.queue.join()

    async def start(self) -> None:
        """Start the workers and the outbox's retry loop."""
        self.queue.start()
        await self.retrier.start()

    async def stop(self) -> None:
        """Finish, deliver what the last turns queued, stop; the database is closed."""
        await self.queue.stop()
        await self.retrier.stop()
        await self.sender.flush(timeout=5)
        await self.sender.stop()
        self.db.dispose()
