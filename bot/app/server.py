"""The ASGI server: web chat, REST channel, Telegram and Zalo webhooks, health, in one process.

``create_app(container)`` is all a test or ``helpline serve`` needs: the container decides which
adapters are real. Channels whose settings are absent are simply not started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bot.app.bootstrap import Container
from bot.channels.base import ChannelRegistry, InboundQueue
from bot.channels.rest import RestOutbox, SqlRestOutbox, rest_router
from bot.core.messages import ConversationKey, OutboundMessage
from bot.handoff.retry import DeliveryRetrier
from bot.handoff.sink import InboundRecorder

log = logging.getLogger(__name__)
WEB = Path(__file__).resolve().parent.parent / "channels" / "web"
TITLE = "Trợ lý thủ tục hành chính"


@dataclass
class Runtime:
    """What the running server holds: the channel registry, the inbound queue, started channels."""

    channels: ChannelRegistry
    queue: InboundQueue
    outbox: RestOutbox
    started: list[str] = field(default_factory=list)


def _start_channels(app: FastAPI, container: Container, runtime: Runtime) -> None:
    """Register the channels whose settings are present (routers are mounted before start-up)."""
    settings = container.settings
    if settings.telegram_token:
        from bot.channels.telegram import (
            TelegramChannel,
            TelegramPolling,
            build_application,
            build_bot,
            telegram_webhook_router,
        )

        if settings.telegram_webhook_url:
            tg = TelegramChannel(build_bot(settings.telegram_token, base_url=settings.telegram_base_url))
            runtime.channels.register(tg)
            app.include_router(
                telegram_webhook_router(tg, runtime.queue, secret_token=settings.telegram_webhook_secret)
            )

            async def _tg_webhook() -> None:
                await tg.initialize()
                await tg.set_webhook(settings.telegram_webhook_url, settings.telegram_webhook_secret)

            app.state.startup_hooks.append(_tg_webhook)
            app.state.shutdown_hooks.append(tg.shutdown)
            runtime.started.append("telegram (webhook)")
        else:
            application = build_application(settings.telegram_token, base_url=settings.telegram_base_url)
            tg = TelegramChannel(application.bot)
            runtime.channels.register(tg)
            poller = TelegramPolling(application, tg, runtime.queue)
            app.state.startup_hooks.append(poller.start)
            app.state.shutdown_hooks.append(poller.stop)
            runtime.started.append("telegram (polling)")

    if settings.zalo_oa_app_id and settings.zalo_oa_secret_key:
        from bot.channels.zalo_oa import (
            InMemoryTokenStore,
            ZaloOAChannel,
            ZaloOASettings,
            ZaloTokens,
            zalo_oa_webhook_router,
        )

        client = httpx.AsyncClient(timeout=10, transport=container.http_transport)
        app.state.shutdown_hooks.append(client.aclose)
        zalo = ZaloOAChannel(
            client,
            ZaloOASettings(
                app_id=settings.zalo_oa_app_id,
                oa_secret_key=settings.zalo_oa_secret_key,
                app_secret_key=settings.zalo_app_secret_key,
            ),
            InMemoryTokenStore(ZaloTokens(settings.zalo_oa_access_token, settings.zalo_oa_refresh_token)),
        )
        runtime.channels.register(zalo)
        app.include_router(zalo_oa_webhook_router(zalo, runtime.queue))
        runtime.started.append("zalo")

    if settings.zalo_bot_token:
        from bot.channels.zalo_bot import ZaloBotChannel, zalo_bot_webhook_router

        client = httpx.AsyncClient(timeout=10, transport=container.http_transport)
        app.state.shutdown_hooks.append(client.aclose)
        zbot = ZaloBotChannel(client, settings.zalo_bot_token, base_url=settings.zalo_bot_base_url)
        runtime.channels.register(zbot)
        app.include_router(
            zalo_bot_webhook_router(zbot, runtime.queue, secret_token=settings.zalo_bot_webhook_secret)
        )
        runtime.started.append("zalo_bot")


def _mount_console(app: FastAPI, container: Container) -> None:
    """The officer console (``/console``), its JSON API (``/api``), the analytics dashboard
    (``/console/analytics``, ``/api/analytics``) and the delivery retry task."""
    from console.web import analytics, analytics_api, api, officer

    app.include_router(api.router)
    app.include_router(officer.router)
    app.include_router(analytics_api.router)
    app.include_router(analytics.router)
    retrier = DeliveryRetrier(container.tickets, container.escalation.retry_interval_seconds)
    app.state.startup_hooks.append(retrier.start)
    app.state.shutdown_hooks.append(retrier.stop)
    _mount_editor(app, container)
    _mount_learning(app, container)


def _mount_learning(app: FastAPI, container: Container) -> None:
    """The editors' inbox of unanswered messages and data import/export (``/console/learning``,
    ``/api/learning``); assignments and imports go live through the editor console's reloader."""
    from console.web import learning, learning_api

    app.include_router(learning_api.router)
    app.include_router(learning.router)


