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

With several server processes (issue 12) the process where the editor saved trains, then publishes a
:class:`bot.core.ports.Change` naming its new model; every other process follows it
(:meth:`LiveReloader.follow`): the same round without training, loading that model file (shared model folder) — or training its own
when the file is not there (another machine without a shared folder). :class:`ChangeFollower` is what
each process does with a change it hears of: response texts reloaded, or the catalogue snapshot dropped
and a following round.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.live import InterpreterHolder, ReloadStatus
from bot.core.ports import Change, Interpreter

log = logging.getLogger(__name__)


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
        publish: told of each round a local change asked for, once it is live (the change feed, so
            the other processes follow); None in one process.
        locate: the file of a model another process trained, by name (None: not on this machine).
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
        publish: Callable[[Change], None] | None = None,
        locate: Callable[[str], Path | None] | None = None,
    ) -> None:
        self.interpreter = interpreter
        self._build_index = build_index
        self._train = train
        self._load = load
        self._on_index = on_index
        self.reload_faqs = reload_faqs
        self._clock = clock
        self._publish = publish
        self._locate = locate
        self._lock = threading.Lock()
        self._wanted = False
        self._local = False  # a change of this process is in the wanted round: train, then publish
        self._follow: str | None = None  # the model another process trained, to load in that round
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
            self._local = True
            self._start()

    def follow(self, model: str | None = None) -> None:
        """Another process changed the knowledge base (and trained ``model``): a round in the
        background that rebuilds the FAQ matcher and the index and loads that model without training
        it again (training only when its file is not on this machine). Returns at once."""
        with self._lock:
            self._follow = model or self._follow
            self._start()

    def _start(self) -> None:
        """Mark a round wanted and start the worker if it is not running (under ``_lock``)."""
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
                local, follow = self._local, self._follow
                self._wanted, self._local, self._follow = False, False, None
            status = self.reload_now(train=local, model_name=None if local else follow)
            if local and self._publish is not None:  # even after a failed training: FAQs and index
                trained = status.state == "idle" and self._train is not None
                self._publish(Change("knowledge", model=status.model if trained else None))

    def reload_now(self, *, train: bool = True, model_name: str | None = None) -> ReloadStatus:
        """One round, in the calling thread: FAQs, index, training, loading, swap. Never raises.

        Args:
            train: train a new model (a change made here); False loads ``model_name`` (another
                process trained it) or the latest model, training only when that file is missing here.
            model_name: the model file another process trained.
        """
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
            if not train and model_name and self._locate is not None:
                model = self._locate(model_name)
                train = model is None  # trained on another machine: this one trains its own
            if train and self._train is not None and self._load is not None:
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


class ChangeFollower:
    """What a process does with a :class:`bot.core.ports.Change` another process made (the change
    feed calls it): response texts reloaded from the store, or the catalogue snapshot dropped and a
    :meth:`LiveReloader.follow` round (FAQ matcher, search index, the other process's model); a
    ``resync`` (changes may have been missed) does both.

    Args:
        reloader: this process's live reloader.
        reload_responses: reads the editors' response texts again and swaps the catalogue in.
        forget_knowledge: drops the catalogue snapshot, so the next read sees the database.
    """

    def __init__(
        self,
        reloader: LiveReloader,
        reload_responses: Callable[[], None],
        forget_knowledge: Callable[[], None],
    ) -> None:
        self.reloader = reloader
        self._reload_responses = reload_responses
        self._forget_knowledge = forget_knowledge
        self.received = 0

    async def __call__(self, change: Change) -> None:
        """Take ``change`` in (the reload of the index and the model runs in the reloader's thread)."""
        self.received += 1
        log.info("taking in a %s change from %s", change.kind, change.origin or "another process")
        if change.kind in ("responses", "resync"):
            await asyncio.to_thread(self._reload_responses)
        if change.kind in ("knowledge", "resync"):
            await asyncio.to_thread(self._forget_knowledge)
            self.reloader.follow(change.model)
