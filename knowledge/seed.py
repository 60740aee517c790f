"""The shipped seed knowledge base, and the merge of the aliases file's words into its records.

The seed (``knowledge/seed/procedures.jsonl.gz``) is the converted national catalogue, one
``Procedure.to_dict()`` per line, so a fresh clone has every procedure without ``../shared``.
``helpline kb build-seed`` rebuilds it from the official records; ``helpline kb export`` writes the
same format from a running database, and ``helpline kb import`` reads it back. The aliases file itself
is read by :func:`knowledge.text.load_aliases`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

from knowledge.domain import Procedure

SEED_PATH = Path(__file__).resolve().parent / "seed" / "procedures.jsonl.gz"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def write_records(records: Iterable[Procedure], out: IO[str]) -> int:
    """Write records as JSON lines; returns how many."""
    n = 0
    for rec in records:
        out.write(json.dumps(rec.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


def write_seed(records: Iterable[Procedure], path: Path = SEED_PATH) -> int:
    """Write a gzip JSONL seed file deterministically (no timestamps), so rebuilds diff cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    n = write_records((replace(r, updated_at=None) for r in records), buf)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    return n


def is_seed_format(path: Path) -> bool:
    """True when the file is our own JSONL format (a seed or an export)."""
    if not path.is_file() or not path.name.endswith((".jsonl", ".jsonl.gz")):
        return False
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        first = fh.readline()
    try:
        data = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and "code" in data and "channels" in data


def read_records(path: Path = SEED_PATH) -> tuple[list[Procedure], list[tuple[str, str]]]:
    """Records of a seed/export file, and (code or line, reason) for lines that could not be read."""
    opener = gzip.open if path.suffix == ".gz" else open
    records: list[Procedure] = []
    errors: list[tuple[str, str]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            data = None
            try:
                data = json.loads(line)
                records.append(Procedure.from_dict(data))
            except (json.JSONDecodeError, TypeError, ValueError) as exc:
                code = data.get("code", f"dòng {lineno}") if isinstance(data, dict) else f"dòng {lineno}"
                errors.append((str(code), f"bản ghi không đọc được: {exc}"))
    return records, errors


def with_aliases(records: Iterable[Procedure], aliases: Mapping[str, Sequence[str]]) -> list[Procedure]:
    """Records with the aliases file's words merged into each record's own aliases (no duplicates)."""
    out = []
    for rec in records:
        extra = aliases.get(rec.code)
        if extra:
            merged = tuple(dict.fromkeys((*rec.aliases, *extra)))
            rec = replace(rec, aliases=merged)
        out.append(rec)
    return out
