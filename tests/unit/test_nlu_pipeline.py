"""The NLU pipeline end to end on a small fixture: parse shape, offsets, persistence, bad input, CLI."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import time
from pathlib import Path

import pytest
import yaml

from knowledge.ports import SearchHit
from nlu import cli, models
from nlu.component import ConfigError
from nlu.pipeline import MODEL_FORMAT_VERSION, ModelError, Pipeline, load_config, validate_config
from nlu.training_data import load_training_data

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"
REPO = Path(__file__).resolve().parents[2]


class FakeIndex:
    """Stands in for knowledge.search.SearchIndex: share of a name's words found in the query."""

    names = {
        "1.013225": "cấp giấy phép xây dựng",
        "1.001193": "đăng ký khai sinh",
        "3.000347": "đổi giấy phép lái xe",
        "3.000348": "cấp lại giấy phép lái xe",
    }

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        words = set(text.split())
        hits = []
        for code, name in self.names.items():
            if code == text.strip():
                return [SearchHit(code, name, 1.0)]
            share = len(words & set(name.split())) / len(name.split())
            if share:
                hits.append(SearchHit(code, name, round(share, 4)))
        return sorted(hits, key=lambda h: (-h.score, h.code))[:k]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    pipe = Pipeline.from_file(DATA / "config.yml", FakeIndex())
    pipe.train(load_training_data(DATA / "nlu.yml"))
    return pipe


def test_parse_shape(pipeline: Pipeline) -> None:
    result = pipeline.parse("lam giay phep xay dung can giay to gi")
    assert set(result) == {"text", "intent", "intent_ranking", "entities", "procedure", "procedure_ranking"}
    assert result["text"] == "lam giay phep xay dung can giay to gi"
    assert result["intent"]["name"] == "ask_documents"
    assert 0 < result["intent"]["confidence"] <= 1
    assert len(result["intent_ranking"]) <= 10
    assert result["procedure"]["code"] == "1.013225"
    assert set(result["procedure"]) == {"code", "name", "score"}
    for ent in result["entities"]:
        assert {"entity", "value", "start", "end", "confidence", "extractor"} <= set(ent)
    json.dumps(result)


def test_entity_offsets_index_the_original_text(pipeline: Pipeline) -> None:
    text = "  Hồ sơ   000.00.24.H12-250301-0007\tcủa em, SĐT 0912.345.678, gplx ạ"
    result = pipeline.parse(text)
    spans = {e["entity"]: text[e["start"] : e["end"]] for e in result["entities"]}
    assert spans == {
        "dossier_code": "000.00.24.H12-250301-0007",
        "phone": "0912.345.678",
        "procedure": "gplx",
    }


def test_small_talk_has_no_procedure(pipeline: Pipeline) -> None:
    result = pipeline.parse("xin chào")
    assert result["intent"]["name"] == "greet"
    assert result["procedure"] is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙏",
        "\x00\x07\x1b[31m",
        "中文 العربية тест",
        "a" * 20_000,
        "đ" * 5000,
        None,
        12,
        "[]{}()",
    ],
)
def test_bad_input_gives_a_valid_result(pipeline: Pipeline, text) -> None:
    result = pipeline.parse(text)
    assert isinstance(result["intent"]["name"], str)
    assert len(result["text"]) <= 2000
    for ent in result["entities"]:
        assert 0 <= ent["start"] <= ent["end"] <= len(result["text"])
    json.dumps(result)


def test_long_text_is_cut_and_stays_fast(pipeline: Pipeline) -> None:
    text = "gplx het han doi o dau " * 1000
    started = time.perf_counter()
    result = pipeline.parse(text)
    assert time.perf_counter() - started < 1.0
    assert result["text"] == text[:2000]


def test_save_load_round_trip_gives_identical_output(pipeline: Pipeline, tmp_path: Path) -> None:
    path = pipeline.save(tmp_path / "m" / "nlu-test.pkl.gz")
    started = time.perf_counter()
    loaded = Pipeline.load(path, FakeIndex())
    assert time.perf_counter() - started < 1.0
    texts = ["doi bang lai o dau", "lệ phí khai sinh bao nhiêu", "hồ sơ 000.00.24.H12-250301-0007", "", "🙂"]
    for text in texts:
        assert loaded.parse(text) == pipeline.parse(text)
    assert loaded.metadata["config_hash"] == pipeline.config_hash
    assert loaded.metadata["training_data_hash"] == pipeline.metadata["training_data_hash"]
    assert loaded.metadata["format_version"] == MODEL_FORMAT_VERSION


def test_loaded_model_without_index_links_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    loaded = Pipeline.load(pipeline.save(tmp_path / "m.pkl.gz"))
    assert loaded.parse("lam giay phep xay dung can giay to gi")["procedure"] is None
    loaded.set_knowledge_index(FakeIndex())
    assert loaded.parse("lam giay phep xay dung can giay to gi")["procedure"]["code"] == "1.013225"


