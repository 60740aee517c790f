"""``RasaNLU``: intents and entities from a Rasa server's ``/model/parse``, the procedure linking here.

A team with a trained Rasa model keeps it: the Rasa server (``rasa run --enable-api``) understands the
message, and the project adds what Rasa has no component for, its Vietnamese normalisation, its entity
patterns and the link to a procedure of the knowledge base. In ``config.yml`` the component takes the
place of the featurizers and the intent classifier::

    pipeline:
      - name: VietnameseNormalizer
        abbreviations_path: data/abbreviations.yml
      - name: RasaNLU
        url: http://127.0.0.1:5005          # the Rasa server (its /model/parse)
        token_env: HELPLINE_RASA_NLU_TOKEN   # optional: the variable holding its --auth-token
      - name: RegexEntityExtractor
      - name: ProcedureMentionExtractor
        aliases_path: data/aliases.yml
      - name: ProcedureLinker
      - name: FallbackClassifier
        threshold: 0.3

The message's original text is sent (``{"text": ..., "message_id": null}``, the token as ``?token=``, as
Rasa's own ``RasaNLUHttpInterpreter`` does); Rasa's intent, ranking and entities are kept (its offsets
index the same text). Training calls no server (the Rasa model is trained in Rasa); the other
components train as usual. When the server cannot be reached or answers something unusable the intent
is ``nlu_fallback`` with confidence 0 (the reason in the message's diagnostics), so the bot offers the
procedures the linker still found, or an officer, instead of failing.

The module registers the component when imported; the composition root (:mod:`bot.app.bootstrap`)
imports it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import Field, field_validator

from nlu.component import Component, ComponentSettings, register
from nlu.message import FALLBACK_INTENT, Message

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({502, 503, 504})


class RasaNLUSettings(ComponentSettings):
    """Settings of :class:`RasaNLU`.

    Attributes:
        url: the Rasa server (``/model/parse`` is appended).
        token_env: name of the environment variable holding the server's ``--auth-token`` ("" for none).
        timeout_seconds: timeout of one parse.
        retries: parses repeated after a connection failure or a 502/503/504 answer.
        keep_entities: keep the entities Rasa found (besides the project's extractors').
    """

    url: str = "http://127.0.0.1:5005"
    token_env: str = ""
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    retries: int = Field(1, ge=0, le=5)
    keep_entities: bool = True

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class RasaUnavailable(Exception):
    """The Rasa server gave no usable parse (the message says why)."""


@register
class RasaNLU(Component):
    """Intent and entities from a Rasa server (see the module docstring).

    Args:
        settings: the ``pipeline:`` entry.
        context: the pipeline's context.
        client: the HTTP client (tests give one on a mock transport); by default one is made on first use.
    """

    name = "RasaNLU"
    Settings = RasaNLUSettings
    settings: RasaNLUSettings

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(settings, context)
        self._client = client
        self._client_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # a pipeline may be copied or pickled: the client is not
        state = dict(self.__dict__)
        state["_client"], state["_client_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client_lock = threading.Lock()

    def process_training(self, messages: list[Message]) -> list[Message]:
        """Training asks the server nothing: the Rasa model is trained in Rasa."""
        return messages

    def process(self, message: Message) -> None:
        """Set the intent, the ranking and (with ``keep_entities``) Rasa's entities."""
        try:
            data = self.parse_remote(message.text)
            intent = _intent(data.get("intent"))
        except RasaUnavailable as exc:
            log.warning("Rasa NLU at %s gave no parse: %s", self.settings.url, exc)
            message.diagnostics["rasa_nlu"] = str(exc)
            message.intent, message.intent_ranking = {"name": FALLBACK_INTENT, "confidence": 0.0}, []
            return
        message.intent = intent
        ranking = []
        for item in data.get("intent_ranking") or ():
            try:
                ranking.append(_intent(item))
            except RasaUnavailable:
                continue
        message.intent_ranking = ranking or [dict(intent)]
        if self.settings.keep_entities:
            message.entities.extend(_entities(data.get("entities"), len(message.text)))

    # --- the server --------------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client()
            return self._client

    def parse_remote(self, text: str) -> dict[str, Any]:
        """The server's parse of ``text``.

        Raises:
            RasaUnavailable: no answer, an error status, or an answer that is not a JSON object.
        """
        params = {}
        if self.settings.token_env and os.environ.get(self.settings.token_env):
            params["token"] = os.environ[self.settings.token_env]
        url = f"{self.settings.url}/model/parse"
        reason = ""
        for _attempt in range(1 + self.settings.retries):
            try:
                response = self._http().post(
                    url,
                    params=params,
                    json={"text": text, "message_id": None},
                    timeout=self.settings.timeout_seconds,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                reason = f"cannot connect: {type(exc).__name__}"
                continue
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code in _RETRY_STATUSES:
                reason = f"the server answered {response.status_code}"
                continue
            if response.status_code != 200:
                raise RasaUnavailable(f"the server answered {response.status_code}: {response.text[:200]}")
            try:
                data = response.json()
            except ValueError as exc:
                raise RasaUnavailable("the answer is not JSON") from exc
            if not isinstance(data, dict):
                raise RasaUnavailable("the answer is not a JSON object")
            return data
        raise RasaUnavailable(reason)


def _intent(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise RasaUnavailable(f"no intent in the answer: {raw!r}")
    confidence = raw.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise RasaUnavailable(f"intent without a confidence: {raw!r}")
    return {"name": raw["name"], "confidence": float(confidence)}


def _entities(raw: Any, length: int) -> list[dict[str, Any]]:
    """Rasa's entities that name a type and lie inside the text (the extractors after this one sort
    entities by offset); others are dropped."""
    out: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, Mapping) or not isinstance(item.get("entity"), str):
            continue
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= length):
            continue
        confidence = item.get("confidence_entity", item.get("confidence"))
        out.append(
            {
                "entity": item["entity"],
                "value": item.get("value"),
                "start": start,
                "end": end,
                "confidence": confidence if isinstance(confidence, int | float) else None,
                "extractor": f"RasaNLU/{item.get('extractor') or 'rasa'}",
            }
        )
    return out
