"""The project as a Rasa 3.6 project: ``helpline rasa export DIR``, and the domain the Rasa API serves.

The export writes what a Rasa team needs to train, validate and test the same assistant in Rasa::

    DIR/domain.yml           intents (the NLU's and every button payload's), entities, slots for the
                             four state slots and every template variable, utter_* responses with
                             their buttons, the actions
    DIR/data/nlu.yml         data/nlu.yml plus examples of the payload intents (data/rasa/
                             payload_intents.yml), so every intent and entity a button sends is trained
    DIR/config.yml           a Rasa pipeline close to the project's (tokenizer, char n-grams, regexes,
                             synonyms, fallback at the project's threshold) and the RulePolicy
    DIR/endpoints.yml        the action server of config.yml's action_endpoint (Rasa's default if none)
    DIR/tests/<name>.yml     the held-out NLU test sets in Rasa's NLU format, each example's acceptable
                             procedure codes kept as its metadata (``rasa test nlu --nlu tests/...``)

Rasa wants every response key to start with ``utter_``: the catalogue's pieces (``part_*``,
``topic_*``) are exported as ``utter_part_*`` / ``utter_topic_*`` (the action-server client reads those
names back, :func:`actions.remote.catalogue_key`). Template variables (``{procedure_name}``) are Rasa
slots of type ``any`` filled by custom actions, so the domain declares one for each.

:func:`rasa_domain` is also what ``GET /domain`` and the action-server calls send.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.core.config import HelplineConfig
from bot.core.domain import ActionName, Intent
from bot.core.events import SLOT_NAMES
from bot.core.responses import RESPONSE_SCHEMA, build_catalogue, parse_payload, read_responses_file
from bot.core.settings import PROJECT_ROOT
from nlu.training_data import TrainingData, dump_training_data, load_training_data

if TYPE_CHECKING:
    from bot.app.bootstrap import App

log = logging.getLogger(__name__)

DOMAIN_VERSION = "3.1"
PAYLOAD_EXAMPLES = Path("rasa") / "payload_intents.yml"
"""Examples of the payload intents, under the data folder (used by the export only)."""
HELDOUT_SETS: tuple[Path, ...] = (
    PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml",
    PROJECT_ROOT / "tests" / "data" / "nlu_heldout_2.yml",
)
"""The held-out NLU test sets exported as Rasa NLU test files (when the checkout has them)."""
PAYLOAD_ENTITIES = ("procedure", "group", "dossier_code", "rating", "kind")
"""Entities the project's own buttons and channels send (``/choose{"procedure": ...}``, ``/attachment{"kind": ...}``, ``/give_feedback{"rating":
...}`` ...)."""
ENTITY_SLOTS = frozenset({"procedure", "dossier_code"})
"""State slots Rasa may fill from the entity of the same name."""
DEFAULT_ACTION_URL = "http://localhost:5055/webhook"


def response_name(key: str) -> str:
    """The Rasa response name of a catalogue key (``part_days`` -> ``utter_part_days``)."""
    return key if key.startswith("utter_") else f"utter_{key}"


def catalogue_responses(
    file_data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The responses as the bot says them: the file's, with the editors' valid texts over them."""
    _, skipped = build_catalogue(file_data, overrides or {})
    merged = dict(file_data["responses"])
    merged.update({k: v for k, v in (overrides or {}).items() if k in RESPONSE_SCHEMA and k not in skipped})
    return {k: v for k, v in merged.items() if k in RESPONSE_SCHEMA}


