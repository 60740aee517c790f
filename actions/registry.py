"""The action registry: every action the policy can name, built with its ports.

Rasa's action server registers actions by name and Rasa core never imports one; here the composition
root calls :func:`build_actions` and hands the result to :class:`bot.engine.engine.Engine`, which looks
actions up by the :class:`bot.core.domain.ActionName` the policy decided. Each action gets the ports it
reads in its constructor (:class:`ActionDeps`), so the tracker it runs on stays pure data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from actions.attachment import AttachmentAction
from actions.dossier import DossierStatusAction
from actions.escalation import EscalateAction
from actions.fallback import ClarifyAction, OfferOfficerAction
from actions.faq import FaqAnswerAction
from actions.feedback import FeedbackAction
from actions.procedure.actions import (
    AskProcedureAction,
    ChooseProcedureAction,
    MoreAction,
    ProcedureAnswerAction,
)
from actions.smalltalk import smalltalk_actions
from bot.core.domain import ActionName, Topic
from bot.core.ports import (
    DossierAccessGuard,
    DossierGateway,
    DossierSubscriptions,
    InMemoryDossierAccessGuard,
    InMemoryDossierSubscriptions,
    NotConfiguredDossierGateway,
    OfficeHours,
    TicketQueue,
)
from bot.core.sdk import Action
from bot.core.timeutil import utcnow
from knowledge.ports import KnowledgeRepository


@dataclass(frozen=True)
class ActionDeps:
    """The ports the actions read, one field each.

    Attributes:
        knowledge: the knowledge base (procedure answers, FAQ buttons, dossier replies).
        dossiers: the dossier system; by default every lookup is unavailable (a bot without one).
        dossier_guard: failed verifications and locks; in memory by default (one process only).
        dossier_subscriptions: who is told about dossier changes; in memory by default.
        tickets: the officers' queue, for the citizen's place in it; None leaves the place out.
        office_hours: when officers are at work; None means always.
        clock: the current time (UTC aware), for overdue dossiers and office hours.
    """

    knowledge: KnowledgeRepository
    dossiers: DossierGateway = field(default_factory=NotConfiguredDossierGateway)
    dossier_guard: DossierAccessGuard = field(default_factory=InMemoryDossierAccessGuard)
    dossier_subscriptions: DossierSubscriptions = field(default_factory=InMemoryDossierSubscriptions)
    tickets: TicketQueue | None = None
    office_hours: OfficeHours | None = None
    clock: Callable[[], datetime] = utcnow


def build_actions(deps: ActionDeps) -> dict[str, Action]:
    """Every action, by name: exactly one per :class:`bot.core.domain.ActionName`.

    Raises:
        ValueError: an action is missing or named twice (a programming error, caught at start-up).
    """
    actions: list[Action] = [ProcedureAnswerAction(topic, deps.knowledge) for topic in Topic]
    actions += [MoreAction(deps.knowledge), AskProcedureAction(), ChooseProcedureAction()]
    actions += smalltalk_actions()
    actions.append(AttachmentAction())
    actions += [
        FeedbackAction(),
        ClarifyAction(deps.knowledge),
        OfferOfficerAction(),
        FaqAnswerAction(deps.knowledge),
    ]
    actions.append(EscalateAction(deps.tickets, deps.office_hours, deps.clock))
    actions.append(
        DossierStatusAction(
            deps.dossiers, deps.dossier_guard, deps.dossier_subscriptions, deps.knowledge, deps.clock
        )
    )
    registry = {action.name: action for action in actions}
    if len(registry) != len(actions) or set(registry) != set(ActionName):
        raise ValueError(f"actions do not match ActionName: {sorted(set(registry) ^ set(ActionName))}")
    return registry
