"""The typed parse of one message: what the NLU (or a button payload) says the citizen meant.

The :class:`bot.core.ports.Interpreter` returns Rasa's parse shape, a dict, because that is the wire
format the NLU, its evaluation and its tools share. The engine turns it into a :class:`Parse` at the edge
(:meth:`Parse.from_rasa`, which refuses a dict it cannot use), and everything after it (the policy, the
tracker, the actions) reads typed, frozen fields::

    Parse.from_rasa({"text": "lệ phí kết hôn", "intent": {"name": "ask_fee", "confidence": 0.93}, ...})
    parse.intent_name                 -> "ask_fee"
    parse.entity("procedure")         -> "kết hôn"        (first non-empty value of that type)
    parse.procedure                   -> Candidate("1.000894", "Đăng ký kết hôn", 0.96) | None

:meth:`Parse.to_rasa` gives the dict back in the same shape.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntentScore:
    """An intent and how sure the NLU is of it (1.0 for a button payload)."""

    name: str
    confidence: float

    @classmethod
    def from_rasa(cls, data: Any) -> IntentScore:
        """From ``{"name": str, "confidence": float}``.

        Raises:
            ValueError: not a mapping, no intent name, or a confidence that is not a number.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"intent is not a mapping: {data!r}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"intent without a name: {data!r}")
        return cls(name, _number(data.get("confidence"), "intent confidence"))

    def to_rasa(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": self.confidence}


@dataclass(frozen=True)
class Entity:
    """One entity found in the text (Rasa's entity shape).

    Attributes:
        entity: its type (``procedure``, ``dossier_code``, ``rating`` ...).
        value: what was found ("" when the NLU gave no value).
        start: offset of its first character in the text (None for a payload's entities).
        end: offset after its last character (None for a payload's entities).
        confidence: the extractor's confidence, when it gives one.
        extractor: the component (or ``"payload"``) that found it.
    """

    entity: str
    value: str
    start: int | None = None
    end: int | None = None
    confidence: float | None = None
    extractor: str | None = None

    @classmethod
    def from_rasa(cls, data: Any) -> Entity:
        """From ``{"entity", "value", "start", "end", "confidence", "extractor"}``; keys other
        components add for their own use (the mention extractor's ``codes``) are not kept.

        Raises:
            ValueError: not a mapping, or no entity type.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"entity is not a mapping: {data!r}")
        kind = data.get("entity")
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"entity without a type: {data!r}")
        value = data.get("value")
        confidence = data.get("confidence")
        extractor = data.get("extractor")
        return cls(
            kind,
            "" if value is None else str(value),
            _offset(data.get("start")),
            _offset(data.get("end")),
            None if confidence is None else _number(confidence, "entity confidence"),
            None if extractor is None else str(extractor),
        )

    def to_rasa(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "extractor": self.extractor,
        }


@dataclass(frozen=True)
class Candidate:
    """A procedure of the knowledge base the message may be about, with the linker's score."""

    code: str
    name: str = ""
    score: float = 0.0

    @classmethod
    def from_rasa(cls, data: Any) -> Candidate:
        """From ``{"code", "name", "score"}`` (a missing name is "", a missing score 0).

        Raises:
            ValueError: not a mapping, or a score that is not a number.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"procedure candidate is not a mapping: {data!r}")
        return cls(
            str(data.get("code") or ""),
            str(data.get("name") or ""),
            _number(data.get("score") or 0.0, "procedure score"),
        )

    def to_rasa(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "score": self.score}


@dataclass(frozen=True)
class Parse:
    """What one message means (see the module docstring).

    Attributes:
        text: the message as understood (the NLU may have cut a very long one).
        intent: the intent chosen; ``nlu_fallback`` when the NLU was unsure.
        intent_ranking: the intents considered, best first.
        entities: the entities found, in text order.
        procedure: the procedure the message is linked to, if any (it always has a code).
        procedure_ranking: the closest procedures, best first (kept when the NLU was unsure, to offer
            them).
    """

    text: str
    intent: IntentScore
    intent_ranking: tuple[IntentScore, ...] = ()
    entities: tuple[Entity, ...] = ()
    procedure: Candidate | None = None
    procedure_ranking: tuple[Candidate, ...] = ()

    @property
    def intent_name(self) -> str:
        """Name of the understood intent."""
        return self.intent.name

    def entity(self, name: str) -> str | None:
        """Value of the first entity of this type with a value, else None."""
        for ent in self.entities:
            if ent.entity == name and ent.value != "":
                return ent.value
        return None

    @classmethod
    def from_rasa(cls, data: Any) -> Parse:
        """The parse of a Rasa-shaped dict (the :class:`bot.core.ports.Interpreter`'s output).

        Missing lists are empty; a ``procedure`` without a code is no procedure.

        Raises:
            ValueError: the dict cannot be used: not a mapping, an intent without a name or
                confidence, an entity without a type, a list that is not a list.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"parse is not a mapping: {data!r}")
        top = data.get("procedure")
        procedure = Candidate.from_rasa(top) if top else None
        return cls(
            text=str(data.get("text") or ""),
            intent=IntentScore.from_rasa(data.get("intent")),
            intent_ranking=tuple(IntentScore.from_rasa(i) for i in _items(data, "intent_ranking")),
            entities=tuple(Entity.from_rasa(e) for e in _items(data, "entities")),
            procedure=procedure if procedure is not None and procedure.code else None,
            procedure_ranking=tuple(Candidate.from_rasa(c) for c in _items(data, "procedure_ranking")),
        )

    def to_rasa(self) -> dict[str, Any]:
        """The Rasa-shaped dict (:class:`bot.core.ports.Interpreter`'s format)."""
        return {
            "text": self.text,
            "intent": self.intent.to_rasa(),
            "intent_ranking": [i.to_rasa() for i in self.intent_ranking],
            "entities": [e.to_rasa() for e in self.entities],
            "procedure": self.procedure.to_rasa() if self.procedure else None,
            "procedure_ranking": [c.to_rasa() for c in self.procedure_ranking],
        }


def _items(data: Mapping[str, Any], key: str) -> list[Any] | tuple[Any, ...]:
    value = data.get(key) or ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{key} is not a list: {value!r}")
    return value


def _number(value: Any, what: str) -> float:
    # numbers.Real: the NLU's numpy scores count too; a bool is not a score.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} is not a number: {value!r}")
    return float(value)


def _offset(value: Any) -> int | None:
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else None