def payload_intents(responses: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Intents the buttons of ``responses`` send, with every command :class:`Intent` knows."""
    names = [str(i) for i in Intent if i != Intent.NLU_FALLBACK]
    for variants in responses.values():
        for variant in variants:
            for button in variant.get("buttons") or ():
                parsed = parse_payload(str(button.get("payload", "")))
                if parsed:
                    names.append(parsed[0])
    return list(dict.fromkeys(names))


def _payload_entities(responses: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    names = list(PAYLOAD_ENTITIES)
    for variants in responses.values():
        for variant in variants:
            for button in variant.get("buttons") or ():
                parsed = parse_payload(str(button.get("payload", "")))
                names += list(parsed[1]) if parsed else []
    return names


def rasa_domain(
    training: TrainingData,
    responses: Mapping[str, Sequence[Mapping[str, Any]]],
    actions: Iterable[str] = (),
    schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
) -> dict[str, Any]:
    """The domain, as Rasa 3.6's ``Domain.as_dict()`` and domain.yml have it.

    Args:
        training: the NLU training data (its intents, annotated entities, regex and lookup tables).
        responses: catalogue key -> variants (``{"text", "buttons"}``).
        actions: custom action names besides :class:`ActionName` (an action server's).
        schema: the variables each response may use (they become slots).
    """
    intents = list(dict.fromkeys([*training.intents, *payload_intents(responses)]))
    entities = list(
        dict.fromkeys(
            [*training.entity_types, *training.regexes, *training.lookups, *_payload_entities(responses)]
        )
    )
    slots: dict[str, Any] = {}
    for name in sorted(SLOT_NAMES):
        mapping = {"type": "from_entity", "entity": name} if name in ENTITY_SLOTS else {"type": "custom"}
        slots[name] = {"type": "text", "influence_conversation": False, "mappings": [mapping]}
    for variable in sorted(set().union(*schema.values()) - set(slots)):
        slots[variable] = {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
    exported: dict[str, list[dict[str, Any]]] = {}
    for key, variants in responses.items():
        out = []
        for variant in variants:
            entry: dict[str, Any] = {"text": str(variant["text"])}
            buttons = [
                {"title": str(b["title"]), "payload": str(b["payload"])} for b in variant.get("buttons") or ()
            ]
            if buttons:
                entry["buttons"] = buttons
            out.append(entry)
        exported[response_name(key)] = out
    return {
        "version": DOMAIN_VERSION,
        "config": {"store_entities_as_slots": True},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
        "intents": intents,
        "entities": entities,
        "slots": slots,
        "responses": exported,
        "actions": list(dict.fromkeys([*(str(a) for a in ActionName), *actions])),
    }


def training_data_for_rasa(data_dir: Path) -> TrainingData:
    """data/nlu.yml with the payload intents' examples."""
    data = load_training_data(data_dir / "nlu.yml")
    extra = data_dir / PAYLOAD_EXAMPLES
    return data.merge(load_training_data(extra)) if extra.exists() else data


def rasa_config(config: HelplineConfig) -> dict[str, Any]:
    """A Rasa 3.6 config.yml close to the project's pipeline (Rasa has no Vietnamese normalizer or
    procedure linker: those stay the project's)."""
    threshold = 0.3
    for component in config.pipeline:
        if component.get("name") == "FallbackClassifier":
            threshold = float(component.get("threshold", threshold))
    return {
        "recipe": "default.v1",
        "language": config.language,
        "assistant_id": "helpline",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexFeaturizer"},
            {"name": "RegexEntityExtractor", "use_lookup_tables": True, "use_regexes": True},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
            {"name": "CountVectorsFeaturizer", "analyzer": "word", "min_ngram": 1, "max_ngram": 2},
            {"name": "LogisticRegressionClassifier"},
            {"name": "EntitySynonymMapper"},
            {"name": "FallbackClassifier", "threshold": threshold},
        ],
        "policies": [{"name": "RulePolicy"}],
    }


def heldout_as_rasa(path: Path) -> dict[str, Any]:
    """A held-out set (``{"examples": [{"text", "intent", "procedures", "unanswerable"}]}``) as a Rasa
    NLU file, each example's procedures and unanswerable flag kept as its metadata."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for item in raw.get("examples") or ():
        example: dict[str, Any] = {"text": str(item["text"])}
        metadata = {k: item[k] for k in ("procedures", "unanswerable") if k in item}
        if metadata:
            example["metadata"] = metadata
        by_intent.setdefault(str(item["intent"]), []).append(example)
    return {
        "version": DOMAIN_VERSION,
        "nlu": [{"intent": intent, "examples": examples} for intent, examples in by_intent.items()],
    }


@dataclass
class ExportReport:
    """What an export wrote."""

    files: list[Path] = field(default_factory=list)
    intents: int = 0
    entities: int = 0
    responses: int = 0
    slots: int = 0
    examples: int = 0


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, width=10_000)


def export_project(
    out: Path,
    training: TrainingData,
    domain: Mapping[str, Any],
    config: HelplineConfig,
    heldout: Iterable[Path] = HELDOUT_SETS,
) -> ExportReport:
    """Write the Rasa project into ``out`` (see the module docstring); existing files are replaced."""
    report = ExportReport()

    def write(relative: str, text: str) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        report.files.append(path)

    header = "# Written by `helpline rasa export` (docs/rasa.md).\n"
    write("domain.yml", header + _dump(domain))
    write("data/nlu.yml", header + dump_training_data(training))
    write("config.yml", header + _dump(rasa_config(config)))
    url = config.action_endpoint.url or DEFAULT_ACTION_URL
    write("endpoints.yml", header + _dump({"action_endpoint": {"url": url}}))
    for path in heldout:
        if path.exists():
            note = f"# Held-out NLU test set (never trained on), from tests/data/{path.name}.\n"
            write(f"tests/{path.name}", header + note + _dump(heldout_as_rasa(path)))
    report.intents, report.entities = len(domain["intents"]), len(domain["entities"])
    report.responses, report.slots = len(domain["responses"]), len(domain["slots"])
    report.examples = len(training.examples)
    return report


def app_domain(app: App, training: TrainingData | None = None) -> dict[str, Any]:
    """The domain of an app: its training data (``training``, else read from the data folder), its
    responses with the editors' texts, the action server's actions."""
    settings = app.settings
    try:
        overrides = app.adapters.overrides.read()
    except Exception as exc:  # no overrides table yet: the file's texts
        log.warning("response overrides not read for the Rasa domain: %s", exc)
        overrides = {}
    responses = catalogue_responses(read_responses_file(settings.data_dir / "responses.yml"), overrides)
    if training is None:
        training = training_data_for_rasa(settings.data_dir)
    return rasa_domain(training, responses, app.config.action_endpoint.actions)


# --- the command line ----------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``helpline rasa export DIR``."""
    group = subparsers.add_parser("rasa", help="làm việc với Rasa: xuất dự án Rasa")
    sub = group.add_subparsers(dest="rasa_command", required=True)
    p = sub.add_parser(
        "export", help="xuất domain.yml, data/nlu.yml, config.yml và các tập kiểm thử theo định dạng Rasa 3.6"
    )
    p.add_argument("dir", type=Path, help="thư mục đích (tạo mới nếu chưa có)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace, app: App) -> int:
    """Write the Rasa project and say what was written."""
    training = training_data_for_rasa(app.settings.data_dir)
    app.migrate()  # the editors' texts are read from the database
    domain = app_domain(app, training)
    report = export_project(args.dir, training, domain, app.config)
    print(
        f"Đã xuất dự án Rasa vào {args.dir}: {report.intents} intent, {report.entities} entity, "
        f"{report.slots} slot, {report.responses} câu trả lời, {report.examples} câu ví dụ."
    )
    for path in report.files:
        print(f"  {path}")
    return 0
