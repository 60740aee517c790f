"""The bot's domain vocabulary: intents, the topics they ask about and the actions that answer them.

This is what Rasa keeps in ``domain.yml``. The policy decides with these names, the actions carry them,
the registry (:func:`actions.registry.build_actions`) is checked against them, and the NLU and the
consoles can name an intent without a string literal. Every enum is a :class:`enum.StrEnum`: a member
equals its value (``Intent.GREET == "greet"``), so parses, payloads and stored states keep plain strings.

The chain, question to answer::

    Intent.ASK_FEE  --TOPIC_BY_INTENT-->  Topic.FEE  --action_name()-->  ActionName.FEE ("action_fee")

Also here: the submission kinds and online levels the knowledge base stores (``"truc_tiep"``,
``"toan_trinh"`` ...), for the answers that treat one of them specially.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Intent(StrEnum):
    """What a message asks for: an NLU intent (trained in ``data/nlu.yml``) or a button command."""

    # Questions about a procedure (each has a topic, see TOPIC_BY_INTENT).
    ASK_DOCUMENTS = "ask_documents"
    ASK_FORMS = "ask_forms"
    ASK_STEPS = "ask_steps"
    ASK_FEE = "ask_fee"
    ASK_PROCESSING_TIME = "ask_processing_time"
    ASK_WHERE = "ask_where"
    ASK_CHANNELS = "ask_channels"
    ASK_CONDITIONS = "ask_conditions"
    ASK_LEGAL_BASIS = "ask_legal_basis"
    ASK_RESULT = "ask_result"
    ASK_PROCEDURE_OVERVIEW = "ask_procedure_overview"
    # Other NLU intents.
    CHECK_DOSSIER_STATUS = "check_dossier_status"
    REQUEST_HUMAN = "request_human"
    GIVE_FEEDBACK = "give_feedback"
    GREET = "greet"
    THANK = "thank"
    GOODBYE = "goodbye"
    AFFIRM = "affirm"
    DENY = "deny"
    OUT_OF_SCOPE = "out_of_scope"
    NLU_FALLBACK = "nlu_fallback"
    """The NLU was unsure (low or ambiguous confidence)."""
    # Button payloads and Telegram commands, never predicted by the NLU.
    START = "start"
    HELP = "help"
    MORE = "more"
    """"Xem thêm": the next page of a list."""
    REPHRASE = "rephrase"
    """"Hỏi lại"."""
    CHOOSE = "choose"
    """``/choose{"procedure": code}``: one of the offered procedures."""
    CHOOSE_GROUP = "choose_group"
    """``/choose_group{"procedure": code, "group": "2"}``: one case of a procedure's documents."""
    PROCEDURE_NOTES = "procedure_notes"
    """``/procedure_notes{"procedure": code}``: the "Lưu ý" button under the documents."""
    SUBSCRIBE_DOSSIER = "subscribe_dossier"
    """``/subscribe_dossier{"dossier_code": code}``: tell me when my dossier changes."""
    ATTACHMENT = "attachment"
    """``/attachment{"kind": "photo"}``: a photo, sticker, voice note... the bot could not read as text."""


class Topic(StrEnum):
    """A part of a procedure a citizen can ask about."""

    DOCUMENTS = "documents"
    FORMS = "forms"
    STEPS = "steps"
    FEE = "fee"
    PROCESSING_TIME = "processing_time"
    WHERE = "where"
    CHANNELS = "channels"
    CONDITIONS = "conditions"
    LEGAL_BASIS = "legal_basis"
    RESULT = "result"
    OVERVIEW = "overview"
    NOTES = "notes"
    """The procedure's "Lưu ý", reached from a button under the documents, not from an intent."""


