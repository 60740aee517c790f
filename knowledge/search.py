"""Free-text procedure search: the candidate generator of the NLU's procedure linker.

How a query is scored (all on folded text, so "giấy phép" and "giay phep" are the same):

1. Tokens the index has never seen are corrected to the closest known token with rapidfuzz
   ("xay dug" -> "xay dung"), so typos still find their words.
2. Each procedure is a sparse vector of IDF weights over its name's syllables and syllable bigrams, its
   aliases, and (weaker) its field. One sparse product gives, for every procedure at once, the IDF mass
   it shares with the query.
3. The score mixes how much of the query the procedure covers (most weight) with how much of the
   procedure's name the query covers (prefers the precise name over a long one that merely contains
   the words). A whole alias found in the query scores by how much of the query it explains, up to 1.
   A national code in the query is an exact hit.

Everything heavy happens in :meth:`SearchIndex.build`; a query is a few array operations.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from knowledge.domain import Procedure
from knowledge.ports import SearchHit
from knowledge.text import fold_normalized, tokenize

_CODE_RE = re.compile(r"\b\d\.\d{6}\b")
_ALIAS_MAX_WORDS = 8
_FIELD_WEIGHT = 0.3
_ALIAS_WEIGHT = 1.0
_CATALOGUE_ONLY_FACTOR = 0.97


def _features(tokens: Sequence[str]) -> list[str]:
    """Syllables and syllable bigrams: bigrams reward words in the right order ("xay dung")."""
    return list(tokens) + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@dataclass(frozen=True)
class _Entry:
    code: str
    name: str
    catalogue_only: bool


class SearchIndex:
    """An in-memory ranked search over procedure names, aliases and fields.

    Build it once from the knowledge base (:meth:`build`); :meth:`search` is safe to call from many
    threads because nothing is mutated after build except a small typo-correction cache.
    """

    def __init__(
        self,
        entries: list[_Entry],
        vocab: dict[str, int],
        idf: np.ndarray,
        matrix: sparse.csc_matrix,
        name_mass: np.ndarray,
        aliases: dict[str, list[tuple[int, str]]],
        abbreviations: Mapping[str, str],
    ) -> None:
        self._entries = entries
        self._by_code = {e.code: i for i, e in enumerate(entries)}
        self._vocab = vocab
        self._idf = idf
        self._matrix = matrix
        self._name_mass = name_mass
        self._aliases = aliases
        self._abbreviations = dict(abbreviations)
        self._words = sorted({f for f in vocab if "_" not in f and len(f) >= 2})
        self._corrections: dict[str, str | None] = {}
        self._codes = [e.code for e in entries]
        self._name_mass_safe = np.maximum(name_mass, 1e-9)
        self._factor = np.array(
            [_CATALOGUE_ONLY_FACTOR if e.catalogue_only else 1.0 for e in entries], dtype=np.float64
        )

    @classmethod
    def build(
        cls,
        procedures: Iterable[Procedure],
        aliases: Mapping[str, Sequence[str]] | None = None,
        abbreviations: Mapping[str, str] | None = None,
    ) -> SearchIndex:
        """Index procedures.

        Args:
            procedures: the catalogue.
            aliases: extra citizen words per code (merged with each record's own ``aliases``).
            abbreviations: token expansions applied to queries (and alias texts) before matching.
        """
        abbreviations = abbreviations or {}
        entries: list[_Entry] = []
        docs: list[tuple[list[str], list[str], list[str]]] = []
        alias_index: dict[str, list[tuple[int, str]]] = {}
        extra = aliases or {}
        for proc in procedures:
            idx = len(entries)
            entries.append(_Entry(proc.code, proc.name, proc.catalogue_only))
            name_toks = tokenize(fold_normalized(proc.name))
            field_toks = tokenize(fold_normalized(proc.field))
            alias_feats: list[str] = []
            for alias in (*proc.aliases, *extra.get(proc.code, ())):
                folded = " ".join(tokenize(fold_normalized(alias, abbreviations)))
                if not folded:
                    continue
                alias_index.setdefault(folded, []).append((idx, alias))
                alias_feats.extend(_features(folded.split()))
            docs.append((_features(name_toks), alias_feats, field_toks))

        vocab: dict[str, int] = {}
        df: dict[str, int] = {}
        for name_f, alias_f, field_f in docs:
            for feat in set(name_f) | set(alias_f) | set(field_f):
                if feat not in vocab:
                    vocab[feat] = len(vocab)
                df[feat] = df.get(feat, 0) + 1
        n = max(len(entries), 1)
        idf = np.zeros(len(vocab), dtype=np.float64)
        for feat, col in vocab.items():
            idf[col] = math.log(1.0 + n / df[feat])

        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        name_mass = np.zeros(len(entries), dtype=np.float64)
        for i, (name_f, alias_f, field_f) in enumerate(docs):
            weights: dict[int, float] = {}
            for feat in set(field_f):
                weights[vocab[feat]] = _FIELD_WEIGHT * idf[vocab[feat]]
            for feat in set(alias_f):
                weights[vocab[feat]] = max(weights.get(vocab[feat], 0.0), _ALIAS_WEIGHT * idf[vocab[feat]])
            for feat in set(name_f):
                weights[vocab[feat]] = idf[vocab[feat]]
                name_mass[i] += idf[vocab[feat]]
            for col, val in weights.items():
                rows.append(i)
                cols.append(col)
                vals.append(val)
        matrix = sparse.csc_matrix((vals, (rows, cols)), shape=(len(entries), len(vocab)))
        return cls(entries, vocab, idf, matrix, name_mass, alias_index, abbreviations)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[tuple[str, str]]:
        """Every indexed procedure as (code, name), in index order (for the NLU's semantic ranker)."""
        return [(e.code, e.name) for e in self._entries]

    def _correct(self, token: str) -> str | None:
        """The known token closest to an unknown one, or None when nothing is close enough."""
        if token in self._corrections:
            return self._corrections[token]
        best = None
        if len(token) >= 3 and not token.isdigit():
            found = process.extractOne(
                token, self._words, scorer=fuzz.ratio, score_cutoff=80 if len(token) > 4 else 85
            )
            best = found[0] if found else None
        if len(self._corrections) > 50_000:
            self._corrections.clear()
        self._corrections[token] = best
        return best

    def query_tokens(self, text: str) -> list[str]:
        """The folded, abbreviation-expanded, typo-corrected tokens a query is matched on."""
        tokens: list[str] = []
        for tok in tokenize(fold_normalized(text, self._abbreviations)):
            if tok in self._vocab:
                tokens.append(tok)
            else:
                fixed = self._correct(tok)
                if fixed:
                    tokens.append(fixed)
        return tokens

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        """Ranked procedures for free text (with or without diacritics, with typos and abbreviations).

        Returns at most ``k`` hits with scores in [0, 1], best first; an empty list when nothing
        in the query is known to the index.
        """
        if not text or not self._entries or k <= 0:
            return []
        scores: dict[int, tuple[float, str]] = {}
        words = np.zeros(len(self._entries), dtype=np.int64)
        for code in _CODE_RE.findall(text):
            if code in self._by_code:
                scores[self._by_code[code]] = (1.0, code)

        tokens = self.query_tokens(text)
        feats = [f for f in dict.fromkeys(_features(tokens)) if f in self._vocab]
        if feats:
            cols = [self._vocab[f] for f in feats]
            query_mass = float(self._idf[cols].sum())
            shared = self._shared_mass(cols)
            words = self._shared_words([self._vocab[t] for t in dict.fromkeys(tokens) if t in self._vocab])
            candidates = np.flatnonzero(shared)
            if candidates.size:
                mass = shared[candidates]
                combined = 0.8 * np.minimum(mass / query_mass, 1.0)
                combined += 0.2 * np.minimum(mass / self._name_mass_safe[candidates], 1.0)
                combined *= self._factor[candidates]
                keep = k  # aliases are scored separately, so the best k by name is enough
                if candidates.size > keep:
                    # everything scoring at least the k-th best, ties included (they are broken by code)
                    floor = -np.partition(-combined, keep - 1)[keep - 1]
                    best = combined >= floor
                    candidates, combined = candidates[best], combined[best]
                for pos, score in zip(candidates.tolist(), combined.tolist(), strict=True):
                    if score > scores.get(pos, (0.0, ""))[0]:
                        scores[pos] = (score, self._entries[pos].name)
            self._score_aliases(tokens, query_mass, scores)

        codes = self._codes
        ranked = heapq.nsmallest(k, scores.items(), key=lambda item: (-item[1][0], codes[item[0]]))
        return [
            SearchHit(codes[i], self._entries[i].name, round(min(s, 1.0), 4), matched, int(words[i]))
            for i, (s, matched) in ranked
        ]

    def _shared_mass(self, cols: list[int]) -> np.ndarray:
        """For every procedure, the weight it shares with the query's features (one bincount)."""
        indptr, indices, data = self._matrix.indptr, self._matrix.indices, self._matrix.data
        spans = [(indptr[c], indptr[c + 1]) for c in cols]
        rows = np.concatenate([indices[a:b] for a, b in spans])
        weights = np.concatenate([data[a:b] for a, b in spans])
        return np.bincount(rows, weights=weights, minlength=len(self._entries))

    def _shared_words(self, cols: list[int]) -> np.ndarray:
        """For every procedure, how many of the query's words (syllable columns ``cols``) it holds."""
        if not cols:
            return np.zeros(len(self._entries), dtype=np.int64)
        indptr, indices = self._matrix.indptr, self._matrix.indices
        rows = np.concatenate([indices[indptr[c] : indptr[c + 1]] for c in cols])
        return np.bincount(rows, minlength=len(self._entries))

    def _score_aliases(
        self, tokens: list[str], query_mass: float, scores: dict[int, tuple[float, str]]
    ) -> None:
        """Whole aliases found in the query: score by how much of the query they explain."""
        for start in range(len(tokens)):
            for end in range(start + 1, min(start + _ALIAS_MAX_WORDS, len(tokens)) + 1):
                phrase = " ".join(tokens[start:end])
                hits = self._aliases.get(phrase)
                if not hits:
                    continue
                feats = [f for f in _features(tokens[start:end]) if f in self._vocab]
                mass = float(sum(self._idf[self._vocab[f]] for f in feats))
                # An alias is another, exact name: it covers the whole of itself (the 0.2 part).
                score = 0.8 * min(mass / max(query_mass, 1e-9), 1.0) + 0.2
                for idx, alias in hits:
                    if score > scores.get(idx, (0.0, ""))[0]:
                        scores[idx] = (score, alias)
