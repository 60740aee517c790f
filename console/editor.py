"""The editors' service: edit procedures, FAQ entries and response texts, with validation, an audit log,
rollback, a "try it" box and live reload.

Everything an editor sees is plain Vietnamese. The pages (``console/editor_pages.py``) and the JSON API
(``console/editor_api.py``) both hand this service *drafts*: plain dicts of what was typed (texts,
lists of lines, numbers possibly still as text). The service checks them, turns them into domain records
and says what is wrong in :class:`ValidationFailed` (one message per field, the field named by a path
such as ``documents.2.originals``).

Every change writes a row to ``audit_log`` with the full snapshot before and after (JSON) and a unified
diff of the two. A rollback is itself a change: it saves an earlier snapshot again and is audited.

Response texts stay in ``data/responses.yml``; an editor's version of a key is stored in
``response_overrides`` and laid over the file at start-up (:func:`load_responses`) and after each edit,
through the same validation as the file (:class:`bot.core.responses.ResponseCatalogue`).

The "try it" box runs the real engine (same live NLU, knowledge base, texts and policy) on a throw-away
conversation (channel ``try``) whose store keeps states in memory and drops the message log, and with no
event sink: nothing said there reaches the message log, so analytics and the officer queue never see it.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import string
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, delete, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import MessageRecord
from bot.core.responses import (
    RESPONSE_SCHEMA,
    ResponseCatalogue,
    ResponseCatalogueError,
    parse_payload,
)
from bot.core.state import ConversationState
from bot.core.timeutil import utcnow
from bot.engine.engine import Engine
from bot.engine.live import LiveReloader, LiveResponses, ReloadStatus
from console.auth.users import User
from knowledge.db import Base
from knowledge.domain import (
    CHANNEL_LABELS,
    ONLINE_LEVEL_LABELS,
    Document,
    FaqEntry,
    LegalBasis,
    Procedure,
    SubmissionChannel,
)
from knowledge.importers.parsing import CODE_RE, parse_fee, parse_time
from knowledge.models import AliasRow, ProcedureRow
from knowledge.ports import KnowledgeRepository
from knowledge.repository import content_hash

log = logging.getLogger(__name__)

Entity = Literal["procedure", "faq", "response"]
ENTITY_LABELS = {"procedure": "Thủ tục", "faq": "Câu hỏi thường gặp", "response": "Câu trả lời mẫu"}
ACTION_LABELS = {"create": "Tạo mới", "update": "Sửa", "rollback": "Khôi phục", "reset": "Về bản gốc"}
TRY_CHANNEL = "try"
"""Channel of the "try it" conversations (never stored, never logged)."""
MAX_TEXT = 20_000
"""Longest text accepted in one field (a pasted document, not a book)."""


# --- tables (migration 0006) ----------------------------------------------------------------------------


class AuditLogRow(Base):
    """One change made by an editor: who, when, what, the snapshots before and after, and their diff."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_audit_log_user", ondelete="SET NULL"), nullable=True
    )
    user_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    snapshot_before: Mapped[Any] = mapped_column(JSON, nullable=True)
    snapshot_after: Mapped[Any] = mapped_column(JSON, nullable=True)
    diff: Mapped[str] = mapped_column(Text, default="")
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ResponseOverrideRow(Base):
    """An editor's version of one response key of ``data/responses.yml`` (its list of variants)."""

    __tablename__ = "response_overrides"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    variants: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


# --- errors -----------------------------------------------------------------------------------------------


class EditorError(Exception):
    """A change the service refused; the message is for the editor. ``status`` is the HTTP status."""

    status = 400


class ValidationFailed(EditorError):
    """What was typed is not valid: ``problems`` maps a field path to a message.

    Field paths: ``name``, ``channels.0.fee_vnd`` (rows counted from 0; messages count from 1).
    """

    status = 422

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("Chưa lưu được, vui lòng sửa: " + " ".join(self.problems.values()))


class NotFound(EditorError):
    """No such procedure, entry, response key or audit entry."""

    status = 404


class Conflict(EditorError):
    """Someone else saved the same record since the editor opened it."""

    status = 409


# --- records ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    entity: str
    entity_key: str
    action: str
    user_id: int | None
    user_name: str
    created_at: datetime
    before: Any
    after: Any
    diff: str
    restored_from: int | None = None

    @property
    def summary(self) -> str:
        """One line: "Sửa Thủ tục 1.001193"."""
        return f"{ACTION_LABELS.get(self.action, self.action)} {ENTITY_LABELS.get(self.entity, self.entity)} {self.entity_key}"


@dataclass(frozen=True)
class SaveResult:
    """What a save or rollback did: ``changed`` False means the content was already so (nothing written)."""

    entity: str
    key: str
    changed: bool
    audit_id: int | None = None
    record: Any = None


