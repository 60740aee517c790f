"""Dossier status (tra cứu hồ sơ): the adapters behind :class:`bot.core.ports.DossierGateway` and friends.

* :class:`LocalDossierGateway`: dossiers in our own database (the default, and the demo). The applicant's
  phone and ID numbers are never stored: only salted hashes of their last 4 digits.
* :class:`HttpDossierGateway`: a provincial one-stop-shop system (hệ thống một cửa điện tử) over HTTP.
* :class:`SqlDossierAccessGuard`: failed verifications per chat and per dossier, locks, recent grants.
* :class:`SqlDossierSubscriptions` and :class:`DossierWatcher`: citizens who asked to hear about changes,
  and the periodic job that tells them on their own channel.
* :class:`DossierConfig`: the ``dossier:`` section of ``config.yml``.

Tables (migration ``0003``), portable between SQLite and PostgreSQL: ``dossiers``,
``dossier_subscriptions`` and ``dossier_access``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Integer, String, UniqueConstraint, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from actions.dossier import progress_text
from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.ports import (
    DossierGateway,
    DossierLookupUnavailable,
    DossierStatus,
    DossierSubscription,
    DossierSubscriptions,
)
from bot.core.responses import ResponseCatalogue
from bot.core.timeutil import as_utc, utcnow
from knowledge.db import Base

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


# --- Configuration ----------------------------------------------------------------------------------


class DossierConfig(BaseModel):
    """The ``dossier:`` section of ``config.yml``.

    Attributes:
        verification_attempts: failed verifications (per chat, and per dossier) before a lock.
        lock_minutes: how long a lock lasts; failures older than this are forgotten.
        grant_minutes: how long a successful verification lets the chat subscribe to that dossier.
        poll_interval_seconds: how often the watcher looks for changes of subscribed dossiers.
        http_timeout_seconds: timeout of one request to the provincial system.
        http_retries: retries after a 5xx answer or a network error.
        http_backoff_seconds: wait before the first retry (doubled each time).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    verification_attempts: int = Field(default=5, ge=1, le=20)
    lock_minutes: int = Field(default=30, ge=1, le=24 * 60)
    grant_minutes: int = Field(default=60, ge=1, le=24 * 60)
    poll_interval_seconds: int = Field(default=300, ge=10, le=24 * 3600)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_retries: int = Field(default=2, ge=0, le=10)
    http_backoff_seconds: float = Field(default=0.5, ge=0, le=60)

    @property
    def lock_for(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)

    @property
    def grant_for(self) -> timedelta:
        return timedelta(minutes=self.grant_minutes)


