"""The tokens of a Zalo Official Account, as the channel (``bot.channels.zalo_oa``) uses them and the
database adapter (``bot.storage.zalo_tokens``) keeps them: vocabulary both layers share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ZaloTokens"]


@dataclass(frozen=True)
class ZaloTokens:
    """An OA access token and the single-use refresh token that renews it.

    Attributes:
        access_token: sent in the ``access_token`` header (valid about 25 hours).
        refresh_token: exchanged for a new pair (valid about 3 months, once).
        expires_at: when the access token expires, if known.
        refused_at: when Zalo refused to refresh this pair (its refresh token is dead), if it did.
    """

    access_token: str
    refresh_token: str
    expires_at: datetime | None = None
    refused_at: datetime | None = None

    def __repr__(self) -> str:  # secrets: never in a log or a traceback
        return f"ZaloTokens(expires_at={self.expires_at!r}, refused_at={self.refused_at!r})"
