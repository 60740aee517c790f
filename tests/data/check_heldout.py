"""Validate the held-out NLU test set against the training data and the shared procedure catalogues.

Run from the repository root::

    .venv/bin/python tests/data/check_heldout.py [--shared /work/shared/data]

Checks:
  * every intent is one of the intents the bot knows;
  * every procedure code exists in the shared index files (national ministries, Ministry of Defence,
    or the first 8 characters of a provincial catalogue code);
  * no held-out text equals a training example after lower-casing, removing diacritics and
    collapsing punctuation (and, as a warning only, none is a near copy of one);
  * prints the counts per intent, the share written without diacritics and the unanswerable count.

Exits 1 when a check fails. The pytest in tests/unit/test_nlu_data.py repeats the structural checks
without needing the shared catalogues.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import os
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PATH = ROOT / "data" / "nlu.yml"
HELDOUT_PATH = ROOT / "tests" / "data" / "nlu_heldout.yml"
DEFAULT_SHARED = Path(os.environ.get("HELPLINE_SHARED_DATA", str(ROOT.parent / "shared" / "data")))

INTENTS = [
    "ask_documents",
    "ask_forms",
    "ask_steps",
    "ask_fee",
    "ask_processing_time",
    "ask_where",
    "ask_channels",
    "ask_conditions",
    "ask_legal_basis",
    "ask_result",
    "ask_procedure_overview",
    "check_dossier_status",
    "request_human",
    "give_feedback",
    "greet",
    "thank",
    "goodbye",
    "affirm",
    "deny",
    "out_of_scope",
]
ASK_INTENTS = [i for i in INTENTS if i.startswith("ask_")] + ["check_dossier_status"]
MIN_HELDOUT_PER_ASK = 10
MIN_HELDOUT = 320
MIN_UNANSWERABLE = 40
NEAR_COPY_RATIO = 0.92

CODE_RE = re.compile(r"^\d\.\d{6}$")
# [entity text](entity) | [entity text](entity:value) | [entity text]{"entity": ...}
ANNOTATION_RE = re.compile(r"\[(?P<text>[^\]]+?)\](?:\([^)]*\)|\{[^}]*\})")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ -> d), collapse everything but letters and digits to one space."""
    text = text.lower().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def has_diacritics(text: str) -> bool:
    """True when the text carries a Vietnamese diacritic or đ."""
    plain = text.replace("đ", "d").replace("Đ", "D")
    plain = "".join(c for c in unicodedata.normalize("NFD", plain) if not unicodedata.combining(c))
    return plain != unicodedata.normalize("NFD", text)


def plain_text(example: str) -> str:
    """A training example without its entity annotations."""
    return ANNOTATION_RE.sub(lambda m: m.group("text"), example)


def training_texts(path: Path = TRAIN_PATH) -> dict[str, str]:
    """Folded training text -> intent, for every intent example in data/nlu.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for item in data.get("nlu", []):
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                out[fold(plain_text(line[2:]))] = item["intent"]
    return out


def catalogue_codes(shared: Path) -> set[str]:
    """National codes (x.xxxxxx) from every shared index file."""
    codes: set[str] = set()

    def read(rel: str, column: str) -> None:
        with (shared / rel).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                code = (row.get(column) or "").strip()[:8]
                if CODE_RE.match(code):
                    codes.add(code)

    read("tthc-national-ministries/index.csv", "ma_thu_tuc")
    read("tthc-bqp-structured/index.csv", "ma_thu_tuc")
    read("tthc-provincial-catalogs/lamdong_1299_procedures.csv", "code")
    read("tthc-provincial-catalogs/langson_1842_procedures.csv", "ma_tthc")
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder of the shared catalogues")
    parser.add_argument("--heldout", type=Path, default=HELDOUT_PATH)
    parser.add_argument("--train", type=Path, default=TRAIN_PATH)
    args = parser.parse_args(argv)

    errors: list[str] = []
    warnings: list[str] = []
    heldout = yaml.safe_load(args.heldout.read_text(encoding="utf-8"))
    items = heldout.get("examples") or []
    train = training_texts(args.train)
    train_keys = list(train)
    codes = catalogue_codes(args.shared)

    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        text, intent = item.get("text", ""), item.get("intent")
        where = f"#{n} {text!r}"
        if intent not in INTENTS:
            errors.append(f"{where}: unknown intent {intent!r}")
        for code in item.get("procedures") or []:
            if code not in codes:
                errors.append(f"{where}: code {code} is in no shared index file")
        key = fold(text)
        if key in train:
            errors.append(f"{where}: equals a training example of {train[key]} after folding")
        else:
            close = difflib.get_close_matches(key, train_keys, n=1, cutoff=NEAR_COPY_RATIO)
            if close:
                warnings.append(f"{where}: near copy of training example {close[0]!r}")
        if key in seen:
            errors.append(f"{where}: duplicated inside the held-out set")
        seen.add(key)

    counts = Counter(item.get("intent") for item in items)
    unanswerable = sum(1 for item in items if item.get("unanswerable"))
    plain = sum(1 for item in items if not has_diacritics(item.get("text", "")))
    if len(items) < MIN_HELDOUT:
        errors.append(f"only {len(items)} held-out examples, want at least {MIN_HELDOUT}")
    if unanswerable < MIN_UNANSWERABLE:
        errors.append(f"only {unanswerable} unanswerable examples, want at least {MIN_UNANSWERABLE}")
    for intent in INTENTS:
        want = MIN_HELDOUT_PER_ASK if intent in ASK_INTENTS else 1
        if counts[intent] < want:
            errors.append(f"intent {intent}: {counts[intent]} held-out examples, want at least {want}")

    print(f"held-out examples: {len(items)} ({len(codes)} catalogue codes, {len(train)} training texts)")
    for intent in INTENTS:
        print(f"  {intent:<24} {counts[intent]:>4}")
    print(f"without diacritics: {plain}/{len(items)} = {plain / max(len(items), 1):.0%}")
    print(f"unanswerable: {unanswerable}")
    for w in warnings:
        print(f"warning: {w}")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