def _mount_editor(app: FastAPI, container: Container) -> None:
    """The editor console (``/console/editor``) and its API (``/api/editor``); changes go live."""
    from console.web import editor, editor_api

    app.include_router(editor_api.router)
    app.include_router(editor.router)

    async def finish_reload() -> None:  # a rebuild in progress may finish; it is never cut in half
        await asyncio.to_thread(container.live_reloader.close)

    app.state.shutdown_hooks.append(finish_reload)


def _start_dossier_watcher(app: FastAPI, container: Container, registry: ChannelRegistry) -> None:
    """Tell subscribers when their dossier's status changes, and prune old verification records."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    interval = container.dossier_config.poll_interval_seconds

    async def prune_loop() -> None:
        guard = container.dossier_guard
        while not stop.is_set():
            try:
                await asyncio.to_thread(guard.prune)
            except Exception:  # pruning is housekeeping: log and try again next round
                log.exception("could not prune dossier verification records")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=3600)

    async def start() -> None:
        tasks.append(
            asyncio.create_task(container.dossier_watcher.run(container.dossiers, registry, interval, stop))
        )
        tasks.append(asyncio.create_task(prune_loop()))

    async def shutdown() -> None:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(shutdown)


def create_app(container: Container | None = None) -> FastAPI:
    """The whole server. Start-up migrates, seeds an empty knowledge base and loads (or trains) the NLU."""
    container = container or Container()
    container.prepare()
    engine = container.engine

    # the web chat's outbox lives in the database, so officer replies survive a restart
    outbox = SqlRestOutbox(container.sessions) if container.officers_enabled else RestOutbox()
    registry = ChannelRegistry([outbox])
    apology = container.responses.render("utter_error")

    def error_reply(key: ConversationKey) -> OutboundMessage:
        return OutboundMessage(key=key, text=apology.text, buttons=apology.buttons)

    handler = engine.handle
    if container.officers_enabled:
        # Officer replies go out on the citizen's channel; citizen messages of open tickets reach them.
        container.tickets.use_delivery(registry.deliver)
        handler = InboundRecorder(container.tickets, engine.handle)

    queue = InboundQueue(handler, registry, deduplicator=container.deduplicator, error_reply=error_reply)
    runtime = Runtime(registry, queue, outbox)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue.start()
        for hook in app.state.startup_hooks:
            await hook()
        log.warning("helpline ready: channels web%s", "".join(f", {c}" for c in runtime.started))
        try:
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                try:
                    await hook()
                except Exception:  # one channel failing to stop must not keep the others running
                    log.exception("error while stopping a channel")
            await queue.stop()

    app = FastAPI(title="helpline", version="0.1.0", lifespan=lifespan)
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    app.state.container = container
    app.state.runtime = runtime
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")

    _start_channels(app, container, runtime)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def web_chat(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {"title": TITLE})

    @app.get("/healthz")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "procedures": container.knowledge.count(), "channels": registry.names()}

    app.include_router(rest_router(handler, outbox))
    if container.officers_enabled:
        _mount_console(app, container)
        _start_dossier_watcher(app, container, registry)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "Hệ thống đang gặp sự cố. Vui lòng thử lại sau."}, status_code=500)

    return app
