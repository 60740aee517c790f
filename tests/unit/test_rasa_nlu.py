"""``RasaNLU`` (nlu/rasa_nlu.py): a Rasa server's /model/parse as the pipeline's intent classifier, the
project's normalizer, extractors, procedure linking and fallback around it. The Rasa server is a local
fake on 127.0.0.1 that answers as Rasa 3.6 does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import nlu.rasa_nlu  # noqa: F401 - registers the component, as the composition root does
from knowledge.search import SearchIndex
from nlu.component import ConfigError
from nlu.pipeline import Pipeline
from nlu.training_data import load_training_data
from tests import factories as f

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"


class FakeRasa:
    """A Rasa server's /model/parse: "lệ phí" is ask_fee, anything else greet; it records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.calls.append((self.path, body))
                text = body["text"]
                fee = "phí" in text or "phi" in text
                intent = {"name": "ask_fee" if fee else "greet", "confidence": 0.88}
                answer = {
                    "text": text,
                    "intent": intent,
                    "entities": [
                        {"entity": "amount", "start": 0, "end": 3, "value": text[:3], "extractor": "DIETClassifier",
                         "confidence_entity": 0.7},
                        {"entity": "broken", "start": 500, "end": 900, "value": "x"},
                    ],
                    "text_tokens": [[0, 3]],
                    "intent_ranking": [intent, {"name": "greet" if fee else "ask_fee", "confidence": 0.12}],
                    "response_selector": {"all_retrieval_intents": []},
                }  # fmt: skip
                data = json.dumps(answer).encode() if fake.status == 200 else b'{"status": "failure"}'
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as server:
        yield server


def config(url: str, **rasa: Any) -> dict[str, Any]:
    return {
        "language": "vi",
        "pipeline": [
            {"name": "VietnameseNormalizer", "abbreviations_path": "abbreviations.yml"},
            {"name": "RasaNLU", "url": url, "timeout_seconds": 2, "retries": 0, **rasa},
            {"name": "RegexEntityExtractor"},
            {"name": "ProcedureMentionExtractor", "aliases_path": "aliases.yml"},
            {"name": "ProcedureLinker"},
            {"name": "FallbackClassifier", "threshold": 0.3, "procedure_threshold": 0.3},
        ],
    }


def pipeline(url: str, **rasa: Any) -> Pipeline:
    index = SearchIndex.build(f.all_procedures())
    pipe = Pipeline.from_config(config(url, **rasa), index, base_dir=DATA)
    pipe.train(load_training_data(DATA / "nlu.yml"))
    return pipe


def test_rasa_understands_and_the_project_links_the_procedure(rasa: FakeRasa) -> None:
    pipe = pipeline(rasa.url)
    assert rasa.calls == [], "training asks the Rasa server nothing"
    result = pipe.parse("lệ phí đăng ký kết hôn")
    assert rasa.calls == [("/model/parse", {"text": "lệ phí đăng ký kết hôn", "message_id": None})]
    assert result["intent"] == {"name": "ask_fee", "confidence": 0.88}
    assert [r["name"] for r in result["intent_ranking"]] == ["ask_fee", "greet"]
    assert result["procedure"]["code"] == f.MARRIAGE
    amount = next(e for e in result["entities"] if e["entity"] == "amount")
    assert amount == {"entity": "amount", "value": "lệ ", "start": 0, "end": 3, "confidence": 0.7,
                      "extractor": "RasaNLU/DIETClassifier"}  # fmt: skip
    assert not [e for e in result["entities"] if e["entity"] == "broken"], "outside the text: dropped"
    assert set(result) == {"text", "intent", "intent_ranking", "entities", "procedure", "procedure_ranking"}


def test_rasa_s_entities_can_be_left_out(rasa: FakeRasa) -> None:
    result = pipeline(rasa.url, keep_entities=False).parse("lệ phí khai sinh")
    assert not [e for e in result["entities"] if e["extractor"].startswith("RasaNLU")]
    assert result["procedure"]["code"] == f.BIRTH


def test_the_token_goes_as_rasa_s_query_parameter(rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_RASA_TOKEN", "s3cret")
    pipeline(rasa.url, token_env="TEST_RASA_TOKEN").parse("chào")
    assert rasa.calls[0][0] == "/model/parse?token=s3cret"


def test_a_server_that_fails_gives_a_fallback_with_the_linked_candidates(rasa: FakeRasa) -> None:
    pipe = pipeline(rasa.url)
    rasa.status = 500
    result = pipe.parse("lệ phí đăng ký kết hôn")
    assert result["intent"]["name"] == "nlu_fallback"
    assert any(c["code"] == f.MARRIAGE for c in result["procedure_ranking"])


def test_a_server_that_is_down_gives_a_fallback() -> None:
    with FakeRasa() as gone:
        url = gone.url
    result = pipeline(url).parse("lệ phí đăng ký kết hôn")
    assert result["intent"]["name"] == "nlu_fallback"  # reported with the fallback's threshold
    assert any(c["code"] == f.MARRIAGE for c in result["procedure_ranking"])


def test_the_model_file_keeps_the_component(rasa: FakeRasa, tmp_path: Path) -> None:
    path = pipeline(rasa.url).save(tmp_path / "model.pkl.gz")
    loaded = Pipeline.load(path, SearchIndex.build(f.all_procedures()), base_dir=DATA)
    assert loaded.parse("lệ phí kết hôn")["intent"]["name"] == "ask_fee"


@pytest.mark.parametrize(
    "bad", [{"url": "localhost:5005"}, {"timeout_seconds": 0}, {"retries": 9}, {"tokn": "x"}]
)
def test_bad_settings_stop_the_pipeline(bad: dict[str, Any]) -> None:
    spec = config("http://127.0.0.1:5005")
    spec["pipeline"][1].update(bad)
    with pytest.raises(ConfigError, match="RasaNLU"):
        Pipeline.from_config(spec, None, base_dir=DATA)
