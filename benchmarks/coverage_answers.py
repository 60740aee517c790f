"""How many procedures of the whole catalogue get a real answer to each aspect, not "not in my data".

Every record of the shipped seed (or of ``--seed FILE``) is answered, aspect by aspect, by the same
function the bot's actions call (:func:`actions.procedure.answers.answer`), with the shipped response
catalogue. An answer counts as *missing* when it is one of the "not in my data" replies
(``utter_missing_detail``, ``utter_missing_detail_no_link``, ``utter_catalogue_only``), and so does a
list with nothing in it ("hồ sơ gồm 0 loại giấy tờ"); anything else (the list, the fee, "Miễn lệ
phí", the question which case the citizen is in ...) is *answered*. The figures are per source
(national portal, Ministry of Defence, provincial catalogues) and in all; the JSON also counts, per
aspect, the first reply each procedure gets (which of the conditions answers say the portal publishes
none, which desks are said from the level ...) and, for the answer of where, what the desk was read
from (:func:`actions.procedure.places.place_of`).

Run:  .venv/bin/python -m benchmarks.coverage_answers            # table on stdout, JSON in results/
      .venv/bin/python -m benchmarks.coverage_answers --seed FILE --out FILE
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from actions.procedure.answers import answer
from actions.procedure.lists import PAGED_LISTS
from actions.procedure.places import place_of
from bot.core.domain import LIST_TOPICS, Topic
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import CollectingDispatcher
from knowledge.cases import dossier
from knowledge.domain import Procedure
from knowledge.seed import SEED_PATH, read_records

OUT = Path(__file__).resolve().parent / "results" / "coverage_answers.json"

ASPECTS = (
    Topic.DOCUMENTS,
    Topic.FEE,
    Topic.PROCESSING_TIME,
    Topic.WHERE,
    Topic.RESULT,
    Topic.CONDITIONS,
    Topic.STEPS,
    Topic.LEGAL_BASIS,
)
"""The aspects of issue 11, item 6, in the order the table shows them."""

MISSING = frozenset({"utter_missing_detail", "utter_missing_detail_no_link", "utter_catalogue_only"})
"""The replies that say the part is not in the data."""


def reply_of(proc: Procedure, topic: str, catalogue: ResponseCatalogue) -> tuple[bool, str]:
    """Whether the bot answers ``topic`` about ``proc`` with something other than "not in my data",
    and the response key of its first reply."""
    dispatcher = CollectingDispatcher(catalogue)
    answer(dispatcher, proc, topic)
    sent = dispatcher.responses_sent
    empty = topic in LIST_TOPICS and not proc.catalogue_only and PAGED_LISTS[topic].count(proc) == 0
    return not MISSING.intersection(sent) and not empty, sent[0] if sent else ""


def source_of(proc: Procedure) -> str:
    """``national``, ``bqp`` or ``catalogue`` (every provincial catalogue together)."""
    return "catalogue" if proc.catalogue_only else (proc.source or "national")


def coverage(records: list[Procedure], catalogue: ResponseCatalogue) -> dict[str, object]:
    """Per aspect: procedures answered, in all and per source; with the counts of records."""
    sizes = Counter(source_of(p) for p in records)
    result: dict[str, dict[str, int]] = {}
    replies: dict[str, dict[str, int]] = {}
    for topic in ASPECTS:
        counts: Counter[str] = Counter()
        keys: Counter[str] = Counter()
        for proc in records:
            ok, key = reply_of(proc, topic, catalogue)
            keys[key] += 1
            if ok:
                counts[source_of(proc)] += 1
                counts["all"] += 1
        result[str(topic)] = {key: counts[key] for key in ("all", *sorted(sizes))}
        replies[str(topic)] = dict(keys.most_common())
    places = Counter(place.source if (place := place_of(p)) else "none" for p in records)
    return {
        "records": {"all": len(records), **dict(sorted(sizes.items()))},
        "detailed": sum(not p.catalogue_only for p in records),
        "answered": result,
        "first_reply": replies,
        "where_read_from": dict(places.most_common()),
        "documents_reading": reading(records, catalogue),
    }


_REMARK_LINE_RE = re.compile(r"^\d+\. (?:Lưu ý|Ví dụ|Chú ý|Ghi chú)\s*:", re.MULTILINE)


def reading(records: list[Procedure], catalogue: ResponseCatalogue) -> dict[str, int]:
    """How the documents answers read, over every detailed record: each answer (everyone's papers, and
    each case's) counted once. ``answers``: how many were read; ``cut``: with a short form cut with
    "…"; ``remark_as_paper``: a numbered paper that is a remark ("1. Lưu ý: ..."); ``choice_of_one``:
    the citizen asked to pick among a single case; ``buttons_on_text``: telling the citizen to press
    ("bấm", "nút «...»") what a text-only channel shows as a number."""
    counts: Counter[str] = Counter()
    for proc in records:
        if proc.catalogue_only or not proc.documents:
            continue
        cases = len(dossier(proc).cases)
        for group in [None, *(str(i) for i in range(1, cases + 1))]:
            dispatcher = CollectingDispatcher(catalogue)
            answer(dispatcher, proc, Topic.DOCUMENTS, group=group)
            text = "\n".join(d.text for d in dispatcher.messages)
            counts["answers"] += 1
            counts["cut"] += "…" in text
            counts["remark_as_paper"] += bool(_REMARK_LINE_RE.search(text))
            counts["buttons_on_text"] += "bấm" in text.lower() or "nút «" in text
        first = CollectingDispatcher(catalogue)
        answer(first, proc, Topic.DOCUMENTS)
        asked = first.responses_sent[:1] in (["utter_ask_document_case"], ["utter_ask_document_case_list"])
        counts["choice_of_one"] += asked and cases == 1
    return {k: counts[k] for k in ("answers", "cut", "remark_as_paper", "choice_of_one", "buttons_on_text")}


def table(data: dict[str, object]) -> str:
    """The figures as a Markdown table: answered / records (per cent), in all and per source."""
    records: dict[str, int] = data["records"]  # type: ignore[assignment]
    rows: dict[str, dict[str, int]] = data["answered"]  # type: ignore[assignment]
    columns = list(records)
    lines = [
        "| aspect | " + " | ".join(f"{c} ({records[c]:,})" for c in columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for topic, counts in rows.items():
        cells = [f"{counts[c]:,} ({100 * counts[c] / records[c]:.1f} %)" for c in columns]
        lines.append(f"| {topic} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=SEED_PATH, help="records (seed or export JSONL)")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON result file")
    args = parser.parse_args(argv)
    records, errors = read_records(args.seed)
    if errors:
        raise SystemExit(f"{len(errors)} records could not be read from {args.seed}")
    data = coverage(records, ResponseCatalogue.load())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(table(data))
    print("documents answers read:", json.dumps(data["documents_reading"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
