"""A bounded fuzz of the REST webhook (issue 13, item 6): whatever body a client posts, the answer is a
4xx with a plain message or the bot's replies, never a 500.

Hypothesis builds bodies of every shape: Rasa's ``{"sender", "message", "metadata", "message_id"}`` with
any JSON value in each field (huge integers, NUL and lone surrogates in text, deep and wide structures),
any JSON document at all, and bytes that are not JSON or not UTF-8. The server is production's
(``create_app`` over ``factory_app``), in process and offline; generation is derandomized.

``HELPLINE_REST_FUZZ_EXAMPLES`` (default 200) sets the number of bodies; docs/security.md has a larger run::

    HELPLINE_REST_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest -q -p no:xdist -s tests/integration/test_rest_fuzz.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi

from bot.app.server import create_app
from tests.fakes.app import factory_app

EXAMPLES = int(os.environ.get("HELPLINE_REST_FUZZ_EXAMPLES", "200"))
URL = f"http://{asgi.HOST}/webhooks/rest/webhook"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300)  # any code point, NUL included
    | st.sampled_from(["", "/", "/greet", '/give_feedback{"rating":"9"}', "0012 0300 4567", "x" * 5000])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
rasa_bodies = st.fixed_dictionaries(
    {},
    optional={
        "sender": json_values,
        "message": json_values,
        "metadata": json_values,
        "message_id": json_values,
    },
)


def _encode(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates encodable (as \\ud800 escapes, which the server must read too)
    return json.dumps(value).encode()


bodies = (
    rasa_bodies.map(_encode)
    | json_values.map(_encode)
    | st.binary(max_size=200)
    | st.sampled_from(
        [b"", b"{", b'{"sender": "u", "message": "\xff\xfe"}', b"[" * 200 + b"]" * 200, b"[" * 5000]
    )
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    from tests.fakes.app import settings_for

    app = factory_app(settings_for(tmp_path_factory.mktemp("rest-fuzz") / "helpline.sqlite3"))
    yield create_app(app)
    asgi.shutdown_lifespans()


def test_no_body_makes_the_rest_webhook_fail(server: FastAPI) -> None:
    sent = 0
    problems: list[str] = []
    with asgi.get_client(server) as client:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(body=bodies, stream=st.sampled_from(["false", "true"]))
        def post(body: bytes, stream: str) -> None:
            nonlocal sent
            sent += 1
            try:
                res = client.post(
                    URL, params={"stream": stream}, data=body, headers={"content-type": "application/json"}
                )
            except Exception as exc:  # the in-process client re-raises what the app raised
                problems.append(f"{type(exc).__name__} on {body[:120]!r}")
                return
            if res.status_code >= 500:
                problems.append(f"{res.status_code} on {body[:120]!r}")
            elif res.status_code == 200 and stream == "false":
                assert isinstance(res.json(), list)
            elif res.status_code >= 400:
                assert "error" in res.json()  # a plain message, not a stack trace

        post()
    print(f"rest webhook fuzz: {sent} bodies, {len(problems)} server errors")
    assert not problems, "\n".join(problems[:20])
