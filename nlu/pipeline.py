"""The NLU pipeline: components from ``config.yml``, trained together, saved as one versioned file.

``parse`` returns Rasa's parse shape plus procedure linking::

    {
      "text": "gplx het han doi o dau",
      "intent": {"name": "ask_where", "confidence": 0.93},
      "intent_ranking": [{"name": ..., "confidence": ...}, ...],        # top 10
      "entities": [{"entity", "value", "start", "end", "confidence", "extractor"}, ...],
      "procedure": {"code": "1.002820", "name": "...", "score": 0.97} | None,
      "procedure_ranking": [{"code", "name", "score"}, ...],
    }

``start``/``end`` index the original text. Any input gives a valid result and never raises: non-text
becomes ``""``, text longer than :data:`knowledge.text.MAX_CHARS` characters is cut there (``text`` in
the result is the cut text, so offsets stay valid), control characters count as spaces.

The model file (``save``/``load``) is a gzip-compressed pickle holding the format version, the project
version, hashes of the configuration and of the training data, and each component's persisted state.
The knowledge search index is not stored: it is rebuilt from the knowledge base and passed to
``load``. Pickles run code when loaded: load only model files you trained yourself.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import logging
import os
import pickle
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nlu.asking import AskedIntentResolver
from nlu.classifier import IntentClassifier
from nlu.component import Component, ConfigError, component_class, make_component
from nlu.extractors.asking import AskingClauseExtractor
from nlu.extractors.mentions import ProcedureMentionExtractor
from nlu.extractors.regex import RegexEntityExtractor
from nlu.fallback import FallbackClassifier
from nlu.featurizers import CharNgramFeaturizer, WordNgramFeaturizer
from nlu.linker import ProcedureLinker
from nlu.message import FALLBACK_INTENT, Message, TrainingSet
from nlu.normalizer import VietnameseNormalizer
from nlu.semantic import SemanticProcedureRanker
from nlu.training_data import TrainingData, dump_training_data

log = logging.getLogger(__name__)

BUILTIN_COMPONENTS: tuple[type[Component], ...] = (
    VietnameseNormalizer,
    RegexEntityExtractor,
    ProcedureMentionExtractor,
    AskingClauseExtractor,
    CharNgramFeaturizer,
    WordNgramFeaturizer,
    IntentClassifier,
    ProcedureLinker,
    SemanticProcedureRanker,
    AskedIntentResolver,
    FallbackClassifier,
)
"""The components ``config.yml`` may name; importing their modules registered them
(:func:`nlu.component.register`), so a pipeline can be built from names alone."""
PARSE_CACHE_SIZE = 4096
"""Parses remembered per pipeline (exact text, at most 200 characters); 0 turns it off."""

MODEL_FORMAT_VERSION = 1
MODEL_KIND = "helpline-nlu"


class ModelError(RuntimeError):
    """A model file that cannot be loaded (missing, corrupt, or of another format version)."""


class ComponentSpec(BaseModel):
    """One ``pipeline:`` entry: a registered component name plus its settings."""

    model_config = ConfigDict(extra="allow")
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        component_class(value)
        return value


class NLUConfig(BaseModel):
    """The NLU part of ``config.yml``; other top-level keys (the engine's behaviour) are left alone."""

    model_config = ConfigDict(extra="allow")
    language: str = "vi"
    pipeline: list[ComponentSpec] = Field(min_length=1)

    @field_validator("language")
    @classmethod
    def _vietnamese(cls, value: str) -> str:
        if value != "vi":
            raise ValueError(f"only Vietnamese ('vi') is supported, not {value!r}")
        return value


def validate_config(config: Mapping[str, Any]) -> NLUConfig:
    """Check a config dict: known components, valid settings, no component listed twice.

    Raises:
        ConfigError: with every problem found, naming the pipeline position and component.
    """
    try:
        parsed = NLUConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid NLU config: {problems}") from None
    names = [spec.name for spec in parsed.pipeline]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"invalid NLU config: components listed twice: {', '.join(dupes)}")
    for i, spec in enumerate(parsed.pipeline):
        try:
            component_class(spec.name).validate_settings(spec.model_dump())
        except ConfigError as exc:
            raise ConfigError(f"invalid NLU config: pipeline[{i}] {exc}") from None
    return parsed


