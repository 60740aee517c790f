"""Personal data on SQLite and PostgreSQL (issue 13, item 7): what is stored is masked by the one
function (:func:`bot.core.redact.redact`), and a message PostgreSQL would refuse (a NUL byte) neither fails
nor puts a raw ID number in the error log.

The app is production's wiring (``factory_app``) on the test's database; delivery is a recording fake."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.redact import install_log_redaction, log_redaction_installed, uninstall_log_redaction
from bot.handoff.tables import TicketMessageRow, TicketRow
from bot.storage.sql import MessageRow
from tests.fakes.app import factory_app, settings_for
from tests.fakes.clock import FakeClock

RAW_ID = "0012 0300 4567"
MASKED_ID = "**** **** *567"


class Delivered:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def __call__(self, message: OutboundMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def world(db_engine: DbEngine):  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # a Monday, 9:00 in Vietnam
    app = factory_app(
        settings_for(db_engine.url.render_as_string(hide_password=False)), db=db_engine, clock=clock
    )
    delivered = Delivered()
    app.tickets.use_delivery(delivered)
    officer = app.users.add("lan", "sen-hong-2026", display_name="Trần Thị Lan")
    yield app, delivered, officer
    getattr(app.adapters.locks, "close", lambda: None)()  # PostgreSQL: the advisory-lock connection


async def _escalate(app, chat_id: str) -> ConversationKey:  # type: ignore[no-untyped-def]
    key = ConversationKey("rest", chat_id)
    await app.handler(InboundMessage(key, f"tôi cần hỏi, CCCD {RAW_ID}, sđt +84 912-345-678"))
    await app.handler(InboundMessage(key, "cho tôi gặp cán bộ"))
    return key


def _ticket_texts(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.adapters.sessions() as session:
        texts = list(session.scalars(select(TicketMessageRow.text)))
        notes = [n for n in session.scalars(select(TicketRow.close_note)) if n]
        logged = list(session.scalars(select(MessageRow.text)))
    return texts + notes + logged


async def test_every_stored_text_of_a_ticket_is_masked(world) -> None:  # type: ignore[no-untyped-def]
    app, delivered, officer = world
    key = await _escalate(app, "a")
    await app.handler(InboundMessage(key, "số của tôi 001-203-004-567, gọi 0912.345.678"))
    ticket = app.tickets.open_ticket(key)
    await app.tickets.claim(ticket.id, officer.id)
    await app.tickets.reply(ticket.id, officer.id, "Anh gọi tổng đài 028 3829 1234 nhé")
    await app.tickets.close(ticket.id, officer.id, f"công dân gửi CCCD {RAW_ID}")
    # the reply reached the citizen whole (an office's number must be readable) ...
    assert any(m.text == "Anh gọi tổng đài 028 3829 1234 nhé" for m in delivered.sent)
    stored = "\n".join(_ticket_texts(app))
    # ... and nothing stored keeps a number: the ticket's history, the citizen's later message, the
    # officer's delivered reply, the close note and the conversation log
    for raw in ("4567", "0912", "345-678", "345.678", "3829 1234", "004-567"):
        assert raw not in stored, raw
    assert f"CCCD {MASKED_ID}" in stored and "***-***-***-567" in stored and "*** **** *234" in stored


async def test_a_nul_byte_to_an_open_ticket_is_stored_without_it_and_logs_no_raw_id(
    world, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = world
    key = await _escalate(app, "nul")
    found = log_redaction_installed()
    install_log_redaction()  # as the server and the command line do
    try:
        with caplog.at_level(logging.DEBUG):
            await app.handler(InboundMessage(key, f"CCCD {RAW_ID}\x00 đây ạ"))
    finally:
        if not found:  # the next test finds the process as it was
            uninstall_log_redaction()
    ticket = app.tickets.open_ticket(key)
    assert app.tickets.messages(ticket.id)[-1].text == f"CCCD {MASKED_ID} đây ạ"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    logged = "\n".join(caplog.text.splitlines())
    assert "0300 4567" not in logged and "4567" not in logged
