"""The intent classifier: multinomial logistic regression over the featurizers' sparse rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from nlu.component import Component, ComponentSettings, ConfigError, register
from nlu.message import Message, TrainingSet


class IntentClassifierSettings(ComponentSettings):
    """Settings of :class:`IntentClassifier`.

    Attributes:
        features: featurizer names to use, in order; null for every featurizer before it.
        C: inverse regularization strength of the logistic regression.
        class_weight: ``balanced`` to weigh rare intents up, or null.
        max_iter: optimizer iterations.
        ranking_length: how many intents ``intent_ranking`` lists.
    """

    features: list[str] | None = None
    C: float = Field(10.0, gt=0)
    class_weight: str | None = "balanced"
    max_iter: int = Field(300, ge=10)
    ranking_length: int = Field(10, ge=1)


@register
class IntentClassifier(Component):
    """Multinomial logistic regression on the sparse features; softmax confidences.

    Training uses scikit-learn; at parse time the learned weights are applied directly with numpy
    (a parse touches only the weight rows of the features present, well under a millisecond).
    """

    name = "IntentClassifier"
    Settings = IntentClassifierSettings
    settings: IntentClassifierSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self.intents: list[str] = []
        self.feature_names: list[str] = []
        self.sizes: list[int] = []
        self.weights = np.zeros((0, 0), dtype=np.float32)  # (features, intents)
        self.bias = np.zeros(0, dtype=np.float32)

    def _stack(self, message: Message) -> tuple[np.ndarray, np.ndarray]:
        idx_parts, val_parts = [], []
        offset = 0
        for name, size in zip(self.feature_names, self.sizes, strict=True):
            feats = message.features.get(name)
            if feats is not None and feats.indices.size:
                idx_parts.append(feats.indices + offset)
                val_parts.append(feats.values)
            offset += size
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Fit the logistic regression on the training messages' features and gold intents."""
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        messages = [m for m in training.messages if m.example is not None]
        if not messages:
            raise ConfigError(f"{self.name}: no training examples")
        first = messages[0].features
        self.feature_names = list(self.settings.features or first)
        missing = [n for n in self.feature_names if n not in first]
        if missing:
            raise ConfigError(f"{self.name}: features {missing} are not produced by an earlier component")
        self.sizes = [first[n].size for n in self.feature_names]
        labels = [m.example.intent for m in messages]  # type: ignore[union-attr]
        self.intents = sorted(set(labels))
        n_features = sum(self.sizes)
        if len(self.intents) == 1:
            self.weights = np.zeros((n_features, 1), dtype=np.float32)
            self.bias = np.zeros(1, dtype=np.float32)
            return
        rows, cols, vals = [], [], []
        for i, msg in enumerate(messages):
            idx, val = self._stack(msg)
            rows.append(np.full(idx.size, i, dtype=np.int64))
            cols.append(idx)
            vals.append(val)
        x = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(messages), n_features),
        )
        y = np.array([self.intents.index(label) for label in labels])
        model = LogisticRegression(
            C=self.settings.C, class_weight=self.settings.class_weight, max_iter=self.settings.max_iter
        )
        model.fit(x, y)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([0, w.x + b])
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        self.weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.bias = intercept.astype(np.float32)

    def process(self, message: Message) -> None:
        """Set ``intent`` and ``intent_ranking`` (top ``ranking_length``)."""
        if not self.intents:
            return
        idx, val = self._stack(message)
        scores = self.bias.astype(np.float64)
        if idx.size:
            scores = scores + val @ self.weights[idx]
        scores = scores - scores.max()
        probs = np.exp(scores)
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")[: self.settings.ranking_length]
        message.intent_ranking = [
            {"name": self.intents[i], "confidence": round(float(probs[i]), 4)} for i in order
        ]
        message.intent = dict(message.intent_ranking[0])

    def persist(self) -> dict[str, Any]:
        """Intent names, feature layout and weights."""
        return {
            "intents": list(self.intents),
            "feature_names": list(self.feature_names),
            "sizes": list(self.sizes),
            "weights": self.weights,
            "bias": self.bias,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore intents, feature layout and weights."""
        self.intents = list(state["intents"])
        self.feature_names = list(state["feature_names"])
        self.sizes = list(state["sizes"])
        self.weights = np.asarray(state["weights"], dtype=np.float32)
        self.bias = np.asarray(state["bias"], dtype=np.float32)
