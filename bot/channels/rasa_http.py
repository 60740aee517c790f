"""Rasa's HTTP API on the project's server, in Rasa 3.6's shapes, so a Rasa client plugs in unchanged.

=========================================  ======================================================
route                                      what it answers
=========================================  ======================================================
``GET /version``                           the Rasa version spoken (no token needed, as in Rasa)
``GET /status``                            the NLU model in use
``POST /model/parse``                      the parse of ``{"text"}``, with the project's
                                           ``procedure`` and ``procedure_ranking``
``GET /conversations/{id}/tracker``        the conversation as a Rasa tracker (its events rebuilt
                                           from the message log, see :mod:`bot.core.rasa`)
``POST /conversations/{id}/messages``      logs a citizen's message without answering it
``GET /domain``                            the domain (``application/json``, or YAML when asked)
=========================================  ======================================================

Security is Rasa's ``--auth-token``: with ``HELPLINE_RASA_AUTH_TOKEN`` set, every route but ``/version``
needs ``?token=...``. Unset (the default), the API answers only requests from this machine (loopback),
since trackers hold what citizens wrote; behind a reverse proxy on the same machine every request looks
local, so set a token there. Errors have Rasa's body (``{"version", "status": "failure", "message",
"reason", "details", "help", "code"}``).

The router knows only :mod:`bot.core`: the engine's parse and log, the conversation store and the
domain come in as :class:`RasaApi` from the composition root.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from bot.core.messages import ConversationKey, InboundMessage
from bot.core.parse import Parse
from bot.core.ports import ConversationStore
from bot.core.rasa import (
    MINIMUM_COMPATIBLE_VERSION,
    RASA_VERSION,
    EventVerbosity,
    conversation_key,
    error_body,
    log_events,
    tracker_state,
)

log = logging.getLogger(__name__)

YAML_CONTENT_TYPE = "application/x-yml"
"""What Rasa 3.6 answers ``GET /domain`` with for ``Accept: application/yaml``."""
HISTORY_LIMIT = 1000
"""Most logged messages a tracker is rebuilt from (the newest)."""


@dataclass(frozen=True)
class RasaApi:
    """What the Rasa API needs from the rest of the system (the composition root fills it).

    Attributes:
        parse: the parse of a text outside any conversation (the engine's ``understand``; blocking).
        log_message: logs a citizen's message without answering it (the engine's ``log_message``).
        store: conversation states and the message log (read for trackers).
        domain: the domain as Rasa's ``Domain.as_dict()``.
        status: ``model_file`` and ``model_id`` of the NLU in use.
        channels: names of the channels a conversation id may name (``"telegram:123"``).
        auth_token: Rasa's ``--auth-token``; empty: loopback only.
        version: the project's version, reported beside Rasa's in ``/version``.
    """

    parse: Callable[[str], Parse]
    log_message: Callable[[InboundMessage, Parse | None], Awaitable[Parse]]
    store: ConversationStore
    domain: Callable[[], Mapping[str, Any]]
    status: Callable[[], Mapping[str, Any]]
    channels: Callable[[], Collection[str]] = lambda: ()
    auth_token: str = ""
    version: str = ""


class RasaError(Exception):
    """An error answered with Rasa's error body."""

    def __init__(self, status: int, reason: str, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.details = status, reason, message, details

    def response(self) -> JSONResponse:
        body = error_body(self.status, self.reason, self.message, self.details)
        return JSONResponse(body, status_code=self.status)


class RasaRoute(APIRoute):
    """A route answering :class:`RasaError` with Rasa's error body (no exception handler to install)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handle(request)
            except RasaError as exc:
                return exc.response()

        return answer


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorize(request: Request, token: str) -> None:
    """Rasa's ``requires_auth``: the right ``?token=``; without a token configured, loopback only.

    Raises:
        RasaError: 401 for a missing or wrong token, 403 for another machine without a token configured.
    """
    if token:
        provided = request.query_params.get("token", "")
        if not hmac.compare_digest(provided.encode(), token.encode()):
            raise RasaError(401, "NotAuthenticated", "User is not authenticated.")
        return
    if not _is_loopback(request.client.host if request.client else None):
        raise RasaError(
            403,
            "NotAuthorized",
            "The Rasa HTTP API answers only this machine until HELPLINE_RASA_AUTH_TOKEN is set.",
        )


def _verbosity(request: Request) -> EventVerbosity:
    raw = request.query_params.get("include_events", EventVerbosity.AFTER_RESTART.value).upper()
    try:
        return EventVerbosity(raw)
    except ValueError:
        names = ", ".join(v.value for v in EventVerbosity)
        raise RasaError(
            400,
            "BadRequest",
            f"Invalid parameter value for 'include_events'. Should be one of {names}",
            {"parameter": "include_events", "in": "query"},
        ) from None


async def _json_body(request: Request, missing: str) -> Any:
    body = await request.body()
    if not body:
        raise RasaError(400, "BadRequest", missing)
    try:
        return await request.json()
    except ValueError:
        raise RasaError(400, "BadRequest", "The request body is not JSON.") from None


def rasa_router(api: RasaApi) -> APIRouter:
    """The Rasa HTTP API routes over ``api``."""
    router = APIRouter(tags=["Rasa HTTP API"], route_class=RasaRoute)

    def guarded(request: Request) -> None:
        authorize(request, api.auth_token)

    guard = [Depends(guarded)]

    def key_of(conversation: str) -> ConversationKey:
        return conversation_key(conversation, api.channels())

    async def tracker_of(
        key: ConversationKey, verbosity: EventVerbosity, until: float | None = None
    ) -> dict[str, Any]:
        state = await asyncio.to_thread(api.store.load, key)
        records = await asyncio.to_thread(api.store.recent_messages, key, HISTORY_LIMIT)
        events = log_events(records, key.channel)
        if until is not None:
            events = [e for e in events if e["timestamp"] <= until]
        return tracker_state(state, events, verbosity)

    @router.get("/version")
    async def version() -> dict[str, str]:
        return {
            "version": RASA_VERSION,
            "minimum_compatible_version": MINIMUM_COMPATIBLE_VERSION,
            "helpline_version": api.version,
        }

    @router.get("/status", dependencies=guard)
    async def status() -> JSONResponse:
        return JSONResponse({**api.status(), "num_active_training_jobs": 0})

    @router.post("/model/parse", dependencies=guard)
    async def parse(request: Request) -> JSONResponse:
        if request.query_params.get("emulation_mode"):
            raise RasaError(
                400,
                "BadRequest",
                "Emulation modes (WIT, LUIS, DIALOGFLOW) are not supported here.",
                {"parameter": "emulation_mode", "in": "query"},
            )
        data = await _json_body(
            request,
            "No text message defined in request_body. Add text message to request body in order to "
            "obtain the intent and extracted entities.",
        )
        text = data.get("text") if isinstance(data, Mapping) else None
        if isinstance(text, list) and text:  # Rasa's emulator takes the first of a list
            text = text[0]
        if not isinstance(text, str):
            raise RasaError(
                400, "BadRequest", "'text' must be a string.", {"parameter": "text", "in": "body"}
            )
        try:
            parsed = await asyncio.to_thread(api.parse, text)
        except Exception as exc:
            log.exception("could not parse a message for /model/parse")
            raise RasaError(400, "ParsingError", f"An unexpected error occurred. Error: {exc}") from exc
        return JSONResponse(parsed.to_rasa())

    @router.get("/conversations/{conversation_id:path}/tracker", dependencies=guard)
    async def tracker(request: Request, conversation_id: str) -> JSONResponse:
        verbosity = _verbosity(request)
        raw_until = request.query_params.get("until")
        try:
            until = float(raw_until) if raw_until not in (None, "") else None
        except ValueError:
            raise RasaError(
                400, "BadRequest", "'until' must be a number.", {"parameter": "until", "in": "query"}
            ) from None
        try:
            state = await tracker_of(key_of(conversation_id), verbosity, until)
        except RasaError:
            raise
        except Exception as exc:
            log.exception("could not build the tracker of %s", conversation_id)
            raise RasaError(500, "ConversationError", f"An unexpected error occurred. Error: {exc}") from exc
        return JSONResponse(state)

    @router.post("/conversations/{conversation_id:path}/messages", dependencies=guard)
    async def add_message(request: Request, conversation_id: str) -> JSONResponse:
        data = await _json_body(
            request,
            "No message defined in request body. Add a message to the request body in order to add it "
            "to the tracker.",
        )
        verbosity = _verbosity(request)
        if not isinstance(data, Mapping):
            raise RasaError(400, "BadRequest", "The message must be a JSON object.")
        sender = data.get("sender")
        if sender != "user":
            raise RasaError(
                400,
                "BadRequest",
                "Currently, only user messages can be passed to this endpoint. "
                f"Messages of sender '{sender}' cannot be handled.",
                {"parameter": "sender", "in": "body"},
            )
        text = data.get("text")
        if not isinstance(text, str):
            raise RasaError(
                400, "BadRequest", "'text' must be a string.", {"parameter": "text", "in": "body"}
            )
        given = data.get("parse_data")
        try:
            parse = Parse.from_rasa({"text": text, **given}) if given else None
        except ValueError as exc:
            raise RasaError(
                400, "BadRequest", f"Unusable parse_data: {exc}", {"parameter": "parse_data", "in": "body"}
            ) from None
        key = key_of(conversation_id)
        try:
            await api.log_message(InboundMessage(key=key, text=text, is_button=text.startswith("/")), parse)
            state = await tracker_of(key, verbosity)
        except Exception as exc:
            log.exception("could not log a message of %s", conversation_id)
            raise RasaError(500, "ConversationError", f"An unexpected error occurred. Error: {exc}") from exc
        return JSONResponse(state)

    @router.get("/domain", dependencies=guard)
    async def domain(request: Request) -> Response:
        accepts = request.headers.get("accept") or "application/json"
        if accepts.endswith("yml") or accepts.endswith("yaml"):
            text = yaml.safe_dump(dict(api.domain()), allow_unicode=True, sort_keys=False)
            return Response(text, media_type=YAML_CONTENT_TYPE)
        if accepts.endswith("json") or "*/*" in accepts:  # Rasa answers 406 to */*; a client's default
            return JSONResponse(dict(api.domain()))
        raise RasaError(
            406,
            "NotAcceptable",
            'Invalid Accept header. Domain can be provided as json ("Accept: application/json") or '
            'yml ("Accept: application/x-yml"). Make sure you\'ve set the appropriate Accept header.',
        )

    return router
