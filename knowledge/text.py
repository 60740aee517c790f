"""Vietnamese text helpers and the citizen-words files, shared by the search index, the FAQ matcher
and the NLU.

Citizens type with and without diacritics, with old and new tone-mark placement ("hòa" / "hoà"),
decomposed Unicode from some phone keyboards, and abbreviations. Everything that compares text goes
through :func:`normalize` (diacritics kept, canonical form), :func:`fold` (diacritics removed) and
:func:`fold_iy` (folded, "ky" and "ki" made one).

The abbreviation map (``data/abbreviations.yml``) and the aliases (``data/aliases.yml``) are read here
and only here (:func:`load_abbreviations`, :func:`load_aliases`), so the search index and the NLU
expand and recognise the same words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "D"})
_WORD_RE = re.compile(r"[0-9a-zà-ỹđ]+(?:[.\-/][0-9a-zà-ỹđ]+)*", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")

# Old-style tone placement on open syllables -> new style (hòa -> hoà, thủy -> thuỷ).
_TONES = "\u0300\u0301\u0309\u0303\u0323"  # grave, acute, hook, tilde, dot below
_OLD_TO_NEW: dict[str, str] = {}
for _tone in _TONES:
    for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
        for _case in (str.lower, str.upper):
            old = unicodedata.normalize("NFC", _case(_first) + _tone + _case(_second))
            new = unicodedata.normalize("NFC", _case(_first) + _case(_second) + _tone)
            _OLD_TO_NEW[old] = new
_OLD_TONE_RE = re.compile(
    "(?<![qQ])(" + "|".join(re.escape(k) for k in _OLD_TO_NEW) + r")(?![0-9a-zà-ỹđ])", re.IGNORECASE
)

MAX_CHARS = 2000
"""Longest text the normalizer keeps; longer messages are cut here (documented in docs/nlu.md)."""

_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ALIASES_PATH = _DATA_DIR / "aliases.yml"
"""The shipped aliases file: citizen words per procedure code."""
ABBREVIATIONS_PATH = _DATA_DIR / "abbreviations.yml"
"""The shipped abbreviation map: folded token -> expansion."""


def clean(text: str) -> str:
    """NFC, control characters removed, white space folded, cut to :data:`MAX_CHARS`."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text[: MAX_CHARS * 2])
    text = _CONTROL_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()[:MAX_CHARS]


def fix_tone_marks(text: str) -> str:
    """Move tone marks of open oa/oe/uy syllables to the new-style position."""
    return _OLD_TONE_RE.sub(lambda m: _OLD_TO_NEW.get(m.group(1), m.group(1)), text)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Remove every diacritic and map đ to d: ``"Đăng ký"`` -> ``"Dang ky"``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; codes such as ``1.013225`` or ``H12-250301`` stay whole."""
    return _WORD_RE.findall(text.lower())


def normalize(text: str, abbreviations: Mapping[str, str] | None = None) -> str:
    """Canonical lower-case text with diacritics kept and abbreviations expanded.

    Args:
        text: raw user text.
        abbreviations: map of a folded token (``"ko"``, ``"gpxd"``) to its expansion.
    """
    text = fix_tone_marks(clean(text).lower())
    if not abbreviations:
        return " ".join(tokenize(text))
    out: list[str] = []
    for tok in tokenize(text):
        out.append(abbreviations.get(tok) or abbreviations.get(fold(tok)) or tok)
    return " ".join(out)


_I_Y_RE = re.compile(r"\b([bcdhklmnpstv])y\b")


def fold_iy(text: str) -> str:
    """:func:`fold`, then a lone consonant + y as consonant + i: ``"đăng ký"`` -> ``"dang ki"``.

    Both spellings "ký"/"kí", "lý"/"lí" are in use, so they must compare equal. Only a whole syllable
    changes (between word boundaries, so also "ky" in "ky/thay"), never the y of "thuy" or "yeu".
    The search index, the FAQ matcher and the NLU normalizer all fold words this way.
    """
    folded = fold(text)
    return _I_Y_RE.sub(r"\1i", folded) if "y" in folded else folded


def fold_normalized(text: str, abbreviations: Mapping[str, str] | None = None) -> str:
    """:func:`normalize` then :func:`fold_iy`: the form used for matching."""
    return fold_iy(normalize(text, abbreviations))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (used to split evaluations)."""
    return fold(text) != text


