"""Plain domain records of the knowledge base.

Importers produce these, the repository stores and loads them, the search index and the actions read
them. They carry no database state, so tests and the seed file can build them freely.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChannelKind = Literal["truc_tiep", "truc_tuyen", "buu_chinh", "khac"]
OnlineLevel = Literal["toan_trinh", "mot_phan", "con_lai"]

CHANNEL_LABELS: dict[str, str] = {
    "truc_tiep": "Trực tiếp",
    "truc_tuyen": "Trực tuyến",
    "buu_chinh": "Dịch vụ bưu chính",
    "khac": "Khác",
}
ONLINE_LEVEL_LABELS: dict[str, str] = {
    "toan_trinh": "Dịch vụ công trực tuyến toàn trình",
    "mot_phan": "Dịch vụ công trực tuyến một phần",
    "con_lai": "Chưa cung cấp dịch vụ công trực tuyến",
}


@dataclass(frozen=True)
class SubmissionChannel:
    """One way to submit a dossier, with its processing time and fee as published.

    Attributes:
        kind: truc_tiep (in person), truc_tuyen (online), buu_chinh (post) or khac.
        time_text: processing time exactly as published ("15 Ngày làm việc").
        fee_text: fee exactly as published ("Lệ phí : 50.000 Đồng").
        description: the row's description column.
        days: parsed number of days, when the text allows.
        working_days: True when the days are working days (ngày làm việc).
        fee_vnd: parsed fee in đồng (0 when free), None when the text gives no amount.
    """

    kind: str
    time_text: str = ""
    fee_text: str = ""
    description: str = ""
    days: float | None = None
    working_days: bool | None = None
    fee_vnd: int | None = None


@dataclass(frozen=True)
class Document:
    """One paper of the dossier (thành phần hồ sơ).

    Attributes:
        name: what the paper is.
        group: the heading of the case it belongs to ("Đối với nhà ở riêng lẻ"), empty if none.
        form: the form file name (mẫu đơn, tờ khai), if any.
        originals: number of originals (bản chính).
        copies: number of copies (bản sao).
        note: anything else published with it.
    """

    name: str
    group: str = ""
    form: str = ""
    originals: int | None = None
    copies: int | None = None
    note: str = ""


@dataclass(frozen=True)
class LegalBasis:
    """One legal document the procedure rests on."""

    number: str
    title: str = ""
    issued: str = ""
    issuer: str = ""


@dataclass(frozen=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) identified by its national code.

    ``catalogue_only`` procedures come from a provincial catalogue and have a name, field and online
    level but no documents, steps or fees. ``notes`` are remarks published in the documents table that
    concern the whole dossier (the portal's "Lưu ý" rows), not any one paper.
    """

    code: str
    name: str
    field: str = ""
    levels: tuple[str, ...] = ()
    ministry: str = ""
    decision: str = ""
    procedure_type: str = ""
    competent_agency: str = ""
    executing_agency: str = ""
    receiving_address: str = ""
    target_users: str = ""
    steps: tuple[str, ...] = ()
    channels: tuple[SubmissionChannel, ...] = ()
    documents: tuple[Document, ...] = ()
    notes: tuple[str, ...] = ()
    legal_basis: tuple[LegalBasis, ...] = ()
    conditions: str = ""
    result: str = ""
    online_level: str | None = None
    url: str = ""
    aliases: tuple[str, ...] = ()
    catalogue_only: bool = False
    source: str = ""
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``from_dict`` reverses it."""
        data = dataclasses.asdict(self)
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Procedure:
        """Build a record from ``to_dict`` output (lists become tuples, unknown keys are an error)."""
        d = dict(data)
        d["levels"] = tuple(d.get("levels") or ())
        d["steps"] = tuple(d.get("steps") or ())
        d["aliases"] = tuple(d.get("aliases") or ())
        d["notes"] = tuple(d.get("notes") or ())  # absent from seeds written before notes existed
        d["channels"] = tuple(SubmissionChannel(**c) for c in d.get("channels") or ())
        d["documents"] = tuple(Document(**x) for x in d.get("documents") or ())
        d["legal_basis"] = tuple(LegalBasis(**x) for x in d.get("legal_basis") or ())
        ts = d.get("updated_at")
        d["updated_at"] = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
        return cls(**d)

    def content_key(self) -> dict[str, Any]:
        """The content that decides whether a re-import changed anything (no timestamps)."""
        data = self.to_dict()
        data.pop("updated_at", None)
        return data

    @property
    def executing(self) -> str:
        """The agency that handles the dossier, falling back to the competent one."""
        return self.executing_agency or self.competent_agency


@dataclass(frozen=True)
class FaqEntry:
    """A frequently asked question with its answer and the procedures it concerns."""

    id: int | None
    questions: tuple[str, ...]
    answer: str
    procedure_codes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    enabled: bool = True
    updated_at: datetime | None = None


@dataclass
class ImportReport:
    """What an import did: counts per outcome and the records it could not take, with reasons."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)
