"""The server's edge (issue 13, item 6): bad input is a 4xx with a plain message, never a 500.

The server is production's (``create_app`` over ``factory_app``: the rule-based NLU, the factory
procedures, SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from bot.app.edge import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from bot.app.server import create_app
from tests.fakes.app import factory_app


@pytest.fixture
def server(factory_settings) -> FastAPI:  # type: ignore[no-untyped-def]
    return create_app(factory_app(factory_settings))


@pytest.fixture
async def client(server: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://test") as c:
        yield c


def nested(depth: int) -> bytes:
    return b'{"sender": "u", "message": "x", "metadata": {"a": ' + b"[" * depth + b"]" * depth + b"}}"


async def test_json_nested_5000_deep_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    res = await client.post(
        "/webhooks/rest/webhook", content=nested(5000), headers={"content-type": "application/json"}
    )
    assert res.status_code == 400
    assert res.json() == {"error": "Yêu cầu không hợp lệ: dữ liệu JSON lồng nhau quá sâu."}
    # whatever the content type says, and on any route
    res = await client.post("/api/login", content=nested(5000), headers={"content-type": "text/plain"})
    assert res.status_code == 400


async def test_ordinary_nesting_still_reaches_the_route(client: httpx.AsyncClient) -> None:
    res = await client.post(
        "/webhooks/rest/webhook", content=nested(20), headers={"content-type": "application/json"}
    )
    assert res.status_code == 200, res.text


async def test_a_body_too_large_is_a_413_even_without_a_content_length(client: httpx.AsyncClient) -> None:
    big = b'{"sender": "u", "message": "' + b"a" * MAX_BODY_BYTES + b'"}'
    res = await client.post("/webhooks/rest/webhook", content=big)
    assert res.status_code == 413 and res.json() == {"error": "Yêu cầu quá lớn."}

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    res = await client.post("/webhooks/rest/webhook", content=chunks())
    assert res.status_code == 413


@pytest.mark.parametrize("after", [str(2**63), str(2**64), "-1", "99999999999999999999999"])
async def test_poll_after_out_of_range_is_a_422(client: httpx.AsyncClient, after: str) -> None:
    res = await client.get("/webhooks/rest/poll", params={"sender": "u", "after": after})
    assert res.status_code == 422


async def test_poll_after_the_largest_id_is_answered(client: httpx.AsyncClient) -> None:
    res = await client.get("/webhooks/rest/poll", params={"sender": "u", "after": str(2**63 - 1)})
    assert res.status_code == 200 and res.json() == []


@pytest.mark.parametrize(
    ("body", "deeper_than_limit"),
    [
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b'{"text": "' + b"[" * 500 + b'"}', False),  # brackets inside a string are text
        (b'{"text": "\\"' + b"{" * 500 + b'"}', False),  # an escaped quote does not end the string
    ],
)
def test_json_depth_counts_only_structure(body: bytes, deeper_than_limit: bool) -> None:
    assert (json_depth(body) > MAX_JSON_DEPTH) is deeper_than_limit


async def test_an_id_below_64_bits_is_refused_not_a_server_error(factory_settings) -> None:  # type: ignore[no-untyped-def]
    # found by the schemathesis run: SQLite raised OverflowError (a 500) on ids below -2**63
    app = factory_app(factory_settings)
    app.users.add("lan", "hoa-sen-ven-ho-2026", "officer", "Trần Thị Lan")
    server = create_app(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://test") as c:
        token = (await c.get("/api/csrf")).json()["csrf_token"]
        login = {"username": "lan", "password": "hoa-sen-ven-ho-2026"}
        assert (await c.post("/api/login", json=login, headers={"X-CSRF-Token": token})).status_code == 200
        headers = {"X-CSRF-Token": (await c.get("/api/csrf")).json()["csrf_token"]}
        for ticket_id in (-(2**63) - 1, -1, 0):
            res = await c.post(f"/api/tickets/{ticket_id}/reply", json={"text": "0"}, headers=headers)
            assert res.status_code == 422, (ticket_id, res.text)
        assert (await c.get("/api/tickets/1")).status_code == 404
