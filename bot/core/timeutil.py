"""Time helpers shared by the stores, the dossier watcher, the actions and the console.

Everything is written in UTC; SQLite gives datetimes back without a time zone, so values read from a
database go through :func:`as_utc` before they are compared with :func:`utcnow`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    """The current time, time-zone aware, in UTC."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with UTC attached when it is naive (as SQLite returns it); None stays None."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
