"""The ASGI server: it mounts what the app holds and starts its jobs; it builds nothing itself.

``create_app(app)`` takes an :class:`bot.app.bootstrap.App` (``bootstrap(Settings())`` in production,
the same with ``fake_adapters`` in tests) and serves: the web chat (``/``), the REST channel, the
webhooks of the platforms the settings enable, Rasa's HTTP API (``/model/parse``,
``/conversations/{id}/tracker`` ...: :mod:`bot.channels.rasa_http`), the officer, editor, learning and
analytics consoles (``/console``, ``/api``), ``/healthz`` (the process answers) and ``/readyz`` (it serves:
started, not stopping, its database reachable). Start-up migrates, seeds an empty knowledge base and
loads (or trains) the NLU before the first request. :func:`worker_app` is what each process of
``helpline serve --workers N`` runs (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bot.app.bootstrap import App, bootstrap
from bot.app.edge import BodyLimit
from bot.core.redact import install_log_redaction
from console.web import ROUTERS as CONSOLE_ROUTERS

log = logging.getLogger(__name__)
WEB = Path(__file__).resolve().parent.parent / "channels" / "web"
TITLE = "Trợ lý thủ tục hành chính"


def thread_pool_size(inbox_workers: int) -> int:
    """The default thread pool of the server's event loop: the turns at once plus eight, at least
    Python's own default (``min(32, cores + 4)``)."""
    return max(inbox_workers + 8, min(32, (os.cpu_count() or 1) + 4))


def create_app(app: App) -> FastAPI:
    """The whole server for ``app`` (prepared here: schema, seed, NLU, engine)."""
    install_log_redaction()  # no log record leaves the server with an ID or phone number in full
    app.prepare()
    channels = app.channels
    jobs = app.jobs()
    queue = app.queue

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        # The turns and every database call run on the loop's default threads (asyncio.to_thread): as
        # many as the turns run at once, and room for the web chat, the console and the jobs beside them
        # (Python's default, cores + 4, would cap HELPLINE_INBOX_WORKERS at 6 on 2 cores).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(
                max_workers=thread_pool_size(app.settings.inbox_workers), thread_name_prefix="hl"
            )
        )
        queue.start()
        for job in jobs:
            await job.start()
        log.warning("helpline ready: channels web%s", "".join(f", {c}" for c in channels.started))
        readiness["state"] = "ready"
        try:
            yield
        finally:
            readiness["state"] = "stopping"
            for job in reversed(jobs):
                try:
                    await job.stop()
                except Exception:  # one job failing to stop must not keep the others running
                    log.exception("error while stopping %s", job.name)
            await queue.stop()
            # the lock connection: every lease of this process is free at once
            await asyncio.to_thread(app.adapters.locks.close)

    readiness = {"state": "starting"}
    api = FastAPI(title="helpline", version="0.1.0", lifespan=lifespan)
    api.state.app = app
    api.add_middleware(BodyLimit)  # body size and JSON depth, before any route reads a body
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    api.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def web_chat(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {"title": TITLE})

    @api.get("/readyz")
    async def ready() -> JSONResponse:
        state = readiness["state"]
        if state == "ready":
            try:
                await asyncio.wait_for(asyncio.to_thread(_database_answers, app), timeout=3)
            except Exception as exc:  # the proxy sends this process nothing until it answers again
                log.warning("not ready: the database does not answer (%s)", type(exc).__name__)
                state = "database unreachable"
        body = {
            "status": state,
            "pid": os.getpid(),
            "runs": [lease.name for lease in app.leases if lease.running],
        }
        return JSONResponse(body, status_code=200 if state == "ready" else 503)

    @api.get("/healthz")
    async def health() -> dict[str, Any]:
        procedures = await asyncio.to_thread(app.knowledge.count)  # a database read: off the event loop
        return {"status": "ok", "procedures": procedures, "channels": app.registry.names()}

    for router in channels.routers:
        api.include_router(router)
    api.include_router(app.rest_router)
    api.include_router(app.rasa_router)
    for router in CONSOLE_ROUTERS:
        api.include_router(router)

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "Hệ thống đang gặp sự cố. Vui lòng thử lại sau."}, status_code=500)

    return api


def _database_answers(app: App) -> None:
    with app.adapters.db.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def worker_app() -> FastAPI:
    """The server of one worker process of ``helpline serve --workers N`` (uvicorn's factory): the
    settings from the environment, logging as the command line sets it."""
    from bot.core.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return create_app(bootstrap(Settings()))
