"""Pattern entities: dossier codes, phone numbers, citizen ID numbers, dates, and the data's regexes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from knowledge.text import fold
from nlu.component import Component, ComponentSettings, ConfigError, register
from nlu.message import Message, TrainingSet

_SEP = r"[\s.\-]?"

# Builtin patterns run on the folded, lower-cased text (``Message.match_text``).
BUILTIN_PATTERNS: dict[str, re.Pattern[str]] = {
    # National dossier codes: <agency code>-<yymmdd>-<sequence>, e.g. 000.00.24.H12-250301-0007,
    # H12.22.10-240115-0123, G01.101-230512-0001.
    "dossier_code": re.compile(r"(?<![\w.\-])[0-9a-z]{1,4}(?:\.[0-9a-z]{1,4}){1,5}-\d{6}-\d{4,6}(?![\w\-])"),
    # Citizen ID (căn cước / CCCD): 12 digits starting with the 0xx province code, optionally grouped.
    "id_number": re.compile(r"(?<![\d.\-])0\d{2}[ .]?\d{3}[ .]?\d{3}[ .]?\d{3}(?![\d\-]|\.\d)"),
    # Mobile (0 + 9 digits) and landline (02x + 8 digits), with +84 / 84 and separators.
    "phone": re.compile(
        r"(?<![\d+])(?:\+?84"
        + _SEP
        + r"|0)(?:[35789]\d(?:"
        + _SEP
        + r"\d){7}|2\d(?:"
        + _SEP
        + r"\d){8})(?![\d])"
    ),
    "date": re.compile(
        r"(?<![\d/.\-])(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})(?![\d/])"
        r"|(?<!\w)ngay\s+(?P<d2>\d{1,2})\s*(?:thang\s+|/)(?P<m2>\d{1,2})(?:\s*(?:nam\s+|/)(?P<y2>\d{4}))?(?![\d/])"
        r"|(?<![\d/])(?P<d3>\d{1,2})\s+thang\s+(?P<m3>\d{1,2})(?:\s+nam\s+(?P<y3>\d{4}))?(?!\d)"
        r"|(?<![\w/.\-])(?P<d4>\d{1,2})/(?P<m4>\d{1,2})(?![\d/])"
    ),
}


def _date_value(m: re.Match[str]) -> str | None:
    for n in "1234":
        groups = m.groupdict()
        day, month, year = groups.get(f"d{n}"), groups.get(f"m{n}"), groups.get(f"y{n}")
        if day is None or month is None:  # the patterns capture a day and a month together
            continue
        d, mo = int(day), int(month)
        if not (1 <= d <= 31 and 1 <= mo <= 12):
            return None
        if year is None:
            return f"--{mo:02d}-{d:02d}"
        y = int(year)
        y = y + 2000 if y < 100 else y
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def _value(name: str, m: re.Match[str], typed: str) -> str | None:
    if name == "date":
        return _date_value(m)
    if name == "id_number":
        return re.sub(r"\D", "", typed)
    if name == "phone":
        digits = re.sub(r"\D", "", typed)
        return "0" + digits[2:] if digits.startswith("84") and len(digits) > 10 else digits
    if name == "dossier_code":
        return typed.upper()
    return typed


def _overlaps(span: tuple[int, int], taken: Sequence[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


class RegexEntitySettings(ComponentSettings):
    """Settings of :class:`RegexEntityExtractor`.

    Attributes:
        patterns: builtin patterns to use, in priority order (dossier_code, id_number, phone, date);
            the names match the ``regex:`` tables of ``data/nlu.yml``.
        use_regexes: also use the training data's ``regex:`` tables (entity = table name).
        use_lookup_tables: also use ``lookup:`` tables (whole-word, diacritic-insensitive).
        lookup_tables_skip: lookup tables never used here (procedures have their own extractor).
    """

    patterns: list[str] = Field(default_factory=lambda: list(BUILTIN_PATTERNS))
    use_regexes: bool = True
    use_lookup_tables: bool = False
    lookup_tables_skip: list[str] = Field(default_factory=lambda: ["procedure"])


@register
class RegexEntityExtractor(Component):
    """Pattern entities: dossier codes, phone numbers, citizen ID numbers, dates (value normalized).

    Values: dossier codes upper-cased; phone numbers and ID numbers as digits (``+84`` -> ``0``); dates
    as ISO ``YYYY-MM-DD`` or ``--MM-DD`` when the year is not given. Where matches overlap, the earlier
    pattern in ``patterns`` wins, then the training data's regexes.
    """

    name = "RegexEntityExtractor"
    Settings = RegexEntitySettings
    settings: RegexEntitySettings

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(settings, context)
        unknown = [p for p in self.settings.patterns if p not in BUILTIN_PATTERNS]
        if unknown:
            raise ConfigError(f"{self.name}: unknown patterns {unknown}; known: {list(BUILTIN_PATTERNS)}")
        self.regexes: dict[str, list[str]] = {}
        self._compiled: list[tuple[str, re.Pattern[str]]] = []

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Collect the training data's regex (and optionally lookup) tables."""
        tables: dict[str, list[str]] = {}
        if self.settings.use_regexes:
            tables.update({k: list(v) for k, v in training.data.regexes.items()})
        if self.settings.use_lookup_tables:
            for name, items in training.data.lookups.items():
                if name in self.settings.lookup_tables_skip:
                    continue
                words = sorted(
                    {re.escape(fold(i).lower()) for i in items if i.strip()}, key=len, reverse=True
                )
                if words:
                    tables.setdefault(name, []).append(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)")
        self.load({"regexes": tables})

    def process(self, message: Message) -> None:
        """Append the pattern entities found in the message."""
        if not message.match_offsets:
            return
        taken: list[tuple[int, int]] = [(e["start"], e["end"]) for e in message.entities]
        found: list[dict[str, Any]] = []
        for name in self.settings.patterns:
            for m in BUILTIN_PATTERNS[name].finditer(message.match_text):
                start, end = message.original_span(m.start(), m.end())
                if _overlaps((start, end), taken):
                    continue
                value = _value(name, m, message.text[start:end])
                if value is None:
                    continue
                taken.append((start, end))
                found.append(self._entity(name, value, start, end))
        for name, pattern in self._compiled:
            target = message.match_text if pattern.flags & re.ASCII else message.text
            for m in pattern.finditer(target):
                if m.end() <= m.start():
                    continue
                if target is message.text:
                    start, end = m.start(), m.end()
                else:
                    start, end = message.original_span(m.start(), m.end())
                if _overlaps((start, end), taken):
                    continue
                taken.append((start, end))
                found.append(self._entity(name, message.text[start:end], start, end))
        message.entities.extend(sorted(found, key=lambda e: e["start"]))

    def _entity(self, name: str, value: str, start: int, end: int) -> dict[str, Any]:
        return {
            "entity": name,
            "value": value,
            "start": start,
            "end": end,
            "confidence": 1.0,
            "extractor": self.name,
        }

    def persist(self) -> dict[str, Any]:
        """The training data's regex tables."""
        return {"regexes": {k: list(v) for k, v in self.regexes.items()}}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore and compile the regex tables."""
        self.regexes = {k: list(v) for k, v in state.get("regexes", {}).items()}
        self._compiled = []
        for name, patterns in self.regexes.items():
            for pattern in patterns:
                try:
                    flags = re.IGNORECASE | (re.ASCII if pattern.isascii() and "(?<!\\w)" in pattern else 0)
                    self._compiled.append((name, re.compile(pattern, flags)))
                except re.error as exc:
                    raise ConfigError(f"{self.name}: regex {name!r} is invalid: {exc}") from None
