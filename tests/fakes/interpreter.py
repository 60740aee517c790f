"""A deterministic fake of :class:`bot.core.ports.Interpreter` for engine and transcript tests.

Rules are keyed by text fragments, compared without diacritics and case ("lệ phí" matches "le phi"):

* the first :class:`IntentRule` whose fragment occurs gives the intent (``exact`` rules must match the
  whole message, for short replies such as "có" or "không");
* the first :class:`ProcedureRule` whose fragment occurs gives the procedure ranking; the top candidate is
  linked as ``procedure`` when its score reaches :data:`LINK_THRESHOLD`;
* a message with a linked procedure and no intent asks for the overview; a message with neither is
  ``nlu_fallback``, keeping any weak candidates in ``procedure_ranking`` (as the real fallback does);
* dossier codes (``H12.22-250315-0001``) become ``dossier_code`` entities.

Every text parsed is recorded in ``calls``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.text import fold
from tests import factories as f

LINK_THRESHOLD = 0.5


@dataclass(frozen=True)
class IntentRule:
    """Fragment -> intent."""

    fragment: str
    intent: str
    confidence: float = 0.93
    exact: bool = False


@dataclass(frozen=True)
class ProcedureRule:
    """Fragment -> ranked procedure candidates ``((code, score), ...)``."""

    fragment: str
    ranking: tuple[tuple[str, float], ...]


_GPXD_FAMILY = ((f.GPXD_NEW, 0.74), (f.GPXD_ADJUST, 0.72), (f.GPXD_RENEW, 0.71), (f.GPXD_REISSUE, 0.70))

DEFAULT_INTENTS: tuple[IntentRule, ...] = (
    IntentRule("co", "affirm", exact=True),
    IntentRule("vang", "affirm", exact=True),
    IntentRule("dung roi", "affirm", exact=True),
    IntentRule("ok", "affirm", exact=True),
    IntentRule("khong", "deny", exact=True),
    IntentRule("thoi", "deny", exact=True),
    IntentRule("tam biet", "goodbye"),
    IntentRule("cam on", "thank"),
    IntentRule("xin chao", "greet"),
    IntentRule("chao ban", "greet"),
    IntentRule("gap can bo", "request_human"),
    IntentRule("nguoi that", "request_human"),
    IntentRule("tra cuu ho so", "check_dossier_status"),
    IntentRule("ho so cua toi", "check_dossier_status"),
    IntentRule("gop y", "give_feedback"),
    IntentRule("thoi tiet", "out_of_scope"),
    IntentRule("mau don", "ask_forms"),
    IntentRule("cac buoc", "ask_steps"),
    IntentRule("le phi", "ask_fee"),
    IntentRule("bao nhieu tien", "ask_fee"),
    IntentRule("bao lau", "ask_processing_time"),
    IntentRule("nop o dau", "ask_where"),
    IntentRule("lam o dau", "ask_where"),
    IntentRule("online", "ask_channels"),
    IntentRule("truc tuyen", "ask_channels"),
    IntentRule("dieu kien", "ask_conditions"),
    IntentRule("can cu", "ask_legal_basis"),
    IntentRule("nhan duoc gi", "ask_result"),
    IntentRule("giay to gi", "ask_documents"),
    IntentRule("can nhung gi", "ask_documents"),
    IntentRule("sua nha", "nlu_fallback", confidence=0.41),
)

DEFAULT_PROCEDURES: tuple[ProcedureRule, ...] = (
    ProcedureRule("dieu chinh giay phep", ((f.GPXD_ADJUST, 0.93), (f.GPXD_NEW, 0.7))),
    ProcedureRule("gia han giay phep", ((f.GPXD_RENEW, 0.93), (f.GPXD_NEW, 0.7))),
    ProcedureRule("cap lai giay phep", ((f.GPXD_REISSUE, 0.93), (f.GPXD_NEW, 0.7))),
    ProcedureRule("giay phep xay dung", _GPXD_FAMILY),
    ProcedureRule("gpxd", _GPXD_FAMILY),
    ProcedureRule("sua nha", ((f.GPXD_ADJUST, 0.45), (f.GPXD_NEW, 0.42))),
    ProcedureRule("ket hon", ((f.MARRIAGE, 0.96),)),
    ProcedureRule("khai sinh", ((f.BIRTH, 0.97),)),
)

_DOSSIER_RE = re.compile(r"\b[A-Z0-9]+(?:[.\-][A-Z0-9]+)+\b", re.IGNORECASE)


def _folded(text: str) -> str:
    return " ".join(fold(text.lower()).split())


class FakeInterpreter:
    """Rule-based stand-in for the NLU (see the module docstring).

    Args:
        intents: extra intent rules, tried before the defaults.
        procedures: extra procedure rules, tried before the defaults.
        names: code -> procedure name for the parse (defaults to the factory procedures).
        fail_on: fragments that make ``parse`` raise (to test the engine's error edge).
    """

    def __init__(
        self,
        intents: Iterable[IntentRule] = (),
        procedures: Iterable[ProcedureRule] = (),
        names: Mapping[str, str] | None = None,
        fail_on: Sequence[str] = (),
    ) -> None:
        self.intents = (*intents, *DEFAULT_INTENTS)
        self.procedures = (*procedures, *DEFAULT_PROCEDURES)
        self.names = dict(names) if names is not None else {p.code: p.name for p in f.all_procedures()}
        self.fail_on = tuple(_folded(x) for x in fail_on)
        self.calls: list[str] = []

    def parse(self, text: str) -> dict[str, Any]:
        self.calls.append(text)
        folded = _folded(text)
        if any(frag in folded for frag in self.fail_on):
            raise RuntimeError("fake NLU failure")
        rule = next(
            (
                r
                for r in self.intents
                if (folded == _folded(r.fragment) if r.exact else _folded(r.fragment) in folded)
            ),
            None,
        )
        proc_rule = next((r for r in self.procedures if _folded(r.fragment) in folded), None)
        ranking = [
            {"code": c, "name": self.names.get(c, c), "score": s}
            for c, s in (proc_rule.ranking if proc_rule else ())
        ]
        linked = ranking[0] if ranking and ranking[0]["score"] >= LINK_THRESHOLD else None
        if rule is not None:
            intent, confidence = rule.intent, rule.confidence
        elif linked is not None:
            intent, confidence = "ask_procedure_overview", 0.9
        else:
            intent, confidence = "nlu_fallback", 0.3
        entities = []
        if proc_rule is not None:
            start = folded.find(_folded(proc_rule.fragment))
            entities.append(self._entity("procedure", text[start : start + len(proc_rule.fragment)], start))
        for match in _DOSSIER_RE.finditer(text):
            if any(ch.isdigit() for ch in match.group(0)):
                entities.append(self._entity("dossier_code", match.group(0), match.start()))
        return {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": entities,
            "procedure": linked if intent != "nlu_fallback" else None,
            "procedure_ranking": ranking,
        }

    @staticmethod
    def _entity(name: str, value: str, start: int) -> dict[str, Any]:
        return {
            "entity": name,
            "value": value,
            "start": start,
            "end": start + len(value),
            "confidence": 1.0,
            "extractor": "FakeInterpreter",
        }
