"""The ``dossier:`` section of ``config.yml``.

The composition root validates it once at boot (``DossierConfig.model_validate(section)``), so a bad value
stops the server before it answers.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


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
