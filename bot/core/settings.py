"""Secrets and deployment settings from the environment, validated at start-up.

Behaviour (thresholds, working hours, the NLU pipeline) lives in ``config.yml``; what differs between
deployments or is secret lives here. Every variable is prefixed ``HELPLINE_``; ``DATABASE_URL`` is also
read unprefixed because hosting platforms set it that way.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDERS = {"changeme", "change-me", "xxx", "token", "secret", "your-token-here"}


class Settings(BaseSettings):
    """Deployment settings. Unset channel tokens simply leave that channel off."""

    model_config = SettingsConfigDict(env_prefix="HELPLINE_", env_file=".env", extra="ignore")

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
