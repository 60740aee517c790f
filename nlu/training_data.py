"""Rasa 3 YAML NLU training data: a loader into plain dataclasses and a writer back to YAML.

The format is the one ``rasa train nlu`` reads (``version: "3.1"`` with an ``nlu:`` list)::

    nlu:
    - intent: ask_documents
      examples: |
        - làm [giấy phép xây dựng](procedure) cần giấy tờ gì
        - [gplx]{"entity": "procedure", "value": "giấy phép lái xe"} hết hạn đổi ở đâu
    - synonym: giấy phép lái xe
      examples: |
        - bằng lái
    - regex: dossier_code
      examples: |
        - \\d{3}\\.\\d{2}\\.\\d{2}\\.[A-Z]\\d{2}-\\d{6}-\\d{4}
    - lookup: procedure
      examples: |
        - giấy khai sinh

Inline annotations ``[text](entity)``, ``[text](entity:value)`` (Rasa 1 shorthand) and
``[text]{"entity": ..., "value": ..., "role": ..., "group": ...}`` are parsed out of the example text
into :class:`EntitySpan` records whose offsets index the plain text. An annotation whose value differs
from its text also adds that text as a synonym of the value, as Rasa does.

Mistakes stop the load with a :class:`TrainingDataError` that names the file, the line and shows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FORMAT_VERSION = "3.1"
_ANNOTATION_RE = re.compile(r"\[(?P<text>[^\[\]\n]+?)\](?:\((?P<short>[^()\n]+)\)|(?P<json>\{[^{}\n]*\}))")
_SECTION_KEYS = ("intent", "synonym", "regex", "lookup")
_ITEM_KEYS = {*_SECTION_KEYS, "examples", "metadata"}
_ENTITY_NAME_RE = re.compile(r"^[A-Za-z_][\w\-.]*$")


class TrainingDataError(ValueError):
    """Training data that cannot be read, with the place it was found.

    Attributes:
        source: the file name (or ``"<string>"``).
        line: 1-based line number, when known.
        context: the offending source line, when known.
    """

    def __init__(self, message: str, source: str = "<string>", line: int | None = None, context: str = ""):
        self.source = source
        self.line = line
        self.context = context
        where = f"{source}:{line}" if line else source
        text = f"{where}: {message}"
        if context:
            text += f"\n    {context.strip()}"
        super().__init__(text)


_Fail = Callable[..., TrainingDataError]
"""Builds the error for a message at a YAML node or line (the parser's ``fail``)."""


@dataclass(frozen=True)
class EntitySpan:
    """One annotated entity inside an example.

    Attributes:
        start: offset of the first character in the plain example text.
        end: offset just past the last character.
        entity: entity type (``procedure``, ``dossier_code`` …).
        value: canonical value; equals the covered text unless the annotation gave one.
        role: optional Rasa entity role.
        group: optional Rasa entity group.
    """

    start: int
    end: int
    entity: str
    value: str
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Example:
    """One training utterance.

    Attributes:
        text: the plain text, annotations removed.
        intent: the intent it is an example of.
        entities: annotated spans, in text order.
        metadata: the example's (or its intent's) Rasa metadata, if any.
        line: source line, for messages only (not compared).
    """

    text: str
    intent: str
    entities: tuple[EntitySpan, ...] = ()
    metadata: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    line: int | None = field(default=None, compare=False)


@dataclass
class TrainingData:
    """Everything an NLU file holds.

    Attributes:
        examples: intent examples in file order.
        synonyms: canonical value -> the texts that mean it (explicit and from annotations).
        regexes: name -> patterns.
        lookups: name -> lookup-table entries.
        warnings: problems that do not stop training (e.g. one text under two intents).
    """

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def intents(self) -> list[str]:
        """Intent names in order of first appearance."""
        return list(dict.fromkeys(ex.intent for ex in self.examples))

    @property
    def entity_types(self) -> list[str]:
        """Entity types used in annotations, in order of first appearance."""
        return list(dict.fromkeys(e.entity for ex in self.examples for e in ex.entities))

    def synonym_map(self) -> dict[str, str]:
        """Variant text (lower-cased) -> canonical value."""
        return {v.lower(): canon for canon, variants in self.synonyms.items() for v in variants}

    def add_synonym(self, value: str, variant: str) -> None:
        """Record ``variant`` as another way to say ``value`` (no-op when equal or known)."""
        if variant == value:
            return
        variants = self.synonyms.setdefault(value, [])
        if variant not in variants:
            variants.append(variant)

    def merge(self, other: TrainingData) -> TrainingData:
        """A new object holding the examples and tables of both."""
        out = TrainingData(
            examples=[*self.examples, *other.examples], warnings=[*self.warnings, *other.warnings]
        )
        for src in (self, other):
            for canon, variants in src.synonyms.items():
                for v in variants:
                    out.add_synonym(canon, v)
            for name, patterns in src.regexes.items():
                out.regexes.setdefault(name, []).extend(p for p in patterns if p not in out.regexes[name])
            for name, items in src.lookups.items():
                out.lookups.setdefault(name, []).extend(i for i in items if i not in out.lookups[name])
        return out

    def counts(self) -> dict[str, int]:
        """Number of examples per intent."""
        out: dict[str, int] = {}
        for ex in self.examples:
            out[ex.intent] = out.get(ex.intent, 0) + 1
        return out


# ----------------------------------------------------------------------------------------- annotation


def parse_annotated(
    text: str, *, source: str = "<string>", line: int | None = None
) -> tuple[str, list[EntitySpan]]:
    """Split an annotated example into its plain text and entity spans.

    Args:
        text: one example line without its leading ``- ``.
        source: file name used in errors.
        line: line number used in errors.

    Returns:
        The plain text and its spans (offsets into the plain text).

    Raises:
        TrainingDataError: bad JSON, a missing entity name, or stray brackets around an annotation.
    """
    plain: list[str] = []
    spans: list[EntitySpan] = []
    pos = 0
    length = 0
    for m in _ANNOTATION_RE.finditer(text):
        before = text[pos : m.start()]
        plain.append(before)
        length += len(before)
        covered = m.group("text")
        entity, value, role, group = _annotation_fields(m, source, line, text)
        start = length
        plain.append(covered)
        length += len(covered)
        spans.append(EntitySpan(start, length, entity, value if value is not None else covered, role, group))
        pos = m.end()
    plain.append(text[pos:])
    result = "".join(plain)
    rest = _ANNOTATION_RE.sub("", text)
    if re.search(r"\][({]", rest):
        raise TrainingDataError(
            "malformed entity annotation (expected [text](entity) or [text]{...})", source, line, text
        )
    return result, spans


def _annotation_fields(
    m: re.Match[str], source: str, line: int | None, text: str
) -> tuple[str, str | None, str | None, str | None]:
    if m.group("short") is not None:
        short = m.group("short").strip()
        entity, _, value = short.partition(":")
        entity = entity.strip()
        if not _ENTITY_NAME_RE.match(entity):
            raise TrainingDataError(f"bad entity name {entity!r} in annotation", source, line, text)
        return entity, (value.strip() or None), None, None
    try:
        spec = json.loads(m.group("json"))
    except json.JSONDecodeError as exc:
        raise TrainingDataError(
            f"entity annotation is not valid JSON: {exc.msg}", source, line, text
        ) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str) or not spec["entity"]:
        raise TrainingDataError('entity annotation needs a string "entity" key', source, line, text)
    unknown = set(spec) - {"entity", "value", "role", "group"}
    if unknown:
        raise TrainingDataError(f"unknown annotation keys: {', '.join(sorted(unknown))}", source, line, text)
    value = spec.get("value")
    return (
        spec["entity"],
        None if value is None else str(value),
        None if spec.get("role") is None else str(spec["role"]),
        None if spec.get("group") is None else str(spec["group"]),
    )