def load_dossier_config(path: str | Path) -> DossierConfig:
    """The ``dossier:`` section of a config file (defaults when the section is absent).

    Raises:
        pydantic.ValidationError: an unknown setting or a value out of range (stops the server at boot).
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return DossierConfig.model_validate(data.get("dossier") or {})


# --- Tables -----------------------------------------------------------------------------------------


class DossierRow(Base):
    """One dossier of the local one-stop shop; identity numbers only as salted hashes of 4 digits."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_code: Mapped[str] = mapped_column(String(32), default="")
    procedure_name: Mapped[str] = mapped_column(String(500), default="")
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    secret_salt: Mapped[str] = mapped_column(String(32))
    phone_last4_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_last4_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    current_step: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DossierSubscriptionRow(Base):
    """A chat to notify when a dossier changes (no foreign key: the dossier may live in another system)."""

    __tablename__ = "dossier_subscriptions"
    __table_args__ = (
        UniqueConstraint("dossier_code", "channel", "chat_id", name="uq_dossier_subscriptions"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    last_seen: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DossierAccessRow(Base):
    """Failed verifications, lock and grant of one subject (a chat, a dossier, or a chat + dossier)."""

    __tablename__ = "dossier_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    granted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Local gateway ----------------------------------------------------------------------------------


def _digest(salt: str, last4: str) -> str:
    return hashlib.sha256(f"{salt}:{last4}".encode()).hexdigest()


def last4_of(number: str) -> str:
    """The last 4 digits of a phone or ID number ("" when it has fewer than 4 digits)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else ""


def _matches(salt: str, stored: str | None, last4: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, _digest(salt, last4))


def _status_of(row: DossierRow) -> DossierStatus:
    return DossierStatus(
        code=row.code,
        status=row.status,
        procedure_name=row.procedure_name,
        procedure_code=row.procedure_code,
        current_step=row.current_step,
        received_at=as_utc(row.received_at),
        due_at=as_utc(row.due_at),
        done=row.finished_at is not None,
        updated_at=as_utc(row.updated_at),
    )


@dataclass(frozen=True)
class NewDossier:
    """A dossier to add to the local table. The phone and ID numbers are reduced to hashed last 4 digits.

    Attributes:
        code: the dossier code.
        procedure_code: national procedure code.
        procedure_name: the procedure's name as the receipt states it.
        applicant_name: who filed it (for officers; never shown to citizens).
        phone: the applicant's phone number (or just its last 4 digits).
        id_number: the applicant's ID number (or just its last 4 digits).
        received_at: when it was received.
        due_at: when the result is promised.
        current_step: the step it is at.
        status: its published status.
        finished_at: when the result was ready (None: in progress).
    """

    code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    phone: str
    id_number: str
    received_at: datetime
    due_at: datetime | None
    current_step: str
    status: str
    finished_at: datetime | None = None


class LocalDossierGateway:
    """:class:`bot.core.ports.DossierGateway` over the local ``dossiers`` table.

    Args:
        sessions: a session factory bound to the database (the composition root's).
        clock: current time, for ``updated_at``.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def _get(self, code: str) -> tuple[DossierStatus, str, str | None, str | None] | None:
        with self._sessions() as session:
            row = session.scalars(select(DossierRow).where(DossierRow.code == code.strip().upper())).first()
            if row is None:
                return None
            return _status_of(row), row.secret_salt, row.phone_last4_hash, row.id_last4_hash

    async def lookup(self, code: str) -> DossierStatus | None:
        found = await self._offload(self._get, code)
        return found[0] if found else None

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        found = await self._offload(self._get, code)
        if found is None:
            # Same hashing work as a wrong answer, so timing tells no more than the reply.
            _matches("", None, _digest("", last4) + _digest("", last4))
            return None
        status, salt, phone_hash, id_hash = found
        phone_ok = _matches(salt, phone_hash, last4)
        id_ok = _matches(salt, id_hash, last4)
        return status if phone_ok or id_ok else None

    @staticmethod
    async def _offload(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:  # the database is down: not the citizen's mistake
            raise DossierLookupUnavailable(f"local dossier table: {exc!r}") from exc

    def add(self, dossier: NewDossier) -> None:
        """Insert one dossier (its code upper-cased)."""
        salt = secrets.token_hex(16)
        phone4, id4 = last4_of(dossier.phone), last4_of(dossier.id_number)
        with self._sessions.begin() as session:
            session.add(
                DossierRow(
                    code=dossier.code.strip().upper(),
                    procedure_code=dossier.procedure_code,
                    procedure_name=dossier.procedure_name,
                    applicant_name=dossier.applicant_name,
                    secret_salt=salt,
                    phone_last4_hash=_digest(salt, phone4) if phone4 else None,
                    id_last4_hash=_digest(salt, id4) if id4 else None,
                    received_at=dossier.received_at,
                    due_at=dossier.due_at,
                    finished_at=dossier.finished_at,
                    current_step=dossier.current_step,
                    status=dossier.status,
                    updated_at=self._clock(),
                )
            )

    def update_status(
        self, code: str, *, status: str, current_step: str | None = None, done: bool | None = None
    ) -> DossierStatus:
        """Change a dossier's status (an officer's update); subscribers hear of it at the next poll.

        Args:
            code: the dossier code.
            status: the new published status.
            current_step: the new step (unchanged when None).
            done: True marks the result ready, False in progress again (unchanged when None).

        Raises:
            KeyError: no dossier has this code.
        """
        with self._sessions.begin() as session:
            row = session.scalars(select(DossierRow).where(DossierRow.code == code.strip().upper())).first()
            if row is None:
                raise KeyError(code)
            now = self._clock()
            row.status = status
            if current_step is not None:
                row.current_step = current_step
            if done is not None:
                row.finished_at = (row.finished_at or now) if done else None
            row.updated_at = now
            return _status_of(row)

    def count(self) -> int:
        """How many dossiers the table holds."""
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(DossierRow)) or 0)


# --- Demo data -----------------------------------------------------------------------------------

_STEPS = ("Tiếp nhận hồ sơ", "Thẩm định hồ sơ", "Trình lãnh đạo ký duyệt", "Trả kết quả")
_PROCEDURES = {
    "1.013225": "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
    "1.001193": "Đăng ký khai sinh",
    "1.000894": "Đăng ký kết hôn",
    "1.014061": "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên",
    "1.000656": "Đăng ký khai tử",
    "2.000908": "Cấp bản sao từ sổ gốc",
    "1.001022": "Đăng ký nhận cha, mẹ, con",
}

# code, procedure, applicant, phone, ID number, received (days ago), days to due, step index, status, done
# Phone and ID numbers are invented; only their last 4 digits are kept (hashed).
DEMO_DOSSIERS: tuple[tuple[str, str, str, str, str, int, int, int, str, bool], ...] = (
    (
        "000.00.24.H12-250301-0007",
        "1.013225",
        "Nguyễn Văn An",
        "0912345678",
        "001085001234",
        20,
        15,
        1,
        "Đang giải quyết",
        False,
    ),
    (
        "000.00.24.H12-250302-0015",
        "1.013225",
        "Trần Thị Bình",
        "0987654321",
        "001190004321",
        30,
        15,
        2,
        "Đang giải quyết",
        False,
    ),
    (
        "000.00.24.H12-250303-0021",
        "1.013225",
        "Lê Văn Cường",
        "0901112233",
        "001079002233",
        40,
        15,
        3,
        "Đã có kết quả",
        True,
    ),
    (
        "H12.22-250301-0001",
        "1.001193",
        "Phạm Thị Dung",
        "0934567890",
        "001195007890",
        1,
        3,
        0,
        "Đã tiếp nhận",
        False,
    ),
    (
        "H12.22-250301-0002",
        "1.001193",
        "Hoàng Văn Em",
        "0978123456",
        "001088003456",
        5,
        3,
        3,
        "Đã trả kết quả",
        True,
    ),
    (
        "H12.22-250302-0003",
        "1.000894",
        "Vũ Thị Giang",
        "0967001122",
        "001196001122",
        2,
        5,
        1,
        "Đang giải quyết",
        False,
    ),
    (
        "H12.22-250302-0004",
        "1.000894",
        "Đặng Văn Hải",
        "0356789012",
        "001092009012",
        10,
        5,
        1,
        "Đang giải quyết",
        False,
    ),
    (
        "H12.22-250303-0005",
        "1.000656",
        "Bùi Thị Hoa",
        "0389990001",
        "001060000001",
        3,
        3,
        2,
        "Đang giải quyết",
        False,
    ),
    (
        "H12.22-250303-0006",
        "2.000908",
        "Đỗ Văn Khánh",
        "0822334455",
        "001087004455",
        4,
        3,
        3,
        "Đã có kết quả",
        True,
    ),
    (
        "H12.22-250304-0007",
        "1.001022",
        "Ngô Thị Lan",
        "0703456789",
        "001093006789",
        12,
        10,
        1,
        "Chờ bổ sung hồ sơ",
        False,
    ),
    (
        "000.31.23.H12-250304-0011",
        "1.014061",
        "Dương Văn Minh",
        "0911222333",
        "001099002333",
        3,
        7,
        1,
        "Đang giải quyết",
        False,
    ),
    (
        "000.31.23.H12-250305-0012",
        "1.014061",
        "Lý Thị Ngọc",
        "0944555666",
        "001201005666",
        9,
        7,
        2,
        "Đang giải quyết",
        False,
    ),
    (
        "000.31.23.H12-250305-0013",
        "1.014061",
        "Phan Văn Phúc",
        "0855666777",
        "001205006777",
        8,
        7,
        3,
        "Đã trả kết quả",
        True,
    ),
    (
        "000.00.24.H12-250306-0031",
        "1.013225",
        "Trịnh Thị Quyên",
        "0966778899",
        "001182008899",
        5,
        15,
        0,
        "Đã tiếp nhận",
        False,
    ),
    (
        "H12.22-250306-0008",
        "1.001193",
        "Mai Văn Sơn",
        "0399887766",
        "001090007766",
        0,
        3,
        0,
        "Đã tiếp nhận",
        False,
    ),
    (
        "H12.22-250307-0009",
        "1.000894",
        "Tô Thị Trang",
        "0777111222",
        "001197001222",
        7,
        5,
        3,
        "Đã trả kết quả",
        True,
    ),
    (
        "H12.22-250307-0010",
        "1.000656",
        "Hồ Văn Út",
        "0868333444",
        "001055003444",
        6,
        3,
        2,
        "Đang giải quyết",
        False,
    ),
    (
        "H12.22-250308-0011",
        "2.000908",
        "Châu Thị Vân",
        "0328555666",
        "001189005666",
        1,
        3,
        1,
        "Đang giải quyết",
        False,
    ),
    (
        "000.00.24.H12-250308-0042",
        "1.013225",
        "Kiều Văn Xuân",
        "0919000111",
        "001076000111",
        25,
        15,
        2,
        "Chờ bổ sung hồ sơ",
        False,
    ),
    (
        "000.31.23.H12-250309-0014",
        "1.014061",
        "Lâm Thị Yến",
        "0988444555",
        "001203004555",
        2,
        7,
        0,
        "Đã tiếp nhận",
        False,
    ),
)
"""Twenty demo dossiers: every procedure of the greeting menu, some overdue, some done."""


def demo_dossiers(now: datetime | None = None) -> list[NewDossier]:
    """:data:`DEMO_DOSSIERS` with dates relative to ``now``."""
    now = now or utcnow()
    out = []
    for code, proc, name, phone, id_number, ago, days, step, status, done in DEMO_DOSSIERS:
        received = (now - timedelta(days=ago)).replace(hour=1, minute=30, second=0, microsecond=0)
        due = received + timedelta(days=days)
        finished = min(due, now) if done else None
        out.append(
            NewDossier(
                code,
                proc,
                _PROCEDURES[proc],
                name,
                phone,
                id_number,
                received,
                due,
                _STEPS[step],
                status,
                finished,
            )
        )
    return out


def seed_demo_dossiers(gateway: LocalDossierGateway, now: datetime | None = None) -> int:
    """Add the demo dossiers when the table is empty; how many were added."""
    if gateway.count():
        return 0
    dossiers = demo_dossiers(now)
    for dossier in dossiers:
        gateway.add(dossier)
    return len(dossiers)


# --- Access guard ------------------------------------------------------------------------------------


class SqlDossierAccessGuard:
    """:class:`bot.core.ports.DossierAccessGuard` in the ``dossier_access`` table (shared by every worker).

    Args:
        sessions: a session factory bound to the database.
        config: attempts, lock and grant durations.
        clock: current time.
    """

    def __init__(self, sessions: sessionmaker[Session], config: DossierConfig, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock

    def _rows(self, session: Session, subjects: Sequence[str]) -> dict[str, DossierAccessRow]:
        found = session.scalars(select(DossierAccessRow).where(DossierAccessRow.subject.in_(subjects)))
        rows = {r.subject: r for r in found}
        for subject in subjects:
            if subject not in rows:
                rows[subject] = DossierAccessRow(subject=subject, failures=0)
                session.add(rows[subject])
        return rows

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    return fn(session)
            except IntegrityError:
                # Another worker created a row between our select and insert: read it again.
                if attempt:
                    raise
        return None  # pragma: no cover

    async def locked(self, subjects: Sequence[str]) -> bool:
        def read() -> bool:
            now = self._clock()
            with self._sessions() as session:
                stmt = select(DossierAccessRow.locked_until).where(DossierAccessRow.subject.in_(subjects))
                return any((as_utc(t) or now) > now for t in session.scalars(stmt))

        return await _guarded(read)

    async def failed(self, subjects: Sequence[str]) -> bool:
        def write(session: Session) -> bool:
            now = self._clock()
            locked = False
            for row in self._rows(session, subjects).values():
                start = as_utc(row.window_started_at)
                if start is None or now - start >= self._config.lock_for:
                    row.failures, row.window_started_at = 0, now
                row.failures += 1
                if row.failures >= self._config.verification_attempts:
                    row.locked_until = now + self._config.lock_for
                    row.failures, row.window_started_at = 0, None
                row.updated_at = now
                locked = locked or (as_utc(row.locked_until) or now) > now
            return locked

        return bool(await _guarded(lambda: self._write(write)))

    async def succeeded(self, subjects: Sequence[str], grant: str) -> None:
        def write(session: Session) -> None:
            now = self._clock()
            for row in self._rows(session, subjects).values():
                row.failures, row.window_started_at, row.updated_at = 0, None, now
            row = self._rows(session, [grant])[grant]
            row.granted_until, row.updated_at = now + self._config.grant_for, now

        await _guarded(lambda: self._write(write))

    async def granted(self, grant: str) -> bool:
        def read() -> bool:
            now = self._clock()
            with self._sessions() as session:
                stmt = select(DossierAccessRow.granted_until).where(DossierAccessRow.subject == grant)
                until = as_utc(session.scalars(stmt).first())
                return until is not None and until > now

        return await _guarded(read)

    def prune(self) -> int:
        """Delete rows with neither a running lock, a running grant nor recent failures; how many."""
        now = self._clock()
        old = now - self._config.lock_for
        with self._sessions.begin() as session:
            result = session.execute(
                delete(DossierAccessRow).where(
                    (DossierAccessRow.locked_until.is_(None)) | (DossierAccessRow.locked_until < now),
                    (DossierAccessRow.granted_until.is_(None)) | (DossierAccessRow.granted_until < now),
                    DossierAccessRow.updated_at < old,
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _guarded(fn: Callable[[], Any]) -> Any:
    try:
        return await asyncio.to_thread(fn)
    except Exception as exc:
        raise DossierLookupUnavailable(f"dossier access table: {exc!r}") from exc


# --- Subscriptions -------------------------------------------------------------------------------


class SqlDossierSubscriptions:
    """:class:`bot.core.ports.DossierSubscriptions` in the ``dossier_subscriptions`` table.

    Args:
        sessions: a session factory bound to the database.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    @staticmethod
    def _where(code: str, key: ConversationKey) -> Any:
        return (
            (DossierSubscriptionRow.dossier_code == code)
            & (DossierSubscriptionRow.channel == key.channel)
            & (DossierSubscriptionRow.chat_id == key.chat_id)
        )

    async def subscribe(self, code: str, key: ConversationKey, last_seen: str | None) -> bool:
        def write() -> bool:
            try:
                with self._sessions.begin() as session:
                    if session.scalars(
                        select(DossierSubscriptionRow.id).where(self._where(code, key))
                    ).first():
                        return False
                    now = self._clock()
                    session.add(
                        DossierSubscriptionRow(
                            dossier_code=code,
                            channel=key.channel,
                            chat_id=key.chat_id,
                            last_seen=last_seen,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                return True
            except IntegrityError:  # a double click raced us: it exists
                return False

        return bool(await _guarded(write))

    async def active(self) -> list[DossierSubscription]:
        def read() -> list[DossierSubscription]:
            with self._sessions() as session:
                rows = session.scalars(select(DossierSubscriptionRow).order_by(DossierSubscriptionRow.id))
                return [
                    DossierSubscription(r.dossier_code, ConversationKey(r.channel, r.chat_id), r.last_seen)
                    for r in rows
                ]

        return list(await _guarded(read))

    async def mark_seen(self, code: str, key: ConversationKey, last_seen: str) -> None:
        def write() -> None:
            with self._sessions.begin() as session:
                row = session.scalars(select(DossierSubscriptionRow).where(self._where(code, key))).first()
                if row is not None:
                    row.last_seen, row.updated_at = last_seen, self._clock()

        await _guarded(write)

    async def unsubscribe(self, code: str, key: ConversationKey) -> None:
        def write() -> None:
            with self._sessions.begin() as session:
                session.execute(delete(DossierSubscriptionRow).where(self._where(code, key)))

        await _guarded(write)


# --- HTTP gateway ------------------------------------------------------------------------------------


class HttpDossierGateway:
    """:class:`bot.core.ports.DossierGateway` for a provincial one-stop-shop system over HTTP.

    The contract (one request per lookup)::

        GET {base_url}/dossiers/{code}
        Authorization: Bearer <token>        (or X-API-Key: <key>)

        200 {"code": "H12.22-250301-0001", "status": "Đang giải quyết",
             "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
             "current_step": "Thẩm định hồ sơ", "received_at": "2025-03-01T08:30:00+07:00",
             "due_at": "2025-03-04T17:00:00+07:00", "done": false, "updated_at": "...",
             "applicant": {"phone_last4": "5678", "id_last4": "1234"}}
        404 no dossier has this code

    ``applicant`` may also carry full ``phone`` / ``id_number``: only their last 4 digits are compared,
    here, and they are never logged or returned. A 5xx answer or a network error is retried with
    exponential backoff; what still fails, and any other answer, raises
    :class:`bot.core.ports.DossierLookupUnavailable`.

    Args:
        client: the HTTP client (tests inject one over ``httpx.MockTransport``).
        base_url: the system's API root.
        token: bearer token, if the system uses one.
        api_key: API key sent as ``X-API-Key``, if the system uses one.
        timeout: seconds per request.
        retries: retries after a 5xx or a network error.
        backoff: seconds before the first retry, doubled each time.
        sleep: how to wait (tests pass a recorder).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        token: str = "",
        api_key: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if api_key:
            self.headers["X-API-Key"] = api_key
        self.timeout = httpx.Timeout(timeout)
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    async def _fetch(self, code: str) -> dict[str, Any] | None:
        url = f"{self.base_url}/dossiers/{quote(code.strip().upper(), safe='')}"
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await self.client.get(url, headers=self.headers, timeout=self.timeout)
            except httpx.TransportError as exc:
                last_error = f"network error {type(exc).__name__}"
                logger.warning("dossier system: %s for %s (attempt %d)", last_error, code, attempt + 1)
                continue
            if response.status_code == 404:
                return None
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                logger.warning("dossier system: %s for %s (attempt %d)", last_error, code, attempt + 1)
                continue
            if response.status_code != 200:
                raise DossierLookupUnavailable(f"dossier system answered HTTP {response.status_code}")
            try:
                data = response.json()
            except ValueError as exc:
                raise DossierLookupUnavailable("dossier system answered something that is not JSON") from exc
            if not isinstance(data, dict) or not data.get("code") or not data.get("status"):
                raise DossierLookupUnavailable("dossier system answered without code or status")
            return data
        raise DossierLookupUnavailable(
            f"dossier system unavailable after {self.retries + 1} attempts: {last_error}"
        )

    @staticmethod
    def _status(data: Mapping[str, Any]) -> DossierStatus:
        try:
            return DossierStatus(
                code=str(data["code"]).upper(),
                status=str(data["status"]),
                procedure_name=str(data.get("procedure_name") or ""),
                procedure_code=str(data.get("procedure_code") or ""),
                current_step=str(data.get("current_step") or ""),
                received_at=_parse_time(data.get("received_at")),
                due_at=_parse_time(data.get("due_at")),
                done=bool(data.get("done")),
                updated_at=_parse_time(data.get("updated_at")),
            )
        except ValueError as exc:
            raise DossierLookupUnavailable(f"dossier system answered a bad date: {exc}") from exc

    async def lookup(self, code: str) -> DossierStatus | None:
        data = await self._fetch(code)
        return self._status(data) if data is not None else None

    async def verify(self, code: str, last4: str) -> DossierStatus | None:
        data = await self._fetch(code)
        if data is None:
            return None
        applicant = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
        known = [
            last4_of(str(applicant.get(field) or ""))
            for field in ("phone_last4", "id_last4", "phone", "id_number")
        ]
        if not any(k and hmac.compare_digest(k, last4) for k in known):
            return None
        return self._status(data)


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return as_utc(moment)


# --- Watcher -------------------------------------------------------------------------------------


class Outbox(Protocol):
    """Where notifications go: the server's :class:`bot.channels.base.ChannelRegistry` has this method."""

    async def deliver(self, message: OutboundMessage) -> None:
        """Send one message on its own channel."""
        ...


class DossierWatcher:
    """Tells subscribers when their dossier's status, step or completion changes.

    The first status seen for a subscription is only remembered. A change is sent as
    ``utter_dossier_changed``; a dossier that is done ends its subscriptions after the message. A
    lookup that fails skips that dossier until the next poll; a delivery that fails is retried then.

    Args:
        subscriptions: who wants to hear about what.
        responses: the response catalogue.
        clock: current time (overdue or not).
    """

    def __init__(
        self, subscriptions: DossierSubscriptions, responses: ResponseCatalogue, clock: Clock = utcnow
    ) -> None:
        self.subscriptions = subscriptions
        self.responses = responses
        self.clock = clock

    async def poll_once(self, gateway: DossierGateway, outbox: Outbox) -> list[OutboundMessage]:
        """Look up every subscribed dossier once; the notifications delivered."""
        by_code: dict[str, list[DossierSubscription]] = {}
        for sub in await self.subscriptions.active():
            by_code.setdefault(sub.code, []).append(sub)
        sent: list[OutboundMessage] = []
        for code, subs in by_code.items():
            try:
                status = await gateway.lookup(code)
            except DossierLookupUnavailable as exc:
                logger.warning("dossier watcher: %s not looked up: %s", code, exc)
                continue
            if status is None:
                continue
            for sub in subs:
                if sub.last_seen == status.fingerprint:
                    continue
                if sub.last_seen is None:
                    await self.subscriptions.mark_seen(code, sub.key, status.fingerprint)
                    continue
                message = self.notification(sub.key, status)
                try:
                    await outbox.deliver(message)
                except Exception as exc:
                    logger.warning(
                        "dossier watcher: notice of %s to %s not delivered: %r", code, sub.key, exc
                    )
                    continue
                sent.append(message)
                if status.done:
                    await self.subscriptions.unsubscribe(code, sub.key)
                else:
                    await self.subscriptions.mark_seen(code, sub.key, status.fingerprint)
        return sent

    def notification(self, key: ConversationKey, status: DossierStatus) -> OutboundMessage:
        """The message telling ``key`` about the new status."""
        rendered = self.responses.render(
            "utter_dossier_changed",
            dossier_code=status.code,
            procedure_name=status.procedure_name or status.procedure_code or status.code,
            status=status.status,
            current_step=status.current_step or "-",
            progress=progress_text(self.responses.text, status, self.clock()),
        )
        return OutboundMessage(key=key, text=rendered.text, buttons=rendered.buttons)

    async def run(
        self, gateway: DossierGateway, outbox: Outbox, interval: float, stop: asyncio.Event
    ) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (a failing poll is logged, not fatal)."""
        while not stop.is_set():
            try:
                await self.poll_once(gateway, outbox)
            except Exception:
                logger.exception("dossier watcher poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