class ActionName(StrEnum):
    """Every action the policy can decide; the registry has exactly one action per name."""

    # One per topic: ``action_name(topic)``.
    DOCUMENTS = "action_documents"
    FORMS = "action_forms"
    STEPS = "action_steps"
    FEE = "action_fee"
    PROCESSING_TIME = "action_processing_time"
    WHERE = "action_where"
    CHANNELS = "action_channels"
    CONDITIONS = "action_conditions"
    LEGAL_BASIS = "action_legal_basis"
    RESULT = "action_result"
    OVERVIEW = "action_overview"
    NOTES = "action_notes"
    # Procedure dialogue.
    MORE = "action_more"
    ASK_PROCEDURE = "action_ask_procedure"
    CHOOSE_PROCEDURE = "action_choose_procedure"
    FAQ_ANSWER = "action_faq_answer"
    # Small talk and feedback.
    GREET = "action_greet"
    THANK = "action_thank"
    GOODBYE = "action_goodbye"
    AFFIRM = "action_affirm"
    DENY = "action_deny"
    REPHRASE = "action_rephrase"
    OUT_OF_SCOPE = "action_out_of_scope"
    FEEDBACK = "action_feedback"
    # Not understood, officers, dossiers.
    CLARIFY = "action_clarify"
    OFFER_OFFICER = "action_offer_officer"
    ESCALATE = "action_escalate"
    DOSSIER_STATUS = "action_dossier_status"
    ATTACHMENT = "action_attachment"


TOPIC_BY_INTENT: Mapping[str, Topic] = MappingProxyType(
    {
        Intent.ASK_DOCUMENTS: Topic.DOCUMENTS,
        Intent.ASK_FORMS: Topic.FORMS,
        Intent.ASK_STEPS: Topic.STEPS,
        Intent.ASK_FEE: Topic.FEE,
        Intent.ASK_PROCESSING_TIME: Topic.PROCESSING_TIME,
        Intent.ASK_WHERE: Topic.WHERE,
        Intent.ASK_CHANNELS: Topic.CHANNELS,
        Intent.ASK_CONDITIONS: Topic.CONDITIONS,
        Intent.ASK_LEGAL_BASIS: Topic.LEGAL_BASIS,
        Intent.ASK_RESULT: Topic.RESULT,
        Intent.ASK_PROCEDURE_OVERVIEW: Topic.OVERVIEW,
    }
)
"""The question intents and the topic each one asks about (keyed by str: an NLU intent name looks up
directly)."""

LIST_TOPICS: frozenset[Topic] = frozenset(
    {Topic.DOCUMENTS, Topic.FORMS, Topic.STEPS, Topic.LEGAL_BASIS, Topic.NOTES}
)
"""Topics answered with a paged list ("Xem thêm" continues it); the others are one message."""


def action_name(topic: str) -> ActionName:
    """Name of the action answering a topic: ``"fee"`` -> ``ActionName.FEE`` (``"action_fee"``).

    Raises:
        ValueError: ``topic`` is not a :class:`Topic`.
    """
    return ActionName(f"action_{Topic(topic)}")


class SubmissionKind(StrEnum):
    """How a dossier is submitted (:attr:`knowledge.domain.SubmissionChannel.kind`)."""

    IN_PERSON = "truc_tiep"
    ONLINE = "truc_tuyen"
    POST = "buu_chinh"
    OTHER = "khac"


class OnlineLevel(StrEnum):
    """How far a procedure is offered online (:attr:`knowledge.domain.Procedure.online_level`)."""

    FULL = "toan_trinh"
    """Toàn trình: submitted, paid and received online."""
    PARTIAL = "mot_phan"
    """Một phần: submitted online, some steps in person."""
    NONE = "con_lai"
    """Còn lại: not offered online."""


class TicketReason(StrEnum):
    """Why a conversation is handed to an officer: the one vocabulary of the policy's escalations,
    :class:`bot.core.events.EscalationRequested` and the ``tickets.reason`` column (values as stored)."""

    REQUEST_HUMAN = "request_human"
    """The citizen asked for an officer."""
    REPEATED_FALLBACK = "repeated_fallback"
    """The bot did not understand and the citizen accepted the offer of an officer."""
    NEGATIVE_RATING = "negative_rating"
    """The citizen rated the bot low (``escalation.negative_rating_at_most``)."""
