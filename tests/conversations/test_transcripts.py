"""Every YAML transcript through production's wiring (the runner and the format: runner.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.settings import Settings
from tests.conversations import runner
from tests.conversations.runner import FAKE_NLU, REAL_NLU, Transcript, World


@pytest.mark.parametrize("path", FAKE_NLU, ids=[p.stem for p in FAKE_NLU])
async def test_transcript(path: Path, factory_settings: Settings) -> None:
    transcript = Transcript.load(path)
    world = runner.fake_nlu_world(factory_settings, transcript)
    await runner.run_transcript(world, transcript, "transcript")


@pytest.fixture(scope="module")
def real_world(module_real_settings: Settings) -> Iterator[World]:
    world = runner.real_nlu_world(module_real_settings)
    yield world
    world.app.adapters.db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("path", REAL_NLU, ids=[p.stem for p in REAL_NLU])
async def test_real_transcript(path: Path, real_world: World, request: pytest.FixtureRequest) -> None:
    transcript = Transcript.load(path)
    world = real_world
    if transcript.needs_own_app:
        world = runner.real_nlu_world(request.getfixturevalue("real_settings"), transcript)
    await runner.run_transcript(world, transcript, "real-" + path.stem)


def test_every_transcript_file_is_run() -> None:
    """A YAML file outside the two sets (a typo in the extension's case, a new folder) would never run."""
    here = Path(runner.__file__).parent
    found = sorted(p for p in here.rglob("*") if p.suffix.lower() in {".yaml", ".yml"})
    assert found == sorted(FAKE_NLU + REAL_NLU)
    assert FAKE_NLU and REAL_NLU


def test_the_format_documents_exactly_the_keys_the_runner_reads() -> None:
    documented = set(re.findall(r"^ {4,}(?:- )?(\w+):", runner.__doc__ or "", re.M))
    assert documented == runner.TOP_KEYS | runner.TURN_KEYS
