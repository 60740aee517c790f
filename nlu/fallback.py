"""The last step of every pipeline: low or ambiguous confidence becomes explicit uncertainty."""

from __future__ import annotations

from pydantic import Field

from nlu.component import Component, ComponentSettings, register
from nlu.domain import DomainClassifier
from nlu.message import Message

__all__ = ["DomainClassifier", "FallbackClassifier", "FallbackSettings"]
"""``DomainClassifier`` is imported here so that it registers with the last steps of the pipeline."""


class FallbackSettings(ComponentSettings):
    """Settings of :class:`FallbackClassifier`.

    Attributes:
        threshold: below this top-intent confidence the intent becomes ``nlu_fallback``.
        ambiguity_threshold: when the top two intents are closer than this, ``nlu_fallback`` too.
        procedure_threshold: a linked procedure scoring below this is dropped (``procedure: null``),
            its candidates stay in ``procedure_ranking`` for "did you mean …?".
        procedure_ambiguity_threshold: when the top two procedures are closer than this, the
            procedure is dropped as well (0 disables).
        fallback_intent_threshold: the confidence reported for ``nlu_fallback``; null reports
            ``threshold`` as Rasa does.
    """

    threshold: float = Field(0.5, ge=0.0, le=1.0)
    ambiguity_threshold: float = Field(0.1, ge=0.0, le=1.0)
    procedure_threshold: float = Field(0.5, ge=0.0, le=1.0)
    procedure_ambiguity_threshold: float = Field(0.0, ge=0.0, le=1.0)
    fallback_intent_threshold: float | None = Field(None, ge=0.0, le=1.0)


@register
class FallbackClassifier(Component):
    """Turns low or ambiguous confidence into explicit uncertainty (principle 7).

    Two bands on the intent, as Rasa's FallbackClassifier: top confidence below ``threshold``, or a
    margin to the runner-up below ``ambiguity_threshold`` -> ``nlu_fallback`` (the original ranking
    stays below it, so the dialogue can ask "did you mean …?"). And one band on the procedure: a weak
    best match yields ``procedure: null`` rather than a confident wrong procedure; the candidates stay
    in ``procedure_ranking``. Which band fired is left in ``diagnostics["fallback"]``.
    """

    name = "FallbackClassifier"
    Settings = FallbackSettings
    settings: FallbackSettings

    def process(self, message: Message) -> None:
        """Apply the intent and procedure bands."""
        s = self.settings
        reasons = []
        ranking = message.intent_ranking
        if message.intent is None:
            reasons.append("no_intent")
        elif message.intent["confidence"] < s.threshold:
            reasons.append("low_confidence")
        elif len(ranking) > 1 and ranking[0]["confidence"] - ranking[1]["confidence"] < s.ambiguity_threshold:
            reasons.append("ambiguous_intent")
        if reasons:
            message.set_fallback(
                s.threshold if s.fallback_intent_threshold is None else s.fallback_intent_threshold
            )
        if message.procedure is not None:
            procs = message.procedure_ranking
            if message.procedure["score"] < s.procedure_threshold:
                reasons.append("weak_procedure")
                message.procedure = None
            elif (
                s.procedure_ambiguity_threshold > 0
                and len(procs) > 1
                and procs[0]["score"] - procs[1]["score"] < s.procedure_ambiguity_threshold
            ):
                reasons.append("ambiguous_procedure")
                message.procedure = None
        if reasons:
            message.diagnostics["fallback"] = reasons
