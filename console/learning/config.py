"""The ``learning:`` section of config.yml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LearningConfig(BaseModel):
    """The ``learning:`` section of config.yml.

    Attributes:
        low_confidence: a message the NLU understood with a confidence below this counts as unanswered
            (the inbox and the analytics dashboard both use it).
    """

    model_config = ConfigDict(extra="forbid")

    low_confidence: float = Field(0.5, ge=0.0, le=1.0)
