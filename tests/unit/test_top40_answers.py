"""The 40 procedures citizens ask about most, answered as the official record says (issue 11, item 6).

tests/data/top40.yml lists them with the fragments read by hand from each record (``helpline kb show
CODE``): the first papers everyone brings, the fee, the time and the place. Each answer is built by
:func:`actions.procedure.answers.answer` on the shipped seed's record, as the answer action does, and
must contain them; none of the four answers may say "chưa có trong dữ liệu" when the record holds the
fact. What reads badly is noted per procedure in the YAML (``read``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.procedure.answers import answer
from bot.core.sdk import CollectingDispatcher, MessageDraft
from knowledge.domain import Procedure
from knowledge.seed import read_records
from tests import factories as f

TOP40 = yaml.safe_load((Path(__file__).parents[1] / "data" / "top40.yml").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = TOP40["procedures"]
CATALOGUE_ONLY: list[dict[str, Any]] = TOP40["catalogue_only"]
TOPICS = {"documents": "documents", "fee": "fee", "time": "processing_time", "where": "where"}
MISSING = "chưa có trong dữ liệu"


@functools.cache
def seed() -> dict[str, Procedure]:
    records, errors = read_records()
    assert not errors
    return {r.code: r for r in records}


def said(entry: dict[str, Any], topic: str) -> str:
    """The text of the answer to ``topic``; for the documents, that of the case in ``entry["case"]``."""
    dispatcher = CollectingDispatcher(f.catalogue())
    group = entry.get("case") if topic == "documents" else None
    answer(dispatcher, seed()[entry["code"]], topic, group=group)
    drafts: list[MessageDraft] = dispatcher.messages
    return "\n".join(d.text for d in drafts)


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['code']} {e['name']}" for e in entries]


def test_the_list_has_40_procedures_from_the_seed_each_read_once() -> None:
    codes = [e["code"] for e in ENTRIES + CATALOGUE_ONLY]
    assert len(codes) == 40 and len(set(codes)) == 40
    for entry in ENTRIES + CATALOGUE_ONLY:
        proc = seed()[entry["code"]]
        assert proc.catalogue_only == (entry in CATALOGUE_ONLY), entry["code"]
        assert entry["asked"] and entry["read"], entry["code"]


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
@pytest.mark.parametrize("aspect", list(TOPICS))
def test_the_answer_says_what_the_record_says(entry: dict[str, Any], aspect: str) -> None:
    topic = TOPICS[aspect]
    if topic in entry.get("gap", ()):
        pytest.xfail(f"known gap: {entry['code']} {aspect} is in the record but answered as missing")
    text = said(entry, topic)
    if topic in entry.get("not_in_record", ()):
        assert MISSING in text  # honest: the record has no such field
        return
    assert MISSING not in text
    for fragment in entry[aspect]:
        assert fragment in text, f"{entry['code']} {aspect}: {fragment!r} not in\n{text}"
    for fragment in entry.get(f"{aspect}_not", ()):
        assert fragment not in text, f"{entry['code']} {aspect}: {fragment!r} said in\n{text}"


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e.get("gap")], ids=ids([e for e in ENTRIES if e.get("gap")])
)
@pytest.mark.xfail(
    strict=True, reason="the record holds the fact in its steps; the answer says it is missing"
)
def test_known_gaps_are_still_gaps(entry: dict[str, Any]) -> None:
    for topic in entry["gap"]:
        assert MISSING not in said(entry, topic)


@pytest.mark.parametrize("entry", CATALOGUE_ONLY, ids=ids(CATALOGUE_ONLY))
@pytest.mark.parametrize("topic", list(TOPICS.values()))
def test_a_catalogue_only_procedure_says_what_the_catalogue_knows(entry: dict[str, Any], topic: str) -> None:
    text = said(entry, topic)
    for fragment in entry["all"]:
        assert fragment in text
