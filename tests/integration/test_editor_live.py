"""Changes go live without a restart: the background rebuild swaps the index and the NLU atomically, and a
failed rebuild keeps the old model answering and says why. The real server, NLU and seed."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.core.live import InterpreterHolder, LiveResponses
from bot.core.responses import ResponseCatalogue
from bot.engine.live import LiveReloader
from console.editor.drafts import procedure_draft
from nlu.models import prune_models

BIRTH = "1.001193"
NEW_ALIAS = "giấy chào đời"
QUESTION = "giấy chào đời lệ phí bao nhiêu"


class Echo:
    def __init__(self, name: str) -> None:
        self.name = name

    def parse(self, text: str) -> dict:
        return {"text": text, "intent": {"name": self.name, "confidence": 1.0}}


# --- the holders and the worker, with fakes -------------------------------------------------------------


def test_reload_swaps_in_one_assignment_and_a_failure_keeps_the_old_model() -> None:
    holder = InterpreterHolder(Echo("old"))
    indexes: list[object] = []
    trained = iter([Path("nlu-1.pkl.gz"), RuntimeError("hết bộ nhớ khi huấn luyện")])

    def train() -> Path:
        result = next(trained)
        if isinstance(result, Exception):
            raise result
        return result

    reloader = LiveReloader(
        holder,
        build_index=lambda: object(),
        train=train,
        load=lambda model, index: Echo(f"new {model.name}"),
        on_index=indexes.append,
    )
    assert reloader.status().state == "idle" and reloader.status().last_success_at is None
    reloader.request()
    assert reloader.wait(10)
    status = reloader.status()
    assert status.state == "idle" and status.model == "nlu-1.pkl.gz" and status.last_success_at is not None
    assert holder.parse("x")["intent"]["name"] == "new nlu-1.pkl.gz" and len(indexes) == 1

    reloader.request()
    assert reloader.wait(10)
    failed = reloader.status()
    assert failed.state == "failed" and "huấn luyện lại" in failed.reason and "hết bộ nhớ" in failed.reason
    assert failed.last_success_at == status.last_success_at
    assert holder.parse("x")["intent"]["name"] == "new nlu-1.pkl.gz" and len(indexes) == 1


def test_requests_during_a_round_fold_into_one_more_round() -> None:
    holder, rounds = InterpreterHolder(Echo("old")), []

    def slow_index() -> object:
        rounds.append(datetime.now(UTC))
        time.sleep(0.2)
        return object()

    reloader = LiveReloader(holder, slow_index)
    for _ in range(5):
        reloader.request()
        time.sleep(0.02)
    assert reloader.wait(10)
    assert len(rounds) == 2 and reloader.status().rounds == 2


def test_live_responses_swap() -> None:
    first = ResponseCatalogue.load()
    live = LiveResponses(first)
    assert live.keys == first.keys and live.text("utter_thank") == first.text("utter_thank")
    data = __import__("yaml").safe_load(Path("data/responses.yml").read_text(encoding="utf-8"))
    data["responses"]["utter_thank"] = [{"text": "Không có chi."}]
    live.swap(ResponseCatalogue.from_mapping(data))
    assert live.text("utter_thank") == "Không có chi." and live.current is not first


def test_prune_models_keeps_the_newest_and_the_latest(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"nlu-{i}.pkl.gz").write_text("x")
        t = 1_000_000 + i
        __import__("os").utime(tmp_path / f"nlu-{i}.pkl.gz", (t, t))
    (tmp_path / "latest").write_text("nlu-0.pkl.gz\n")
    removed = prune_models(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == ["nlu-1.pkl.gz", "nlu-2.pkl.gz", "nlu-3.pkl.gz"]
    assert (tmp_path / "nlu-0.pkl.gz").exists() and (tmp_path / "nlu-6.pkl.gz").exists()


# --- the real server ------------------------------------------------------------------------------------


@pytest.fixture
def live_container(real_settings, tmp_path):
    """A real container whose model folder is private (the rebuild writes new models there)."""
    from bot.app.bootstrap import bootstrap

    models = tmp_path / "models"
    shutil.copytree(real_settings.model_dir, models)
    container = bootstrap(real_settings.model_copy(update={"model_dir": models}))
    container.migrate()
    container.users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa")
    return container


async def ask(client: httpx.AsyncClient, sender: str, text: str) -> str:
    res = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert res.status_code == 200, res.text
    return "\n".join(m.get("text", "") for m in res.json())


@pytest.mark.slow
async def test_saved_alias_is_understood_without_restart(live_container) -> None:
    from bot.app.server import create_app

    app = create_app(live_container)
    hoa = live_container.users.authenticate("hoa", "lua-vang-2026")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        before = await ask(c, "citizen-1", QUESTION)
        assert "khai sinh" not in before.lower()
        old_model = live_container.interpreter.target

        editor = live_container.editor
        draft = procedure_draft(editor.procedure(BIRTH))
        draft["aliases"] = [*draft["aliases"], NEW_ALIAS]
        for channel in draft["channels"]:
            channel["fee_text"] = "Lệ phí : 8.000 Đồng (bản sao trích lục)"
        started = time.perf_counter()
        result = editor.save_procedure(draft, hoa, code=BIRTH)
        assert result.changed and editor.status().state in ("running", "idle")
        assert live_container.live_reloader.wait(15), "the rebuild took longer than 15 s"
        seconds = time.perf_counter() - started
        status = (await c.get("/healthz")).json()
        assert status["status"] == "ok"

        after = await ask(c, "citizen-2", QUESTION)
        assert "khai sinh" in after.lower() and "8.000" in after, after
        assert live_container.interpreter.target is not old_model
        assert editor.status().state == "idle" and editor.status().last_seconds <= 15
        print(f"live reload (index + training + load) took {seconds:.1f} s")


@pytest.mark.slow
async def test_failed_retrain_keeps_the_old_model_and_says_why(live_container) -> None:
    from bot.app.server import create_app
    from nlu.models import nlu_loader

    def broken_trainer() -> Path:
        raise ValueError("config.yml: pipeline trống")

    c = live_container
    c.live_reloader = LiveReloader(
        c.interpreter, c.build_search_index, train=broken_trainer, load=nlu_loader(c.settings.model_dir)
    )
    app = create_app(c)
    hoa = c.users.authenticate("hoa", "lua-vang-2026")
    old_model = c.interpreter.target
    draft = procedure_draft(c.editor.procedure(BIRTH))
    draft["aliases"] = [*draft["aliases"], NEW_ALIAS]
    c.editor.save_procedure(draft, hoa, code=BIRTH)
    assert c.live_reloader.wait(15)
    status = c.editor.status()
    assert status.state == "failed" and "pipeline trống" in status.reason and status.last_success_at is None
    assert c.interpreter.target is old_model
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await ask(client, "citizen-3", "đăng ký khai sinh cần giấy tờ gì")
        assert "khai sinh" in answer.lower()