def annotate(text: str, entities: Iterable[EntitySpan]) -> str:
    """The inverse of :func:`parse_annotated`: put annotations back into plain text."""
    out: list[str] = []
    pos = 0
    for ent in sorted(entities, key=lambda e: e.start):
        if ent.start < pos:
            continue  # overlapping spans cannot be written inline; keep the first
        covered = text[ent.start : ent.end]
        out.append(text[pos : ent.start])
        if ent.value == covered and ent.role is None and ent.group is None:
            out.append(f"[{covered}]({ent.entity})")
        else:
            spec: dict[str, str] = {"entity": ent.entity}
            if ent.value != covered:
                spec["value"] = ent.value
            if ent.role is not None:
                spec["role"] = ent.role
            if ent.group is not None:
                spec["group"] = ent.group
            out.append(f"[{covered}]{json.dumps(spec, ensure_ascii=False)}")
        pos = ent.end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------------------------- loader


def load_training_data(paths: str | Path | Iterable[str | Path]) -> TrainingData:
    """Read one NLU file, a directory of ``*.yml``/``*.yaml`` files, or several of either, merged.

    Raises:
        TrainingDataError: unreadable file or invalid content (with file and line).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    data = TrainingData()
    for path in _expand(paths):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TrainingDataError(f"cannot read file: {exc}", str(path)) from None
        data = data.merge(parse_training_data(text, source=str(path)))
    return data


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(x for x in path.rglob("*") if x.suffix in (".yml", ".yaml"))
        else:
            yield path


def parse_training_data(text: str, source: str = "<string>") -> TrainingData:
    """Parse the content of one Rasa YAML NLU file.

    Args:
        text: the YAML text.
        source: name used in error messages.

    Raises:
        TrainingDataError: invalid YAML or content, with line context.
    """
    lines = text.splitlines()

    def ctx(line: int | None) -> str:
        return lines[line - 1] if line and 0 < line <= len(lines) else ""

    def fail(message: str, node: yaml.Node | None = None, line: int | None = None) -> TrainingDataError:
        if node is not None:
            line = node.start_mark.line + 1
        return TrainingDataError(message, source, line, ctx(line))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TrainingDataError(f"invalid YAML: {problem}", source, line, ctx(line)) from None
    data = TrainingData()
    if root is None:
        return data
    if not isinstance(root, yaml.MappingNode):
        raise fail("top level must be a mapping with an 'nlu' key", root)
    top = {k.value: v for k, v in root.value}
    version = top.get("version")
    if version is not None and not str(version.value).startswith("3"):
        raise fail(f"unsupported training data version {version.value!r} (expected 3.x)", version)
    nlu = top.get("nlu")
    if nlu is None:
        return data
    if not isinstance(nlu, yaml.SequenceNode):
        raise fail("'nlu' must be a list of intent/synonym/regex/lookup items", nlu)
    seen: dict[str, tuple[str, int | None]] = {}
    for item in nlu.value:
        _parse_item(item, data, seen, fail, source)
    return data


def _parse_item(
    item: yaml.Node, data: TrainingData, seen: dict[str, tuple[str, int | None]], fail: _Fail, source: str
) -> None:
    if not isinstance(item, yaml.MappingNode):
        raise fail("each 'nlu' item must be a mapping", item)
    fields = {k.value: v for k, v in item.value}
    unknown = set(fields) - _ITEM_KEYS
    if unknown:
        raise fail(
            f"unknown key(s) {', '.join(sorted(unknown))}; expected one of {', '.join(_SECTION_KEYS)}", item
        )
    kinds = [k for k in _SECTION_KEYS if k in fields]
    if len(kinds) != 1:
        raise fail("an 'nlu' item needs exactly one of intent, synonym, regex, lookup", item)
    kind = kinds[0]
    name_node = fields[kind]
    if not isinstance(name_node, yaml.ScalarNode) or not str(name_node.value).strip():
        raise fail(f"'{kind}' must be a non-empty name", name_node)
    name = str(name_node.value).strip()
    if "examples" not in fields:
        raise fail(f"{kind} '{name}' has no 'examples'", item)
    metadata = None
    if "metadata" in fields:
        metadata = yaml.safe_load(yaml.serialize(fields["metadata"]))
    entries = list(_example_lines(fields["examples"], fail))
    if not entries:
        raise fail(f"{kind} '{name}' has no examples", fields["examples"])
    for line_no, raw, ex_meta in entries:
        if kind == "intent":
            plain, spans = parse_annotated(raw, source=source, line=line_no)
            plain_stripped = plain.strip()
            if not plain_stripped:
                raise fail("empty example text", line=line_no)
            if plain != plain_stripped:
                shift = len(plain) - len(plain.lstrip())
                spans = [
                    EntitySpan(s.start - shift, s.end - shift, s.entity, s.value, s.role, s.group)
                    for s in spans
                ]
            for span in spans:
                data.add_synonym(span.value, plain_stripped[span.start : span.end])
            key = plain_stripped.lower()
            if key in seen and seen[key][0] != name:
                data.warnings.append(
                    f"{source}:{line_no}: {plain_stripped!r} is an example of both "
                    f"'{seen[key][0]}' (line {seen[key][1]}) and '{name}'"
                )
            seen.setdefault(key, (name, line_no))
            data.examples.append(Example(plain_stripped, name, tuple(spans), ex_meta or metadata, line_no))
        elif kind == "synonym":
            data.add_synonym(name, raw)
        elif kind == "regex":
            try:
                re.compile(raw)
            except re.error as exc:
                raise fail(f"regex '{name}' has an invalid pattern: {exc}", line=line_no) from None
            patterns = data.regexes.setdefault(name, [])
            if raw not in patterns:
                patterns.append(raw)
        else:
            items = data.lookups.setdefault(name, [])
            if raw not in items:
                items.append(raw)


def _example_lines(node: yaml.Node, fail: _Fail) -> Iterator[tuple[int, str, dict[str, Any] | None]]:
    """(line, text, metadata) for each example of an ``examples`` value (block string or list)."""
    if isinstance(node, yaml.ScalarNode):
        # A block scalar starts on the line of its indicator ("|"); its content follows line by line.
        block = node.style in ("|", ">")
        first = node.start_mark.line + (2 if block else 1)
        for offset, line in enumerate(str(node.value).split("\n")):
            stripped = line.strip()
            if not stripped:
                continue
            line_no = first + offset if block else first
            if not stripped.startswith("-"):
                raise fail("each example must start with '- '", line=line_no)
            text = stripped[1:].strip()
            if not text:
                raise fail("empty example", line=line_no)
            yield line_no, text, None
        return
    if isinstance(node, yaml.SequenceNode):
        for entry in node.value:
            line_no = entry.start_mark.line + 1
            if isinstance(entry, yaml.MappingNode):
                value = yaml.safe_load(yaml.serialize(entry))
                if not isinstance(value.get("text"), str) or not value["text"].strip():
                    raise fail("example mapping needs a non-empty 'text'", entry)
                yield line_no, value["text"].strip(), value.get("metadata")
            elif isinstance(entry, yaml.ScalarNode) and str(entry.value).strip():
                yield line_no, str(entry.value).strip(), None
            else:
                raise fail("bad example entry", entry)
        return
    raise fail("'examples' must be a block of '- text' lines", node)


# --------------------------------------------------------------------------------------------- writer


def dump_training_data(data: TrainingData) -> str:
    """Rasa 3 YAML text for ``data``; :func:`parse_training_data` of it gives ``data`` back.

    Synonyms implied by annotations are written as explicit ``synonym`` items, which Rasa treats the
    same way.

    Raises:
        ValueError: an example or table entry that cannot be written on one line.
    """
    out = [f'version: "{FORMAT_VERSION}"', "", "nlu:"]
    by_intent: dict[str, list[Example]] = {}
    for ex in data.examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    for intent, examples in by_intent.items():
        out.append(f"- intent: {_scalar(intent)}")
        out.append("  examples: |")
        out.extend(f"    - {_line(annotate(ex.text, ex.entities))}" for ex in examples)
    for kind, table in (("synonym", data.synonyms), ("regex", data.regexes), ("lookup", data.lookups)):
        for name, items in table.items():
            if not items:
                continue
            out.append(f"- {kind}: {_scalar(name)}")
            out.append("  examples: |")
            out.extend(f"    - {_line(item)}" for item in items)
    return "\n".join(out) + "\n"


def write_training_data(data: TrainingData, path: str | Path) -> None:
    """Write ``data`` as a Rasa 3 YAML file (UTF-8), creating parent folders."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_training_data(data), encoding="utf-8")


def _line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError(f"cannot write a multi-line entry to NLU YAML: {text!r}")
    return text.strip()


def _scalar(name: str) -> str:
    dumped = yaml.safe_dump(name, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()
