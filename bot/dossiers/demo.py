"""The demo dossiers: ``knowledge/seed/demo_dossiers.yml``, seeded into an empty local ``dossiers`` table.

They let the dossier lookup be tried without a provincial system: every procedure of the greeting menu,
some overdue, some done. The file holds named fields with dates relative to the day of seeding, so a
demo started any day shows the same mix; :meth:`DemoDossiers.dated` turns them into
:class:`bot.dossiers.local.NewDossier` rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.timeutil import utcnow
from bot.dossiers.local import LocalDossierGateway, NewDossier

DEMO_DOSSIERS_PATH = Path(str(files("knowledge") / "seed" / "demo_dossiers.yml"))
"""The shipped file (package data of ``knowledge``)."""


class DemoDossier(BaseModel):
    """One demo dossier as the file states it.

    Attributes:
        code: the dossier code printed on the receipt.
        procedure_code: national procedure code (a key of :attr:`DemoDossiers.procedures`).
        applicant_name: who filed it (invented).
        phone: the applicant's phone number (invented; only its hashed last 4 digits are stored).
        id_number: the applicant's ID number (invented; likewise).
        received_days_ago: days between receipt and seeding.
        days_to_due: days between receipt and the promised date.
        current_step: the step it is at.
        status: its published status.
        done: True when the result is ready.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    procedure_code: str
    applicant_name: str
    phone: str
    id_number: str
    received_days_ago: int = Field(ge=0)
    days_to_due: int = Field(ge=0)
    current_step: str
    status: str
    done: bool


class DemoDossiers(BaseModel):
    """The file: procedure names by code, and the dossiers.

    Attributes:
        procedures: national procedure code -> the name printed on the receipt.
        dossiers: the dossiers, in the order they are seeded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    procedures: dict[str, str]
    dossiers: tuple[DemoDossier, ...]

    @model_validator(mode="after")
    def _known_procedures(self) -> DemoDossiers:
        unknown = sorted({d.procedure_code for d in self.dossiers} - set(self.procedures))
        if unknown:
            raise ValueError(f"dossiers name procedures missing from 'procedures': {', '.join(unknown)}")
        return self

    def dated(self, now: datetime) -> list[NewDossier]:
        """The dossiers with dates relative to ``now``.

        Each was received at 01:30 UTC (08:30 in Vietnam) ``received_days_ago`` days before ``now``; one
        that is done finished on its due date, or at ``now`` when that is earlier.
        """
        out = []
        for d in self.dossiers:
            received = (now - timedelta(days=d.received_days_ago)).replace(
                hour=1, minute=30, second=0, microsecond=0
            )
            due = received + timedelta(days=d.days_to_due)
            out.append(
                NewDossier(
                    code=d.code,
                    procedure_code=d.procedure_code,
                    procedure_name=self.procedures[d.procedure_code],
                    applicant_name=d.applicant_name,
                    phone=d.phone,
                    id_number=d.id_number,
                    received_at=received,
                    due_at=due,
                    current_step=d.current_step,
                    status=d.status,
                    finished_at=min(due, now) if d.done else None,
                )
            )
        return out


def load_demo_dossiers(path: Path = DEMO_DOSSIERS_PATH) -> DemoDossiers:
    """Read and check the demo file.

    Raises:
        pydantic.ValidationError: a missing or unknown field, a number not quoted as text, or a
            procedure code without a name.
    """
    return DemoDossiers.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def seed_demo_dossiers(
    gateway: LocalDossierGateway, now: datetime | None = None, path: Path = DEMO_DOSSIERS_PATH
) -> int:
    """Add the demo dossiers when the table is empty; how many were added."""
    if gateway.count():
        return 0
    dossiers = load_demo_dossiers(path).dated(now or utcnow())
    for dossier in dossiers:
        gateway.add(dossier)
    return len(dossiers)
