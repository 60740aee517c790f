"""A real server process for fault tests and soak benchmarks: ``python -m tests.fakes.serve PORT``.

The app production runs (``create_app(bootstrap(...))`` served by uvicorn), with the rule-based fake NLU
and the factory procedures instead of a trained model and the 4,259 of the seed, so it starts in a few
seconds. Settings come from the environment as in production (``HELPLINE_DATABASE_URL``,
``HELPLINE_TELEGRAM_TOKEN`` ...); the developer's ``.env`` is not read.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from bot.app.server import create_app
from bot.core.settings import Settings
from tests.fakes.app import factory_app
from tests.fakes.interpreter import FakeInterpreter


class SlowInterpreter(FakeInterpreter):
    """The fake NLU taking ``delay`` seconds per message, as a real model on a busy machine does: the
    inbox then holds acknowledged messages not yet answered, which is what a kill must not lose."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def parse(self, text: str) -> dict[str, Any]:
        time.sleep(self.delay)
        return super().parse(text)


ZALO_OA_HOSTS = frozenset({"openapi.zalo.me", "oauth.zaloapp.com"})
"""The Zalo OA channel's fixed API hosts (:class:`bot.channels.zalo_oa.ZaloOASettings`)."""


class RedirectTransport(httpx.AsyncBaseTransport):
    """Sends requests for ``hosts`` to ``target`` (``http://127.0.0.1:PORT``) instead, the rest as
    they are: the Zalo OA channel's hosts are fixed, so a fake platform in another process is reached
    this way (``FAKE_ZALO_OA_URL``)."""

    def __init__(self, target: str, hosts: frozenset[str] = ZALO_OA_HOSTS) -> None:
        parts = urlsplit(target)
        self._scheme, self._host, self._port = parts.scheme, parts.hostname or "", parts.port
        self._hosts = hosts
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self._hosts:
            request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
            request.headers["host"] = f"{self._host}:{self._port}"
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _app() -> Any:
    """The app of the environment's settings (``FAKE_NLU_DELAY_SECONDS``, ``FAKE_ZALO_OA_URL``)."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    delay = float(os.environ.get("FAKE_NLU_DELAY_SECONDS", "0"))
    fields: dict[str, Any] = {}
    if os.environ.get("FAKE_ZALO_OA_URL"):
        fields["http_transport"] = RedirectTransport(os.environ["FAKE_ZALO_OA_URL"])
    return factory_app(settings, interpreter=SlowInterpreter(delay) if delay else None, **fields)


def worker_app() -> Any:
    """One worker process of ``python -m tests.fakes.serve PORT N`` (uvicorn's factory), as
    :func:`bot.app.server.worker_app` is one of ``helpline serve --workers N``."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return create_app(_app())


def main(port: int, workers: int = 1) -> None:
    """Serve on 127.0.0.1:``port`` until killed (``FAKE_NLU_DELAY_SECONDS`` slows the fake NLU).

    With ``workers`` > 1 (PostgreSQL), as ``helpline serve --workers N`` does: the schema and the
    procedures made once here, then N uvicorn worker processes on one socket, a dead one replaced by
    uvicorn's supervisor (this process)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if workers == 1:
        api = create_app(_app())
        uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    _app()  # migrate and seed once, before the workers race for it
    uvicorn.run(
        "tests.fakes.serve:worker_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_worker_healthcheck=180,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
