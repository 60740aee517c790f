"""The NLU model store: train a model into a folder, find the one ``latest`` names, load it.

A model folder holds ``nlu-<version>.pkl.gz`` files (:meth:`nlu.pipeline.Pipeline.save`) and a
``latest`` file naming the one to load. The command line (:mod:`nlu.cli`), the composition root
(:mod:`bot.app.bootstrap`: the first training at start-up, and the train / load callables it gives
:class:`bot.engine.live.LiveReloader`), benchmarks and tests all go through these functions, so the
engine never imports the NLU and the CLI holds no library code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from nlu.linker import KnowledgeIndex
from nlu.pipeline import Pipeline
from nlu.training_data import TrainingData, load_training_data

log = logging.getLogger(__name__)

IndexProvider = Callable[[], KnowledgeIndex | None]
"""Gives the knowledge base's search index for the procedure linker; called only when a model is
loaded, so commands that never parse need no database."""

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config.yml"
DEFAULT_DATA = PROJECT_ROOT / "data" / "nlu.yml"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "var" / "models"
LATEST = "latest"


def train_model(
    config_path: str | Path = DEFAULT_CONFIG,
    data_paths: Sequence[str | Path] = (DEFAULT_DATA,),
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    version: str | None = None,
    extra: TrainingData | None = None,
) -> Path:
    """Train on ``data_paths`` with ``config_path`` and write ``<model_dir>/nlu-<version>.pkl.gz``.

    ``<model_dir>/latest`` then names the new file. Training needs no knowledge index (the index is
    never stored in the model).

    Args:
        config_path: the ``config.yml`` to use.
        data_paths: NLU YAML files or folders.
        model_dir: where models are kept.
        version: the model's version tag; default ``<UTC timestamp>-<config hash>``.
        extra: more examples trained on with the files (the editors' learned examples,
            :func:`nlu.learned.learned_training_data`).

    Returns:
        The model file written.
    """
    pipeline = Pipeline.from_file(config_path)
    data = load_training_data(list(data_paths))
    pipeline.train(data.merge(extra) if extra is not None else data)
    version = version or f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{pipeline.config_hash[:8]}"
    target = pipeline.save(Path(model_dir) / f"nlu-{version}.pkl.gz")
    (Path(model_dir) / LATEST).write_text(target.name + "\n", encoding="utf-8")
    return target


def resolve_model(path: str | Path = DEFAULT_MODEL_DIR) -> Path:
    """The model file ``path`` designates: a file, or a folder / ``latest`` file naming one.

    Raises:
        FileNotFoundError: nothing to load there (train first).
    """
    p = Path(path)
    if p.is_dir():
        p = p / LATEST
    if p.name == LATEST:
        if not p.exists():
            raise FileNotFoundError(f"no NLU model in {p.parent}: run `helpline nlu train` first")
        p = p.parent / p.read_text(encoding="utf-8").strip()
    if not p.exists():
        raise FileNotFoundError(f"NLU model not found: {p}")
    return p


def load_model(
    path: str | Path = DEFAULT_MODEL_DIR, knowledge_index: IndexProvider | None = None
) -> Pipeline:
    """Load a model (see :func:`resolve_model`) with the index the provider gives."""
    return Pipeline.load(resolve_model(path), knowledge_index() if knowledge_index else None, PROJECT_ROOT)


def nlu_trainer(
    config_path: Path,
    data_paths: Sequence[Path],
    model_dir: Path,
    keep: int = 5,
    extra: Callable[[], TrainingData | None] | None = None,
) -> Callable[[], Path]:
    """A trainer writing a new model into ``model_dir`` (which ``latest`` then names), keeping the
    ``keep`` newest model files so repeated edits do not fill the disk. ``extra`` gives examples to
    train on besides the files, read afresh each round (the editors' learned examples)."""

    def train() -> Path:
        target = train_model(config_path, data_paths, model_dir, extra=extra() if extra else None)
        prune_models(model_dir, keep=keep, protect=target)
        return target

    return train


def nlu_loader(model_dir: Path) -> Callable[[Path | None, KnowledgeIndex | None], Pipeline]:
    """A loader for model files (None: the one ``<model_dir>/latest`` names) with a given index."""

    def load(model: Path | None, index: KnowledgeIndex | None) -> Pipeline:
        return load_model(model if model is not None else model_dir, lambda: index)

    return load


def prune_models(model_dir: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest ``nlu-*.pkl.gz`` files (never ``protect`` nor the one
    ``latest`` names); returns the files deleted."""
    files = sorted(model_dir.glob("nlu-*.pkl.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    latest = model_dir / LATEST
    named = latest.read_text(encoding="utf-8").strip() if latest.exists() else ""
    removed = []
    for old in files[max(keep, 1) :]:
        if old == protect or old.name == named:
            continue
        try:
            old.unlink()
            removed.append(old)
        except OSError:  # another process may be reading or have removed it: not our problem here
            log.warning("could not remove old model %s", old)
    return removed
