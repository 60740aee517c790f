"""The response catalogue: validated at load, rendered by key; the payload syntax."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from actions.remote import RASA_MESSAGE_FIELDS
from bot.core.errors import UnavailableError
from bot.core.messages import Button
from bot.core.responses import (
    DEFAULT_PATH,
    RESPONSE_SCHEMA,
    ResponseCatalogue,
    ResponseCatalogueError,
    ResponseRenderError,
    check_variants,
    load_responses,
    make_payload,
    parse_payload,
)
from bot.storage.memory import InMemoryResponseOverrides

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def broken(mutate) -> dict:
    data = copy.deepcopy(SHIPPED)
    mutate(data["responses"])
    return data


def test_shipped_catalogue_loads_and_covers_the_schema() -> None:
    assert ResponseCatalogue.load().keys == frozenset(RESPONSE_SCHEMA)


def test_every_key_named_in_the_code_is_in_the_schema() -> None:
    keys = set()
    # every package module: actions, engine, hand-off, dossiers and console all name response keys
    paths = [p for pkg in ("actions", "bot", "console") for p in (ROOT / pkg).rglob("*.py")]
    assert len(paths) > 20
    for path in paths:
        keys |= set(re.findall(r'"((?:utter|part|topic)_[a-z_]+)"', path.read_text(encoding="utf-8")))
    keys |= {f"topic_{t}" for t in ("documents", "forms", "steps", "fee", "processing_time", "where")}
    # a rasa-sdk message's own field names (``utter_action``) are protocol words, not our response keys
    keys -= RASA_MESSAGE_FIELDS
    assert keys - set(RESPONSE_SCHEMA) == set()


def test_texts_are_polite_vietnamese() -> None:
    for key, entries in SHIPPED["responses"].items():
        if key.startswith("utter_") and key not in {
            "utter_online_full",
            "utter_online_partial",
            "utter_online_none",
        }:
            assert entries[0]["text"].startswith("Dạ"), key


def test_missing_key_is_an_error_at_load() -> None:
    with pytest.raises(ResponseCatalogueError, match="missing keys: utter_fee"):
        ResponseCatalogue.from_mapping(broken(lambda r: r.pop("utter_fee")))


def test_unknown_key_is_an_error_at_load() -> None:
    with pytest.raises(ResponseCatalogueError, match="unknown keys .*utter_fe"):
        ResponseCatalogue.from_mapping(broken(lambda r: r.update(utter_fe=[{"text": "Dạ"}])))


def test_unknown_variable_is_an_error_at_load() -> None:
    def mutate(r: dict) -> None:
        r["utter_fee"][0]["text"] = "Dạ, lệ phí {ten_thu_tuc}: {items}"

    with pytest.raises(ResponseCatalogueError, match=r"utter_fee #1: unknown variables \['ten_thu_tuc'\]"):
        ResponseCatalogue.from_mapping(broken(mutate))


@pytest.mark.parametrize("text", ["Dạ {procedure_name.__class__}", "Dạ {procedure_name!r}", "Dạ {0}", "Dạ {"])
def test_only_plain_variables_are_allowed(text: str) -> None:
    def mutate(r: dict) -> None:
        r["utter_fee_free"][0]["text"] = text

    with pytest.raises(ResponseCatalogueError):
        ResponseCatalogue.from_mapping(broken(mutate))


def test_bad_button_payload_is_an_error_at_load() -> None:
    def mutate(r: dict) -> None:
        r["utter_error"][0]["buttons"][0]["payload"] = "gặp cán bộ"

    with pytest.raises(ResponseCatalogueError, match="utter_error #1 button 1: payload"):
        ResponseCatalogue.from_mapping(broken(mutate))


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "responses.yml"
    path.write_text("responses: [", encoding="utf-8")
    with pytest.raises(ResponseCatalogueError, match="cannot read"):
        ResponseCatalogue.load(path)


def test_render_fills_variables_and_keeps_buttons() -> None:
    catalogue = ResponseCatalogue.load()
    rendered = catalogue.render("utter_dossier_lookup_unavailable", dossier_code="H12.22-250315-0001")
    assert "H12.22-250315-0001" in rendered.text
    assert rendered.buttons == (Button("Gặp cán bộ", "/request_human"),)


def test_render_refuses_missing_variables_and_unknown_keys() -> None:
    catalogue = ResponseCatalogue.load()
    with pytest.raises(ResponseRenderError):
        catalogue.render("utter_fee", procedure_name="Đăng ký kết hôn")
    with pytest.raises(ResponseRenderError):
        catalogue.render("utter_nothing")


def test_payload_round_trip() -> None:
    payload = make_payload("choose", procedure="1.013225")
    assert payload == '/choose{"procedure":"1.013225"}'
    assert parse_payload(payload) == ("choose", {"procedure": "1.013225"})
    assert parse_payload("/start") == ("start", {})
    assert parse_payload('/give_feedback{"rating": 5}') == ("give_feedback", {"rating": "5"})


@pytest.mark.parametrize(
    "text", ["lệ phí bao nhiêu", "/choose{broken", "/choose[1]", "/ 2", '/x{"a":1} thêm']
)
def test_not_payloads(text: str) -> None:
    assert parse_payload(text) is None


# --- the editors' texts over the file ------------------------------------------------------------------


def test_overrides_are_laid_over_the_file() -> None:
    overrides = InMemoryResponseOverrides({"utter_greet": [{"text": "Chào anh/chị ạ."}]})
    catalogue = load_responses(DEFAULT_PATH, overrides)
    assert catalogue.text("utter_greet") == "Chào anh/chị ạ."
    assert catalogue.text("utter_thank") == ResponseCatalogue.load().text("utter_thank")


def test_an_override_that_no_longer_fits_is_skipped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    overrides = InMemoryResponseOverrides(
        {"utter_fee": [{"text": "{khong_co}"}], "utter_removed": [{"text": "cũ"}]}
    )
    catalogue = load_responses(DEFAULT_PATH, overrides)
    assert catalogue.render("utter_fee", procedure_name="X", items="1").text.startswith("Dạ, lệ phí X")
    skipped = " ".join(r.getMessage() for r in caplog.records)
    assert "utter_fee not used" in skipped and "{khong_co}" in skipped
    assert "utter_removed not used: câu trả lời này không còn được dùng" in skipped


def test_unreadable_overrides_leave_the_file_alone() -> None:
    class Down(InMemoryResponseOverrides):
        def read(self) -> dict:
            raise UnavailableError("no such table: response_overrides")

    assert load_responses(DEFAULT_PATH, Down()).text("utter_greet") == ResponseCatalogue.load().text(
        "utter_greet"
    )


def test_check_variants_reads_button_lines_and_says_what_is_wrong_in_vietnamese() -> None:
    variants, problems = check_variants(
        [{"text": " Phí {procedure_name} ", "buttons": "Gặp cán bộ | /request_human\n\n"}, {"text": ""}],
        frozenset({"procedure_name"}),
    )
    assert problems == {}
    assert variants == [
        {"text": "Phí {procedure_name}", "buttons": [{"title": "Gặp cán bộ", "payload": "/request_human"}]}
    ]
    _, problems = check_variants(
        [{"text": "{ten}", "buttons": "không có lệnh"}], frozenset({"procedure_name"})
    )
    assert "{ten}" in problems["variants.0.text"] and "{procedure_name}" in problems["variants.0.text"]
    assert "Tiêu đề | /ý_định" in problems["variants.0.buttons"]
    assert check_variants([], frozenset())[1] == {"variants": "Cần ít nhất một nội dung trả lời."}
