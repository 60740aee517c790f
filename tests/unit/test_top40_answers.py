"""The 40 procedures citizens ask about most, answered as the official record says (issue 11, item 6).

tests/data/top40.yml lists them with the fragments read by hand from each record (``helpline kb show
CODE``): the first papers everyone brings (the form first), the fee, the time and the place, the case
buttons where the papers depend on the case, and what must not be said (a paper of another case, a
remark read as a paper). Each answer is built by :func:`actions.procedure.answers.answer` on the
shipped seed's record, as the answer action does, and must contain them; none of the four answers may
say "chưa có trong dữ liệu" when the record holds the fact. Every answer of the 40 (the documents for
everyone and for each case, fee, time, where) is also checked as a citizen reads it on the web chat
and on Zalo's text-only bot: never cut ("…"), no "bấm"/"nút" (there are no buttons on a text
channel), and on Zalo the only numbered lines are the choices to reply with. How each reads now is
noted per procedure in the YAML (``read``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.procedure.answers import answer
from bot.core.messages import ConversationKey, OutboundMessage, numbered_fallback
from bot.core.sdk import CollectingDispatcher, MessageDraft
from knowledge.cases import dossier
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


def drafts(code: str, topic: str, group: str | None = None) -> list[MessageDraft]:
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, seed()[code], topic, group=group)
    return dispatcher.messages


def said(entry: dict[str, Any], topic: str) -> str:
    """The text of the answer to ``topic``; for the documents, that of the case in ``entry["case"]``."""
    group = entry.get("case") if topic == "documents" else None
    return "\n".join(d.text for d in drafts(entry["code"], topic, group))


def every_answer(code: str) -> list[tuple[str, MessageDraft]]:
    """Each message of the four answers, the documents once for everyone and once per case."""
    out = []
    for topic in TOPICS.values():
        groups: list[str | None] = [None]
        if topic == "documents":
            groups += [str(i) for i in range(1, len(dossier(seed()[code]).cases) + 1)]
        for group in groups:
            out += [(f"{topic} {group or ''}".strip(), d) for d in drafts(code, topic, group)]
    return out


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
    "entry", [e for e in ENTRIES if e.get("cases")], ids=ids([e for e in ENTRIES if e.get("cases")])
)
def test_the_cases_are_offered_by_name(entry: dict[str, Any]) -> None:
    """The documents answer's case buttons, in order: what a citizen picks from."""
    [first] = drafts(entry["code"], "documents")
    titles = [b.title for b in first.buttons]
    assert titles[: len(entry["cases"])] == entry["cases"], titles


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_every_answer_reads_whole_on_the_web_chat_and_on_zalo(entry: dict[str, Any]) -> None:
    for what, draft in every_answer(entry["code"]):
        context = f"{entry['code']} {what}:\n{draft.text}"
        assert "…" not in draft.text, context  # never cut mid-phrase
        assert "bấm" not in draft.text.lower() and " nút " not in draft.text.lower(), context
        zalo = numbered_fallback(
            OutboundMessage(ConversationKey("zalo_bot", "c1"), draft.text, draft.buttons, draft.links)
        )
        numbered = [line for line in zalo.splitlines() if line[:1].isdigit() and ". " in line[:4]]
        if draft.buttons:
            # the only numbered lines are the choices, each once, 1..n: a reply "2" means one thing
            assert [line.split(". ", 1)[0] for line in numbered] == [
                str(i) for i in range(1, len(draft.buttons) + 1)
            ], f"{context}\n-- on Zalo:\n{zalo}"


@pytest.mark.parametrize("entry", CATALOGUE_ONLY, ids=ids(CATALOGUE_ONLY))
@pytest.mark.parametrize("topic", list(TOPICS.values()))
def test_a_catalogue_only_procedure_says_what_the_catalogue_knows(entry: dict[str, Any], topic: str) -> None:
    text = said(entry, topic)
    for fragment in entry["all"]:
        assert fragment in text