@dataclass(frozen=True)
class ResponseInfo:
    """One response key as the editor sees it."""

    key: str
    variables: tuple[str, ...]
    variants: tuple[dict[str, Any], ...]
    overridden: bool
    file_variants: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ProcedureSummary:
    """A procedure in a search result."""

    code: str
    name: str
    field: str
    updated_at: datetime | None


# --- drafts: from what was typed to domain records -----------------------------------------------------


def lines(value: Any) -> list[str]:
    """Non-empty stripped lines of a textarea, or of a list (JSON) as given."""
    items = value.splitlines() if isinstance(value, str) else list(value or ())
    return [str(x).strip() for x in items if str(x).strip()]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any, where: str, what: str, problems: dict[str, str]) -> int | None:
    """A small whole number (document counts), None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,4}", text):
            problems[where] = f"{what} phải là một số nguyên như 0, 1, 2 (đang là «{text}»)."
            return None
        number = int(text)
    if number < 0 or number > 1000:
        problems[where] = f"{what} phải từ 0 đến 1000."
        return None
    return number


def _money(value: Any, where: str, what: str, problems: dict[str, str]) -> int | None:
    """An amount in đồng: 50000, "50000", "50.000" or "50 000"; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().replace(" ", "")
        if not re.fullmatch(r"\d+|\d{1,3}(?:[.,]\d{3})+", text):
            problems[where] = (
                f"{what} phải là số tiền viết bằng chữ số, ví dụ 50000 hoặc 50.000 (đang là «{text}»)."
            )
            return None
        number = int(re.sub(r"[.,]", "", text))
    if number < 0:
        problems[where] = f"{what} không được âm."
        return None
    return number


