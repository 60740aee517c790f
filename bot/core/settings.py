"""Secrets and deployment settings from the environment, validated at start-up.

Behaviour (thresholds, working hours, the NLU pipeline) lives in ``config.yml``; what differs between
deployments or is secret lives here. Every variable is prefixed ``HELPLINE_``; ``DATABASE_URL`` is also
read unprefixed because hosting platforms set it that way.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections import Counter
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDERS = {"changeme", "change-me", "xxx", "token", "secret", "your-token-here"}
log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 32
"""Shortest secret of our own accepted outside development mode (``secrets.token_urlsafe(32)`` gives 43)."""
MIN_SECRET_BITS = 128.0
"""Least estimated entropy (characters x Shannon bits per character) of a secret of our own."""
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
"""The command the error messages and docs/security.md give to make a secret."""
OWN_SECRETS = ("session_secret", "telegram_webhook_secret", "zalo_bot_webhook_secret", "rasa_auth_token")
"""Secrets this deployment chooses (not issued by a platform), so held to :func:`secret_weakness`."""


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is too weak for a secret of our own (English, for the operator), or None.

    Refused: fewer than :data:`MIN_SECRET_CHARS` characters, a repeated pattern (``abcabc...``), fewer
    than 10 distinct characters, or less than :data:`MIN_SECRET_BITS` bits of estimated entropy. A
    ``secrets.token_urlsafe(32)`` or ``secrets.token_hex(32)`` value always passes.
    """
    if len(value) < MIN_SECRET_CHARS:
        return f"is {len(value)} characters; at least {MIN_SECRET_CHARS} random characters are needed"
    if value in (value + value)[1:-1]:
        return "is a repeated pattern, not random"
    counts = Counter(value)
    if len(counts) < 10:
        return "uses fewer than 10 different characters, not random"
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) * len(value)
    if bits < MIN_SECRET_BITS:
        return f"has about {bits:.0f} bits of entropy; at least {MIN_SECRET_BITS:.0f} are needed"
    return None


