"""The escalation action: place in the queue, working hours (bot.core.config), the config section
that sets them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actions.escalation import EscalateAction
from bot.core.config import EscalationConfig, load_config
from bot.core.domain import TicketReason
from bot.core.events import EscalationRequested, Event, ModeChanged
from bot.core.ports import FixedTicketQueue
from bot.core.sdk import MessageDraft
from bot.core.state import Mode
from tests import factories as f

HOURS = EscalationConfig(holidays=["2026-04-30"]).hours()
# 2026-03-02 is a Monday; Vietnam is UTC+7.
MONDAY_9AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MONDAY_8PM = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
SATURDAY_3PM = datetime(2026, 3, 7, 8, 0, tzinfo=UTC)


async def run(action: EscalateAction) -> tuple[list[MessageDraft], list[Event]]:
    return await f.run_action(action, f.tracker("request_human", "cho tôi gặp cán bộ"))


async def test_in_working_hours_the_citizen_hears_their_place_in_the_queue() -> None:
    queue = FixedTicketQueue(waiting=2)
    drafts, events = await run(EscalateAction(queue, HOURS, clock=lambda: MONDAY_9AM))
    assert [d.response for d in drafts] == ["utter_escalate_queued"]
    assert "vị trí số 3" in drafts[0].text and queue.asked == 1
    assert events[0] == ModeChanged(Mode.WITH_OFFICER)
    assert events[-1] == EscalationRequested(TicketReason.REQUEST_HUMAN, None, "cho tôi gặp cán bộ", None)


@pytest.mark.parametrize(
    ("now", "opening"),
    [
        (MONDAY_8PM, "7:30 thứ Ba, ngày 03/03/2026"),
        (SATURDAY_3PM, "7:30 thứ Hai, ngày 09/03/2026"),
        (datetime(2026, 4, 29, 12, 0, tzinfo=UTC), "7:30 thứ Bảy, ngày 02/05/2026"),  # 30/4 and 1/5 off
    ],
)
async def test_outside_working_hours_the_citizen_is_told_when(now: datetime, opening: str) -> None:
    holidays = EscalationConfig(holidays=["2026-04-30", "2026-05-01"]).hours()
    drafts, _ = await run(EscalateAction(FixedTicketQueue(0), holidays, clock=lambda: now))
    assert [d.response for d in drafts] == ["utter_escalate_after_hours"]
    assert opening in drafts[0].text and "vị trí số 1" in drafts[0].text


async def test_a_broken_queue_still_escalates() -> None:
    class Broken:
        async def waiting_count(self) -> int:
            raise RuntimeError("database down")

    drafts, events = await run(EscalateAction(Broken(), HOURS, clock=lambda: MONDAY_9AM))
    assert [d.response for d in drafts] == ["utter_escalate"]
    assert isinstance(events[-1], EscalationRequested)


def test_working_hours_boundaries() -> None:
    assert HOURS.is_open(MONDAY_9AM) and not HOURS.is_open(MONDAY_8PM)
    assert not HOURS.is_open(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))  # 12:00, lunch break
    assert not HOURS.is_open(datetime(2026, 4, 30, 2, 0, tzinfo=UTC))  # holiday


def test_the_shipped_config_section_is_valid() -> None:
    config = load_config(f.__file__.replace("tests/factories.py", "config.yml")).escalation
    assert config.timezone == "Asia/Ho_Chi_Minh" and config.working_hours["mon"]


@pytest.mark.parametrize(
    "bad",
    [
        {"timezone": "Asia/Hanoi_Typo"},
        {"working_hours": {"monday": ["07:30-11:30"]}},
        {"working_hours": {"mon": ["11:30-07:30"]}},
        {"working_hours": {"mon": ["7h30-11h"]}},
        {"retry_backoff_seconds": []},
        {"unknown": 1},
    ],
)
def test_bad_escalation_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        EscalationConfig.model_validate(bad)
