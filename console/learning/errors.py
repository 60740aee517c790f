"""What the learning service refuses, as :mod:`bot.core.errors` classes; the message is for the editor,
and the web edge (:mod:`console.web.errors`) gives each its HTTP status::

    LearningError                            every refusal of the learning service
    ├── InvalidAssignment  (ValidationFailed)  an assignment names something unknown; ``problems``: field -> message
    ├── ImportRefused      (ValidationFailed)  a file that cannot be imported; ``problems``: "Dòng N: ..." lines
    ├── LearningRefused    (BadRequest)        the request cannot be done as asked (an unknown filter, a decided group)
    └── InboxItemNotFound  (NotFound)          no such group in the inbox
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.errors import BadRequest, HelplineError, NotFound, ValidationFailed

MAX_PROBLEMS = 20
"""Problems listed when a file is refused (the rest are counted)."""


class LearningError(HelplineError):
    """A request the service refused; the message is for the editor."""


class InvalidAssignment(LearningError, ValidationFailed):
    """The assignment names an unknown intent, procedure or FAQ entry (``problems``: field -> message)."""

    problems: dict[str, str]

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("Chưa gán được: " + " ".join(problems.values()), problems)


class ImportRefused(LearningError, ValidationFailed):
    """A file that cannot be imported; nothing was written. ``problems`` are "Dòng N: ..." messages."""

    problems: list[str]

    def __init__(self, problems: Sequence[str], total: int | None = None) -> None:
        shown = list(problems)[:MAX_PROBLEMS]
        total = len(problems) if total is None else total
        more = f" (và {total - len(shown)} lỗi khác)" if total > len(shown) else ""
        super().__init__("Tệp chưa được nhập, không có gì thay đổi. " + " ".join(shown) + more, shown)


class LearningRefused(LearningError, BadRequest):
    """The request cannot be done as asked: an unknown inbox filter, a group already decided otherwise."""


class InboxItemNotFound(LearningError, NotFound):
    """No such group in the inbox (its messages may have left the log)."""