def _days(value: Any, where: str, what: str, problems: dict[str, str]) -> float | None:
    """A number of days: 15, "15", "0,5" or "0.5"; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,4}(?:[.,]\d{1,2})?", text):
            problems[where] = f"{what} phải là một số, ví dụ 15 hoặc 0,5 (đang là «{text}»)."
            return None
        number = float(text.replace(",", "."))
    if number < 0:
        problems[where] = f"{what} không được âm."
        return None
    return number


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "co", "có", "on"):
        return True
    if text in ("0", "false", "no", "khong", "không"):
        return False
    return None


def _rows(value: Any) -> list[dict[str, Any]]:
    rows = [dict(r) for r in value or () if isinstance(r, Mapping)]
    # A row marked for removal or left wholly empty is dropped (forms show empty rows for adding).
    return [
        r
        for r in rows
        if not _yes_no(r.get("remove")) and any(_text(v) for k, v in r.items() if k not in ("remove", "kind"))
    ]


def _check_lengths(values: Mapping[str, Any], problems: dict[str, str]) -> None:
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            problems[name] = f"Nội dung quá dài (tối đa {MAX_TEXT} ký tự)."


def procedure_from_draft(draft: Mapping[str, Any], previous: Procedure | None = None) -> Procedure:
    """Check an editor's draft of a procedure and build the record.

    ``draft`` has the fields of :class:`knowledge.domain.Procedure`: texts, lists of lines (or one string
    with a line each) for ``levels``, ``steps``, ``notes``, ``aliases``, and lists of dicts for
    ``channels``, ``documents`` and ``legal_basis`` whose numbers may still be text. Rows wholly empty or
    with ``remove`` set are dropped. When a channel's fee or time text changed but its number did not
    (or the number is empty), the number is read again from the new text, so the answers stay true.
    ``previous`` is the stored record (its ``code`` and ``source`` win over the draft's).

    Raises:
        ValidationFailed: every problem found.
    """
    problems: dict[str, str] = {}
    code = previous.code if previous else _text(draft.get("code"))
    if not CODE_RE.match(code):
        problems["code"] = (
            f"Mã thủ tục «{code}» không đúng dạng: cần một chữ số, dấu chấm và sáu chữ số, ví dụ 1.001193."
            if code
            else "Mã thủ tục không được để trống (dạng 1.001193)."
        )
    name = " ".join(_text(draft.get("name")).split())
    if not name:
        problems["name"] = "Tên thủ tục không được để trống."
    online_level = _text(draft.get("online_level")) or None
    if online_level is not None and online_level not in ONLINE_LEVEL_LABELS:
        problems["online_level"] = "Mức dịch vụ công trực tuyến phải là một trong các lựa chọn có sẵn."
    url = _text(draft.get("url"))
    if url and not re.match(r"https?://\S+$", url):
        problems["url"] = "Đường dẫn phải bắt đầu bằng http:// hoặc https:// và không có dấu cách."
    _check_lengths(draft, problems)

    old_channels = previous.channels if previous else ()
    channels: list[SubmissionChannel] = []
    for i, row in enumerate(_rows(draft.get("channels"))):
        where, n = f"channels.{i}", i + 1
        kind = _text(row.get("kind")) or "truc_tiep"
        if kind not in CHANNEL_LABELS:
            problems[f"{where}.kind"] = (
                f"Cách nộp số {n}: hình thức nộp phải là một trong các lựa chọn có sẵn."
            )
        time_text, fee_text = _text(row.get("time_text")), _text(row.get("fee_text"))
        days = _days(row.get("days"), f"{where}.days", f"Cách nộp số {n}: số ngày", problems)
        working = _yes_no(row.get("working_days"))
        fee_vnd = _money(row.get("fee_vnd"), f"{where}.fee_vnd", f"Cách nộp số {n}: lệ phí (đồng)", problems)
        old = old_channels[i] if i < len(old_channels) else None
        if fee_text and (fee_vnd is None or (old and fee_text != old.fee_text and fee_vnd == old.fee_vnd)):
            fee_vnd = parse_fee(fee_text)
        if time_text and (
            days is None
            or (old and time_text != old.time_text and (days, working) == (old.days, old.working_days))
        ):
            days, working = parse_time(time_text)
        channels.append(
            SubmissionChannel(
                kind=kind,
                time_text=time_text,
                fee_text=fee_text,
                description=_text(row.get("description")),
                days=days,
                working_days=working,
                fee_vnd=fee_vnd,
            )
        )

    documents: list[Document] = []
    for i, row in enumerate(_rows(draft.get("documents"))):
        where, n = f"documents.{i}", i + 1
        doc_name = _text(row.get("name"))
        if not doc_name:
            problems[f"{where}.name"] = f"Giấy tờ số {n}: cần có tên giấy tờ."
        documents.append(
            Document(
                name=doc_name,
                group=_text(row.get("group")),
                form=_text(row.get("form")),
                originals=_int(
                    row.get("originals"), f"{where}.originals", f"Giấy tờ số {n}: số bản chính", problems
                ),
                copies=_int(row.get("copies"), f"{where}.copies", f"Giấy tờ số {n}: số bản sao", problems),
                note=_text(row.get("note")),
            )
        )

    legal: list[LegalBasis] = []
    for i, row in enumerate(_rows(draft.get("legal_basis"))):
        number = _text(row.get("number"))
        if not number:
            problems[f"legal_basis.{i}.number"] = f"Căn cứ pháp lý số {i + 1}: cần có số hiệu văn bản."
        legal.append(
            LegalBasis(
                number=number,
                title=_text(row.get("title")),
                issued=_text(row.get("issued")),
                issuer=_text(row.get("issuer")),
            )
        )

    if problems:
        raise ValidationFailed(problems)
    aliases = list(OrderedDict.fromkeys(a.lower() for a in lines(draft.get("aliases"))))
    return Procedure(
        code=code,
        name=name,
        field=_text(draft.get("field")),
        levels=tuple(lines(draft.get("levels"))),
        ministry=_text(draft.get("ministry")),
        decision=_text(draft.get("decision")),
        procedure_type=_text(draft.get("procedure_type")),
        competent_agency=_text(draft.get("competent_agency")),
        executing_agency=_text(draft.get("executing_agency")),
        receiving_address=_text(draft.get("receiving_address")),
        target_users=_text(draft.get("target_users")),
        steps=tuple(lines(draft.get("steps"))),
        channels=tuple(channels),
        documents=tuple(documents),
        notes=tuple(lines(draft.get("notes"))),
        legal_basis=tuple(legal),
        conditions=_text(draft.get("conditions")),
        result=_text(draft.get("result")),
        online_level=online_level,
        url=url,
        aliases=tuple(aliases),
        catalogue_only=bool(_yes_no(draft.get("catalogue_only"))),
        source=previous.source if previous else (_text(draft.get("source")) or "editor"),
    )


def faq_from_draft(
    draft: Mapping[str, Any], entry_id: int | None, known_code: Callable[[str], bool]
) -> FaqEntry:
    """Check an editor's draft of an FAQ entry (``questions`` one per line, ``answer``,
    ``procedure_codes``, ``tags``, ``enabled``) and build it.

    Raises:
        ValidationFailed: every problem found.
    """
    problems: dict[str, str] = {}
    questions = list(OrderedDict.fromkeys(lines(draft.get("questions"))))
    if not questions:
        problems["questions"] = "Cần ít nhất một cách hỏi (mỗi dòng một câu)."
    answer = _text(draft.get("answer"))
    if not answer:
        problems["answer"] = "Câu trả lời không được để trống."
    codes = [c for line in lines(draft.get("procedure_codes")) for c in re.split(r"[\s,;]+", line) if c]
    bad = [c for c in codes if not CODE_RE.match(c)]
    if bad:
        problems["procedure_codes"] = (
            "Mã thủ tục không đúng dạng (cần như 1.001193): " + ", ".join(f"«{c}»" for c in bad) + "."
        )
    else:
        missing = [c for c in codes if not known_code(c)]
        if missing:
            problems["procedure_codes"] = "Chưa có thủ tục mang mã: " + ", ".join(missing) + "."
    _check_lengths(draft, problems)
    if problems:
        raise ValidationFailed(problems)
    return FaqEntry(
        id=entry_id,
        questions=tuple(questions),
        answer=answer,
        procedure_codes=tuple(OrderedDict.fromkeys(codes)),
        tags=tuple(
            OrderedDict.fromkeys(t for line in lines(draft.get("tags")) for t in line.split(",") if t.strip())
        ),
        enabled=bool(_yes_no(draft.get("enabled"))) if draft.get("enabled") is not None else True,
    )


_FORMATTER = string.Formatter()


def response_variants_from_draft(
    key: str, draft: Sequence[Mapping[str, Any]], allowed: frozenset[str]
) -> list[dict[str, Any]]:
    """Check an editor's texts for one response key, in the file's shape
    (``[{"text": ..., "buttons": [{"title", "payload"}]}]``).

    Each draft variant has ``text`` and ``buttons`` (a list of ``{"title", "payload"}``, or one string
    with a line ``Tiêu đề | /payload`` each). Empty variants are dropped.

    Raises:
        ValidationFailed: every problem found, in plain Vietnamese.
    """
    problems: dict[str, str] = {}
    allowed_text = ", ".join("{" + v + "}" for v in sorted(allowed)) or "không có biến nào"
    out: list[dict[str, Any]] = []
    for i, variant in enumerate(draft):
        text = str(variant.get("text") or "").replace("\r\n", "\n").strip()
        raw_buttons = variant.get("buttons") or []
        if isinstance(raw_buttons, str):
            raw_buttons = [_button_line(line) for line in lines(raw_buttons)]
        if not text and not raw_buttons:
            continue
        n, where = len(out) + 1, f"variants.{i}"
        if not text:
            problems[f"{where}.text"] = f"Nội dung số {n} không được để trống."
            continue
        if len(text) > MAX_TEXT:
            problems[f"{where}.text"] = f"Nội dung số {n} quá dài (tối đa {MAX_TEXT} ký tự)."
        used = _variables(text, f"{where}.text", f"Nội dung số {n}", problems)
        buttons = []
        for j, b in enumerate(raw_buttons):
            title, payload = _text(b.get("title")), _text(b.get("payload"))
            bwhere = f"{where}.buttons"
            if not title:
                problems[bwhere] = f"Nút số {j + 1} của nội dung số {n}: cần viết «Tiêu đề | /ý_định»."
                continue
            if parse_payload(payload) is None:
                problems[bwhere] = (
                    f"Nút «{title}» của nội dung số {n}: lệnh phải có dạng /ý_định hoặc "
                    '/ý_định{"procedure":"1.001193"} (chữ không dấu, không dấu cách).'
                )
                continue
            used |= _variables(title, bwhere, f"Nút «{title}»", problems)
            buttons.append({"title": title, "payload": payload})
        unknown = sorted(used - allowed)
        if unknown:
            problems.setdefault(
                f"{where}.text",
                f"Nội dung số {n} dùng biến không có: "
                + ", ".join("{" + u + "}" for u in unknown)
                + f". Câu trả lời này chỉ dùng được: {allowed_text}.",
            )
        entry: dict[str, Any] = {"text": text}
        if buttons:
            entry["buttons"] = buttons
        out.append(entry)
    if not out and not problems:
        problems["variants"] = "Cần ít nhất một nội dung trả lời."
    if problems:
        raise ValidationFailed(problems)
    return out


def _button_line(line: str) -> dict[str, str]:
    title, _, payload = line.partition("|")
    return {"title": title.strip() if payload else "", "payload": payload.strip()}


def _variables(text: str, where: str, what: str, problems: dict[str, str]) -> set[str]:
    names: set[str] = set()
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        problems[where] = (
            f"{what} có dấu ngoặc nhọn {{ }} không khớp. Biến viết như {{procedure_name}}; "
            "muốn hiện dấu ngoặc nhọn thì gõ {{ hoặc }}."
        )
        return names
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            problems[where] = f"{what}: chỉ dùng biến dạng {{procedure_name}}, không dùng «{{{name}}}»."
            continue
        names.add(name)
    return names


# --- response catalogue: the file with the editors' overrides over it ---------------------------------


def _read_file(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
        raise ResponseCatalogueError(f"{path}: the file must have a 'responses:' mapping")
    return data


def build_catalogue(
    file_data: Mapping[str, Any],
    overrides: Mapping[str, Any],
    schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
) -> tuple[ResponseCatalogue, dict[str, str]]:
    """The file's catalogue with every valid override laid over it.

    An override that no longer fits (its key left the schema, or it uses a variable the code stopped
    giving) is skipped and reported, so a code change never stops the server over an old edit.

    Returns:
        The catalogue and ``{key: why skipped}``.
    """
    responses = dict(file_data["responses"])
    skipped: dict[str, str] = {}
    for key, variants in overrides.items():
        if key not in schema:
            skipped[key] = "câu trả lời này không còn được dùng"
            continue
        try:
            response_variants_from_draft(key, variants, schema[key])
        except ValidationFailed as exc:
            skipped[key] = " ".join(exc.problems.values())
            continue
        responses[key] = variants
    catalogue = ResponseCatalogue.from_mapping({**file_data, "responses": responses}, schema)
    return catalogue, skipped


def read_overrides(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Every stored override, by key."""
    with sessions() as session:
        return {r.key: r.variants for r in session.scalars(select(ResponseOverrideRow))}


