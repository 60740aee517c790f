"""Vietnamese text helpers shared by the search index and the NLU normalizer.

Citizens type with and without diacritics, with old and new tone-mark placement ("hòa" / "hoà"),
decomposed Unicode from some phone keyboards, and abbreviations. Everything that compares text goes
through :func:`normalize` (diacritics kept, canonical form) and :func:`fold` (diacritics removed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

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


def fold_normalized(text: str, abbreviations: Mapping[str, str] | None = None) -> str:
    """:func:`normalize` then :func:`fold`: the form used for matching.

    Both spellings "ký"/"kí", "lý"/"lí" are in use, so a lone consonant + y folds to consonant + i.
    """
    return _I_Y_RE.sub(r"\1i", fold(normalize(text, abbreviations)))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (used to split evaluations)."""
    return fold(text) != text
