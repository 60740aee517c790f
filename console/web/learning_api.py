"""The learning loop's JSON API under ``/api/learning``: the unanswered inbox, assignments, learned examples,
and import / export of FAQ entries and training examples.

Authentication as for the editor API: the console's session cookie, role ``editor`` (or ``admin``), and
the session's CSRF token in ``X-CSRF-Token`` on every POST. Errors answer ``{"detail": "..."}`` in
Vietnamese; a refused assignment adds ``problems`` (field -> message), a refused file adds ``problems``
(one "Dòng N: ..." message per problem; nothing was written).

Files: ``GET /api/learning/export/{faqs|training}.{csv|yml}`` downloads; ``POST
/api/learning/import/{faqs|training}.{csv|yml}`` takes the file as the request body (``text/csv``,
``application/yaml`` or any type; UTF-8).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from console.learning.examples import TrainingExample
from console.learning.inbox import InboxItem
from console.learning.service import LearningService
from console.learning.transfer import TransferReport
from console.web.deps import Learning, LearningUser
from console.web.errors import ApiRoute
from console.web.labels import intent_label

FILES = {
    ("faqs", "csv"): ("cau-hoi-thuong-gap.csv", "text/csv; charset=utf-8"),
    ("faqs", "yml"): ("cau-hoi-thuong-gap.yml", "application/yaml; charset=utf-8"),
    ("training", "csv"): ("cau-mau-huan-luyen.csv", "text/csv; charset=utf-8"),
    ("training", "yml"): ("nlu.yml", "application/yaml; charset=utf-8"),
}


class InboxItemOut(BaseModel):
    """One group of the inbox: the same text (ignoring case and spaces) sent one or more times."""

    key: str = Field(description="the group's key, for reopen")
    text: str = Field(description="the most frequent spelling, as logged (ID and phone numbers redacted)")
    count: int
    fallbacks: int = Field(description="times the bot did not understand it")
    low_confidence: int = Field(description="times it was understood with a low confidence")
    negative_ratings: int = Field(description="times the citizen rated the answer 1 or 2")
    out_of_scope: int = Field(0, description="times the bot refused it as out of its scope")
    faq_answered: int = Field(0, description="times the bot answered it from the FAQ")
    bot_reply: str | None = Field(
        None, description="what the bot replied to the latest refused or FAQ-answered one"
    )
    last_seen: datetime
    guessed_intent: str | None = Field(description="what the NLU thought most often")
    guessed_procedure: str | None
    status: Literal["open", "assigned", "dismissed"]
    intent: str | None
    procedure_code: str | None
    faq_id: int | None
    resolved_by: str | None
    resolved_at: datetime | None


class IntentOut(BaseModel):
    """An intent an editor may assign."""

    name: str
    label: str


class FaqChoiceOut(BaseModel):
    """An FAQ entry an editor may add a question to."""

    id: int
    question: str = Field(description="its first question")
    enabled: bool


class ChoicesOut(BaseModel):
    """What an inbox group can be assigned to."""

    intents: list[IntentOut]
    faqs: list[FaqChoiceOut]


class AssignIn(BaseModel):
    """Teach the bot a text: at least one of intent, procedure_code, faq_id."""

    text: str = Field(max_length=4000)
    intent: str | None = None
    procedure_code: str | None = Field(None, description="national code, e.g. 1.001193")
    faq_id: int | None = None


class ExampleOut(BaseModel):
    """A stored training example."""

    id: int
    text: str
    intent: str
    procedure_code: str | None
    entities: list[dict[str, Any]] = Field(description="the procedure mention found in the text, if any")
    source: Literal["learned", "import"] | str
    created_by: str
    created_at: datetime


class AssignOut(BaseModel):
    """What an assignment did; the bot answers it once the live rebuild finished (/api/editor/status)."""

    key: str
    example: ExampleOut | None
    faq_id: int | None
    faq_changed: bool
    message: str


class TextIn(BaseModel):
    """A message of the inbox, by its text."""

    text: str = Field(max_length=4000)


class KeyIn(BaseModel):
    """A group of the inbox, by its key."""

    key: str = Field(max_length=64)


class DismissOut(BaseModel):
    """The group dismissed."""

    key: str
    message: str


class ImportOut(BaseModel):
    """What an import did (all or nothing)."""

    kind: Literal["faqs", "training"]
    created: int
    updated: int
    unchanged: int
    message: str


class AssignProblemOut(BaseModel):
    """A refused assignment: one message per field (text, intent, procedure_code, faq_id)."""

    detail: str
    problems: dict[str, str]


class FileProblemOut(BaseModel):
    """A refused file: nothing was written."""

    detail: str
    problems: list[str]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in"},
    403: {"description": "Wrong role or missing CSRF token"},
    422: {"description": "Refused: `detail` and `problems` say why, in Vietnamese"},
}


def item_out(item: InboxItem) -> InboxItemOut:
    """The API shape of an inbox group."""
    return InboxItemOut(**item.__dict__)


def example_out(example: TrainingExample) -> ExampleOut:
    """The API shape of a training example."""
    return ExampleOut(**example.__dict__)


def import_out(report: TransferReport) -> ImportOut:
    """The API shape of what an import did."""
    return ImportOut(
        kind=report.kind,  # type: ignore[arg-type]
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        message=report.summary(),
    )


def assign_message(example: TrainingExample | None, faq_id: int | None, faq_changed: bool) -> str:
    """What the editor is told after an assignment (Vietnamese)."""
    parts = []
    if example is not None:
        what = f"ý định «{intent_label(example.intent)}»"
        if example.procedure_code:
            what += f", thủ tục {example.procedure_code}"
        parts.append(f"Đã lưu câu mẫu cho {what}")
    if faq_id is not None:
        parts.append(
            f"Đã thêm câu này vào câu hỏi thường gặp số {faq_id}"
            if faq_changed
            else f"Câu hỏi thường gặp số {faq_id} đã có câu này"
        )
    return ". ".join(parts) + ". Trợ lý ảo sẽ trả lời được sau khi cập nhật xong (vài giây)."


def choices(service: LearningService) -> ChoicesOut:
    """The intents and FAQ entries an inbox group can be assigned to."""
    return ChoicesOut(
        intents=[IntentOut(name=i, label=intent_label(i)) for i in service.intents],
        faqs=[
            FaqChoiceOut(id=f.id, question=f.questions[0], enabled=f.enabled)
            for f in service.knowledge.list_faqs(enabled_only=False)
            if f.id is not None
        ],
    )


def export_file(service: LearningService, what: str, fmt: str) -> Response:
    """A download of the FAQ entries or the training examples."""
    name, media = FILES[(what, fmt)]
    if what == "faqs":
        body = service.export_faq_csv() if fmt == "csv" else service.export_faq_yaml()
    else:
        body = service.export_training_csv() if fmt == "csv" else service.export_training_yaml()
    # Excel reads UTF-8 CSV correctly only with a byte order mark; the importers accept it.
    data = ("\ufeff" + body if fmt == "csv" else body).encode("utf-8")
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


router = APIRouter(prefix="/api/learning", tags=["learning loop"], responses=_ERRORS, route_class=ApiRoute)


@router.get("/inbox", response_model=list[InboxItemOut], summary="Messages the bot could not answer")
async def inbox(
    user: LearningUser,
    service: Learning,
    status: Literal["open", "assigned", "dismissed", "all"] = "open",
    limit: int = Query(200, ge=1, le=1000),
) -> list[InboxItemOut]:
    return [item_out(i) for i in await asyncio.to_thread(service.inbox, status, limit)]


@router.get("/choices", response_model=ChoicesOut, summary="Intents and FAQ entries to assign to")
async def get_choices(user: LearningUser, service: Learning) -> ChoicesOut:
    return await asyncio.to_thread(choices, service)


@router.post(
    "/assign",
    response_model=AssignOut,
    summary="Teach a message: training example and/or FAQ question (goes live)",
    responses={422: {"model": AssignProblemOut}},
)
async def assign(body: AssignIn, user: LearningUser, service: Learning) -> Any:
    result = await asyncio.to_thread(
        service.assign,
        body.text,
        user,
        intent=body.intent,
        procedure_code=body.procedure_code,
        faq_id=body.faq_id,
    )
    return AssignOut(
        key=result.key,
        example=example_out(result.example) if result.example else None,
        faq_id=result.faq_id,
        faq_changed=result.faq_changed,
        message=assign_message(result.example, result.faq_id, result.faq_changed),
    )


@router.post(
    "/dismiss",
    response_model=DismissOut,
    summary="Take a message out of the inbox",
    responses={422: {"model": AssignProblemOut}},
)
async def dismiss(body: TextIn, user: LearningUser, service: Learning) -> Any:
    key = await asyncio.to_thread(service.dismiss, body.text, user)
    return DismissOut(key=key, message="Đã bỏ qua câu này; xem lại trong mục «Đã bỏ qua».")


@router.post("/reopen", response_model=DismissOut, summary="Put a dismissed message back in the inbox")
async def reopen(body: KeyIn, user: LearningUser, service: Learning) -> DismissOut:
    await asyncio.to_thread(service.reopen, body.key)
    return DismissOut(key=body.key, message="Đã đưa câu này trở lại hộp thư.")


@router.get("/examples", response_model=list[ExampleOut], summary="Learned and imported training examples")
async def examples(user: LearningUser, service: Learning) -> list[ExampleOut]:
    return [example_out(e) for e in await asyncio.to_thread(service.examples)]


@router.get(
    "/export/{what}.{fmt}",
    summary="Download FAQ entries or training examples (CSV or YAML)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/yaml": {}}}},
)
async def export(
    what: Literal["faqs", "training"], fmt: Literal["csv", "yml"], user: LearningUser, service: Learning
) -> Response:
    return await asyncio.to_thread(export_file, service, what, fmt)


@router.post(
    "/import/{what}.{fmt}",
    response_model=ImportOut,
    summary="Import FAQ entries or training examples: all or nothing (goes live)",
    responses={422: {"model": FileProblemOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_file(
    what: Literal["faqs", "training"],
    fmt: Literal["csv", "yml"],
    request: Request,
    user: LearningUser,
    service: Learning,
) -> Any:
    content = await request.body()
    work = service.import_faqs if what == "faqs" else service.import_training
    report = await asyncio.to_thread(work, content, "csv" if fmt == "csv" else "yaml", user)
    return import_out(report)