def load_responses(
    path: str | Path,
    sessions: sessionmaker[Session] | None = None,
    schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
) -> LiveResponses:
    """The catalogue for start-up: the file (validated as always: a bad file stops the server) with the
    editors' overrides from the database over it, in a :class:`bot.engine.live.LiveResponses`.

    Without ``sessions`` (tests on fakes), or before the ``response_overrides`` table exists, only the file.
    """
    ResponseCatalogue.load(path, schema)  # the file alone must be valid, with its usual messages
    overrides: dict[str, Any] = {}
    if sessions is not None:
        try:
            overrides = read_overrides(sessions)
        except (OperationalError, ProgrammingError) as exc:
            log.warning("response overrides not read (database not migrated yet?): %s", exc)
    catalogue, skipped = build_catalogue(_read_file(Path(path)), overrides, schema)
    for key, why in skipped.items():
        log.warning("editor's text for %s not used: %s", key, why)
    return LiveResponses(catalogue)


# --- "try it" -----------------------------------------------------------------------------------------


class ScratchConversationStore:
    """Conversation store of the "try it" box: states in memory (the newest ``limit``), messages dropped.

    Implements :class:`bot.core.ports.ConversationStore`; nothing reaches the message log, so analytics never
    counts an editor's tries.
    """

    def __init__(self, limit: int = 200) -> None:
        self._states: OrderedDict[ConversationKey, ConversationState] = OrderedDict()
        self._limit = limit

    def load(self, key: ConversationKey) -> ConversationState:
        return self._states.get(key) or ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        self._states[state.key] = state
        self._states.move_to_end(state.key)
        while len(self._states) > self._limit:
            self._states.popitem(last=False)

    def forget(self, key: ConversationKey) -> None:
        """Start the conversation over."""
        self._states.pop(key, None)

    def log(self, records: Iterable[MessageRecord]) -> None:
        """Dropped on purpose: tries are not conversations."""

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        return []


