"""A bounded schemathesis run over the server's ``/openapi.json`` (issue 13, item 6): no operation answers
500, whatever valid or invalid input it is sent.

The server is production's (``create_app`` over ``factory_app``: the rule-based NLU, the six factory
procedures, SQLite), in process and offline. Every request carries an admin's session and CSRF token (so
the console's operations are reached past their 401) and the Rasa API's token. Operations that would end
the run's own session (logout) are left out. Generation is derandomized: the same cases every run.

``HELPLINE_SCHEMATHESIS_EXAMPLES`` (default 8) is the number of cases per operation and mode (positive,
negative); the figures in docs/security.md were measured with a larger one::

    HELPLINE_SCHEMATHESIS_EXAMPLES=100 .venv/bin/python -m pytest -q -p no:xdist -s \
        tests/integration/test_schemathesis.py
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi

from bot.app.server import create_app
from tests.fakes.app import factory_app

EXAMPLES = int(os.environ.get("HELPLINE_SCHEMATHESIS_EXAMPLES", "8"))
RASA_TOKEN = secrets.token_urlsafe(32)
PASSWORD = "cây-tre-làng-ven-sông-2026"
TIMINGS = bool(os.environ.get("HELPLINE_SCHEMATHESIS_TIMINGS"))
LEFT_OUT = {("POST", "/api/logout")}  # would end the session every later case uses


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    from tests.fakes.app import settings_for

    db = tmp_path_factory.mktemp("schemathesis") / "helpline.sqlite3"
    app = factory_app(settings_for(db, rasa_auth_token=RASA_TOKEN))
    app.users.add("quantri", PASSWORD, "admin", "Quản trị")
    yield create_app(app)
    asgi.shutdown_lifespans()  # schemathesis started the server's jobs; stop them with the module


def _login(server: FastAPI) -> dict[str, str]:
    """An admin's session cookie and CSRF token, as headers every case sends."""
    with asgi.get_client(server) as client:
        base = f"http://{asgi.HOST}"
        token = client.get(f"{base}/api/csrf").json()["csrf_token"]
        res = client.post(
            f"{base}/api/login",
            json={"username": "quantri", "password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert res.status_code == 200, res.text
        token = client.get(f"{base}/api/csrf").json()["csrf_token"]
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": token}


def _fuzz(op: Any, mode: GenerationMode, auth: dict[str, str], failures: list[str]) -> int:
    """Send ``op`` up to :data:`EXAMPLES` cases of ``mode``; server errors are added to ``failures``.
    Returns the number of cases sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        headers = {**(case.headers or {}), **auth}
        try:
            status: int | str = case.call(headers=headers, params={"token": RASA_TOKEN}).status_code
        except Exception as exc:  # the in-process client re-raises what the app raised
            status = f"{type(exc).__name__}: {str(exc)[:100]}"
        if not isinstance(status, int) or status >= 500:
            failures.append(
                f"{op.method.upper()} {op.path} [{mode.value}] -> {status}: "
                f"path={case.path_parameters} query={case.query} body={str(case.body)[:200]}"
            )

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: an operation without parameters
        run()
    return sent


def test_no_operation_answers_a_server_error(server: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", server)
    auth = _login(server)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in LEFT_OUT]
    failures: list[str] = []
    cases = 0
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.perf_counter()
            cases += _fuzz(op, mode, auth, failures)
            if TIMINGS:
                print(f"{time.perf_counter() - started:6.2f} s {op.method.upper()} {op.path} {mode.value}")
    print(f"schemathesis: {len(operations)} operations, {cases} cases, {len(failures)} server errors")
    assert not failures, "\n".join(failures[:20])
    with asgi.get_client(server) as client:  # the session held to the end: every case got past the login
        assert client.get(f"http://{asgi.HOST}/api/me", headers=auth).status_code == 200
