"""Importers: turn the published procedure data into :class:`~knowledge.domain.Procedure` records.

``load_sources`` reads any mix of the three source formats and merges them; ``coverage`` measures how
much of each table the parsers recovered. Neither touches a database: the repository layer stores
what they return.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from knowledge.domain import Document, Procedure
from knowledge.importers.bqp import parse_bqp
from knowledge.importers.catalogue import CatalogueRow, catalogue_kind, read_catalogue
from knowledge.importers.national import parse_national
from knowledge.importers.parsing import RecordError, clean_value, is_note_group, is_note_row

__all__ = ["RecordError", "coverage", "load_sources", "parse_bqp", "parse_national", "separate_notes"]

# Lạng Sơn's catalogue is the newer one (two-tier local government, 2025); Lâm Đồng's predates it.
CATALOGUE_PREFERENCE = ("langson", "lamdong")


def _read_jsonl(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from enumerate(handle, start=1)


def _source_files(path: Path) -> list[Path]:
    """The data files under ``path``: .jsonl / .jsonl.gz, and CSVs with a catalogue header."""
    if path.is_file():
        return [path]
    found = []
    for child in sorted(path.rglob("*")):
        if not child.is_file():
            continue
        if child.name.endswith((".jsonl", ".jsonl.gz")):
            found.append(child)
        elif child.suffix == ".csv" and catalogue_kind(child):
            # index.csv files repeat the detailed sets in short form; only catalogues count.
            found.append(child)
    return found


_DEADLINE_RE = re.compile(
    r"(?:thời hạn|trong vòng|trong|tối đa|không quá|chậm nhất)\s+(?:là\s+)?(\d{1,3})\s*(ngày làm việc|ngày)\b",
    re.IGNORECASE,
)


def fill_time_from_text(proc: Procedure) -> Procedure:
    """Give channels a processing time from the record's own prose when the time column is empty.

    Some portal rows leave "Thời gian" blank but state the deadline in the fee cell, the description
    or the steps ("Trong thời hạn 05 ngày làm việc kể từ ..."). Only the deadline phrase is read (not
    calendar dates), the first one found, and only channels without a time of their own get it.
    """
    if not proc.channels or any(c.days is not None for c in proc.channels):
        return proc
    texts = [c.description for c in proc.channels] + [c.fee_text for c in proc.channels] + list(proc.steps)
    for text in texts:
        match = _DEADLINE_RE.search(text or "")
        if match:
            days = float(match.group(1))
            working = "làm việc" in match.group(2).lower()
            channels = tuple(
                replace(c, days=days, working_days=working) if not c.time_text else c for c in proc.channels
            )
            return replace(proc, channels=channels)
    return proc


def _joined(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def separate_notes(proc: Procedure) -> Procedure:
    """Take the notes out of the documents table (see :func:`parsing.is_note_row`).

    The portal's "Thành phần hồ sơ" table mixes papers with notes ("Trường hợp giấy tờ tùy thân là hộ
    chiếu thì ...", a whole "Lưu ý" group). A note becomes the ``note`` of the paper above it in the
    same group (several are joined with a line break); a lead-in that ends with ":" ("Người có yêu cầu
    ... nộp các giấy tờ sau:"), or a note with no paper above it, goes to the next paper of its group.
    Rows of a "Lưu ý" group, and notes of a group that has no paper at all, become the procedure's
    ``notes`` (prefixed with their group heading when it says more than "Lưu ý").
    """
    if not any(is_note_row(doc) for doc in proc.documents):
        return proc
    kept: list[Document] = []
    notes: list[str] = list(proc.notes)
    waiting: list[str] = []  # notes for the next paper of the group being read
    waiting_group = ""

    def settle_waiting() -> None:
        # The group ended before any paper took its waiting notes.
        if not waiting:
            return
        if kept and kept[-1].group == waiting_group:
            kept[-1] = replace(kept[-1], note=_joined(kept[-1].note, *waiting))
        else:
            heading = waiting_group if waiting_group and not is_note_group(waiting_group) else ""
            notes.extend(f"{heading}: {w}" if heading else w for w in waiting)
        waiting.clear()

    for doc in proc.documents:
        if waiting and doc.group != waiting_group:
            settle_waiting()
        if not is_note_row(doc):
            if waiting:
                doc = replace(doc, note=_joined(*waiting, doc.note))
                waiting.clear()
            kept.append(doc)
            continue
        text = _joined(clean_value(doc.name), doc.note)
        if is_note_group(doc.group):
            notes.append(text)
        elif kept and kept[-1].group == doc.group and not text.endswith(":"):
            kept[-1] = replace(kept[-1], note=_joined(kept[-1].note, text))
        else:
            waiting.append(text)
            waiting_group = doc.group
    settle_waiting()
    return replace(proc, documents=tuple(kept), notes=tuple(notes))


def _parse_record(data: dict[str, Any]) -> Procedure:
    if "ma_thu_tuc" in data:
        return separate_notes(fill_time_from_text(parse_national(data)))
    if "metadata" in data or "thu_tuc_id" in data:
        return separate_notes(fill_time_from_text(parse_bqp(data)))
    raise RecordError("", "neither a national nor a defence-ministry record")


def _read_detailed(path: Path, errors: list[tuple[str, str]]) -> Iterator[Procedure]:
    for lineno, line in _read_jsonl(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append((f"{path.name}:{lineno}", f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(data, dict):
            errors.append((f"{path.name}:{lineno}", "a line is not a JSON object"))
            continue
        try:
            yield _parse_record(data)
        except RecordError as exc:
            errors.append((exc.code or f"{path.name}:{lineno}", exc.reason))


def _keep_first(
    store: dict[str, Any], key: str, item: Any, same: bool, where: str, errors: list[tuple[str, str]]
) -> None:
    if key not in store:
        store[key] = item
    elif not same:
        errors.append((key, f"duplicate code in {where} with different content; kept the first"))


def load_sources(paths: Iterable[Path]) -> tuple[list[Procedure], list[tuple[str, str]]]:
    """Read, parse and merge every source under ``paths``.

    Each path may be a directory (searched recursively, e.g. ``../shared/data`` or one of its
    sub-folders) or a single ``.jsonl``, ``.jsonl.gz`` or catalogue ``.csv`` file. JSON records are
    told apart by their keys (``ma_thu_tuc``: national portal; ``metadata``: defence ministry).

    Merge rule:

    1. Detailed records (national portal, defence ministry) win. The same code twice with the same
       content is silently kept once; with different content the first one read is kept and the
       conflict is reported.
    2. Catalogues add ``online_level`` to the detailed record with the same national code (the
       first 8 characters of the local code). Lạng Sơn is preferred, being the newer catalogue of
       the two-tier local government; Lâm Đồng is used when Lạng Sơn does not list the code.
    3. A catalogue code with no detailed record becomes a ``catalogue_only`` procedure with name,
       field and online level, from Lạng Sơn if it lists it, else Lâm Đồng; its source is
       ``catalogue:langson`` or ``catalogue:lamdong``.
    4. Inside one catalogue, rows with the same national code but different local codes are the
       province's tier variants (".H" district, ".X" commune): the first is kept without a report.
       The same local code twice with a different name or level is reported, first kept.

    Args:
        paths: directories or files.

    Returns:
        The procedures sorted by code, and the (code, reason) pairs of records that were refused
        or conflicted. An unreadable path is reported under its name.
    """
    errors: list[tuple[str, str]] = []
    detailed: dict[str, Procedure] = {}
    catalogues: dict[str, dict[str, CatalogueRow]] = {p: {} for p in CATALOGUE_PREFERENCE}
    local_seen: dict[tuple[str, str], CatalogueRow] = {}

    for root in paths:
        root = Path(root)
        if not root.exists():
            errors.append((str(root), "path does not exist"))
            continue
        for file in _source_files(root):
            name = file.name
            if name.endswith((".jsonl", ".jsonl.gz")):
                for proc in _read_detailed(file, errors):
                    known = detailed.get(proc.code)
                    same = known is not None and known.content_key() == proc.content_key()
                    _keep_first(detailed, proc.code, proc, same, f"{name} ({proc.source})", errors)
            elif name.endswith(".csv"):
                try:
                    rows = list(read_catalogue(file))
                except (ValueError, OSError) as exc:
                    errors.append((name, str(exc)))
                    continue
                for row in rows:
                    key = (row.province, row.local_code)
                    earlier = local_seen.get(key)
                    if earlier is not None:
                        if (earlier.name, earlier.online_level) != (row.name, row.online_level):
                            errors.append(
                                (
                                    row.code,
                                    f"duplicate code {row.local_code} in catalogue:{row.province} "
                                    "with a different name or level; kept the first",
                                )
                            )
                        continue
                    local_seen[key] = row
                    catalogues.setdefault(row.province, {}).setdefault(row.code, row)
            else:
                errors.append((name, "unknown file type (expected .jsonl, .jsonl.gz or .csv)"))

    merged: dict[str, Procedure] = dict(detailed)
    for province in reversed(CATALOGUE_PREFERENCE):  # least preferred first, overwritten after
        for code, row in catalogues.get(province, {}).items():
            current = merged.get(code)
            if current is None or current.catalogue_only:
                merged[code] = Procedure(
                    code=code,
                    name=row.name,
                    field=row.field,
                    online_level=row.online_level,
                    catalogue_only=True,
                    source=f"catalogue:{province}",
                )
            elif row.online_level is not None:
                merged[code] = replace(current, online_level=row.online_level)
    return [merged[c] for c in sorted(merged)], errors


def coverage(records: Iterable[Procedure]) -> dict[str, Any]:
    """How much of the detailed records' tables the parsers recovered.

    Args:
        records: the procedures from :func:`load_sources`.

    Returns:
        ``detailed`` and ``catalogue_only`` counts, and for each of ``with_documents``,
        ``with_steps``, ``with_time`` (some channel has days), ``with_fee`` (some channel has
        ``fee_vnd``) a count and a ``<name>_share`` over detailed records (0.0 when there are none).
    """
    items = list(records)
    detailed = [p for p in items if not p.catalogue_only]
    checks: dict[str, Callable[[Procedure], bool]] = {
        "with_documents": lambda p: bool(p.documents),
        "with_steps": lambda p: bool(p.steps),
        "with_time": lambda p: any(c.days is not None for c in p.channels),
        "with_fee": lambda p: any(c.fee_vnd is not None for c in p.channels),
    }
    out: dict[str, Any] = {
        "total": len(items),
        "detailed": len(detailed),
        "catalogue_only": len(items) - len(detailed),
    }
    for name, check in checks.items():
        count = sum(1 for p in detailed if check(p))
        out[name] = count
        out[f"{name}_share"] = count / len(detailed) if detailed else 0.0
    return out
