"""`helpline rasa export DIR`: a Rasa 3.6 project that Rasa's own schemas accept, with every payload intent
and entity, utter_* responses, slots for every template variable and the held-out sets as Rasa NLU tests.

The export is validated against Rasa 3.6.21's pykwalify schemas (tests/data/rasa_schemas, vendored with
their source and licence), loaded as `rasa.shared.utils.validation.validate_yaml_schema` loads them;
`rasa data validate` runs too where a Rasa install is given (HELPLINE_RASA_BIN), which needs Python < 3.11.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.app.cli import main
from bot.app.rasa_export import (
    export_project,
    heldout_as_rasa,
    payload_intents,
    rasa_domain,
    response_name,
    training_data_for_rasa,
)
from bot.core.config import load_config
from bot.core.domain import ActionName, Intent
from bot.core.responses import RESPONSE_SCHEMA, parse_payload, read_responses_file
from nlu.training_data import load_training_data

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SCHEMAS = ROOT / "tests" / "data" / "rasa_schemas"
LOCAL_RASA = ROOT / "var" / "rasa36" / "bin" / "rasa"  # `make rasa36`
RASA_BIN = os.environ.get("HELPLINE_RASA_BIN") or (
    str(LOCAL_RASA) if LOCAL_RASA.exists() else shutil.which("rasa")
)


def validate(path: Path, schema: str) -> None:
    """Validate a file as Rasa does: its schema with the responses schema merged in, and the
    ``require_response_keys`` extension (tests/data/rasa_schemas/extensions.py)."""
    from pykwalify.core import Core

    content = yaml.safe_load((SCHEMAS / schema).read_text(encoding="utf-8"))
    content.update(yaml.safe_load((SCHEMAS / "responses.yml").read_text(encoding="utf-8")))
    source = yaml.safe_load(path.read_text(encoding="utf-8"))
    core = Core(source_data=source, schema_data=content)
    # pykwalify loads extension files with a loader Python 3.12 removes: hand it the module instead
    spec = importlib.util.spec_from_file_location("rasa_schema_extensions", SCHEMAS / "extensions.py")
    assert spec is not None and spec.loader is not None
    extensions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extensions)
    core.loaded_extensions = [extensions]
    core.validate(raise_exception=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rasa-project")
    training = training_data_for_rasa(DATA)
    responses = read_responses_file(DATA / "responses.yml")["responses"]
    domain = rasa_domain(training, responses, ["action_weather"])
    export_project(out, training, domain, load_config(ROOT / "config.yml"))
    return out


def test_the_project_layout_is_rasa_s(exported: Path) -> None:
    for name in ("domain.yml", "config.yml", "endpoints.yml", "data/nlu.yml"):
        assert (exported / name).is_file(), name
    assert sorted(p.name for p in (exported / "tests").iterdir()) == ["nlu_heldout.yml", "nlu_heldout_2.yml"]


def test_every_file_validates_against_rasa_s_schemas(exported: Path) -> None:
    pytest.importorskip("pykwalify", reason="pykwalify is a dev dependency (pip install -e '.[dev]')")
    validate(exported / "domain.yml", "domain.yml")
    validate(exported / "data" / "nlu.yml", "nlu.yml")
    validate(exported / "config.yml", "model_config.yml")
    for test_file in (exported / "tests").iterdir():
        validate(test_file, "nlu.yml")


def test_a_broken_domain_is_refused_by_the_same_check(tmp_path: Path) -> None:
    pytest.importorskip("pykwalify")
    from pykwalify.errors import SchemaError

    bad = tmp_path / "domain.yml"
    bad.write_text("responses:\n  utter_x:\n    - buttons: []\nslots:\n  s: {type: text}\n", encoding="utf-8")
    with pytest.raises(SchemaError):
        validate(bad, "domain.yml")


def test_the_domain_knows_every_intent_and_entity_a_button_sends(exported: Path) -> None:
    domain = yaml.safe_load((exported / "domain.yml").read_text(encoding="utf-8"))
    intents, entities = set(domain["intents"]), set(domain["entities"])
    for command in ("rephrase", "choose", "choose_group", "more", "procedure_notes", "subscribe_dossier"):
        assert command in intents
    assert {"rating", "group", "procedure", "dossier_code"} <= entities
    for variants in domain["responses"].values():
        for variant in variants:
            for button in variant.get("buttons", ()):
                intent, sent = parse_payload(button["payload"])
                assert intent in intents and set(sent) <= entities, button
    assert set(str(i) for i in Intent) - {"nlu_fallback"} <= intents
    assert set(domain["actions"]) == {str(a) for a in ActionName} | {"action_weather"}


def test_every_response_is_an_utter_response_with_its_buttons(exported: Path) -> None:
    domain = yaml.safe_load((exported / "domain.yml").read_text(encoding="utf-8"))
    responses = domain["responses"]
    assert all(name.startswith("utter_") for name in responses)
    assert set(responses) == {response_name(k) for k in RESPONSE_SCHEMA}
    assert "utter_part_days" in responses and "utter_topic_fee" in responses
    greet = responses["utter_greet"][0]
    assert any(b["payload"] == "/request_human" for b in greet["buttons"])


def test_every_template_variable_is_a_slot(exported: Path) -> None:
    domain = yaml.safe_load((exported / "domain.yml").read_text(encoding="utf-8"))
    slots = domain["slots"]
    variables = set().union(*RESPONSE_SCHEMA.values())
    assert variables <= set(slots)
    assert {"procedure", "pending_intent", "dossier_code", "case"} <= set(slots)
    assert slots["procedure"]["mappings"] == [{"type": "from_entity", "entity": "procedure"}]
    assert all(slot["mappings"] for slot in slots.values())


def test_the_nlu_data_has_every_intent_of_the_domain_and_the_new_entities(exported: Path) -> None:
    domain = yaml.safe_load((exported / "domain.yml").read_text(encoding="utf-8"))
    data = load_training_data(exported / "data" / "nlu.yml")
    assert set(domain["intents"]) == set(data.intents)
    assert {"rating", "group"} <= set(data.entity_types)
    assert set(data.entity_types) | set(data.regexes) | set(data.lookups) <= set(domain["entities"])
    intents_of: dict[str, set[str]] = {}
    for example in data.examples:
        intents_of.setdefault(example.text.lower(), set()).add(example.intent)
    assert not {t: i for t, i in intents_of.items() if len(i) > 1}, "a text under two intents (Rasa warns)"
    project = load_training_data(DATA / "nlu.yml")
    assert len(data.examples) > len(project.examples)  # the project's examples, all of them, and more
    assert set(project.examples) <= set(data.examples)


def test_the_heldout_sets_keep_their_procedures_as_metadata(exported: Path) -> None:
    test_file = yaml.safe_load((exported / "tests" / "nlu_heldout.yml").read_text(encoding="utf-8"))
    items = [e for block in test_file["nlu"] for e in block["examples"]]
    source = yaml.safe_load((ROOT / "tests" / "data" / "nlu_heldout.yml").read_text(encoding="utf-8"))
    assert len(items) == len(source["examples"])
    first = source["examples"][0]
    block = next(b for b in test_file["nlu"] if b["intent"] == first["intent"])
    assert block["examples"][0] == {"text": first["text"], "metadata": {"procedures": first["procedures"]}}


def test_heldout_conversion_of_an_unanswerable_example(tmp_path: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text(
        "version: 1\nexamples:\n  - text: giá xăng\n    intent: out_of_scope\n    unanswerable: true\n",
        encoding="utf-8",
    )
    assert heldout_as_rasa(path)["nlu"] == [
        {"intent": "out_of_scope", "examples": [{"text": "giá xăng", "metadata": {"unanswerable": True}}]}
    ]


def test_payload_intents_come_from_the_buttons_too() -> None:
    responses = {"utter_x": [{"text": "x", "buttons": [{"title": "t", "payload": "/custom_thing"}]}]}
    assert "custom_thing" in payload_intents(responses)
    assert "nlu_fallback" not in payload_intents({})


def test_the_command_writes_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert main(["rasa", "export", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "domain.yml").is_file()
    assert "Đã xuất dự án Rasa" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(
    not RASA_BIN,
    reason="rasa data validate needs Rasa 3.6, which installs only on Python < 3.11 (this project runs "
    "3.11): `make rasa36` installs it in var/rasa36 with a Python 3.10, or set HELPLINE_RASA_BIN",
)
def test_rasa_data_validate_accepts_the_export(exported: Path) -> None:
    assert RASA_BIN is not None
    run = subprocess.run(
        [RASA_BIN, "data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml"],
        cwd=exported,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},  # offline: Rasa must not try to report
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    log = run.stdout + run.stderr
    # Rasa's only complaints: responses no story uses (the dialogue is the project's policy, not stories)
    complaints = [line for line in log.splitlines() if "UserWarning" in line]
    assert complaints and all("is not used in any story or rule" in line for line in complaints), complaints[
        :5
    ]
