"""Holders that let editors' changes go live: swapped in one assignment, read by everyone.

The engine calls an :class:`InterpreterHolder`, and every part that speaks reads a :class:`LiveResponses`;
both forward to a target that is replaced in one assignment, so a message is answered wholly by the old
model or wholly by the new one, never by a half-built mix. The background worker that builds the new
targets is :class:`bot.engine.live.LiveReloader`; :class:`ReloadStatus` is what it reports and
:class:`Reloader` what the console needs of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.core.ports import Interpreter
from bot.core.responses import Rendered, ResponseCatalogue

ReloadState = Literal["idle", "running", "failed"]


class InterpreterHolder:
    """The interpreter the engine calls; :meth:`swap` points it at another one in one assignment.

    Args:
        target: the interpreter answering now.
    """

    def __init__(self, target: Interpreter) -> None:
        self._target = target

    @property
    def target(self) -> Interpreter:
        """The interpreter answering now."""
        return self._target

    def swap(self, target: Interpreter) -> Interpreter:
        """Answer with ``target`` from now on; returns the previous interpreter."""
        previous, self._target = self._target, target
        return previous

    def parse(self, text: str) -> dict[str, Any]:
        """Understand one message with the current target (read once, so a swap never splits a call)."""
        return self._target.parse(text)


class LiveResponses(ResponseCatalogue):
    """The response catalogue everyone holds; :meth:`swap` replaces the texts behind it at once.

    It is a :class:`bot.core.responses.ResponseCatalogue` (same ``render``, ``text`` and ``keys``) that
    forwards to the current catalogue, so the engine, actions, tickets and the dossier watcher keep
    their reference and still see an editor's new text on the next message.

    Args:
        catalogue: the validated catalogue to start with.
    """

    def __init__(self, catalogue: ResponseCatalogue) -> None:  # no super().__init__: it only forwards
        self._current = catalogue

    @property
    def current(self) -> ResponseCatalogue:
        """The catalogue answering now."""
        return self._current

    def swap(self, catalogue: ResponseCatalogue) -> ResponseCatalogue:
        """Use ``catalogue`` from now on; returns the previous one."""
        previous, self._current = self._current, catalogue
        return previous

    @property
    def keys(self) -> frozenset[str]:
        return self._current.keys

    def render(self, key: str, **variables: Any) -> Rendered:
        return self._current.render(key, **variables)

    def __getattr__(self, name: str) -> Any:
        # Anything else a catalogue offers (now or later) is the current catalogue's.
        if name == "_current":
            raise AttributeError(name)
        return getattr(self._current, name)


@dataclass(frozen=True)
class ReloadStatus:
    """Where the live reload stands.

    Attributes:
        state: ``idle`` (nothing to do), ``running`` or ``failed`` (the last round failed; the previous
            model still answers).
        reason: why the last round failed, in plain words; None unless ``state`` is ``failed``.
        last_success_at: when a round last finished and swapped the model in (None: not since start-up).
        last_started_at: when the last round started.
        last_seconds: how long the last finished round took.
        rounds: rounds finished (successful or not) since start-up.
        pending: a change arrived while a round was running; another round follows.
        model: the model file answering now, when known.
    """

    state: ReloadState = "idle"
    reason: str | None = None
    last_success_at: datetime | None = None
    last_started_at: datetime | None = None
    last_seconds: float | None = None
    rounds: int = 0
    pending: bool = False
    model: str | None = None


class Reloader(Protocol):
    """The live rebuild, as the console sees it: ask for a round, read where it stands."""

    def request(self) -> None:
        """Rebuild the index and the NLU in the background (folded with rounds already asked for)."""
        ...

    def status(self) -> ReloadStatus:
        """Where the rebuild stands."""
        ...
