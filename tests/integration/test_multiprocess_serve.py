"""The one-process side of issue 12, without PostgreSQL: ``serve --workers`` refused on SQLite,
``/readyz``, and what a process does with another process's change (the live reloader follows it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app.cli import main
from bot.core.live import InterpreterHolder
from bot.core.ports import Change
from bot.engine.live import ChangeFollower, LiveReloader


def test_serve_with_several_workers_on_sqlite_stops_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'one.sqlite3'}")
    assert main(["serve", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "SQLite chỉ phục vụ được một tiến trình" in err and "PostgreSQL" in err
    assert not (tmp_path / "one.sqlite3").exists()  # refused before anything was created


async def test_readyz_says_starting_then_ready_with_the_jobs_this_process_runs(factory_settings) -> None:
    from bot.app.server import create_app
    from tests.fakes.app import factory_app

    api = create_app(factory_app(factory_settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as client:
        before = await client.get("/readyz")
        assert before.status_code == 503 and before.json()["status"] == "starting"
        async with api.router.lifespan_context(api):
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            assert "dossier watcher" in ready.json()["runs"]  # one process: every single job is its own
        after = await client.get("/readyz")
        assert after.status_code == 503 and after.json()["status"] == "stopping"


class Loads:
    def __init__(self) -> None:
        self.trained = 0
        self.loaded: list[tuple[Path | None, Any]] = []

    def train(self) -> Path:
        self.trained += 1
        return Path(f"/models/nlu-{self.trained}.tar.gz")

    def load(self, model: Path | None, index: Any) -> Any:
        self.loaded.append((model, index))
        return f"interpreter of {model}"


def reloader(loads: Loads, published: list[Change], here: set[str]) -> LiveReloader:
    return LiveReloader(
        InterpreterHolder(object()),  # type: ignore[arg-type]
        lambda: "index",
        train=loads.train,
        load=loads.load,
        publish=published.append,
        locate=lambda name: Path("/shared") / name if name in here else None,
    )


def test_a_local_change_trains_then_tells_the_others_which_model() -> None:
    loads, published = Loads(), []
    live = reloader(loads, published, set())
    live.request()
    assert live.wait(10)
    assert loads.trained == 1 and published == [Change("knowledge", model="nlu-1.tar.gz")]


def test_another_process_change_loads_its_model_without_training() -> None:
    loads, published = Loads(), []
    live = reloader(loads, published, {"nlu-7.tar.gz"})
    live.follow("nlu-7.tar.gz")
    assert live.wait(10)
    assert loads.trained == 0 and loads.loaded == [(Path("/shared/nlu-7.tar.gz"), "index")]
    assert live.interpreter.target == "interpreter of /shared/nlu-7.tar.gz"
    assert published == []  # a followed change is not told again


def test_a_model_trained_on_another_machine_is_trained_here() -> None:
    loads, published = Loads(), []
    live = reloader(loads, published, set())
    live.follow("nlu-9.tar.gz")  # not in this machine's model folder
    assert live.wait(10)
    assert loads.trained == 1 and published == []


async def test_the_follower_reloads_texts_or_knowledge_by_kind() -> None:
    loads, calls = Loads(), []
    live = reloader(loads, [], {"nlu-2.tar.gz"})
    follower = ChangeFollower(live, lambda: calls.append("texts"), lambda: calls.append("snapshot"))
    await follower(Change("responses", origin="b"))
    assert calls == ["texts"] and live.wait(1) and loads.loaded == []
    await follower(Change("knowledge", model="nlu-2.tar.gz", origin="b"))
    assert live.wait(10) and calls == ["texts", "snapshot"]
    assert loads.loaded[-1][0] == Path("/shared/nlu-2.tar.gz")
    await follower(Change("resync"))
    assert live.wait(10) and calls == ["texts", "snapshot", "texts", "snapshot"]
