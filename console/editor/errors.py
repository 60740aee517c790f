"""What the editor service refuses, as :mod:`bot.core.errors` classes; the message is for the editor,
and the web edge (:mod:`console.web.errors`) gives each its HTTP status::

    EditorError                         every refusal of the editor service
    ├── DraftInvalid     (ValidationFailed)  what was typed is not valid; ``problems``: field -> message
    ├── EditRefused      (BadRequest)        the change cannot be made as asked
    ├── RecordNotFound   (NotFound)          no such procedure, entry, response key or audit entry
    └── EditConflict     (Conflict)          someone else saved the record since the editor opened it
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.errors import BadRequest, Conflict, HelplineError, NotFound, ValidationFailed


class EditorError(HelplineError):
    """A change the service refused; the message is for the editor."""


class DraftInvalid(EditorError, ValidationFailed):
    """What was typed is not valid: ``problems`` maps a field path to a message.

    Field paths: ``name``, ``channels.0.fee_vnd`` (rows counted from 0; messages count from 1).
    """

    problems: dict[str, str]

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("Chưa lưu được, vui lòng sửa: " + " ".join(problems.values()), problems)


class EditRefused(EditorError, BadRequest):
    """The change cannot be made as asked (a version that never existed, the "try it" box turned off)."""


class RecordNotFound(EditorError, NotFound):
    """No such procedure, entry, response key or audit entry."""


class EditConflict(EditorError, Conflict):
    """Someone else saved the same record since the editor opened it."""
