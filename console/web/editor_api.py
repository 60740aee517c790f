"""The editors' JSON API under ``/api/editor``: everything the editor pages do, documented in OpenAPI.

Authentication as for the officer API (:mod:`console.web.api`): the console's session cookie, role
``editor`` or ``admin``, and the session's CSRF token in ``X-CSRF-Token`` on every PUT, POST and DELETE.
Errors answer ``{"detail": "..."}`` in Vietnamese; a draft that does not validate answers 422 with
``{"detail": "...", "problems": {"field.path": "message"}}``.

Numbers typed by people (document counts, days, fees) may be sent as numbers or as text; text that is
not a number is reported in ``problems``, never silently dropped. A channel whose fee or time text
changed while its number stayed the same gets the number read again from the new text.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bot.core.live import ReloadStatus
from console.editor.audit import AuditEntry
from console.editor.drafts import procedure_draft
from console.editor.service import EditorService, ResponseInfo, SaveResult
from console.web.deps import Editor, EditorUser, RowId
from console.web.errors import ApiRoute
from knowledge.domain import FaqEntry, Procedure


class ProblemOut(BaseModel):
    """A refused draft: a summary and one message per field (``documents.1.originals``, rows from 0)."""

    detail: str
    problems: dict[str, str]


class ReloadStatusOut(BaseModel):
    """Where the background rebuild of the search index and the NLU stands."""

    state: Literal["idle", "running", "failed"]
    reason: str | None = Field(description="why the last rebuild failed (the previous model still answers)")
    last_success_at: datetime | None
    last_started_at: datetime | None
    last_seconds: float | None
    rounds: int
    pending: bool = Field(description="another rebuild follows (a change arrived during this one)")
    model: str | None


class ChannelIn(BaseModel):
    """One way to submit, with its time and fee (``days``, ``fee_vnd`` read from the texts when empty)."""

    kind: str = Field("truc_tiep", description="truc_tiep, truc_tuyen, buu_chinh or khac")
    time_text: str = ""
    fee_text: str = ""
    description: str = ""
    days: float | str | None = None
    working_days: bool | None = None
    fee_vnd: int | str | None = None


class DocumentIn(BaseModel):
    """One paper of the dossier."""

    name: str = ""
    group: str = ""
    form: str = ""
    originals: int | str | None = None
    copies: int | str | None = None
    note: str = ""


class LegalBasisIn(BaseModel):
    """One legal document."""

    number: str = ""
    title: str = ""
    issued: str = ""
    issuer: str = ""


class ProcedureIn(BaseModel):
    """Every field of a procedure. ``version`` is the one read (GET), to detect a concurrent edit."""

    code: str = Field("", description="only when creating; the format is 1.001193")
    name: str = ""
    field: str = ""
    levels: list[str] = []
    ministry: str = ""
    decision: str = ""
    procedure_type: str = ""
    competent_agency: str = ""
    executing_agency: str = ""
    receiving_address: str = ""
    target_users: str = ""
    steps: list[str] = []
    channels: list[ChannelIn] = []
    documents: list[DocumentIn] = []
    notes: list[str] = []
    legal_basis: list[LegalBasisIn] = []
    conditions: str = ""
    result: str = ""
    online_level: str | None = Field(None, description="toan_trinh, mot_phan, con_lai or empty")
    url: str = ""
    aliases: list[str] = []
    catalogue_only: bool = False
    version: str | None = None


class ChannelOut(BaseModel):
    """A submission channel as stored."""

    kind: str
    time_text: str
    fee_text: str
    description: str
    days: float | None
    working_days: bool | None
    fee_vnd: int | None


class DocumentOut(BaseModel):
    """A paper as stored."""

    name: str
    group: str
    form: str
    originals: int | None
    copies: int | None
    note: str


class ProcedureOut(BaseModel):
    """A stored procedure with its ``version`` (send it back with a PUT)."""

    code: str
    name: str
    field: str
    levels: list[str]
    ministry: str
    decision: str
    procedure_type: str
    competent_agency: str
    executing_agency: str
    receiving_address: str
    target_users: str
    steps: list[str]
    channels: list[ChannelOut]
    documents: list[DocumentOut]
    notes: list[str]
    legal_basis: list[LegalBasisIn]
    conditions: str
    result: str
    online_level: str | None
    url: str
    aliases: list[str]
    catalogue_only: bool
    source: str
    updated_at: datetime | None
    version: str


class ProcedureSummaryOut(BaseModel):
    """A procedure in a search result."""

    code: str
    name: str
    field: str
    updated_at: datetime | None


class FaqIn(BaseModel):
    """An FAQ entry: ways of asking, the answer, the procedures it concerns."""

    questions: list[str] = []
    answer: str = ""
    procedure_codes: list[str] = []
    tags: list[str] = []
    enabled: bool = True


class FaqOut(FaqIn):
    """A stored FAQ entry."""

    id: int
    updated_at: datetime | None


class ButtonIn(BaseModel):
    """A button: its title and its payload (``/intent`` or ``/intent{"entity":"value"}``)."""

    title: str = ""
    payload: str = ""


class VariantIn(BaseModel):
    """One text of a response (several are variants picked at random)."""

    text: str = ""
    buttons: list[ButtonIn] = []


class ResponseIn(BaseModel):
    """The texts of one response key."""

    variants: list[VariantIn]


class ResponseOut(BaseModel):
    """A response key: the variables its texts may use and its current texts."""

    key: str
    variables: list[str]
    variants: list[VariantIn]
    overridden: bool = Field(description="an editor's texts are used instead of data/responses.yml")
    file_variants: list[VariantIn]


class SaveOut(BaseModel):
    """What a save or rollback did."""

    entity: Literal["procedure", "faq", "response"]
    key: str
    changed: bool = Field(description="false: the content was already so, nothing was written")
    audit_id: int | None
    message: str
    status: ReloadStatusOut


class AuditOut(BaseModel):
    """One change in the audit log."""

    id: int
    entity: Literal["procedure", "faq", "response"]
    entity_key: str
    action: Literal["create", "update", "rollback", "reset"]
    user_id: int | None
    user_name: str
    created_at: datetime
    summary: str
    diff: str = Field(description="unified diff of the JSON snapshots")
    restored_from: int | None


class AuditDetailOut(AuditOut):
    """One change with its full snapshots (null: the record did not exist)."""

    before: Any
    after: Any


class RollbackIn(BaseModel):
    """Which version of change N to bring back: right ``after`` it (default) or right ``before`` it."""

    side: Literal["after", "before"] = "after"


class TryIn(BaseModel):
    """A message to try; ``start_over`` forgets the earlier tries of this editor."""

    text: str = Field(min_length=1, max_length=1000)
    start_over: bool = False


class TryReplyOut(BaseModel):
    """One reply of the bot."""

    text: str
    buttons: list[ButtonIn]


class TryOut(BaseModel):
    """What the bot answers now (a throw-away conversation, never logged)."""

    replies: list[TryReplyOut]


def status_out(s: ReloadStatus) -> ReloadStatusOut:
    """The API shape of a :class:`bot.engine.live.ReloadStatus`."""
    return ReloadStatusOut(
        state=s.state,
        reason=s.reason,
        last_success_at=s.last_success_at,
        last_started_at=s.last_started_at,
        last_seconds=round(s.last_seconds, 2) if s.last_seconds is not None else None,
        rounds=s.rounds,
        pending=s.pending,
        model=s.model,
    )


def procedure_out(proc: Procedure) -> ProcedureOut:
    """The API shape of a procedure."""
    data = procedure_draft(proc)
    return ProcedureOut(**data, updated_at=proc.updated_at, version=EditorService.version(proc))


def faq_out(entry: FaqEntry) -> FaqOut:
    """The API shape of an FAQ entry."""
    return FaqOut(
        id=entry.id or 0,
        questions=list(entry.questions),
        answer=entry.answer,
        procedure_codes=list(entry.procedure_codes),
        tags=list(entry.tags),
        enabled=entry.enabled,
        updated_at=entry.updated_at,
    )


def response_out(info: ResponseInfo) -> ResponseOut:
    """The API shape of a response key."""
    return ResponseOut(
        key=info.key,
        variables=list(info.variables),
        variants=[VariantIn(**v) for v in info.variants],
        overridden=info.overridden,
        file_variants=[VariantIn(**v) for v in info.file_variants],
    )


def audit_out(entry: AuditEntry, detail: bool = False) -> AuditOut:
    """The API shape of an audit entry (with the snapshots when ``detail``)."""
    data: dict[str, Any] = {
        "id": entry.id,
        "entity": entry.entity,
        "entity_key": entry.entity_key,
        "action": entry.action,
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "created_at": entry.created_at,
        "summary": entry.summary,
        "diff": entry.diff,
        "restored_from": entry.restored_from,
    }
    if detail:
        return AuditDetailOut(**data, before=entry.before, after=entry.after)
    return AuditOut(**data)


def save_message(result: SaveResult) -> str:
    """The sentence an editor reads after a save."""
    if not result.changed:
        return "Không có gì thay đổi so với bản đang dùng."
    if result.entity == "response":
        return "Đã lưu. Trợ lý ảo dùng nội dung mới ngay từ tin nhắn tiếp theo."
    return "Đã lưu. Trợ lý ảo đang cập nhật (thường dưới 15 giây) rồi trả lời theo nội dung mới."


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemOut, "description": "not logged in"},
    403: {"description": "not an editor, or a missing CSRF token"},
    422: {"model": ProblemOut, "description": "the draft does not validate"},
}


router = APIRouter(prefix="/api/editor", tags=["editor console"], responses=_ERRORS, route_class=ApiRoute)


def saved(editor: EditorService, result: SaveResult) -> SaveOut:
    """The API shape of what a save did, with the rebuild it started."""
    return SaveOut(
        entity=result.entity,  # type: ignore[arg-type]
        key=result.key,
        changed=result.changed,
        audit_id=result.audit_id,
        message=save_message(result),
        status=status_out(editor.status()),
    )


@router.get("/status", response_model=ReloadStatusOut, summary="Rebuild state: idle, running, failed")
async def status(user: EditorUser, editor: Editor) -> ReloadStatusOut:
    return status_out(editor.status())


# --- procedures


@router.get("/procedures", response_model=list[ProcedureSummaryOut], summary="Find procedures")
async def find(
    user: EditorUser,
    editor: Editor,
    q: str = Query("", max_length=200, description="code prefix, or words of the name or an alias"),
    limit: int = Query(50, ge=1, le=500),
) -> list[ProcedureSummaryOut]:
    rows = await asyncio.to_thread(editor.find_procedures, q, limit)
    return [
        ProcedureSummaryOut(code=r.code, name=r.name, field=r.field, updated_at=r.updated_at) for r in rows
    ]


@router.get("/procedures/{code}", response_model=ProcedureOut, summary="A procedure, every field")
async def get_procedure(code: str, user: EditorUser, editor: Editor) -> Any:
    return procedure_out(await asyncio.to_thread(editor.procedure, code))


@router.put("/procedures/{code}", response_model=SaveOut, summary="Change a procedure (goes live)")
async def put_procedure(code: str, body: ProcedureIn, user: EditorUser, editor: Editor) -> Any:
    draft = body.model_dump(exclude={"version"})
    result = await asyncio.to_thread(editor.save_procedure, draft, user, code=code, base_version=body.version)
    return saved(editor, result)


@router.post("/procedures", response_model=SaveOut, status_code=201, summary="Add a procedure")
async def post_procedure(body: ProcedureIn, user: EditorUser, editor: Editor) -> Any:
    draft = body.model_dump(exclude={"version"})
    return saved(editor, await asyncio.to_thread(editor.save_procedure, draft, user))


# --- FAQ


@router.get("/faqs", response_model=list[FaqOut], summary="Every FAQ entry, enabled or not")
async def faqs(user: EditorUser, editor: Editor) -> list[FaqOut]:
    return [faq_out(e) for e in await asyncio.to_thread(editor.faqs)]


@router.get("/faqs/{entry_id}", response_model=FaqOut, summary="One FAQ entry")
async def get_faq(entry_id: RowId, user: EditorUser, editor: Editor) -> Any:
    return faq_out(await asyncio.to_thread(editor.faq, entry_id))


@router.post("/faqs", response_model=SaveOut, status_code=201, summary="Add an FAQ entry")
async def post_faq(body: FaqIn, user: EditorUser, editor: Editor) -> Any:
    return saved(editor, await asyncio.to_thread(editor.save_faq, body.model_dump(), user))


@router.put("/faqs/{entry_id}", response_model=SaveOut, summary="Change an FAQ entry (goes live)")
async def put_faq(entry_id: RowId, body: FaqIn, user: EditorUser, editor: Editor) -> Any:
    return saved(editor, await asyncio.to_thread(editor.save_faq, body.model_dump(), user, entry_id=entry_id))


# --- response texts


@router.get("/responses", response_model=list[ResponseOut], summary="Every response text")
async def responses(user: EditorUser, editor: Editor) -> list[ResponseOut]:
    return [response_out(i) for i in await asyncio.to_thread(editor.response_infos)]


@router.get("/responses/{key}", response_model=ResponseOut, summary="One response key")
async def get_response(key: str, user: EditorUser, editor: Editor) -> Any:
    return response_out(await asyncio.to_thread(editor.response_info, key))


@router.put("/responses/{key}", response_model=SaveOut, summary="Change a response text (live at once)")
async def put_response(key: str, body: ResponseIn, user: EditorUser, editor: Editor) -> Any:
    variants = [v.model_dump() for v in body.variants]
    return saved(editor, await asyncio.to_thread(editor.save_response, key, variants, user))


@router.delete("/responses/{key}", response_model=SaveOut, summary="Go back to data/responses.yml")
async def reset_response(key: str, user: EditorUser, editor: Editor) -> Any:
    return saved(editor, await asyncio.to_thread(editor.reset_response, key, user))


# --- audit log


@router.get("/audit", response_model=list[AuditOut], summary="Changes, newest first")
async def audit(
    user: EditorUser,
    editor: Editor,
    entity: Literal["procedure", "faq", "response"] | None = None,
    key: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditOut]:
    return [audit_out(e) for e in await asyncio.to_thread(editor.audit_log, entity, key, limit)]


@router.get("/audit/{entry_id}", response_model=AuditDetailOut, summary="One change with its snapshots")
async def audit_entry(entry_id: RowId, user: EditorUser, editor: Editor) -> Any:
    return audit_out(await asyncio.to_thread(editor.audit_entry, entry_id), detail=True)


@router.post("/audit/{entry_id}/rollback", response_model=SaveOut, summary="Bring back that version")
async def rollback(entry_id: RowId, user: EditorUser, editor: Editor, body: RollbackIn | None = None) -> Any:
    side = body.side if body else "after"
    return saved(editor, await asyncio.to_thread(editor.rollback, entry_id, user, side))


# --- try it


@router.post("/try", response_model=TryOut, summary="What the bot answers now (not logged)")
async def try_it(body: TryIn, user: EditorUser, editor: Editor) -> Any:
    replies = await editor.try_message(body.text, user, start_over=body.start_over)
    return TryOut(
        replies=[
            TryReplyOut(text=r.text, buttons=[ButtonIn(title=b.title, payload=b.payload) for b in r.buttons])
            for r in replies
        ]
    )
