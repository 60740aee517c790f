"""HttpDossierGateway against httpx.MockTransport: auth, retries with backoff, 404, failures, timeouts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.core.ports import DossierLookupUnavailable
from bot.dossiers.http import HttpDossierGateway

BASE = "https://motcua.example.gov.vn/api/v1"
CODE = "H12.22-250301-0001"
BODY = {
    "code": CODE,
    "status": "Đang giải quyết",
    "procedure_code": "1.001193",
    "procedure_name": "Đăng ký khai sinh",
    "current_step": "Thẩm định hồ sơ",
    "received_at": "2025-03-01T08:30:00+07:00",
    "due_at": "2025-03-04T17:00:00+07:00",
    "done": False,
    "updated_at": "2025-03-02T09:00:00Z",
    "applicant": {"phone": "0934567890", "id_last4": "4321"},
}


class Recorder:
    """Answers each request with the next handler's response; keeps the requests."""

    def __init__(self, *handlers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handlers = list(handlers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]
        return handler(request)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=BODY)


def status(code: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, json={"error": "x"})


def raises(exc: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)  # type: ignore[call-arg]

    return handler


def gateway(recorder: Recorder, **kwargs) -> tuple[HttpDossierGateway, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return HttpDossierGateway(client, BASE + "/", sleep=sleep, **kwargs), waits


async def test_lookup_sends_bearer_token_and_maps_the_answer() -> None:
    rec = Recorder(ok)
    gw, _ = gateway(rec, token="s3cr3t-token")
    found = await gw.lookup(" h12.22-250301-0001 ")
    request = rec.requests[0]
    assert str(request.url) == f"{BASE}/dossiers/{CODE}"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert "X-API-Key" not in request.headers
    assert found is not None
    assert (found.code, found.status, found.procedure_code, found.current_step) == (
        CODE,
        "Đang giải quyết",
        "1.001193",
        "Thẩm định hồ sơ",
    )
    assert found.received_at == datetime(2025, 3, 1, 1, 30, tzinfo=UTC)
    assert found.updated_at == datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    assert found.done is False


async def test_api_key_header() -> None:
    rec = Recorder(ok)
    gw, _ = gateway(rec, api_key="k-123")
    await gw.lookup(CODE)
    assert rec.requests[0].headers["X-API-Key"] == "k-123"
    assert "Authorization" not in rec.requests[0].headers


async def test_verify_compares_last_four_digits_of_phone_or_id() -> None:
    gw, _ = gateway(Recorder(ok))
    assert (await gw.verify(CODE, "7890")) is not None
    assert (await gw.verify(CODE, "4321")) is not None
    assert (await gw.verify(CODE, "1234")) is None


async def test_404_is_not_found_and_verify_says_none_too() -> None:
    gw, waits = gateway(Recorder(status(404)))
    assert await gw.lookup(CODE) is None
    assert await gw.verify(CODE, "7890") is None
    assert waits == []


async def test_5xx_is_retried_with_backoff_then_succeeds() -> None:
    rec = Recorder(status(502), status(503), ok)
    gw, waits = gateway(rec, retries=2, backoff=0.5)
    assert (await gw.lookup(CODE)) is not None
    assert len(rec.requests) == 3
    assert waits == [0.5, 1.0]


async def test_500_every_time_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(status(500))
    gw, waits = gateway(rec, retries=2, backoff=0.5)
    with caplog.at_level(logging.WARNING), pytest.raises(DossierLookupUnavailable, match="3 attempts"):
        await gw.verify(CODE, "7890")
    assert len(rec.requests) == 3 and waits == [0.5, 1.0]
    assert "7890" not in caplog.text


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
async def test_timeouts_and_network_errors_are_retried_then_unavailable(exc: type[Exception]) -> None:
    rec = Recorder(raises(exc))
    gw, waits = gateway(rec, retries=1, backoff=0.25)
    with pytest.raises(DossierLookupUnavailable, match="network error"):
        await gw.lookup(CODE)
    assert len(rec.requests) == 2 and waits == [0.25]


async def test_timeout_is_passed_to_each_request() -> None:
    rec = Recorder(ok)
    gw, _ = gateway(rec, timeout=3.5)
    await gw.lookup(CODE)
    assert rec.requests[0].extensions["timeout"] == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}


@pytest.mark.parametrize("code", [401, 403, 400])
async def test_other_client_errors_are_unavailable_without_retry(code: int) -> None:
    rec = Recorder(status(code))
    gw, waits = gateway(rec)
    with pytest.raises(DossierLookupUnavailable, match=str(code)):
        await gw.lookup(CODE)
    assert len(rec.requests) == 1 and waits == []


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json={"code": CODE}),
        httpx.Response(200, json={**BODY, "due_at": "not a date"}),
    ],
)
async def test_unusable_answers_are_unavailable(response: httpx.Response) -> None:
    gw, _ = gateway(Recorder(lambda request: response))
    with pytest.raises(DossierLookupUnavailable):
        await gw.lookup(CODE)