# --- the service ----------------------------------------------------------------------------------------


def snapshot_json(snapshot: Any) -> str:
    """The JSON the diffs compare: sorted keys, indented, Vietnamese kept readable."""
    return json.dumps(snapshot, ensure_ascii=False, sort_keys=True, indent=2, default=str)


def make_diff(before: Any, after: Any) -> str:
    """Unified diff of the JSON of two snapshots (None: the record did not exist)."""
    a = snapshot_json(before).splitlines() if before is not None else []
    b = snapshot_json(after).splitlines() if after is not None else []
    return "\n".join(difflib.unified_diff(a, b, "trước", "sau", lineterm="", n=2))


def procedure_snapshot(proc: Procedure) -> dict[str, Any]:
    """What the audit log keeps of a procedure: everything but the timestamp, as JSON has it."""
    return json.loads(json.dumps(proc.content_key(), ensure_ascii=False))


def faq_snapshot(entry: FaqEntry) -> dict[str, Any]:
    """What the audit log keeps of an FAQ entry."""
    return {
        "id": entry.id,
        "questions": list(entry.questions),
        "answer": entry.answer,
        "procedure_codes": list(entry.procedure_codes),
        "tags": list(entry.tags),
        "enabled": entry.enabled,
    }


@dataclass
class EditorService:
    """Edits, validation, audit, rollback and live reload for the editor console.

    Args:
        sessions: the database (audit log, response overrides, procedure search).
        knowledge: the knowledge repository.
        responses: the live catalogue every part of the bot reads (swapped after a text is saved).
        responses_path: ``data/responses.yml``.
        reloader: rebuilds the index and the NLU after a procedure or FAQ change; None: nothing live.
        try_engine: the engine of the "try it" box (see the module doc); None disables it.
        scratch: its conversation store, so "start over" can forget a try conversation.
        schema: the response keys and their variables.
    """

    sessions: sessionmaker[Session]
    knowledge: KnowledgeRepository
    responses: LiveResponses
    responses_path: Path
    reloader: LiveReloader | None = None
    try_engine: Engine | None = None
    scratch: ScratchConversationStore | None = None
    schema: Mapping[str, frozenset[str]] = field(default_factory=lambda: RESPONSE_SCHEMA)

    # --- procedures

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        """Procedures whose code starts with, or whose name or an alias contains, ``query``."""
        q = " ".join(query.split()).lower()
        stmt = select(ProcedureRow.code, ProcedureRow.name, ProcedureRow.field, ProcedureRow.updated_at)
        if q:
            like = f"%{q}%"
            aliased = select(AliasRow.procedure_code).where(AliasRow.alias.ilike(like))
            stmt = stmt.where(
                ProcedureRow.code.startswith(q)
                | ProcedureRow.name.ilike(like)
                | ProcedureRow.code.in_(aliased)
            )
        else:
            stmt = stmt.order_by(ProcedureRow.updated_at.desc())
        stmt = stmt.order_by(ProcedureRow.code).limit(limit)
        with self.sessions() as session:
            return [ProcedureSummary(*row) for row in session.execute(stmt).all()]

    def procedure(self, code: str) -> Procedure:
        """The stored procedure.

        Raises:
            NotFound: no procedure has this code.
        """
        proc = self.knowledge.get(code)
        if proc is None:
            raise NotFound(f"Không có thủ tục mang mã {code}.")
        return proc

    @staticmethod
    def version(proc: Procedure) -> str:
        """The content version of a record, to send back with a save (detects a concurrent edit)."""
        return content_hash(proc)

    def save_procedure(
        self,
        draft: Mapping[str, Any],
        user: User,
        *,
        code: str | None = None,
        base_version: str | None = None,
    ) -> SaveResult:
        """Create (``code`` None) or update the procedure ``code`` from a draft; audited; goes live.

        Raises:
            ValidationFailed: what was typed is wrong (or the new code is taken).
            NotFound: no procedure ``code``.
            Conflict: it changed since ``base_version`` was read.
        """
        previous = self.procedure(code) if code is not None else None
        if previous is None:
            new_code = _text(draft.get("code"))
            if new_code and self.knowledge.get(new_code) is not None:
                raise ValidationFailed(
                    {"code": f"Đã có thủ tục mang mã {new_code}; hãy mở thủ tục đó để sửa."}
                )
        proc = procedure_from_draft(draft, previous)
        if previous is not None and base_version and self.version(previous) != base_version:
            raise Conflict(
                "Thủ tục này vừa được người khác sửa sau khi bạn mở trang. Hãy mở lại trang để xem bản mới, "
                "rồi sửa lại."
            )
        return self._write_procedure(proc, previous, user, "update" if previous else "create")

    def _write_procedure(
        self,
        proc: Procedure,
        previous: Procedure | None,
        user: User,
        action: str,
        restored_from: int | None = None,
    ) -> SaveResult:
        before = procedure_snapshot(previous) if previous else None
        after = procedure_snapshot(proc)
        if before == after:
            return SaveResult("procedure", proc.code, False, record=previous)
        self.knowledge.upsert([proc])
        saved = self.knowledge.get(proc.code) or proc
        entry_id = self._audit("procedure", proc.code, action, user, before, after, restored_from)
        self._went_live()
        return SaveResult("procedure", proc.code, True, entry_id, saved)

    # --- FAQ

    def faqs(self) -> list[FaqEntry]:
        """Every FAQ entry, enabled or not."""
        return self.knowledge.list_faqs(enabled_only=False)

    def faq(self, entry_id: int) -> FaqEntry:
        """One FAQ entry.

        Raises:
            NotFound: no entry has this id.
        """
        for entry in self.faqs():
            if entry.id == entry_id:
                return entry
        raise NotFound(f"Không có câu hỏi thường gặp số {entry_id}.")

    def save_faq(self, draft: Mapping[str, Any], user: User, *, entry_id: int | None = None) -> SaveResult:
        """Create (``entry_id`` None) or update an FAQ entry from a draft; audited; goes live.

        Raises:
            ValidationFailed: no question, empty answer, a wrong or unknown procedure code.
            NotFound: no entry ``entry_id``.
        """
        previous = self.faq(entry_id) if entry_id is not None else None
        entry = faq_from_draft(draft, entry_id, lambda c: self.knowledge.get(c) is not None)
        return self._write_faq(entry, previous, user, "update" if previous else "create")

    def _write_faq(
        self,
        entry: FaqEntry,
        previous: FaqEntry | None,
        user: User,
        action: str,
        restored_from: int | None = None,
    ) -> SaveResult:
        before = faq_snapshot(previous) if previous else None
        if before is not None and before == faq_snapshot(entry):
            return SaveResult("faq", str(entry.id), False, record=previous)
        saved = self.knowledge.save_faq(entry)
        entry_id = self._audit("faq", str(saved.id), action, user, before, faq_snapshot(saved), restored_from)
        self._went_live()
        return SaveResult("faq", str(saved.id), True, entry_id, saved)

    # --- response texts

    def _file(self) -> dict[str, Any]:
        return _read_file(self.responses_path)

    def response_infos(self) -> list[ResponseInfo]:
        """Every response key with its current texts (the editor's when overridden, else the file's)."""
        file_responses = self._file()["responses"]
        overrides = read_overrides(self.sessions)
        return [
            ResponseInfo(
                key=key,
                variables=tuple(sorted(self.schema[key])),
                variants=tuple(overrides.get(key) or file_responses.get(key) or ()),
                overridden=key in overrides,
                file_variants=tuple(file_responses.get(key) or ()),
            )
            for key in sorted(self.schema)
        ]

    def response_info(self, key: str) -> ResponseInfo:
        """One response key.

        Raises:
            NotFound: the key is not in the catalogue.
        """
        for info in self.response_infos():
            if info.key == key:
                return info
        raise NotFound(f"Không có câu trả lời mẫu «{key}».")

    @staticmethod
    def _response_snapshot(info_variants: Sequence[Any], overridden: bool) -> dict[str, Any]:
        return {"source": "editor" if overridden else "file", "variants": list(info_variants)}

    def save_response(self, key: str, draft: Sequence[Mapping[str, Any]], user: User) -> SaveResult:
        """Store an editor's texts for ``key`` (validated like the file) and use them at once.

        Raises:
            NotFound: unknown key.
            ValidationFailed: an unknown {variable}, broken braces, an empty text, a bad button.
        """
        info = self.response_info(key)
        variants = response_variants_from_draft(key, draft, self.schema[key])
        return self._write_response(info, variants, user, "update")

    def reset_response(self, key: str, user: User) -> SaveResult:
        """Drop the editor's texts of ``key``: the file's are used again. Audited."""
        return self._write_response(self.response_info(key), None, user, "reset")

    def _write_response(
        self,
        info: ResponseInfo,
        variants: list[dict[str, Any]] | None,
        user: User,
        action: str,
        restored_from: int | None = None,
    ) -> SaveResult:
        before = self._response_snapshot(info.variants, info.overridden)
        after = self._response_snapshot(
            variants if variants is not None else info.file_variants, variants is not None
        )
        if before == after:
            return SaveResult("response", info.key, False)
        overrides = read_overrides(self.sessions)
        if variants is None:
            overrides.pop(info.key, None)
        else:
            overrides[info.key] = variants
        try:  # the whole catalogue must still load before anything is stored
            catalogue, skipped = build_catalogue(self._file(), overrides, self.schema)
        except ResponseCatalogueError as exc:
            raise ValidationFailed({"variants": f"Nội dung chưa hợp lệ: {exc}"}) from exc
        if info.key in skipped:
            raise ValidationFailed({"variants": skipped[info.key]})
        with self.sessions.begin() as session:
            if variants is None:
                session.execute(delete(ResponseOverrideRow).where(ResponseOverrideRow.key == info.key))
            else:
                row = session.get(ResponseOverrideRow, info.key) or ResponseOverrideRow(key=info.key)
                row.variants, row.updated_at, row.updated_by = variants, utcnow(), user.display_name
                session.add(row)
        self.responses.swap(catalogue)
        entry_id = self._audit("response", info.key, action, user, before, after, restored_from)
        return SaveResult("response", info.key, True, entry_id, after)

    # --- audit and rollback

    def _audit(
        self,
        entity: str,
        key: str,
        action: str,
        user: User,
        before: Any,
        after: Any,
        restored_from: int | None = None,
    ) -> int:
        row = AuditLogRow(
            entity=entity,
            entity_key=key,
            action=action,
            user_id=user.id,
            user_name=user.display_name or user.username,
            created_at=utcnow(),
            snapshot_before=before,
            snapshot_after=after,
            diff=make_diff(before, after),
            restored_from=restored_from,
        )
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            return int(row.id)

    @staticmethod
    def _entry(row: AuditLogRow) -> AuditEntry:
        return AuditEntry(
            id=row.id,
            entity=row.entity,
            entity_key=row.entity_key,
            action=row.action,
            user_id=row.user_id,
            user_name=row.user_name,
            created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
            before=row.snapshot_before,
            after=row.snapshot_after,
            diff=row.diff,
            restored_from=row.restored_from,
        )

    def audit_log(
        self, entity: str | None = None, key: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Changes, newest first; only those of one record when ``entity`` and ``key`` are given."""
        stmt = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
        if entity:
            stmt = stmt.where(AuditLogRow.entity == entity)
        if key:
            stmt = stmt.where(AuditLogRow.entity_key == key)
        with self.sessions() as session:
            return [self._entry(r) for r in session.scalars(stmt)]

    def audit_entry(self, entry_id: int) -> AuditEntry:
        """One change.

        Raises:
            NotFound: no such entry.
        """
        with self.sessions() as session:
            row = session.get(AuditLogRow, entry_id)
            if row is None:
                raise NotFound(f"Không có thay đổi số {entry_id} trong nhật ký.")
            return self._entry(row)

    def rollback(self, entry_id: int, user: User, side: Literal["after", "before"] = "after") -> SaveResult:
        """Bring a record back to the version right after (or right before) change ``entry_id``.

        The rollback is a new change in the audit log (action ``rollback``), so it can be undone too.

        Raises:
            NotFound: no such entry (or its record is gone).
            EditorError: that version is "did not exist yet" (procedures and entries are not deleted).
        """
        entry = self.audit_entry(entry_id)
        snapshot = entry.after if side == "after" else entry.before
        if snapshot is None:
            raise EditorError(
                "Trước thay đổi này bản ghi chưa có. Hệ thống không xóa thủ tục hay câu hỏi; "
                "muốn ẩn một câu hỏi thường gặp, hãy bỏ chọn «Đang dùng»."
            )
        if entry.entity == "procedure":
            proc = Procedure.from_dict({**snapshot, "updated_at": None})
            return self._write_procedure(proc, self.knowledge.get(proc.code), user, "rollback", entry.id)
        if entry.entity == "faq":
            faq_id = int(snapshot["id"])
            previous = self.faq(faq_id)
            restored = FaqEntry(
                id=faq_id,
                questions=tuple(snapshot["questions"]),
                answer=snapshot["answer"],
                procedure_codes=tuple(snapshot["procedure_codes"]),
                tags=tuple(snapshot["tags"]),
                enabled=bool(snapshot["enabled"]),
            )
            return self._write_faq(restored, previous, user, "rollback", entry.id)
        if entry.entity == "response":
            info = self.response_info(entry.entity_key)
            variants = list(snapshot["variants"]) if snapshot.get("source") == "editor" else None
            return self._write_response(info, variants, user, "rollback", entry.id)
        raise NotFound(f"Không khôi phục được loại bản ghi «{entry.entity}».")

    # --- live state and trying

    def _went_live(self) -> None:
        if self.reloader is not None:
            self.reloader.request()

    def status(self) -> ReloadStatus:
        """Where the background rebuild stands (idle when there is no reloader)."""
        return self.reloader.status() if self.reloader is not None else ReloadStatus()

    def try_key(self, user: User) -> ConversationKey:
        """The throw-away conversation of one editor's "try it" box."""
        return ConversationKey(TRY_CHANNEL, f"editor-{user.id}")

    async def try_message(self, text: str, user: User, *, start_over: bool = False) -> list[OutboundMessage]:
        """What the bot would answer to ``text`` now (follow-ups continue the editor's try conversation).

        Raises:
            EditorError: the box is not available, or the text is empty.
        """
        if self.try_engine is None:
            raise EditorError("Chức năng thử câu hỏi chưa được bật trên máy chủ này.")
        text = text.strip()[:1000]
        if not text:
            raise ValidationFailed({"text": "Hãy gõ một câu hỏi để thử."})
        key = self.try_key(user)
        if start_over and self.scratch is not None:
            self.scratch.forget(key)
        return await self.try_engine.handle(InboundMessage(key=key, text=text))

    def forget_try(self, user: User) -> None:
        """Start the editor's try conversation over."""
        if self.scratch is not None:
            self.scratch.forget(self.try_key(user))


def procedure_draft(proc: Procedure | None) -> dict[str, Any]:
    """The draft shape of a stored record (what the form and the API show), or an empty one."""
    if proc is None:
        return {
            "code": "",
            "name": "",
            "channels": [],
            "documents": [],
            "legal_basis": [],
            **{k: "" for k in ("levels", "steps", "notes", "aliases")},
        }
    data = proc.to_dict()
    data.pop("updated_at", None)
    # Lists and dicts all the way down, as JSON and forms have them (asdict keeps tuples).
    return {
        k: [dict(x) if isinstance(x, dict) else x for x in v] if isinstance(v, tuple) else v
        for k, v in data.items()
    }
