"""Dossier adapters on a migrated database (SQLite always, PostgreSQL when configured): the local
gateway and its demo seed, the access guard, subscriptions and the watcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, inspect, select

from bot.core.config import DossierConfig, load_config
from bot.core.dossier import valid_dossier_code
from bot.core.errors import ConfigurationError
from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.ports import InMemoryDossierSubscriptions
from bot.dossiers.demo import load_demo_dossiers, seed_demo_dossiers
from bot.dossiers.guard import SqlDossierAccessGuard
from bot.dossiers.local import LocalDossierGateway, NewDossier
from bot.dossiers.subscriptions import SqlDossierSubscriptions
from bot.dossiers.tables import DossierRow
from bot.dossiers.watcher import DossierWatcher
from bot.storage.throttle import SqlThrottleStore
from knowledge.db import make_session_factory
from tests import factories as f
from tests.fakes.clock import FakeClock

NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
ALICE = ConversationKey("telegram", "42")
BOB = ConversationKey("zalo_oa", "8123")


class RecordingOutbox:
    """Fake of the channel registry: keeps what it was asked to deliver, fails for chosen chats."""

    def __init__(self, failing: set[ConversationKey] | None = None) -> None:
        self.sent: list[OutboundMessage] = []
        self.failing = failing or set()

    async def deliver(self, message: OutboundMessage) -> None:
        if message.key in self.failing:
            raise RuntimeError("channel down")
        self.sent.append(message)


@pytest.fixture
def gateway(db_engine: Engine) -> LocalDossierGateway:
    return LocalDossierGateway(make_session_factory(db_engine), clock=FakeClock(NOW))


def demo(code: str = "H12.22-250301-0001", **changes) -> NewDossier:
    data = {
        "code": code,
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "applicant_name": "Phạm Thị Dung",
        "phone": "0934 567 890",
        "id_number": "001195004321",
        "received_at": NOW - timedelta(days=1),
        "due_at": NOW + timedelta(days=2),
        "current_step": "Tiếp nhận hồ sơ",
        "status": "Đã tiếp nhận",
    }
    data.update(changes)
    return NewDossier(**data)


def test_migration_creates_the_tables(db_engine: Engine) -> None:
    tables = set(inspect(db_engine).get_table_names())
    assert {"dossiers", "dossier_subscriptions", "dossier_access"} <= tables


async def test_lookup_and_verify_by_phone_or_id(gateway: LocalDossierGateway) -> None:
    gateway.add(demo(code="h12.22-250301-0001"))
    found = await gateway.lookup("H12.22-250301-0001")
    assert found is not None and found.code == "H12.22-250301-0001"
    assert found.received_at == NOW - timedelta(days=1) and found.done is False
    assert (await gateway.verify("H12.22-250301-0001", "7890")) == found
    assert (await gateway.verify("H12.22-250301-0001", "4321")) == found
    assert await gateway.verify("H12.22-250301-0001", "0000") is None
    assert await gateway.verify("H12.22-250399-9999", "7890") is None
    assert await gateway.lookup("H12.22-250399-9999") is None


def test_identity_numbers_are_stored_only_as_salted_hashes(
    db_engine: Engine, gateway: LocalDossierGateway
) -> None:
    gateway.add(demo())
    gateway.add(demo(code="H12.22-250301-0002"))
    with make_session_factory(db_engine)() as session:
        rows = session.scalars(select(DossierRow)).all()
    for row in rows:
        stored = " ".join(str(getattr(row, c.key)) for c in DossierRow.__table__.columns)
        assert "7890" not in stored and "4321" not in stored
    assert rows[0].phone_last4_hash != rows[1].phone_last4_hash  # salted per dossier


async def test_update_status_marks_done_and_unknown_codes_raise(gateway: LocalDossierGateway) -> None:
    gateway.add(demo())
    updated = gateway.update_status(
        "H12.22-250301-0001", status="Đã có kết quả", current_step="Trả kết quả", done=True
    )
    assert updated.done and updated.current_step == "Trả kết quả"
    assert (await gateway.lookup("H12.22-250301-0001")) == updated
    with pytest.raises(KeyError):
        gateway.update_status("H12.22-250399-9999", status="x")


async def test_demo_seed_has_real_codes_some_overdue_some_done(gateway: LocalDossierGateway) -> None:
    assert seed_demo_dossiers(gateway, NOW) == 20
    assert seed_demo_dossiers(gateway, NOW) == 0  # only into an empty table
    demo_file = load_demo_dossiers()
    statuses = [await gateway.lookup(d.code) for d in demo_file.dossiers]
    assert all(s is not None and valid_dossier_code(s.code) for s in statuses)
    assert {s.procedure_code for s in statuses if s} >= {"1.013225", "1.001193", "1.000894", "1.014061"}
    assert sum(1 for s in statuses if s and s.done) >= 3
    assert sum(1 for s in statuses if s and s.overdue(NOW)) >= 3
    first = demo_file.dossiers[0]
    assert await gateway.verify(first.code, first.phone[-4:]) is not None
    assert await gateway.verify(first.code, first.id_number[-4:]) is not None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('procedure_code: "1.001193"', 'procedure_code: "9.999999"'), "9.999999"),
        (('procedure_code: "1.001193"', "procedure_code: 1.001193"), "procedure_code"),  # YAML: a float
        (("status: Đã tiếp nhận", "state: Đã tiếp nhận"), "state"),
    ],
)
def test_demo_file_with_a_mistake_is_refused(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    text = (
        'procedures:\n  "1.001193": Đăng ký khai sinh\n'
        "dossiers:\n"
        '  - code: "H12.22-250301-0001"\n    procedure_code: "1.001193"\n    applicant_name: Phạm Thị Dung\n'
        '    phone: "0934567890"\n    id_number: "001195007890"\n    received_days_ago: 1\n'
        "    days_to_due: 3\n    current_step: Tiếp nhận hồ sơ\n    status: Đã tiếp nhận\n    done: false\n"
    )
    good = tmp_path / "good.yml"
    good.write_text(text, encoding="utf-8")
    assert [d.code for d in load_demo_dossiers(good).dossiers] == ["H12.22-250301-0001"]
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace(*change), encoding="utf-8")
    with pytest.raises(ValidationError, match=problem):
        load_demo_dossiers(bad)


async def test_guard_makes_a_chat_wait_after_five_failures_and_spares_a_clean_chat(db_engine: Engine) -> None:
    clock = FakeClock(NOW)
    sessions = make_session_factory(db_engine)
    guard = SqlDossierAccessGuard(sessions, DossierConfig(), SqlThrottleStore(sessions), clock=clock)
    subjects = ("chat:telegram:42", "dossier:H12.22-250301-0001")
    for _ in range(4):
        assert await guard.failed(subjects) is False
    assert await guard.locked(subjects) is False
    assert await guard.failed(subjects) is True
    assert await guard.locked(subjects) is True
    # The code cools down for requesters that failed; a clean chat (the owner's) may still try.
    assert await guard.locked(["chat:zalo_oa:1", "dossier:H12.22-250301-0001"]) is False
    # Another worker process on the same database sees the same counts.
    other = SqlDossierAccessGuard(sessions, DossierConfig(), SqlThrottleStore(sessions), clock=clock)
    assert await other.locked(subjects) is True
    clock.now = NOW + timedelta(seconds=61)
    assert await guard.locked(subjects) is False
    assert await guard.failed(subjects) is True  # the sixth failure: a wait of two minutes
    clock.now = NOW + timedelta(seconds=61 + 121)
    assert await guard.locked(subjects) is False


async def test_guard_grants_and_success_clears_failures(db_engine: Engine) -> None:
    clock = FakeClock(NOW)
    sessions = make_session_factory(db_engine)
    guard = SqlDossierAccessGuard(
        sessions, DossierConfig(grant_minutes=60), SqlThrottleStore(sessions), clock=clock
    )
    subjects = ("chat:telegram:42", "dossier:X")
    for _ in range(4):
        await guard.failed(subjects)
    await guard.succeeded(subjects, "grant:telegram:42|X")
    assert await guard.granted("grant:telegram:42|X") is True
    assert await guard.granted("grant:telegram:43|X") is False
    assert await guard.failed(["chat:telegram:42", "dossier:Y"]) is False  # the chat's count started again
    clock.now = NOW + timedelta(minutes=61)
    assert await guard.granted("grant:telegram:42|X") is False
    assert guard.prune() >= 1


async def test_subscriptions_are_kept_once(db_engine: Engine) -> None:
    subs = SqlDossierSubscriptions(make_session_factory(db_engine))
    assert await subs.subscribe("H12.22-250301-0001", ALICE, "a|b|0") is True
    assert await subs.subscribe("H12.22-250301-0001", ALICE, None) is False
    assert await subs.subscribe("H12.22-250301-0001", BOB, None) is True
    await subs.mark_seen("H12.22-250301-0001", BOB, "c|d|0")
    assert [(s.key, s.last_seen) for s in await subs.active()] == [(ALICE, "a|b|0"), (BOB, "c|d|0")]
    await subs.unsubscribe("H12.22-250301-0001", ALICE)
    assert [s.key for s in await subs.active()] == [BOB]


async def test_watcher_notices_an_officers_update(db_engine: Engine, gateway: LocalDossierGateway) -> None:
    gateway.add(demo())
    code = "H12.22-250301-0001"
    subs = SqlDossierSubscriptions(make_session_factory(db_engine))
    first = await gateway.lookup(code)
    assert first is not None
    await subs.subscribe(code, ALICE, first.fingerprint)
    await subs.subscribe(code, BOB, None)  # subscribed while the system was down: no baseline yet
    watcher = DossierWatcher(subs, f.catalogue(), clock=FakeClock(NOW))
    outbox = RecordingOutbox()

    assert await watcher.poll_once(gateway, outbox) == []  # nothing changed; Bob's baseline taken
    gateway.update_status(code, status="Đang giải quyết", current_step="Thẩm định hồ sơ")
    sent = await watcher.poll_once(gateway, outbox)
    assert [m.key for m in sent] == [ALICE, BOB] and outbox.sent == sent
    assert sent[0].text.startswith(f"Dạ, hồ sơ {code} (Đăng ký khai sinh) vừa có thay đổi:")
    assert "- Bước hiện tại: Thẩm định hồ sơ" in sent[0].text
    assert await watcher.poll_once(gateway, outbox) == []  # told once

    gateway.update_status(code, status="Đã có kết quả", current_step="Trả kết quả", done=True)
    sent = await watcher.poll_once(gateway, outbox)
    assert "đã có kết quả" in sent[0].text
    assert await subs.active() == []  # done: nothing more to tell


async def test_watcher_retries_failed_deliveries_and_skips_unavailable_lookups() -> None:
    from bot.core.ports import DossierStatus, InMemoryDossierGateway

    subs = InMemoryDossierSubscriptions()
    gateway = InMemoryDossierGateway([DossierStatus("A1.1-250301-0001", "Đã tiếp nhận")])
    await subs.subscribe("A1.1-250301-0001", ALICE, "old|x|0")
    watcher = DossierWatcher(subs, f.catalogue(), clock=FakeClock(NOW))
    gateway.unavailable = True
    assert await watcher.poll_once(gateway, RecordingOutbox()) == []
    gateway.unavailable = False
    assert await watcher.poll_once(gateway, RecordingOutbox(failing={ALICE})) == []
    assert len(await watcher.poll_once(gateway, RecordingOutbox())) == 1


def dossier_config_of(config_file: Path) -> DossierConfig:
    """The ``dossier:`` section as the composition root reads it at start-up (:func:`bootstrap` calls
    :func:`load_config` before it builds anything)."""
    return load_config(config_file).dossier


def test_config_section_is_validated_at_start_up(tmp_path: Path) -> None:
    shipped = dossier_config_of(Path(__file__).resolve().parents[2] / "config.yml")
    assert shipped.verification_attempts == 5
    bad = tmp_path / "config.yml"
    bad.write_text("dossier:\n  verification_attempts: 0\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="dossier.verification_attempts"):
        dossier_config_of(bad)
    bad.write_text("dossier:\n  lock_minuts: 5\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="dossier.lock_minuts"):
        dossier_config_of(bad)
    (tmp_path / "empty.yml").write_text("language: vi\n", encoding="utf-8")
    assert dossier_config_of(tmp_path / "empty.yml") == DossierConfig()
