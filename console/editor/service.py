"""The editor service: procedures, FAQ entries and response texts saved from drafts, audited, rolled
back, made live, and tried in the "try it" box (see :mod:`console.editor`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from bot.core.live import LiveResponses, Reloader, ReloadStatus
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import ConversationHandler, ResponseOverrides
from bot.core.responses import (
    RESPONSE_SCHEMA,
    ResponseCatalogueError,
    build_catalogue,
    make_payload,
    read_responses_file,
)
from bot.storage.memory import ScratchConversationStore
from console.auth.users import User
from console.editor.audit import AuditEntry, AuditLog, faq_snapshot, procedure_snapshot
from console.editor.drafts import (
    faq_from_draft,
    procedure_from_draft,
    response_variants_from_draft,
    typed_text,
)
from console.editor.errors import DraftInvalid, EditConflict, EditRefused, RecordNotFound
from knowledge.domain import FaqEntry, Procedure
from knowledge.ports import KnowledgeRepository, ProcedureSummary
from knowledge.repository import content_hash

TRY_CHANNEL = "try"
"""Channel of the "try it" conversations (never stored, never logged)."""


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


@dataclass
class EditorService:
    """Edits, validation, audit, rollback and live reload for the editor console.

    Args:
        sessions: the database (the audit log).
        knowledge: the knowledge repository.
        responses: the live catalogue every part of the bot reads (swapped after a text is saved).
        responses_path: ``data/responses.yml``.
        overrides: where the editors' response texts are stored (read at start-up by the bot too).
        reloader: rebuilds the index and the NLU after a procedure or FAQ change; None: nothing live.
        try_engine: the engine of the "try it" box (see the module doc); None disables it.
        scratch: its conversation store, so "start over" can forget a try conversation.
        schema: the response keys and their variables.
    """

    sessions: sessionmaker[Session]
    knowledge: KnowledgeRepository
    responses: LiveResponses
    responses_path: Path
    overrides: ResponseOverrides
    reloader: Reloader | None = None
    try_engine: ConversationHandler | None = None
    scratch: ScratchConversationStore | None = None
    schema: Mapping[str, frozenset[str]] = field(default_factory=lambda: RESPONSE_SCHEMA)
    _audit_log: AuditLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._audit_log = AuditLog(self.sessions)

    # --- procedures

    def find_procedures(self, query: str = "", limit: int = 50) -> list[ProcedureSummary]:
        """Procedures whose code starts with, or whose name or an alias contains, ``query``."""
        return self.knowledge.find_procedures(query, limit)

    def procedure(self, code: str) -> Procedure:
        """The stored procedure.

        Raises:
            RecordNotFound: no procedure has this code.
        """
        proc = self.knowledge.get(code)
        if proc is None:
            raise RecordNotFound(f"Không có thủ tục mang mã {code}.")
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
            DraftInvalid: what was typed is wrong (or the new code is taken).
            RecordNotFound: no procedure ``code``.
            EditConflict: it changed since ``base_version`` was read.
        """
        previous = self.procedure(code) if code is not None else None
        if previous is None:
            new_code = typed_text(draft.get("code"))
            if new_code and self.knowledge.get(new_code) is not None:
                raise DraftInvalid({"code": f"Đã có thủ tục mang mã {new_code}; hãy mở thủ tục đó để sửa."})
        proc = procedure_from_draft(draft, previous)
        if previous is not None and base_version and self.version(previous) != base_version:
            raise EditConflict(
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
        entry_id = self._audit_log.write("procedure", proc.code, action, user, before, after, restored_from)
        self._went_live()
        return SaveResult("procedure", proc.code, True, entry_id, saved)

    # --- FAQ

    def faqs(self) -> list[FaqEntry]:
        """Every FAQ entry, enabled or not."""
        return self.knowledge.list_faqs(enabled_only=False)

    def faq(self, entry_id: int) -> FaqEntry:
        """One FAQ entry.

        Raises:
            RecordNotFound: no entry has this id.
        """
        for entry in self.faqs():
            if entry.id == entry_id:
                return entry
        raise RecordNotFound(f"Không có câu hỏi thường gặp số {entry_id}.")

    def save_faq(self, draft: Mapping[str, Any], user: User, *, entry_id: int | None = None) -> SaveResult:
        """Create (``entry_id`` None) or update an FAQ entry from a draft; audited; goes live.

        Raises:
            DraftInvalid: no question, empty answer, a wrong or unknown procedure code.
            RecordNotFound: no entry ``entry_id``.
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
        entry_id = self._audit_log.write(
            "faq", str(saved.id), action, user, before, faq_snapshot(saved), restored_from
        )
        self._went_live()
        return SaveResult("faq", str(saved.id), True, entry_id, saved)

    # --- response texts

    def _file(self) -> dict[str, Any]:
        return read_responses_file(self.responses_path)

    def response_infos(self) -> list[ResponseInfo]:
        """Every response key with its current texts (the editor's when overridden, else the file's)."""
        file_responses = self._file()["responses"]
        overrides = self.overrides.read()
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
            RecordNotFound: the key is not in the catalogue.
        """
        for info in self.response_infos():
            if info.key == key:
                return info
        raise RecordNotFound(f"Không có câu trả lời mẫu «{key}».")

    @staticmethod
    def _response_snapshot(info_variants: Sequence[Any], overridden: bool) -> dict[str, Any]:
        return {"source": "editor" if overridden else "file", "variants": list(info_variants)}

    def save_response(self, key: str, draft: Sequence[Mapping[str, Any]], user: User) -> SaveResult:
        """Store an editor's texts for ``key`` (validated like the file) and use them at once.

        Raises:
            RecordNotFound: unknown key.
            DraftInvalid: an unknown {variable}, broken braces, an empty text, a bad button.
        """
        info = self.response_info(key)
        variants = response_variants_from_draft(draft, self.schema[key])
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
        overrides = self.overrides.read()
        if variants is None:
            overrides.pop(info.key, None)
        else:
            overrides[info.key] = variants
        try:  # the whole catalogue must still load before anything is stored
            catalogue, skipped = build_catalogue(self._file(), overrides, self.schema)
        except ResponseCatalogueError as exc:
            raise DraftInvalid({"variants": f"Nội dung chưa hợp lệ: {exc}"}) from exc
        if info.key in skipped:
            raise DraftInvalid({"variants": skipped[info.key]})
        if variants is None:
            self.overrides.drop(info.key)
        else:
            self.overrides.put(info.key, variants, user.display_name)
        self.responses.swap(catalogue)
        entry_id = self._audit_log.write("response", info.key, action, user, before, after, restored_from)
        return SaveResult("response", info.key, True, entry_id, after)

    # --- audit and rollback

    def audit_log(
        self, entity: str | None = None, key: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Changes, newest first; only those of one record when ``entity`` and ``key`` are given."""
        return self._audit_log.entries(entity, key, limit)

    def audit_entry(self, entry_id: int) -> AuditEntry:
        """One change.

        Raises:
            RecordNotFound: no such entry.
        """
        entry = self._audit_log.get(entry_id)
        if entry is None:
            raise RecordNotFound(f"Không có thay đổi số {entry_id} trong nhật ký.")
        return entry

    def rollback(self, entry_id: int, user: User, side: Literal["after", "before"] = "after") -> SaveResult:
        """Bring a record back to the version right after (or right before) change ``entry_id``.

        The rollback is a new change in the audit log (action ``rollback``), so it can be undone too.

        Raises:
            RecordNotFound: no such entry (or its record is gone).
            EditRefused: that version is "did not exist yet" (procedures and entries are not deleted).
        """
        entry = self.audit_entry(entry_id)
        snapshot = entry.after if side == "after" else entry.before
        if snapshot is None:
            raise EditRefused(
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
        raise RecordNotFound(f"Không khôi phục được loại bản ghi «{entry.entity}».")

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
            EditRefused: the box is not available.
            DraftInvalid: the text is empty.
        """
        if self.try_engine is None:
            raise EditRefused("Chức năng thử câu hỏi chưa được bật trên máy chủ này.")
        text = text.strip()[:1000]
        if not text:
            raise DraftInvalid({"text": "Hãy gõ một câu hỏi để thử."})
        key = self.try_key(user)
        if start_over and self.scratch is not None:
            self.scratch.forget(key)
        return await self.try_engine.handle(InboundMessage(key=key, text=text))

    async def bot_answer(self, code: str, intent: str, user: User) -> str:
        """What the bot answers about procedure ``code`` to ``intent`` (``ask_fee`` ...), as one text an
        officer can put in a reply; asked in a throw-away conversation of its own (never logged, and
        not the editor's try conversation).

        Raises:
            EditRefused: the bot cannot be asked on this server.
            RecordNotFound: no procedure ``code``.
        """
        if self.try_engine is None:
            raise EditRefused("Chức năng hỏi trợ lý ảo chưa được bật trên máy chủ này.")
        self.procedure(code)
        key = ConversationKey(TRY_CHANNEL, f"officer-{user.id}")
        if self.scratch is not None:
            self.scratch.forget(key)
        replies = await self.try_engine.handle(
            InboundMessage(key=key, text=make_payload(intent, procedure=code))
        )
        if self.scratch is not None:
            self.scratch.forget(key)
        return "\n\n".join(r.text for r in replies if r.text).strip()

    def forget_try(self, user: User) -> None:
        """Start the editor's try conversation over."""
        if self.scratch is not None:
            self.scratch.forget(self.try_key(user))
