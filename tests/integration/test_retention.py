"""The privacy purge on SQLite and PostgreSQL (issue 13, item 7): what is past config.yml's ``privacy:``
retention is deleted, nothing else; ``--dry-run`` only counts; the server's daily job runs it.

The data is made by production's wiring (``factory_app``: citizens talk, one escalates, an officer
closes a ticket); the purge is run with a clock moved on by the days the test needs."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select

from bot.app.cli import cmd_purge
from bot.app.retention import PurgeJob, PurgeReport, Retention
from bot.channels.rest import SqlRestOutbox, WebOutboxRow
from bot.core.config import PrivacyConfig
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.timeutil import utcnow
from bot.dossiers.tables import DossierAccessRow
from bot.handoff.tables import TicketMessageRow, TicketNoteRow, TicketRow, TurnOutcomeRow
from bot.storage.sql import ConversationRow, MessageRow
from console.auth.tables import AuthEventRow
from tests.fakes.app import factory_app, settings_for

DAY = timedelta(days=1)
CONFIG = PrivacyConfig(conversations_days=180, tickets_days=365, dossier_access_days=30, web_outbox_days=7)


class Delivered:
    async def __call__(self, message: OutboundMessage) -> None:
        pass


@pytest.fixture
def app(db_engine: DbEngine):  # type: ignore[no-untyped-def]
    built = factory_app(settings_for(db_engine.url.render_as_string(hide_password=False)), db=db_engine)
    built.tickets.use_delivery(Delivered())
    yield built
    getattr(built.adapters.locks, "close", lambda: None)()  # PostgreSQL: the advisory-lock connection


def count(app, table: type) -> int:  # type: ignore[no-untyped-def]
    with app.adapters.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


async def _world(app) -> dict[str, ConversationKey]:  # type: ignore[no-untyped-def]
    """Three conversations: one plain, one with an open ticket, one whose ticket is closed; two dossier
    verification records (one still locked); one message queued for a web-chat page."""
    keys = {name: ConversationKey("rest", name) for name in ("plain", "open", "closed")}
    for key in keys.values():
        await app.handler(InboundMessage(key, "xin chào"))
    for name in ("open", "closed"):
        await app.handler(InboundMessage(keys[name], "cho tôi gặp cán bộ"))
    officer = app.users.add("lan", "sen-hong-2026", display_name="Trần Thị Lan")
    ticket = app.tickets.open_ticket(keys["closed"])
    await app.tickets.claim(ticket.id, officer.id)
    await app.tickets.close(ticket.id, officer.id, "đã hướng dẫn")
    now = utcnow()
    with app.adapters.sessions.begin() as session:
        session.add(DossierAccessRow(subject="chat:rest:plain", failures=2, updated_at=now))
        session.add(
            DossierAccessRow(subject="code:H57-1", failures=5, locked_until=now + 1000 * DAY, updated_at=now)
        )
    await SqlRestOutbox(app.adapters.sessions).send(OutboundMessage(keys["open"], "Cán bộ trả lời"))
    return keys


def retention(app, days: float, log_dir: Path | None = None) -> Retention:  # type: ignore[no-untyped-def]
    later = utcnow() + days * DAY
    return Retention(app.adapters.sessions, CONFIG, log_dir=log_dir, clock=lambda: later)


async def test_nothing_recent_is_purged(app) -> None:  # type: ignore[no-untyped-def]
    await _world(app)
    before = {t: count(app, t) for t in (MessageRow, ConversationRow, TicketRow, DossierAccessRow)}
    report = retention(app, 1).purge()
    assert report.total == 0
    assert {t: count(app, t) for t in before} == before


async def test_a_dry_run_counts_and_deletes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    await _world(app)
    messages = count(app, MessageRow)
    report = retention(app, 200).purge(dry_run=True)
    # the plain and the closed-ticket conversations, their messages; the stale record; the outbox row
    assert report.dry_run and report.counts["conversations"] == 2
    assert report.counts["dossier_access"] == 1 and report.counts["web_outbox"] == 1
    assert report.counts["tickets"] == 0  # closed 200 days ago: kept for 365
    assert count(app, MessageRow) == messages and count(app, ConversationRow) == 3
    assert "Sẽ xoá 2 cuộc trò chuyện" in report.summary() and "chưa xoá gì" in report.summary()


async def test_the_purge_deletes_what_is_past_retention_and_keeps_open_tickets(app) -> None:  # type: ignore[no-untyped-def]
    keys = await _world(app)
    open_messages = len(app.adapters.conversations.recent_messages(keys["open"], 100))
    dry = retention(app, 200).purge(dry_run=True)
    report = retention(app, 200).purge()
    assert report.counts == {**dry.counts}  # the dry run said exactly what the purge did
    with app.adapters.sessions() as session:
        chats = set(session.scalars(select(ConversationRow.chat_id)))
        subjects = set(session.scalars(select(DossierAccessRow.subject)))
    # the conversation with an open ticket keeps its state and its whole log, however old
    assert chats == {"open"}
    assert len(app.adapters.conversations.recent_messages(keys["open"], 100)) == open_messages
    assert count(app, MessageRow) == open_messages
    assert subjects == {"code:H57-1"}  # a lock still running is kept
    assert count(app, WebOutboxRow) == 0
    assert count(app, TicketRow) == 2  # the closed ticket is kept for 365 days
    # a year later the closed ticket goes, with its messages and note; the open one stays
    later = retention(app, 400).purge()
    assert later.counts["tickets"] == 1 and later.counts["ticket_messages"] >= 3
    with app.adapters.sessions() as session:
        assert list(session.scalars(select(TicketRow.status))) == ["waiting"]
        assert session.scalar(select(func.count()).select_from(TicketMessageRow)) >= 2


async def test_notes_turn_outcomes_and_console_events_go_with_their_retention(app) -> None:  # type: ignore[no-untyped-def]
    """The officers' notes go with their closed ticket, the turn records (question and reply) after
    ``conversations_days``, the console's login events (user names, addresses) after
    ``security_events_days``; a note of an open ticket stays."""
    keys = await _world(app)
    officer = app.users.by_name("lan")
    closed = next(t for t in app.tickets.list("closed"))
    waiting = app.tickets.open_ticket(keys["open"])
    app.tickets.add_note(closed.id, officer.id, "đã gọi lại cho công dân")
    app.tickets.add_note(waiting.id, officer.id, "chờ giấy tờ bổ sung")
    now = utcnow()
    with app.adapters.sessions.begin() as session:
        session.add(
            TurnOutcomeRow(channel="rest", chat_id="plain", kind="answer", question="lệ phí?", created_at=now)
        )
        session.add(AuthEventRow(kind="login_failed", username="lan", address="203.0.113.9", created_at=now))
    config = PrivacyConfig(conversations_days=180, tickets_days=365, security_events_days=300)

    def purge(days: int) -> PurgeReport:
        later = now + days * DAY
        return Retention(app.adapters.sessions, config, clock=lambda: later).purge()

    outcomes = count(app, TurnOutcomeRow)
    assert outcomes >= 1
    first = purge(200).counts
    assert first["turn_outcomes"] == outcomes and count(app, TurnOutcomeRow) == 0
    assert first["ticket_notes"] == 0 and first["auth_events"] == 0
    second = purge(400)
    assert second.counts["ticket_notes"] == 1 and second.counts["auth_events"] >= 1
    assert "1 ghi chú nội bộ của yêu cầu hỗ trợ" in second.summary()
    with app.adapters.sessions() as session:
        assert list(session.scalars(select(TicketNoteRow.text))) == ["chờ giấy tờ bổ sung"]
    assert count(app, AuthEventRow) == 0


def test_old_log_files_are_deleted(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "var"
    folder.mkdir()
    old, rotated, fresh, other = (
        folder / n for n in ("helpline.log", "helpline.log.1", "x.log", "db.sqlite3")
    )
    for path in (old, rotated, fresh, other):
        path.write_text("…", encoding="utf-8")
    long_ago = time.time() - 40 * 86400
    for path in (old, rotated, other):
        os.utime(path, (long_ago, long_ago))
    assert retention(app, 0, folder).purge(dry_run=True).counts["log_files"] == 2
    assert old.exists()
    assert retention(app, 0, folder).purge().counts["log_files"] == 2
    assert sorted(p.name for p in folder.iterdir()) == ["db.sqlite3", "x.log"]


async def test_helpline_purge_dry_run(app, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    await _world(app)
    assert cmd_purge(argparse.Namespace(dry_run=True), app) == 0
    out = capsys.readouterr().out
    assert "Sẽ xoá 0 cuộc trò chuyện" in out and "chưa xoá gì" in out
    assert count(app, ConversationRow) == 3


async def test_the_server_runs_the_purge_at_start_and_then_daily() -> None:
    class Counting:
        config = PrivacyConfig(purge_every_hours=24)
        calls = 0

        def purge(self) -> None:
            Counting.calls += 1

    job = PurgeJob(Counting())  # type: ignore[arg-type]
    await job.start()
    for _ in range(100):
        if Counting.calls:
            break
        await asyncio.sleep(0.01)
    await job.stop()
    assert Counting.calls == 1  # once at start; the next one a day later


async def test_remask_masks_texts_stored_before_and_leaves_undelivered_ones(app) -> None:  # type: ignore[no-untyped-def]
    keys = await _world(app)
    raw = "CCCD 0012 0300 4567"  # a spelling the masking of the day before let through
    ticket = app.tickets.open_ticket(keys["open"])
    closed = next(t for t in app.tickets.list("closed"))
    with app.adapters.sessions.begin() as session:
        conversation_id = session.scalar(select(ConversationRow.id).where(ConversationRow.chat_id == "plain"))
        session.add(MessageRow(conversation_id=conversation_id, direction="in", sender="citizen", text=raw))
        session.add(TicketMessageRow(ticket_id=ticket.id, sender="citizen", text=raw, delivered=True))
        session.add(
            TicketMessageRow(ticket_id=ticket.id, sender="officer", text=f"gửi {raw}", delivered=False)
        )
        session.get(TicketRow, closed.id).close_note = raw
    dry = retention(app, 0).remask(dry_run=True)
    assert dry.counts == {"messages": 1, "ticket_messages": 1, "tickets": 1}
    assert "Sẽ che số trong 1 tin nhắn" in dry.summary()
    assert retention(app, 0).remask(batch=2).counts == dry.counts  # batches smaller than the tables
    with app.adapters.sessions() as session:
        texts = set(session.scalars(select(MessageRow.text))) | {session.get(TicketRow, closed.id).close_note}
        ticket_texts = dict(session.execute(select(TicketMessageRow.text, TicketMessageRow.delivered)).all())
    assert raw not in texts and "CCCD **** **** *567" in texts
    assert ticket_texts["CCCD **** **** *567"] is True
    assert ticket_texts[f"gửi {raw}"] is False  # still to be delivered: whole
    assert retention(app, 0).remask().total == 0