class Settings(BaseSettings):
    """Deployment settings. Unset channel tokens simply leave that channel off."""

    # hide_input_in_errors: a refused setting is named, never echoed (it may be a secret, or sit beside one).
    model_config = SettingsConfigDict(
        env_prefix="HELPLINE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'helpline.sqlite3'}",
        validation_alias=AliasChoices("HELPLINE_DATABASE_URL", "DATABASE_URL"),
    )
    config_path: Path = PROJECT_ROOT / "config.yml"
    data_dir: Path = PROJECT_ROOT / "data"
    model_dir: Path = PROJECT_ROOT / "var" / "models"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    # Several processes (issue 12): ``helpline serve --workers N`` (PostgreSQL only), and how often a
    # process tries the lease of a single job (Telegram poller, dossier watcher, retries) it does not hold.
    workers: int = Field(default=1, ge=1, le=64)
    lease_seconds: float = Field(default=5.0, gt=0, le=300)
    # PostgreSQL connection pool of each process (docs/deployment.md: size it to the worker threads).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_overflow: int = Field(default=10, ge=0, le=200)
    db_pre_ping: bool = False
    # Redis (issue 12): when set, the channels' send rate limit (Telegram: 30 messages/s per bot, 1/s per
    # chat) is shared by every process and machine; empty: each process limits its own sends.
    redis_url: str = ""

    telegram_token: str = ""
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"

    zalo_oa_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_oa_access_token: str = ""
    zalo_oa_refresh_token: str = ""
    zalo_app_secret_key: str = ""
    zalo_bot_token: str = ""
    zalo_bot_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_secret: str = ""
    # A Zalo OA event whose own timestamp is further than this from now is a replay: ignored (issue 13).
    zalo_oa_event_window_seconds: int = Field(default=600, ge=30, le=86_400)

    # The durable inbox (issue 12): a message taken by a process that died is taken again after the
    # lease; finished rows (the deduplication records) are kept longer than any platform redelivers
    # (Telegram keeps an unconfirmed update for 24 hours).
    inbox_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # A reply being sent by a process that died is sent again after this (longer than one send with the
    # channel's own retries under flood control, about half a minute).
    outbox_lease_seconds: int = Field(default=120, ge=5, le=3600)
    inbox_keep_days: int = Field(default=7, ge=2, le=365)
    # Turns one process runs at once (each of another chat). A turn mostly waits for the database, so on
    # PostgreSQL more than the cores helps; each one may hold a pooled connection.
    inbox_workers: int = Field(default=4, ge=1, le=64)

    session_secret: str = ""
    # Development mode: weak secrets of our own are accepted (with a loud warning). Never in production.
    dev_mode: bool = False
    # Where generated state lives (the session secret generated when HELPLINE_SESSION_SECRET is unset).
    state_dir: Path = PROJECT_ROOT / "var"

    # Provincial one-stop-shop system for dossier lookups; unset: the local ``dossiers`` table answers.
    dossier_api_url: str = ""
    dossier_api_token: str = ""
    dossier_api_key: str = ""

    # Rasa's --auth-token for the Rasa HTTP API (/model/parse, /conversations/...); unset: loopback only.
    rasa_auth_token: str = ""

    @field_validator(
        "telegram_token",
        "telegram_webhook_secret",
        "zalo_oa_secret_key",
        "zalo_app_secret_key",
        "zalo_bot_token",
        "zalo_bot_webhook_secret",
        "session_secret",
        "dossier_api_token",
        "dossier_api_key",
        "rasa_auth_token",
    )
    @classmethod
    def _no_placeholder(cls, value: str) -> str:
        if value.strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder value; set the real secret or leave it empty")
        return value.strip()

    @model_validator(mode="after")
    def _webhooks_need_secrets(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("HELPLINE_TELEGRAM_WEBHOOK_URL needs HELPLINE_TELEGRAM_WEBHOOK_SECRET")
        if self.zalo_bot_token and not self.zalo_bot_webhook_secret:
            raise ValueError("HELPLINE_ZALO_BOT_TOKEN needs HELPLINE_ZALO_BOT_WEBHOOK_SECRET")
        if self.zalo_oa_app_id and not self.zalo_oa_secret_key:
            raise ValueError("HELPLINE_ZALO_OA_APP_ID needs HELPLINE_ZALO_OA_SECRET_KEY")
        return self

    @model_validator(mode="after")
    def _secrets_are_secret(self) -> Settings:
        for name in OWN_SECRETS:
            value = getattr(self, name)
            weakness = secret_weakness(value) if value else None
            if weakness is None:
                continue
            variable = f"HELPLINE_{name.upper()}"
            if not self.dev_mode:
                raise ValueError(
                    f"{variable} {weakness}. Generate one with: {GENERATE_SECRET} "
                    "(or set HELPLINE_DEV_MODE=1 on a developer's machine)"
                )
            log.warning("DEVELOPMENT MODE: %s %s; never run like this in production", variable, weakness)
        return self

    def resolved_session_secret(self) -> str:
        """The console's cookie signing secret: ``HELPLINE_SESSION_SECRET``, or one generated once with
        :func:`secrets.token_urlsafe` and kept in ``state_dir/session_secret`` (owner-only), so a fresh
        clone runs with no configuration, logins survive a restart and every worker process of this
        machine shares it. Several machines must share one ``HELPLINE_SESSION_SECRET``."""
        if self.session_secret:
            return self.session_secret
        path = self.state_dir / "session_secret"
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        if value:
            weakness = secret_weakness(value)
            if weakness is not None:
                raise ValueError(f"{path} {weakness}: delete it to have a new one generated")
            return value
        self.state_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        tmp = path.with_name(f".session_secret.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(value + "\n")
        try:
            os.link(tmp, path)  # the first worker to start wins; the others read its secret
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        finally:
            tmp.unlink(missing_ok=True)
        log.warning("HELPLINE_SESSION_SECRET is not set: generated one in %s (one per machine)", path)
        return value