def load_config(path: str | Path) -> dict[str, Any]:
    """Read ``config.yml`` into a dict (validated later by :meth:`Pipeline.from_config`).

    Raises:
        ConfigError: unreadable or not a mapping.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'language' and 'pipeline'")
    return raw


def _hash(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:16]


def project_version() -> str:
    """The installed helpline version ("0+unknown" when not installed)."""
    try:
        from importlib.metadata import version

        return version("helpline")
    except Exception:  # noqa: BLE001 - metadata missing in a bare checkout
        return "0+unknown"


class Pipeline:
    """Components run in ``config.yml`` order over a :class:`~nlu.message.Message`.

    Build with :meth:`from_config` (or :meth:`from_file`), then :meth:`train` or :meth:`load`.
    ``parse`` is thread-safe after training: components only read their state.
    """

    def __init__(
        self,
        components: list[Component],
        config: Mapping[str, Any],
        knowledge_index: Any = None,
        base_dir: str | Path | None = None,
    ) -> None:
        self.components = components
        self.config = dict(config)
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.metadata: dict[str, Any] = {}
        self.trained = False
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_size = PARSE_CACHE_SIZE
        self.cache_hits = 0
        self.set_knowledge_index(knowledge_index)

    # ----------------------------------------------------------------------------------- building

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], knowledge_index: Any = None, base_dir: str | Path | None = None
    ) -> Pipeline:
        """Validate ``config`` and instantiate its components (untrained).

        Args:
            config: the parsed ``config.yml`` (``language``, ``pipeline``; other keys ignored).
            knowledge_index: the knowledge base's search index for the procedure linker, or None.
            base_dir: folder relative data paths in the settings start from (default: working dir).

        Raises:
            ConfigError: unknown component, bad setting, component listed twice.
        """
        parsed = validate_config(config)
        nlu_config: dict[str, Any] = {
            "language": parsed.language,
            "pipeline": [s.model_dump() for s in parsed.pipeline],
        }
        context = {"knowledge_index": knowledge_index, "base_dir": str(base_dir or Path.cwd())}
        components = [make_component(spec, context) for spec in nlu_config["pipeline"]]
        return cls(components, nlu_config, knowledge_index, base_dir)

    @classmethod
    def from_file(cls, path: str | Path, knowledge_index: Any = None) -> Pipeline:
        """:meth:`from_config` for a ``config.yml`` file; relative data paths start at its folder."""
        return cls.from_config(load_config(path), knowledge_index, Path(path).resolve().parent)

    def set_knowledge_index(self, knowledge_index: Any) -> None:
        """Give the procedure linker a (new) knowledge search index, e.g. after a re-import."""
        self.knowledge_index = knowledge_index
        for comp in self.components:
            comp.context["knowledge_index"] = knowledge_index
        self.clear_cache()

    def clear_cache(self) -> None:
        """Forget remembered parses (the model or the knowledge index changed)."""
        with self._cache_lock:
            self._cache.clear()

    @property
    def config_hash(self) -> str:
        """Short hash of the NLU configuration."""
        return _hash(self.config)

    # ----------------------------------------------------------------------------------- training

    def train(self, training_data: TrainingData) -> dict[str, Any]:
        """Train every component in order on ``training_data``.

        Returns:
            Metadata: example and intent counts, seconds taken, hashes.

        Raises:
            ConfigError: a component cannot train with this data or its files.
        """
        started = time.perf_counter()
        messages = [Message.from_example(ex) for ex in training_data.examples]
        training = TrainingSet(training_data, messages)
        context = {
            "knowledge_index": self.knowledge_index,
            "base_dir": str(self.base_dir),
        }
        for i, comp in enumerate(self.components):
            context["preprocess"] = self._preprocessor(self.components[:i])
            comp.train(training, context)
            training.messages = comp.process_training(training.messages)
        self.trained = True
        self.metadata = {
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_seconds": round(time.perf_counter() - started, 3),
            "examples": len(training_data.examples),
            "intents": training_data.intents,
            "training_data_hash": _hash(dump_training_data(training_data)),
            "config_hash": self.config_hash,
        }
        self.clear_cache()
        return dict(self.metadata)

    @staticmethod
    def _preprocess_with(normalizers: Sequence[Component], text: str) -> Message:
        msg = Message.build(text)
        for comp in normalizers:
            comp.process(msg)
        return msg

    def _preprocessor(self, before: list[Component]) -> Callable[[str], Message]:
        normalizers = [c for c in before if isinstance(c, VietnameseNormalizer)]
        return lambda text: self._preprocess_with(normalizers, text)

    # ------------------------------------------------------------------------------------ parsing

    def process(self, text: Any) -> Message:
        """Run every component on ``text``; the full :class:`Message` (for debugging and evaluation)."""
        msg = Message.build(text)
        for comp in self.components:
            comp.process(msg)
        return msg

    def parse(self, text: Any) -> dict[str, Any]:
        """Parse one user text into the Rasa-shaped result documented in this module. Never raises."""
        if not self.trained:
            raise ModelError("the pipeline is not trained: call train() or Pipeline.load()")
        # Citizens send the same short follow-ups again and again ("lệ phí bao nhiêu", "nộp ở đâu"):
        # a parse depends only on the text, the model and the index, so recent ones are remembered.
        key = text if isinstance(text, str) and len(text) <= 200 else None
        if key is not None and self.cache_size:
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    self.cache_hits += 1
            if cached is not None:
                return copy.deepcopy(cached)
        try:
            result = self.result(self.process(text))
        except Exception:  # noqa: BLE001 - a parse must always answer; the error is logged
            log.exception("NLU parse failed; answering nlu_fallback")
            msg = Message.build(text)
            msg.set_fallback(0.0)
            return self.result(msg)
        if key is not None and self.cache_size:
            with self._cache_lock:
                self._cache[key] = copy.deepcopy(result)
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    @staticmethod
    def result(msg: Message) -> dict[str, Any]:
        """The parse dict of a processed message."""
        intent = msg.intent or {"name": FALLBACK_INTENT, "confidence": 0.0}
        return {
            "text": msg.text,
            "intent": dict(intent),
            "intent_ranking": [dict(r) for r in msg.intent_ranking],
            "entities": [dict(e) for e in msg.entities],
            "procedure": dict(msg.procedure) if msg.procedure else None,
            "procedure_ranking": [dict(p) for p in msg.procedure_ranking],
        }

    # -------------------------------------------------------------------------------- persistence

    def save(self, path: str | Path) -> Path:
        """Write the trained model to ``path`` (gzip pickle), atomically.

        Raises:
            ModelError: the pipeline is not trained.
        """
        if not self.trained:
            raise ModelError("cannot save an untrained pipeline")
        payload = {
            "kind": MODEL_KIND,
            "format_version": MODEL_FORMAT_VERSION,
            "project_version": project_version(),
            "config": self.config,
            "config_hash": self.config_hash,
            "metadata": self.metadata,
            "components": [
                {"name": c.name, "settings": c.settings.model_dump(), "state": c.persist()}
                for c in self.components
            ],
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".nlu-", suffix=".tmp")
        try:
            with (
                os.fdopen(fd, "wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) as fh,
            ):
                pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(
        cls, path: str | Path, knowledge_index: Any = None, base_dir: str | Path | None = None
    ) -> Pipeline:
        """Load a model written by :meth:`save`, giving it the current knowledge search index.

        Raises:
            ModelError: missing or corrupt file, another format version, or unknown components.
        """
        try:
            with gzip.open(Path(path), "rb") as fh:
                payload = pickle.load(fh)
        except FileNotFoundError:
            raise ModelError(f"model file not found: {path}") from None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
            raise ModelError(f"cannot read model file {path}: {exc}") from None
        if not isinstance(payload, dict) or payload.get("kind") != MODEL_KIND:
            raise ModelError(f"{path} is not a helpline NLU model")
        if payload.get("format_version") != MODEL_FORMAT_VERSION:
            raise ModelError(
                f"{path} has model format {payload.get('format_version')}, this version reads "
                f"{MODEL_FORMAT_VERSION}: retrain with `helpline nlu train`"
            )
        context = {"knowledge_index": knowledge_index, "base_dir": str(base_dir or Path.cwd())}
        components = []
        try:
            for entry in payload["components"]:
                comp = make_component({"name": entry["name"], **entry["settings"]}, context)
                comp.load(entry["state"])
                components.append(comp)
        except ConfigError as exc:
            raise ModelError(f"{path}: {exc}") from None
        pipeline = cls(components, payload["config"], knowledge_index, base_dir)
        pipeline.metadata = {
            **payload.get("metadata", {}),
            "project_version": payload.get("project_version"),
            "format_version": payload["format_version"],
        }
        pipeline.trained = True
        return pipeline
