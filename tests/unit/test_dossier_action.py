"""The dossier action, asserted on two lists: the drafts it dispatched and the events it returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actions.dossier import DossierStatusAction
from bot.core.dossier import expects_dossier_reply, valid_dossier_code
from bot.core.events import ModeChanged, SlotSet
from bot.core.ports import (
    DossierStatus,
    InMemoryDossierAccessGuard,
    InMemoryDossierGateway,
    InMemoryDossierSubscriptions,
    NotConfiguredDossierGateway,
)
from bot.core.sdk import Tracker
from bot.core.state import Mode
from tests import factories as f

NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
CODE = "H12.22-250302-0003"
LATE = "000.00.24.H12-250301-0007"
DONE = "H12.22-250301-0002"
UNKNOWN = "H12.22-250399-9999"

MARRIAGE_DOSSIER = DossierStatus(
    CODE,
    "Đang giải quyết",
    procedure_name="Đăng ký kết hôn",
    procedure_code=f.MARRIAGE,
    current_step="Thẩm định hồ sơ",
    received_at=datetime(2025, 3, 18, 1, 30, tzinfo=UTC),
    due_at=datetime(2025, 3, 23, 10, 0, tzinfo=UTC),
)
LATE_DOSSIER = DossierStatus(
    LATE,
    "Đang giải quyết",
    procedure_name="Cấp giấy phép xây dựng",
    procedure_code=f.GPXD_NEW,
    current_step="Trình lãnh đạo ký duyệt",
    received_at=datetime(2025, 2, 20, 1, 30, tzinfo=UTC),
    due_at=datetime(2025, 3, 7, 1, 30, tzinfo=UTC),
)
DONE_DOSSIER = DossierStatus(
    DONE,
    "Đã trả kết quả",
    procedure_name="Đăng ký khai sinh",
    procedure_code=f.BIRTH,
    current_step="Trả kết quả",
    received_at=datetime(2025, 3, 15, 1, 30, tzinfo=UTC),
    due_at=datetime(2025, 3, 18, 1, 30, tzinfo=UTC),
    done=True,
)


class Setup:
    """The action over fakes of its ports, and the clock they share."""

    def __init__(self, gateway: Any = None) -> None:
        self.gateway = gateway or InMemoryDossierGateway(
            [MARRIAGE_DOSSIER, LATE_DOSSIER, DONE_DOSSIER],
            secrets={CODE: {"5678", "1234"}, LATE: {"4321"}, DONE: {"3456"}},
        )
        self.guard = InMemoryDossierAccessGuard(
            max_failures=5, lock_for=timedelta(minutes=30), clock=self.now
        )
        self.subscriptions = InMemoryDossierSubscriptions()
        self.clock = NOW
        self.action = DossierStatusAction(
            self.gateway, self.guard, self.subscriptions, f.knowledge(), clock=self.now
        )

    def now(self) -> datetime:
        return self.clock


def awaiting_digits(text: str, code: str = CODE) -> Tracker:
    return f.tracker("nlu_fallback", text=text, mode=Mode.AWAITING_VERIFICATION, dossier_code=code)


# --- asking for the code ---------------------------------------------------------------------------


async def test_missing_code_is_asked_for() -> None:
    drafts, events = await f.run_action(
        Setup().action, f.tracker("check_dossier_status", "hồ sơ của tôi đến đâu rồi")
    )
    assert [d.response for d in drafts] == ["utter_ask_dossier_code"]
    assert events == [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]


async def test_code_from_the_nlu_asks_for_verification_and_reveals_nothing() -> None:
    s = Setup()
    t = f.tracker("check_dossier_status", f"hồ sơ {CODE} xong chưa", entities={"dossier_code": CODE})
    drafts, events = await f.run_action(s.action, t)
    assert [d.response for d in drafts] == ["utter_dossier_ask_verification"]
    assert "4 số cuối" in drafts[0].text and "Đang giải quyết" not in drafts[0].text
    assert events == [SlotSet("dossier_code", CODE), ModeChanged(Mode.AWAITING_VERIFICATION)]
    assert s.gateway.asked == []  # not even looked up before the citizen is verified


async def test_code_typed_while_awaiting_it_is_upper_cased() -> None:
    t = f.tracker("nlu_fallback", text=" h12.22-250302-0003 ", mode=Mode.AWAITING_DOSSIER_CODE)
    _, events = await f.run_action(Setup().action, t)
    assert events == [SlotSet("dossier_code", CODE), ModeChanged(Mode.AWAITING_VERIFICATION)]


@pytest.mark.parametrize("text", ["12345", "H12-0003", "HS2025"])
async def test_invalid_format_gets_an_example(text: str) -> None:
    drafts, events = await f.run_action(
        Setup().action, f.tracker("nlu_fallback", text=text, mode=Mode.AWAITING_DOSSIER_CODE)
    )
    assert [d.response for d in drafts] == ["utter_dossier_code_invalid"]
    assert "000.00.24.H12-250301-0007" in drafts[0].text and "H12.22-250301-0001" in drafts[0].text
    assert [b.title for b in drafts[0].buttons] == ["Gặp cán bộ"]
    assert events == [ModeChanged(Mode.AWAITING_DOSSIER_CODE)]


# --- verification ----------------------------------------------------------------------------------


async def test_right_digits_give_the_status_with_dates_and_buttons() -> None:
    s = Setup()
    drafts, events = await f.run_action(s.action, awaiting_digits("5678"))
    assert [d.response for d in drafts] == ["utter_dossier_result"]
    text = drafts[0].text
    assert text.startswith(f"Dạ, hồ sơ {CODE} (Đăng ký kết hôn):")
    assert "- Tình trạng: Đang giải quyết" in text
    assert "- Bước hiện tại: Thẩm định hồ sơ" in text
    assert "- Ngày tiếp nhận: 18/03/2025" in text
    assert "- Ngày hẹn trả kết quả: 23/03/2025" in text
    assert "trong thời hạn" in text
    assert [b.title for b in drafts[0].buttons] == ["Nhận thông báo khi có thay đổi", "Gặp cán bộ"]
    assert drafts[0].buttons[0].payload == '/subscribe_dossier{"dossier_code":"H12.22-250302-0003"}'
    assert events == [SlotSet("dossier_code", CODE), ModeChanged(Mode.ANSWERING)]


async def test_a_full_id_number_is_accepted_by_its_last_four_digits() -> None:
    drafts, _ = await f.run_action(Setup().action, awaiting_digits("001196001234"))
    assert [d.response for d in drafts] == ["utter_dossier_result"]


async def test_overdue_dossier_says_by_how_many_days() -> None:
    drafts, _ = await f.run_action(Setup().action, awaiting_digits("4321", LATE))
    assert "Ngày hẹn trả kết quả: 07/03/2025" in drafts[0].text
    assert "quá hạn 13 ngày" in drafts[0].text


async def test_done_dossier_says_so_and_offers_no_subscription() -> None:
    drafts, _ = await f.run_action(Setup().action, awaiting_digits("3456", DONE))
    assert "đã có kết quả" in drafts[0].text and "quá hạn" not in drafts[0].text
    assert [b.title for b in drafts[0].buttons] == ["Gặp cán bộ"]


async def test_wrong_digits_say_so_and_keep_waiting() -> None:
    drafts, events = await f.run_action(Setup().action, awaiting_digits("0000"))
    assert [d.response for d in drafts] == ["utter_dossier_verification_failed"]
    assert "Đang giải quyết" not in drafts[0].text and "kết hôn" not in drafts[0].text
    assert events == [ModeChanged(Mode.AWAITING_VERIFICATION)]


async def test_too_few_digits_is_not_counted_as_a_failure() -> None:
    s = Setup()
    drafts, events = await f.run_action(s.action, awaiting_digits("56"))
    assert [d.response for d in drafts] == ["utter_dossier_verification_invalid"]
    assert events == [ModeChanged(Mode.AWAITING_VERIFICATION)]
    assert s.guard.store.states == {}


async def test_unknown_code_looks_exactly_like_wrong_digits() -> None:
    wrong_drafts, wrong_events = await f.run_action(Setup().action, awaiting_digits("0000", CODE))
    unknown_drafts, unknown_events = await f.run_action(Setup().action, awaiting_digits("0000", UNKNOWN))
    assert [d.text.replace(UNKNOWN, CODE) for d in unknown_drafts] == [d.text for d in wrong_drafts]
    assert [d.buttons for d in unknown_drafts] == [d.buttons for d in wrong_drafts]
    assert unknown_events == wrong_events
    # ... and asking for an unknown code is the same as asking for a known one.
    ask_known, _ = await f.run_action(
        Setup().action, f.tracker("nlu_fallback", text=CODE, mode=Mode.AWAITING_DOSSIER_CODE)
    )
    ask_unknown, _ = await f.run_action(
        Setup().action, f.tracker("nlu_fallback", text=UNKNOWN, mode=Mode.AWAITING_DOSSIER_CODE)
    )
    assert ask_unknown[0].text.replace(UNKNOWN, CODE) == ask_known[0].text


@pytest.mark.parametrize("code", [CODE, UNKNOWN])
async def test_fifth_failure_makes_the_chat_wait_and_the_wait_doubles(code: str) -> None:
    s = Setup()
    for _ in range(4):
        drafts, _ = await f.run_action(s.action, awaiting_digits("0000", code))
        assert [d.response for d in drafts] == ["utter_dossier_verification_failed"]
    drafts, events = await f.run_action(s.action, awaiting_digits("0000", code))
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    assert events == [ModeChanged(Mode.ANSWERING)]
    # Waiting: even the right digits get nothing, and a new code in this chat is not asked about.
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678", code))
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    drafts, _ = await f.run_action(
        s.action, f.tracker("nlu_fallback", text=LATE, mode=Mode.AWAITING_DOSSIER_CODE)
    )
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    # A minute later the chat may try once more; a sixth failure makes it wait two minutes.
    s.clock = NOW + timedelta(seconds=61)
    drafts, _ = await f.run_action(s.action, awaiting_digits("0000", code))
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    s.clock = NOW + timedelta(seconds=61 + 119)
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678", code))
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    s.clock = NOW + timedelta(seconds=61 + 121)
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678", CODE))
    assert [d.response for d in drafts] == ["utter_dossier_result"]


async def test_strangers_failures_do_not_lock_the_owner_out() -> None:
    """Issue 13: 5 wrong verifications from anyone locked a dossier for 30 minutes, owner included."""
    s = Setup()
    for stranger in ("a", "b", "c"):
        for _ in range(5):
            t = f.tracker(
                "nlu_fallback",
                "0000",
                conversation=f.key(stranger),
                mode=Mode.AWAITING_VERIFICATION,
                dossier_code=CODE,
            )
            await f.run_action(s.action, t)
    # The strangers wait; the owner, from their own chat, is answered at once.
    stranger = f.tracker(
        "nlu_fallback", "5678", conversation=f.key("a"), mode=Mode.AWAITING_VERIFICATION, dossier_code=CODE
    )
    drafts, _ = await f.run_action(s.action, stranger)
    assert [d.response for d in drafts] == ["utter_dossier_locked"]
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678", CODE))
    assert [d.response for d in drafts] == ["utter_dossier_result"]
    # A requester that failed before is held by the code's cool-down too (guessing on it stays slow).
    drafts, _ = await f.run_action(s.action, awaiting_digits("0000", LATE))
    assert [d.response for d in drafts] == ["utter_dossier_verification_failed"]
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678", CODE))
    assert [d.response for d in drafts] == ["utter_dossier_locked"]


async def test_a_new_code_while_awaiting_digits_starts_over() -> None:
    t = awaiting_digits(LATE)
    drafts, events = await f.run_action(Setup().action, t)
    assert [d.response for d in drafts] == ["utter_dossier_ask_verification"]
    assert events == [SlotSet("dossier_code", LATE), ModeChanged(Mode.AWAITING_VERIFICATION)]


# --- the system is down ------------------------------------------------------------------------------


async def test_unavailable_gateway_apologises_and_offers_an_officer() -> None:
    drafts, events = await f.run_action(Setup(NotConfiguredDossierGateway()).action, awaiting_digits("5678"))
    assert [d.response for d in drafts] == ["utter_dossier_unavailable"]
    assert "đang gián đoạn" in drafts[0].text and "thử lại sau" in drafts[0].text
    assert [b.payload for b in drafts[0].buttons] == ["/request_human"]
    assert events == [ModeChanged(Mode.ANSWERING)]


async def test_an_unavailable_lookup_is_not_counted_as_a_failure() -> None:
    s = Setup()
    s.gateway.unavailable = True
    for _ in range(6):
        await f.run_action(s.action, awaiting_digits("0000"))
    s.gateway.unavailable = False
    drafts, _ = await f.run_action(s.action, awaiting_digits("5678"))
    assert [d.response for d in drafts] == ["utter_dossier_result"]


# --- subscriptions -------------------------------------------------------------------------------


def subscribe_tracker(code: str = CODE, key: str = "100") -> Tracker:
    return f.tracker(
        "subscribe_dossier",
        "/subscribe_dossier",
        entities={"dossier_code": code},
        conversation=f.key(key),
        dossier_code=code,
    )


async def test_subscribe_after_verification() -> None:
    s = Setup()
    await f.run_action(s.action, awaiting_digits("5678"))
    drafts, events = await f.run_action(s.action, subscribe_tracker())
    assert [d.response for d in drafts] == ["utter_dossier_subscribed"]
    assert events == [SlotSet("dossier_code", CODE), ModeChanged(Mode.ANSWERING)]
    [sub] = await s.subscriptions.active()
    assert (sub.code, sub.key, sub.last_seen) == (CODE, f.key(), MARRIAGE_DOSSIER.fingerprint)


async def test_subscribe_without_verification_asks_for_the_digits_first() -> None:
    s = Setup()
    drafts, events = await f.run_action(s.action, subscribe_tracker(key="stranger"))
    assert [d.response for d in drafts] == ["utter_dossier_ask_verification"]
    assert events == [SlotSet("dossier_code", CODE), ModeChanged(Mode.AWAITING_VERIFICATION)]
    assert await s.subscriptions.active() == []


# --- the fake guard prunes as the SQL one does ---------------------------------------------------------


async def test_in_memory_guard_prunes_only_what_has_run_out() -> None:
    s = Setup()
    await s.guard.failed(["chat:telegram:a"])
    for _ in range(5):
        await s.guard.failed(["chat:telegram:locked"])
    await s.guard.succeeded(["chat:telegram:b"], "grant:b")
    assert s.guard.prune() == 0  # recent failures, a running wait and a running grant are kept
    s.clock = NOW + timedelta(minutes=61)
    assert s.guard.prune() == 2  # the grant (an hour) and Telegram's count (10 minutes) ran out
    s.clock = NOW + timedelta(days=1, minutes=1)
    assert s.guard.prune() == 2  # the requesters' windows (a day) ran out
    assert (s.guard.store.states, s.guard.memory.until) == ({}, {})


# --- the shared rules (bot.core.dossier) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("000.00.24.H12-250301-0007", True),
        ("H12.22-250301-0001", True),
        ("000.31.23.h56-241212-0123", True),
        ("H12-250301-0001", False),
        ("H12.22-2503-0001", False),
        ("0912345678", False),
    ],
)
def test_valid_dossier_code(code: str, expected: bool) -> None:
    assert valid_dossier_code(code) is expected


@pytest.mark.parametrize(
    ("mode", "intent", "text", "expected"),
    [
        (Mode.AWAITING_DOSSIER_CODE, "nlu_fallback", "H12.22-250301-0001", True),
        (Mode.AWAITING_DOSSIER_CODE, "ask_fee", "12345", True),
        (Mode.AWAITING_DOSSIER_CODE, "ask_fee", "lệ phí kết hôn", False),
        (Mode.AWAITING_DOSSIER_CODE, "request_human", "gặp cán bộ", False),
        (Mode.AWAITING_VERIFICATION, "give_feedback", "5678", True),
        (Mode.AWAITING_VERIFICATION, "ask_fee", "0912 345 678", True),
        (Mode.AWAITING_VERIFICATION, "ask_fee", "lệ phí kết hôn", False),
        (Mode.AWAITING_VERIFICATION, "deny", "không", False),
        (Mode.ANSWERING, "nlu_fallback", "5678", False),
    ],
)
def test_expects_dossier_reply(mode: Mode, intent: str, text: str, expected: bool) -> None:
    assert expects_dossier_reply(mode, f.parse(intent, text=text)) is expected
