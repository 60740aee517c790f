"""Moving the learning loop's data in and out: FAQ entries as CSV or YAML, training examples as Rasa
``nlu.yml`` or CSV (the formats are in :mod:`console.learning`).

An import checks the whole file first and writes nothing when anything is wrong
(:class:`console.learning.errors.ImportRefused`, each problem with its line); otherwise it writes
everything in one transaction.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.redact import redact
from console.analytics.report import text_key
from console.auth.users import User
from console.editor.drafts import yes_no
from console.learning.errors import ImportRefused
from console.learning.examples import MAX_EXAMPLE_CHARS, TrainingExamples, code_problem
from console.learning.tables import TrainingExampleRow, key_of
from console.spreadsheet import from_spreadsheet, spreadsheet_safe
from knowledge.importers.parsing import CODE_RE
from knowledge.models import FaqRow
from knowledge.ports import KnowledgeRepository
from nlu.learned import LearnedExample
from nlu.training_data import TrainingDataError, dump_training_data, parse_training_data

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2_000_000
FAQ_CSV_COLUMNS = ("id", "questions", "answer", "procedure_codes", "tags", "enabled")
TRAINING_CSV_COLUMNS = ("text", "intent", "procedure_code")
LIST_SEPARATOR = " | "


@dataclass
class TransferReport:
    """What an import did (or, with ``dry_run``, would do)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when something was created or updated."""
        return bool(self.created or self.updated)

    def summary(self) -> str:
        """The result in one Vietnamese sentence."""
        what = "câu hỏi thường gặp" if self.kind == "faqs" else "câu mẫu huấn luyện"
        return f"Đã nhập {what}: {self.created} mới, {self.updated} cập nhật, {self.unchanged} không đổi."


@dataclass
class _FaqDraft:
    line: int
    id: int | None
    questions: tuple[str, ...]
    answer: str
    procedure_codes: tuple[str, ...]
    tags: tuple[str, ...]
    enabled: bool


class DataTransfer:
    """Export and import of FAQ entries and training examples (see the module doc).

    Args:
        sessions: the database.
        knowledge: the knowledge repository (FAQ entries read; procedure codes checked against it).
        examples: the stored training examples.
        intents: the intents a training example may have.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        knowledge: KnowledgeRepository,
        examples: TrainingExamples,
        intents: Sequence[str],
    ) -> None:
        self._sessions = sessions
        self.knowledge = knowledge
        self.examples = examples
        self.intents = tuple(intents)

    def export_training_yaml(self) -> str:
        """The stored examples as a Rasa 3 ``nlu.yml``."""
        return dump_training_data(self.examples.training_data())

    def export_training_csv(self) -> str:
        """The stored examples as CSV: ``text, intent, procedure_code``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRAINING_CSV_COLUMNS)
        for e in self.examples.all():
            # an example may come from a citizen's message: masked, and never a formula in a spreadsheet
            writer.writerow([spreadsheet_safe(c) for c in (redact(e.text), e.intent, e.procedure_code or "")])
        return out.getvalue()

    def export_faq_csv(self) -> str:
        """Every FAQ entry as CSV: ``id, questions, answer, procedure_codes, tags, enabled``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FAQ_CSV_COLUMNS)
        for f in self.knowledge.list_faqs(enabled_only=False):
            row = [
                f.id,
                LIST_SEPARATOR.join(f.questions),
                f.answer,  # written by editors for citizens: an office's phone number stays whole
                LIST_SEPARATOR.join(f.procedure_codes),
                LIST_SEPARATOR.join(f.tags),
                "có" if f.enabled else "không",
            ]
            writer.writerow([spreadsheet_safe(c) for c in row])
        return out.getvalue()

    def export_faq_yaml(self) -> str:
        """Every FAQ entry in the ``faq:`` format of data/faq.yml, with its id."""
        items = [
            {
                "id": f.id,
                "questions": list(f.questions),
                "answer": f.answer,
                "procedure_codes": list(f.procedure_codes),
                "tags": list(f.tags),
                "enabled": f.enabled,
            }
            for f in self.knowledge.list_faqs(enabled_only=False)
        ]
        return yaml.safe_dump({"faq": items}, allow_unicode=True, sort_keys=False, width=100)

    # import

    def import_faqs(self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User) -> TransferReport:
        """Create or update FAQ entries from a CSV or YAML file (see the module doc).

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        text = _decode(content)
        drafts = self._faq_drafts_csv(text) if fmt == "csv" else self._faq_drafts_yaml(text)
        report = TransferReport("faqs")
        with self._sessions.begin() as session:
            rows = list(session.scalars(select(FaqRow).order_by(FaqRow.id)))
            by_id = {r.id: r for r in rows}
            by_question = {text_key(q): r for r in rows for q in r.questions or ()}
            for d in drafts:
                row = by_id.get(d.id) if d.id is not None else None
                if row is None:
                    row = next((by_question[k] for k in map(text_key, d.questions) if k in by_question), None)
                values = {
                    "questions": list(d.questions),
                    "answer": d.answer,
                    "procedure_codes": list(d.procedure_codes),
                    "tags": list(d.tags),
                    "enabled": d.enabled,
                }
                if row is None:
                    row = FaqRow(**values)
                    session.add(row)
                    session.flush()
                    report.created += 1
                elif all(_same(getattr(row, k), v) for k, v in values.items()):
                    report.unchanged += 1
                    continue
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
                    report.updated += 1
                by_id[row.id] = row
                by_question.update({text_key(q): row for q in d.questions})
        log.info("FAQ import by %s: %s", user.username, report)
        return report

    def import_training(
        self, content: bytes | str, fmt: Literal["csv", "yaml"], user: User
    ) -> TransferReport:
        """Create or update training examples from a Rasa ``nlu.yml`` or a CSV file (see the module doc).

        In ``nlu.yml`` a procedure is a ``procedure`` annotation whose value is its code; an example
        without one keeps the procedure already stored for the same text.

        Raises:
            ImportRefused: anything wrong in the file (nothing written).
        """
        text = _decode(content)
        items = self._examples_csv(text) if fmt == "csv" else self._examples_yaml(text)
        report = TransferReport("training")
        name = user.display_name or user.username
        with self._sessions.begin() as session:
            existing = {r.text_key: r for r in session.scalars(select(TrainingExampleRow))}
            for _, ex, annotated in items:
                row = existing.get(key_of(ex.text))
                code = ex.procedure_code
                if row is not None and not annotated and code is None and row.intent == ex.intent:
                    code = row.procedure_code
                if row is not None and row.intent == ex.intent and row.procedure_code == code:
                    report.unchanged += 1
                    continue
                if row is None:
                    report.created += 1
                else:
                    report.updated += 1
                existing[key_of(ex.text)] = self.examples.put(
                    session, ex.text, ex.intent, code, "import", name
                )
                session.flush()
        log.info("training import by %s: %s", user.username, report)
        return report

    # parsing, all checks before any write

    def _faq_drafts_csv(self, text: str) -> list[_FaqDraft]:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ImportRefused(["Tệp trống."])
        columns = [h.strip().lower() for h in header]
        missing = [c for c in ("questions", "answer") if c not in columns]
        unknown = [c for c in columns if c not in FAQ_CSV_COLUMNS]
        if missing or unknown:
            raise ImportRefused(
                [
                    "Dòng 1: tiêu đề cột phải là " + ", ".join(FAQ_CSV_COLUMNS)
                    + (f"; thiếu cột {', '.join(missing)}" if missing else "")
                    + (f"; không biết cột {', '.join(unknown)}" if unknown else "") + "."
                ]
            )  # fmt: skip
        raw: list[tuple[int, dict[str, Any] | None, str | None]] = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                raw.append((line, None, f"Dòng {line}: có {len(values)} cột, cần {len(columns)}."))
                continue
            cells = [from_spreadsheet(v) for v in values]  # the apostrophe our export put before a formula
            raw.append((line, dict(zip(columns, cells, strict=True)), None))
        return self._faq_drafts(raw)

    def _faq_drafts_yaml(self, text: str) -> list[_FaqDraft]:
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            lines = text.splitlines()
            if mark is not None:
                bad = lines[mark.line].strip() if 0 <= mark.line < len(lines) else ""
                shown = f" («{bad}»)" if bad else " (tệp kết thúc giữa chừng)"
                raise ImportRefused([f"Dòng {mark.line + 1}: tệp không phải YAML hợp lệ{shown}."]) from None
            raise ImportRefused(["Tệp không phải YAML hợp lệ."]) from None
        items = None
        if isinstance(root, yaml.MappingNode):
            items = next((v for k, v in root.value if k.value == "faq"), None)
        if not isinstance(items, yaml.SequenceNode):
            raise ImportRefused(["Dòng 1: tệp YAML phải có khóa «faq:» chứa danh sách câu hỏi."])
        raw: list[tuple[int, dict[str, Any] | None, str | None]] = []
        for node in items.value:
            line = node.start_mark.line + 1
            value = yaml.safe_load(yaml.serialize(node))
            if not isinstance(value, dict):
                raw.append((line, None, f"Dòng {line}: mỗi mục của «faq» phải có questions, answer …"))
                continue
            unknown = set(value) - set(FAQ_CSV_COLUMNS)
            if unknown:
                raw.append(
                    (line, None, f"Dòng {line}: không biết khóa {', '.join(sorted(map(str, unknown)))}.")
                )
                continue
            raw.append((line, value, None))
        return self._faq_drafts(raw)

    def _faq_drafts(self, raw: list[tuple[int, dict[str, Any] | None, str | None]]) -> list[_FaqDraft]:
        problems: list[str] = []
        drafts = []
        seen_ids: dict[int, int] = {}
        seen_questions: dict[str, int] = {}
        for line, value, problem in raw:
            if problem is not None or value is None:
                problems.append(problem or f"Dòng {line}: không đọc được.")
                continue
            here: list[str] = []
            entry_id: int | None = None
            raw_id = value.get("id")
            if raw_id not in (None, ""):
                try:
                    entry_id = int(str(raw_id).strip())
                    if entry_id < 1:
                        raise ValueError
                except ValueError:
                    here.append(f"số thứ tự (id) «{raw_id}» phải là số nguyên dương")
                else:
                    if entry_id in seen_ids:
                        here.append(f"id {entry_id} đã có ở dòng {seen_ids[entry_id]}")
                    seen_ids.setdefault(entry_id, line)
            questions = tuple(dict.fromkeys(_list(value.get("questions"), r"\|")))
            if not questions:
                here.append("cần ít nhất một câu hỏi (các câu cách nhau bởi « | »)")
            long = [q for q in questions if len(q) > MAX_EXAMPLE_CHARS]
            if long:
                here.append(f"câu hỏi dài quá {MAX_EXAMPLE_CHARS} ký tự")
            for q in questions:
                k = text_key(q)
                if k in seen_questions and seen_questions[k] != line:
                    here.append(f"câu hỏi «{q}» đã có ở dòng {seen_questions[k]}")
                seen_questions.setdefault(k, line)
            answer = str(value.get("answer") or "").strip()
            if not answer:
                here.append("câu trả lời đang trống")
            codes = tuple(dict.fromkeys(_list(value.get("procedure_codes"), r"[|,;\s]")))
            for code in codes:
                problem = code_problem(self.knowledge, code)
                if problem:
                    here.append(problem[0].lower() + problem[1:].rstrip("."))
            enabled = yes_no(value.get("enabled"), blank=True)
            if enabled is None:
                here.append(
                    f"cột enabled phải là có/không (hoặc true/false), không phải «{value.get('enabled')}»"
                )
            if here:
                problems.append(f"Dòng {line}: " + "; ".join(here) + ".")
                continue
            drafts.append(
                _FaqDraft(
                    line, entry_id, questions, answer, codes,
                    tuple(dict.fromkeys(_list(value.get("tags"), r"[|,]"))), bool(enabled),
                )
            )  # fmt: skip
        if problems:
            raise ImportRefused(problems)
        if not drafts:
            raise ImportRefused(["Tệp không có câu hỏi nào."])
        return drafts

    def _check_example(self, line: int, text: str, intent: str, code: str | None) -> list[str]:
        here = []
        if not text:
            here.append("câu mẫu đang trống")
        elif len(text) > MAX_EXAMPLE_CHARS:
            here.append(f"câu mẫu dài quá {MAX_EXAMPLE_CHARS} ký tự")
        if not intent:
            here.append("thiếu ý định (intent)")
        elif intent not in self.intents:
            here.append(f"ý định «{intent}» không có trong dữ liệu huấn luyện")
        if code:
            problem = code_problem(self.knowledge, code)
            if problem:
                here.append(problem[0].lower() + problem[1:].rstrip("."))
        return here

    def _examples_csv(self, text: str) -> list[tuple[int, LearnedExample, bool]]:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ImportRefused(["Tệp trống."])
        columns = [h.strip().lower() for h in header]
        if (
            "text" not in columns
            or "intent" not in columns
            or any(c not in TRAINING_CSV_COLUMNS for c in columns)
        ):
            raise ImportRefused(
                [f"Dòng 1: tiêu đề cột phải là {', '.join(TRAINING_CSV_COLUMNS)} (procedure_code có thể bỏ)."]
            )
        problems: list[str] = []
        items = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                problems.append(f"Dòng {line}: có {len(values)} cột, cần {len(columns)}.")
                continue
            row = dict(zip(columns, (from_spreadsheet(v) for v in values), strict=True))
            ex = LearnedExample(
                " ".join(row["text"].split()),
                row["intent"].strip(),
                row.get("procedure_code", "").strip() or None,
            )
            items.append((line, ex, True))
        return self._checked(items, problems)

    def _examples_yaml(self, text: str) -> list[tuple[int, LearnedExample, bool]]:
        try:
            data = parse_training_data(text, source="tệp")
        except TrainingDataError as exc:
            raise ImportRefused([_vietnamese(exc)]) from None
        problems: list[str] = []
        for kind, table in (("regex", data.regexes), ("lookup", data.lookups)):
            for name in table:
                problems.append(
                    f"Tệp có mục {kind} «{name}»: chỉ nhập được các mục intent (và synonym) của câu mẫu."
                )
        items = []
        for ex in data.examples:
            line = ex.line or 0
            codes = []
            for span in ex.entities:
                if span.entity != "procedure":
                    problems.append(
                        f"Dòng {line}: chỉ nhận chú thích thủ tục (procedure), không nhận «{span.entity}»."
                    )
                elif not CODE_RE.match(span.value):
                    problems.append(
                        f"Dòng {line}: chú thích thủ tục phải mang mã thủ tục làm giá trị "
                        f'(như [bằng lái]{{"entity": "procedure", "value": "1.002809"}}), không phải «{span.value}».'
                    )
                else:
                    codes.append(span.value)
            if len(set(codes)) > 1:
                problems.append(f"Dòng {line}: một câu mẫu chỉ gán được cho một thủ tục.")
            items.append((line, LearnedExample(ex.text, ex.intent, codes[0] if codes else None), bool(codes)))
        return self._checked(items, problems)

    def _checked(
        self, items: list[tuple[int, LearnedExample, bool]], problems: list[str]
    ) -> list[tuple[int, LearnedExample, bool]]:
        seen: dict[str, tuple[int, str]] = {}
        for line, ex, _ in items:
            here = self._check_example(line, ex.text, ex.intent, ex.procedure_code)
            k = text_key(ex.text)
            if ex.text and k in seen and seen[k][1] != ex.intent:
                here.append(f"câu này đã được gán ý định «{seen[k][1]}» ở dòng {seen[k][0]}")
            seen.setdefault(k, (line, ex.intent))
            if here:
                problems.append(f"Dòng {line}: " + "; ".join(here) + ".")
        if problems:
            raise ImportRefused(problems)
        if not items:
            raise ImportRefused(["Tệp không có câu mẫu nào."])
        # the same text twice with the same intent: keep the last (as the file would be read)
        return list({text_key(ex.text): (line, ex, a) for line, ex, a in items}.values())


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    if len(content) > MAX_FILE_BYTES:
        raise ImportRefused([f"Tệp lớn quá {MAX_FILE_BYTES // 1_000_000} MB."])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ImportRefused(
            [f"Dòng {line}: tệp không phải văn bản UTF-8 (hãy lưu lại tệp với bảng mã UTF-8)."]
        ) from None


def _list(value: Any, separator: str) -> list[str]:
    if value is None:
        return []
    parts = [str(v) for v in value] if isinstance(value, list | tuple) else re.split(separator, str(value))
    return [" ".join(p.split()) for p in parts if p.strip()]


def _same(stored: Any, new: Any) -> bool:
    if isinstance(new, list):
        return list(stored or []) == new
    return bool(stored == new)


_YAML_PROBLEMS = (
    ("invalid YAML", "tệp không phải YAML hợp lệ"),
    ("each example must start with", "mỗi câu mẫu phải bắt đầu bằng «- »"),
    ("malformed entity annotation", "chú thích thực thể sai dạng (cần [chữ](procedure) hoặc [chữ]{...})"),
    ("entity annotation is not valid JSON", "chú thích thực thể không phải JSON hợp lệ"),
    ("unsupported training data version", "phiên bản dữ liệu không được hỗ trợ (cần 3.x)"),
    ("has no 'examples'", "mục thiếu «examples»"),
    ("has no examples", "mục không có câu mẫu nào"),
    ("empty example", "có câu mẫu trống"),
    ("unknown key", "có khóa lạ (chỉ dùng intent, synonym, regex, lookup, examples)"),
)


def _vietnamese(exc: TrainingDataError) -> str:
    """A Vietnamese message for a training data error (its line and the line's text kept)."""
    message = str(exc).split("\n", 1)[0]
    problem = next(
        (vi for en, vi in _YAML_PROBLEMS if en in message), "nội dung không đúng định dạng nlu.yml của Rasa"
    )
    where = f"Dòng {exc.line}: " if exc.line else ""
    shown = f" («{exc.context.strip()}»)" if exc.context.strip() else ""
    return f"{where}{problem}{shown}."