def test_model_file_of_another_format_is_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    path = pipeline.save(tmp_path / "m.pkl.gz")
    with gzip.open(path, "rb") as fh:
        payload = pickle.load(fh)
    payload["format_version"] = 999
    with gzip.open(path, "wb") as fh:
        pickle.dump(payload, fh)
    with pytest.raises(ModelError, match="retrain"):
        Pipeline.load(path)
    (tmp_path / "junk.pkl.gz").write_bytes(b"not a model")
    with pytest.raises(ModelError):
        Pipeline.load(tmp_path / "junk.pkl.gz")
    with pytest.raises(ModelError, match="not found"):
        Pipeline.load(tmp_path / "missing.pkl.gz")


def test_untrained_pipeline_refuses_to_parse_or_save(tmp_path: Path) -> None:
    pipe = Pipeline.from_file(DATA / "config.yml")
    with pytest.raises(ModelError):
        pipe.parse("x")
    with pytest.raises(ModelError):
        pipe.save(tmp_path / "m.pkl.gz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["pipeline"].append({"name": "SpacyNLP"}), "unknown NLU component"),
        (lambda c: c["pipeline"][-1].update(threshold=2), "threshold"),
        (lambda c: c["pipeline"][-1].update(ambiguity_threshold=-0.1), "ambiguity_threshold"),
        (lambda c: c["pipeline"].append({"name": "FallbackClassifier"}), "listed twice"),
        (lambda c: c.update(language="en"), "Vietnamese"),
        (lambda c: c.update(pipeline=[]), "pipeline"),
    ],
)
def test_bad_config_is_a_clear_error(change, message) -> None:
    config = load_config(DATA / "config.yml")
    change(config)
    with pytest.raises(ConfigError, match=message):
        Pipeline.from_config(config)


def test_project_config_is_valid() -> None:
    config = load_config(REPO / "config.yml")
    parsed = validate_config(config)
    assert parsed.language == "vi"
    assert [s.name for s in parsed.pipeline][-1] == "FallbackClassifier"


def test_model_store_train_load_and_cli_parse(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    path = models.train_model(DATA / "config.yml", [DATA / "nlu.yml"], model_dir, version="t1")
    assert path.name == "nlu-t1.pkl.gz"
    assert (model_dir / "latest").read_text().strip() == "nlu-t1.pkl.gz"
    assert models.resolve_model(model_dir) == path
    pipe = models.load_model(model_dir, FakeIndex)
    out = io.StringIO()
    assert cli.parse_lines(pipe, ["doi bang lai o dau\n", "\n", "xin chào\n"], out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in lines] == ["doi bang lai o dau", "", "xin chào"]
    with pytest.raises(FileNotFoundError):
        models.resolve_model(tmp_path / "empty")


def test_cli_registers_nlu_commands() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["nlu", "evaluate", "--folds", "3", "--no-heldout"])
    assert args.func is cli.cmd_evaluate and args.folds == 3
    args = parser.parse_args(["nlu", "parse", "xin", "chào"])
    assert args.func is cli.cmd_parse and args.text == ["xin", "chào"]
    assert parser.parse_args(["nlu", "train"]).func is cli.cmd_train


def test_cli_commands_run_on_the_files_they_are_given(tmp_path: Path, capsys) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    bound = []
    cli.add_parser(
        parser.add_subparsers(dest="command"), bind=lambda command: bound.append(command) or command
    )
    assert bound == [cli.cmd_train, cli.cmd_parse, cli.cmd_evaluate]
    files = cli.NluFiles(
        DATA / "config.yml", DATA / "nlu.yml", tmp_path / "models", knowledge_index=FakeIndex
    )
    args = parser.parse_args(["nlu", "train"])
    assert args.func(args, files) == 0
    assert (tmp_path / "models" / "latest").exists()
    args = parser.parse_args(["nlu", "parse", "doi bang lai o dau"])
    assert args.func(args, files) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["text"] == "doi bang lai o dau" and result["procedure_ranking"]


def test_fixture_config_is_rasa_shaped() -> None:
    raw = yaml.safe_load((DATA / "config.yml").read_text(encoding="utf-8"))
    assert all("name" in step for step in raw["pipeline"])


def test_repeated_texts_are_served_from_the_parse_cache_and_results_are_independent(
    pipeline: Pipeline,
) -> None:
    pipeline.clear_cache()
    hits = pipeline.cache_hits
    first = pipeline.parse("lệ phí bao nhiêu")
    second = pipeline.parse("lệ phí bao nhiêu")
    assert second == first
    assert pipeline.cache_hits == hits + 1
    second["intent"]["name"] = "changed by a caller"
    assert pipeline.parse("lệ phí bao nhiêu")["intent"]["name"] == first["intent"]["name"]
    pipeline.set_knowledge_index(pipeline.knowledge_index)  # a new index forgets remembered parses
    pipeline.parse("lệ phí bao nhiêu")
    assert pipeline.cache_hits == hits + 2
