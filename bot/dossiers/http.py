""":class:`HttpDossierGateway`: a provincial one-stop-shop system (hệ thống một cửa điện tử) over HTTP."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.core.dossier import last4_of
from bot.core.ports import DossierLookupUnavailable, DossierStatus
from bot.core.timeutil import as_utc

logger = logging.getLogger(__name__)


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
        applicant = data.get("applicant")
        if not isinstance(applicant, dict):
            applicant = {}
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