# --- the citizen-words files -----------------------------------------------------------------------


class VocabularyFileError(ValueError):
    """An abbreviations or aliases file that cannot be read or does not have the documented shape."""


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyFileError(f"cannot read {what} file {path}: {exc}") from None


def load_abbreviations(path: Path = ABBREVIATIONS_PATH) -> dict[str, str]:
    """The abbreviation map of ``abbreviations: {token: expansion}`` (or a bare mapping) in ``path``.

    Keys are folded, lower-cased and stripped, so they match :func:`normalize`'s folded lookup and
    the NLU normalizer's; entries with an empty key or expansion are skipped. An absent file is an
    empty map (a deployment may have none); the NLU normalizer, configured with an explicit path,
    refuses a missing file itself.

    Raises:
        VocabularyFileError: unreadable YAML or wrong shape.
    """
    if not path.exists():
        return {}
    raw = _read_yaml(path, "abbreviations")
    table = raw.get("abbreviations", raw) if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise VocabularyFileError(f"{path}: expected a mapping 'abbreviations: {{token: expansion}}'")
    return {fold(str(k)).lower().strip(): str(v).strip() for k, v in table.items() if str(k).strip() and v}


def load_aliases(path: Path = ALIASES_PATH) -> dict[str, list[str]]:
    """Citizen words per procedure code from ``procedures: [{code, aliases: [...]}]`` in ``path``.

    An absent file is an empty map; the NLU's mention extractor, configured with an explicit path,
    refuses a missing file itself.

    Raises:
        VocabularyFileError: unreadable YAML, no ``procedures`` list, or an entry without ``code``.
    """
    if not path.exists():
        return {}
    raw = _read_yaml(path, "aliases")
    entries = raw.get("procedures") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise VocabularyFileError(f"{path}: expected 'procedures: [{{code, aliases}}]'")
    out: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "code" not in entry:
            raise VocabularyFileError(f"{path}: every procedure entry needs a 'code'")
        out.setdefault(str(entry["code"]), []).extend(str(a) for a in entry.get("aliases") or ())
    return out


def load_alias_contexts(path: Path = ALIASES_PATH) -> dict[str, list[str]]:
    """Aliases that name their procedures only in some contexts, from ``contexts: [{alias, not_with}]``
    in ``path``: alias -> the words next to which it names nothing ("nhập khẩu" beside "hàng hóa" is an
    import, not a household registration). An absent file or section is an empty map.

    Raises:
        VocabularyFileError: unreadable YAML, or an entry without ``alias`` or with a ``not_with`` that
            is not a list.
    """
    if not path.exists():
        return {}
    raw = _read_yaml(path, "aliases")
    entries = (raw.get("contexts") if isinstance(raw, dict) else None) or []
    if not isinstance(entries, list):
        raise VocabularyFileError(f"{path}: expected 'contexts: [{{alias, not_with}}]'")
    out: dict[str, list[str]] = {}
    for entry in entries:
        words = entry.get("not_with") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not entry.get("alias") or not isinstance(words, list):
            raise VocabularyFileError(f"{path}: every context entry needs an 'alias' and a 'not_with' list")
        out.setdefault(str(entry["alias"]), []).extend(str(w) for w in words)
    return out


def clip(text: str, limit: int) -> str:
    """One-line text cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


_LIST_MARKER_RE = re.compile(
    r"^(?:[-+•*\uf0fc]\s*|\(?[a-zđ]\)\s*|\(?\d+(?:\.\d+)*[.)]\s*|\(?[ivx]+\)\s+)+", re.IGNORECASE
)


def strip_list_marker(text: str) -> str:
    """``text`` without the list markers the portal puts before a paper ("- ", "+ ", "•", "a) ", "1. ",
    "(2) ", "(ii) "): one reader for the knowledge base's case reading and the answers' short names."""
    return _LIST_MARKER_RE.sub("", text)
