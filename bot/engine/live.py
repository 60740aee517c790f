"""Editors' changes go live without a restart: swappable holders and the background reload worker.

The engine calls an :class:`InterpreterHolder`, and every part that speaks reads a :class:`LiveResponses`;
both forward to a target that is replaced in one assignment, so a message is answered wholly by the old
model or wholly by the new one, never by a half-built mix.

After an editor saves a procedure or an FAQ entry, :meth:`LiveReloader.request` wakes a worker thread
that reloads the FAQ matcher, rebuilds the knowledge search index, retrains the NLU (about 4 s; the
training data is ``data/nlu.yml`` plus the editors' learned examples, console/learning/; the knowledge
base reaches the NLU through the index) and loads the new model with the new index, then swaps it in.
The training and loading are callables the composition root builds (:func:`nlu.models.nlu_trainer`,
:func:`nlu.models.nlu_loader`), so the engine never imports the NLU.
Saves made meanwhile are folded into one more round. A round that fails leaves the old model answering;
:meth:`LiveReloader.status` says why until the next round succeeds (the editor pages and
``GET /api/editor/status`` show it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.core.ports import Interpreter
from bot.core.responses import Rendered, ResponseCatalogue

log = logging.getLogger(__name__)

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


Trainer = Callable[[], Path]
"""Trains a new NLU model and returns its file."""
Loader = Callable[[Path | None, Any], Interpreter]
"""Loads a model file (None: the latest one) with a search index."""


class LiveReloader:
    """Rebuilds the index and the NLU in a background thread and swaps them in (see the module doc).

    Args:
        interpreter: the holder the engine calls.
        build_index: builds a fresh search index from the knowledge base.
        train: trains a new model; None keeps the current model file (only the index changes).
        load: loads a model with an index; None leaves the interpreter alone (tests with a fake NLU).
        on_index: receives each new index once it is live (the container keeps it for other users).
        reload_faqs: reloads the FAQ matcher from the knowledge base; None when there is none.
        clock: the current time (injectable for tests).
    """

    def __init__(
        self,
        interpreter: InterpreterHolder,
        build_index: Callable[[], Any],
        *,
        train: Trainer | None = None,
        load: Loader | None = None,
        on_index: Callable[[Any], None] | None = None,
        reload_faqs: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.interpreter = interpreter
        self._build_index = build_index
        self._train = train
        self._load = load
        self._on_index = on_index
        self.reload_faqs = reload_faqs
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._status = ReloadStatus()

    def status(self) -> ReloadStatus:
        """The current state (a copy; safe to read from any thread)."""
        with self._lock:
            return replace(self._status, pending=self._wanted)

    def request(self) -> None:
        """Ask for a round in the background; returns at once (rounds asked meanwhile fold into one)."""
        with self._lock:
            self._wanted = True
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="helpline-live-reload", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no round is running or wanted; False when ``timeout`` seconds passed first."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    self._thread = None
                    self._idle.set()
                    return
                self._wanted = False
            self.reload_now()

    def reload_now(self) -> ReloadStatus:
        """One round, in the calling thread: FAQs, index, training, loading, swap. Never raises."""
        started, t0 = self._clock(), time.perf_counter()
        with self._lock:
            self._status = replace(self._status, state="running", last_started_at=started)
        stage = "tải lại câu hỏi thường gặp"
        try:
            if self.reload_faqs is not None:
                self.reload_faqs()
            stage = "dựng lại chỉ mục tìm kiếm"
            index = self._build_index()
            model: Path | None = None
            if self._train is not None and self._load is not None:
                stage = "huấn luyện lại mô hình hiểu câu hỏi"
                model = self._train()
            if self._load is not None:
                stage = "nạp mô hình mới"
                self.interpreter.swap(self._load(model, index))
            if self._on_index is not None:
                self._on_index(index)
        except Exception as exc:  # any failure: keep the old model answering and say why
            log.exception("live reload failed while trying to %s", stage)
            reason = f"Lỗi khi {stage}: {exc}" if str(exc) else f"Lỗi khi {stage} ({type(exc).__name__})."
            with self._lock:
                self._status = replace(
                    self._status,
                    state="failed",
                    reason=reason,
                    last_seconds=time.perf_counter() - t0,
                    rounds=self._status.rounds + 1,
                )
                return replace(self._status)
        seconds = time.perf_counter() - t0
        log.info("live reload done in %.1f s (model %s)", seconds, model.name if model else "unchanged")
        with self._lock:
            self._status = replace(
                self._status,
                state="idle",
                reason=None,
                last_success_at=self._clock(),
                last_seconds=seconds,
                rounds=self._status.rounds + 1,
                model=model.name if model else self._status.model,
            )
            return replace(self._status)

    def close(self, timeout: float = 15.0) -> None:
        """Wait (up to ``timeout`` seconds) for a running round at shutdown; later requests still work."""
        self.wait(timeout)
