"""The response catalogue: every Vietnamese text the bot says, loaded from ``data/responses.yml``.

The file uses Rasa's domain ``responses:`` format so editors who know Rasa feel at home::

    responses:
      utter_fee:
        - text: "Dạ, lệ phí {procedure_name}:\\n{items}"
          buttons:
            - title: "Gặp cán bộ"
              payload: "/request_human"

:data:`RESPONSE_SCHEMA` lists every key the code uses and the variables each may use. Loading checks the
file against it, so a missing key, an unknown key or an unknown variable stops the server at start-up
instead of failing in front of a citizen.

This module also owns the button payload syntax, ``/intent`` or ``/intent{"entity":"value"}`` (Rasa's),
because catalogue buttons, action buttons and the engine's understanding all share it.

Editors may change texts from the console; their versions are stored behind the
:class:`bot.core.ports.ResponseOverrides` port and :func:`load_responses` lays them over the file at
start-up, each checked by :func:`check_variants` (the same check the editor console runs on a save).
"""

from __future__ import annotations

import json
import logging
import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import UnavailableError
from bot.core.messages import Button
from bot.core.ports import ResponseOverrides

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "responses.yml"

_PROCEDURE = frozenset({"procedure_name"})
_LIST = frozenset({"procedure_name", "count", "items"})

RESPONSE_SCHEMA: Mapping[str, frozenset[str]] = {
    # greeting and small talk
    "utter_greet": frozenset(),
    "utter_thank": frozenset(),
    "utter_goodbye": frozenset(),
    "utter_affirm": frozenset(),
    "utter_deny": frozenset(),
    "utter_out_of_scope": frozenset(),
    "utter_rephrase": frozenset(),
    "utter_attachment_photo": frozenset(),
    "utter_attachment_voice": frozenset(),
    "utter_attachment_sticker": frozenset(),
    "utter_attachment_other": frozenset(),
    # which procedure
    "utter_ask_procedure": frozenset(),
    "utter_choose_procedure": frozenset(),
    "utter_same_for_variants": frozenset({"variants"}),
    "utter_other_procedure": frozenset(),
    "utter_procedure_unknown": frozenset(),
    # answers
    "utter_documents": _LIST,
    "utter_documents_case": frozenset({"procedure_name", "case", "count", "items"}),
    "utter_ask_document_case": _PROCEDURE,
    "utter_ask_document_case_list": frozenset({"procedure_name", "cases"}),
    "utter_documents_common": _LIST,
    "utter_documents_case_extra": frozenset({"procedure_name", "case", "common", "count", "items"}),
    "utter_documents_full": frozenset({"procedure_name", "items"}),
    "utter_forms": _LIST,
    "utter_no_forms": _PROCEDURE,
    "utter_steps": _LIST,
    "utter_fee": frozenset({"procedure_name", "items"}),
    "utter_fee_free": _PROCEDURE,
    "utter_fee_council": _PROCEDURE,
    "utter_processing_time": frozenset({"procedure_name", "items"}),
    "utter_processing_time_steps": frozenset({"procedure_name", "text"}),
    "utter_where": frozenset({"procedure_name", "agency", "details"}),
    "utter_where_address": frozenset({"procedure_name", "agency", "address", "details"}),
    "utter_channels": frozenset({"procedure_name", "channels"}),
    "utter_online_full": _PROCEDURE,
    "utter_online_partial": _PROCEDURE,
    "utter_online_none": _PROCEDURE,
    "utter_conditions": frozenset({"procedure_name", "conditions"}),
    "utter_no_conditions": frozenset({"procedure_name", "details"}),
    "utter_conditions_unpublished": frozenset({"procedure_name", "details"}),
    "utter_legal_basis": _LIST,
    "utter_result": frozenset({"procedure_name", "result"}),
    "utter_overview": frozenset({"procedure_name", "code", "items"}),
    "utter_missing_detail": frozenset({"procedure_name", "topic"}),
    "utter_missing_detail_no_link": frozenset({"procedure_name", "topic"}),
    "utter_catalogue_only": frozenset({"procedure_name", "topic", "details"}),
    "utter_catalogue_where": frozenset({"procedure_name", "details"}),
    "utter_answer_many": frozenset({"answers"}),
    "utter_list_more": frozenset({"procedure_name", "items"}),
    "utter_procedure_notes": _LIST,
    "utter_no_more": frozenset(),
    # pieces
    "part_document_item": frozenset({"number", "name"}),
    "part_originals": frozenset({"n"}),
    "part_copies": frozenset({"n"}),
    "part_form": frozenset({"form"}),
    "part_document_note": frozenset({"note"}),
    "part_note_item": frozenset({"text"}),
    "part_notes_button": frozenset(),
    "part_group": frozenset({"group"}),
    "part_original": frozenset(),
    "part_copy": frozenset(),
    "part_certified_copy": frozenset(),
    "part_certified_copies": frozenset({"n"}),
    "part_counts_both": frozenset({"originals", "copies"}),
    "part_form_download": frozenset({"button"}),
    "part_form_template": frozenset({"template"}),
    "part_alternative": frozenset({"text"}),
    "part_alternatives_more": frozenset({"n", "button"}),
    "part_condition_if": frozenset({"case"}),
    "part_condition_for": frozenset({"case"}),
    "part_unless_on_record": frozenset(),
    "part_fallback": frozenset({"text"}),
    "part_fallback_missing": frozenset({"missing", "text"}),
    "part_counts_each": frozenset({"counts"}),
    "part_counts_each_original": frozenset(),
    "part_some_cases": frozenset(),
    "part_case_heading": frozenset({"case"}),
    "part_case_item": frozenset({"number", "title"}),
    "part_documents_more": frozenset({"n", "button"}),
    "part_full_button": frozenset(),
    "part_form_item": frozenset({"number", "form", "name"}),
    "part_form_item_plain": frozenset({"number", "form"}),
    "part_step_item": frozenset({"number", "text"}),
    "part_channel_fee": frozenset({"channel", "fee"}),
    "part_fee_abroad": frozenset({"fee"}),
    "part_fee_home": frozenset({"fee"}),
    "part_channel_time": frozenset({"channel", "time"}),
    "part_days": frozenset({"days"}),
    "part_working_days": frozenset({"days"}),
    "part_hours": frozenset({"days"}),
    "part_months": frozenset({"days"}),
    "part_same_day": frozenset(),
    "part_about_days": frozenset({"days"}),
    "part_about_working_days": frozenset({"days"}),
    "part_fee_free": frozenset(),
    "part_fee_council": frozenset(),
    "part_fee_council_note": frozenset(),
    "part_catalogue_field": frozenset({"field"}),
    "part_catalogue_online_full": frozenset(),
    "part_catalogue_online_partial": frozenset(),
    "part_catalogue_online_none": frozenset(),
    "part_catalogue_agency": frozenset({"agency"}),
    "part_catalogue_desk": frozenset(),
    "part_catalogue_desk_named": frozenset({"desk"}),
    "part_desk_commune": frozenset(),
    "part_desk_province": frozenset(),
    "part_desk_ministry": frozenset({"agency"}),
    "part_desk_near": frozenset({"desk", "near"}),
    "part_or": frozenset(),
    "part_and": frozenset(),
    "part_where_agency": frozenset({"agency"}),
    "part_where_online_full": frozenset(),
    "part_where_online_partial": frozenset(),
    "part_where_online_none": frozenset(),
    "part_where_post": frozenset(),
    "part_target_users": frozenset({"who"}),
    "part_ask_documents": frozenset(),
    "part_ask_fee": frozenset(),
    "part_ask_processing_time": frozenset(),
    "part_ask_where": frozenset(),
    "part_legal_item": frozenset({"number", "title"}),
    "part_overview_agency": frozenset({"agency"}),
    "part_overview_time": frozenset({"time"}),
    "part_overview_fee": frozenset({"fee"}),
    "part_overview_online": frozenset({"online_level"}),
    "part_more_button": frozenset(),
    "part_link_portal": frozenset(),
    "part_link_portal_search": frozenset(),
    "part_link_forms": frozenset(),
    "part_link_online": frozenset(),
    "part_dossier_due": frozenset({"due"}),
    "part_dossier_procedure": frozenset({"procedure_name"}),
    "topic_documents": frozenset(),
    "topic_forms": frozenset(),
    "topic_steps": frozenset(),
    "topic_fee": frozenset(),
    "topic_processing_time": frozenset(),
    "topic_where": frozenset(),
    "topic_channels": frozenset(),
    "topic_conditions": frozenset(),
    "topic_legal_basis": frozenset(),
    "topic_result": frozenset(),
    "topic_overview": frozenset(),
    "topic_notes": frozenset(),
    # frequently asked questions (actions/faq.py)
    "utter_faq_answer": frozenset({"answer"}),
    # not understood
    "utter_clarify": frozenset(),
    "utter_clarify_no_candidates": frozenset(),
    "utter_not_procedure": frozenset({"about", "details"}),
    "utter_asked_other_procedure": frozenset({"procedure_name", "details"}),
    "part_not_procedure_penalty": frozenset(),
    "part_not_procedure_amount": frozenset(),
    "part_not_procedure_definition": frozenset(),
    "part_not_procedure_legal_opinion": frozenset(),
    "part_not_procedure_entitlement": frozenset(),
    "part_not_procedure_other": frozenset(),
    "part_candidate_choices": frozenset(),
    "part_catalogue_candidate": frozenset({"procedure_name", "agency"}),
    "utter_offer_officer": frozenset(),
    # officer, dossier, feedback
    "utter_escalate": frozenset(),
    "utter_ask_dossier_code": frozenset(),
    "utter_dossier_lookup_unavailable": frozenset({"dossier_code"}),
    "utter_dossier_status": frozenset({"dossier_code", "status", "details"}),
    "utter_dossier_not_found": frozenset({"dossier_code"}),
    "utter_feedback_ask_rating": frozenset(),
    "utter_feedback_thanks": frozenset({"rating"}),
    # something broke
    "utter_error": frozenset(),
    # officer tickets (bot/handoff/service.py, actions/escalation.py)
    "utter_escalate_queued": frozenset({"position"}),
    "utter_escalate_after_hours": frozenset({"opens_at", "queue"}),
    "part_queue_position": frozenset({"position"}),
    "part_opens_at": frozenset({"time", "weekday", "date"}),
    "part_weekdays": frozenset(),
    "utter_officer_handed_back": frozenset(),
    "utter_officer_closed": frozenset(),
    "utter_officer_joined": frozenset({"officer"}),
    # dossier status (actions/dossier.py, bot/dossiers/watcher.py)
    "utter_dossier_code_invalid": frozenset(),
    "utter_dossier_ask_verification": frozenset({"dossier_code"}),
    "utter_dossier_verification_invalid": frozenset(),
    "utter_dossier_verification_failed": frozenset({"dossier_code"}),
    "utter_dossier_locked": frozenset(),
    "utter_dossier_result": frozenset(
        {"dossier_code", "procedure_name", "status", "current_step", "received", "due", "progress"}
    ),
    "utter_dossier_unavailable": frozenset(),
    "utter_dossier_subscribed": frozenset({"dossier_code"}),
    "utter_dossier_changed": frozenset(
        {"dossier_code", "procedure_name", "status", "current_step", "progress"}
    ),
    "part_dossier_subscribe_button": frozenset(),
    "part_dossier_no_date": frozenset(),
    "part_dossier_on_time": frozenset(),
    "part_dossier_overdue": frozenset({"days"}),
    "part_dossier_done": frozenset(),
}
"""Every response key the code uses, with the variables its texts may use."""


class ResponseCatalogueError(ValueError):
    """The responses file does not match :data:`RESPONSE_SCHEMA` (raised at load)."""


class ResponseRenderError(KeyError):
    """Code asked for an unknown key or left out a declared variable (a programming error)."""


# --- Button payloads ------------------------------------------------------------------------------

_PAYLOAD_RE = re.compile(r"^/(?P<intent>[A-Za-z_][A-Za-z0-9_]*)(?P<entities>\{.*\})?$", re.DOTALL)


def make_payload(intent: str, **entities: str) -> str:
    """Build a button payload: ``make_payload("choose", procedure="1.013225")`` gives
    ``/choose{"procedure":"1.013225"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def parse_payload(text: str) -> tuple[str, dict[str, str]] | None:
    """Read ``/intent`` or ``/intent{"entity":"value"}``; None when the text is not a payload.

    Telegram commands such as ``/start`` are payloads too. Entity values are turned into strings; a
    payload with broken JSON is not a payload (the text then goes to the NLU like any other).
    """
    match = _PAYLOAD_RE.match(text.strip())
    if not match:
        return None
    raw = match.group("entities")
    entities: dict[str, str] = {}
    if raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        entities = {str(k): str(v) for k, v in data.items() if v is not None}
    return match.group("intent"), entities


# --- Catalogue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A rendered response: the text and the catalogue's buttons for it."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class _Variant:
    text: str
    buttons: tuple[Button, ...]


_FORMATTER = string.Formatter()


def _fields(template: str, where: str) -> set[str]:
    """The variable names of a template; only plain ``{name}`` fields are allowed."""
    names: set[str] = set()
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ResponseCatalogueError(
            f"{where}: broken braces ({exc}); write {{{{ or }}}} for a brace"
        ) from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ResponseCatalogueError(
                f"{where}: only plain variables like {{procedure_name}} are allowed, got {{{name}}}"
            )
        names.add(name)
    return names


class ResponseCatalogue:
    """Validated response texts, rendered by key.

    Build it with :meth:`load` (from the YAML file) or :meth:`from_mapping` (from the parsed dict).
    """

    def __init__(
        self,
        variants: Mapping[str, tuple[_Variant, ...]],
        schema: Mapping[str, frozenset[str]],
        rng: random.Random | None = None,
    ) -> None:
        self._variants = dict(variants)
        self._schema = dict(schema)
        self._rng = rng or random.Random()

    @classmethod
    def load(
        cls,
        path: str | Path = DEFAULT_PATH,
        schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
        rng: random.Random | None = None,
    ) -> ResponseCatalogue:
        """Read and validate a responses file.

        Raises:
            ResponseCatalogueError: unreadable YAML, or content not matching ``schema``.
        """
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ResponseCatalogueError(f"{path}: cannot read responses ({exc})") from exc
        return cls.from_mapping(data, schema, rng=rng)

    @classmethod
    def from_mapping(
        cls,
        data: Any,
        schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
        rng: random.Random | None = None,
    ) -> ResponseCatalogue:
        """Validate a parsed responses document (``{"responses": {...}}``).

        Raises:
            ResponseCatalogueError: with every problem found, one per line.
        """
        if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
            raise ResponseCatalogueError("the file must have a 'responses:' mapping")
        responses: dict[str, Any] = data["responses"]
        problems: list[str] = []
        missing = sorted(set(schema) - set(responses))
        unknown = sorted(set(responses) - set(schema))
        if missing:
            problems.append("missing keys: " + ", ".join(missing))
        if unknown:
            problems.append("unknown keys (typo?): " + ", ".join(unknown))
        variants: dict[str, tuple[_Variant, ...]] = {}
        for key in sorted(set(responses) & set(schema)):
            try:
                variants[key] = cls._read_key(key, responses[key], schema[key])
            except ResponseCatalogueError as exc:
                problems.append(str(exc))
        if problems:
            raise ResponseCatalogueError("invalid responses:\n" + "\n".join(problems))
        return cls(variants, schema, rng=rng)

    @staticmethod
    def _read_key(key: str, raw: Any, allowed: frozenset[str]) -> tuple[_Variant, ...]:
        if not isinstance(raw, list) or not raw:
            raise ResponseCatalogueError(f"{key}: must be a non-empty list of '- text: ...' entries")
        out: list[_Variant] = []
        for i, entry in enumerate(raw, 1):
            where = f"{key} #{i}"
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("text"), str)
                or not entry["text"].strip()
            ):
                raise ResponseCatalogueError(f"{where}: needs a non-empty 'text'")
            extra = set(entry) - {"text", "buttons"}
            if extra:
                raise ResponseCatalogueError(f"{where}: unsupported fields {sorted(extra)}")
            used = _fields(entry["text"], where)
            buttons: list[Button] = []
            for j, b in enumerate(entry.get("buttons") or (), 1):
                bwhere = f"{where} button {j}"
                if not isinstance(b, dict) or not isinstance(b.get("title"), str) or not b["title"].strip():
                    raise ResponseCatalogueError(f"{bwhere}: needs a 'title'")
                if not isinstance(b.get("payload"), str) or parse_payload(b["payload"]) is None:
                    raise ResponseCatalogueError(
                        f'{bwhere}: payload must look like /intent or /intent{{"entity":"value"}}'
                    )
                used |= _fields(b["title"], bwhere)
                buttons.append(Button(b["title"], b["payload"]))
            unknown = used - allowed
            if unknown:
                allowed_text = ", ".join(sorted(allowed)) or "none"
                raise ResponseCatalogueError(
                    f"{where}: unknown variables {sorted(unknown)} (allowed: {allowed_text})"
                )
            out.append(_Variant(entry["text"], tuple(buttons)))
        return tuple(out)

    @property
    def keys(self) -> frozenset[str]:
        """Every response key of the catalogue."""
        return frozenset(self._variants)

    def render(self, key: str, **variables: Any) -> Rendered:
        """Text and buttons of one response, with variables filled in.

        Every variable the schema declares for ``key`` must be given (values are turned into text).

        Raises:
            ResponseRenderError: unknown key or a declared variable left out.
        """
        variants = self._variants.get(key)
        if variants is None:
            raise ResponseRenderError(f"no response {key!r} in the catalogue")
        missing = self._schema[key] - set(variables)
        if missing:
            raise ResponseRenderError(f"{key}: variables not given: {sorted(missing)}")
        values = {name: str(value) for name, value in variables.items()}
        variant = variants[0] if len(variants) == 1 else self._rng.choice(variants)
        return Rendered(
            # Trailing blank lines are dropped so an empty optional part ({details}) leaves no gap.
            text=variant.text.format_map(values).rstrip(),
            buttons=tuple(Button(b.title.format_map(values), b.payload) for b in variant.buttons),
        )

    def text(self, key: str, **variables: Any) -> str:
        """Only the text of :meth:`render` (for pieces such as list lines and button titles)."""
        return self.render(key, **variables).text


# --- The editors' texts over the file ----------------------------------------------------------------

MAX_TEXT = 20_000
"""Longest text an editor may type in one field or one response variant (a pasted document, not a book)."""


def check_variants(
    variants: Sequence[Mapping[str, Any]], allowed: frozenset[str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Check an editor's texts for one response key and put them in the file's shape
    (``[{"text": ..., "buttons": [{"title", "payload"}]}]``).

    Each variant has ``text`` and ``buttons`` (a list of ``{"title", "payload"}``, or one string with a
    line ``Tiêu đề | /payload`` each, as the editor's form sends them). Empty variants are dropped. The
    problems are plain Vietnamese, by field path (``variants.0.text``): editors read them when they
    save a text, and when a stored text no longer fits (:func:`build_catalogue`).

    Returns:
        The variants in the file's shape, and ``{field path: problem}`` (empty when all is valid).
    """
    problems: dict[str, str] = {}
    allowed_text = ", ".join("{" + v + "}" for v in sorted(allowed)) or "không có biến nào"
    out: list[dict[str, Any]] = []
    for i, variant in enumerate(variants):
        text = str(variant.get("text") or "").replace("\r\n", "\n").strip()
        raw_buttons = variant.get("buttons") or []
        if isinstance(raw_buttons, str):
            raw_buttons = [_button_line(line.strip()) for line in raw_buttons.splitlines() if line.strip()]
        if not text and not raw_buttons:
            continue
        n, where = len(out) + 1, f"variants.{i}"
        if not text:
            problems[f"{where}.text"] = f"Nội dung số {n} không được để trống."
            continue
        if len(text) > MAX_TEXT:
            problems[f"{where}.text"] = f"Nội dung số {n} quá dài (tối đa {MAX_TEXT} ký tự)."
        used = _typed_variables(text, f"{where}.text", f"Nội dung số {n}", problems)
        buttons = []
        for j, b in enumerate(raw_buttons):
            title, payload = _stripped(b.get("title")), _stripped(b.get("payload"))
            bwhere = f"{where}.buttons"
            if not title:
                problems[bwhere] = f"Nút số {j + 1} của nội dung số {n}: cần viết «Tiêu đề | /ý_định»."
                continue
            if parse_payload(payload) is None:
                problems[bwhere] = (
                    f"Nút «{title}» của nội dung số {n}: lệnh phải có dạng /ý_định hoặc "
                    '/ý_định{"procedure":"1.001193"} (chữ không dấu, không dấu cách).'
                )
                continue
            used |= _typed_variables(title, bwhere, f"Nút «{title}»", problems)
            buttons.append({"title": title, "payload": payload})
        unknown = sorted(used - allowed)
        if unknown:
            problems.setdefault(
                f"{where}.text",
                f"Nội dung số {n} dùng biến không có: "
                + ", ".join("{" + u + "}" for u in unknown)
                + f". Câu trả lời này chỉ dùng được: {allowed_text}.",
            )
        entry: dict[str, Any] = {"text": text}
        if buttons:
            entry["buttons"] = buttons
        out.append(entry)
    if not out and not problems:
        problems["variants"] = "Cần ít nhất một nội dung trả lời."
    return out, problems


def _stripped(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _button_line(line: str) -> dict[str, str]:
    title, _, payload = line.partition("|")
    return {"title": title.strip() if payload else "", "payload": payload.strip()}


def _typed_variables(text: str, where: str, what: str, problems: dict[str, str]) -> set[str]:
    """The variables of an editor's text; what is wrong with its braces goes to ``problems``."""
    names: set[str] = set()
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        problems[where] = (
            f"{what} có dấu ngoặc nhọn {{ }} không khớp. Biến viết như {{procedure_name}}; "
            "muốn hiện dấu ngoặc nhọn thì gõ {{ hoặc }}."
        )
        return names
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            problems[where] = f"{what}: chỉ dùng biến dạng {{procedure_name}}, không dùng «{{{name}}}»."
            continue
        names.add(name)
    return names


def read_responses_file(path: str | Path) -> dict[str, Any]:
    """The responses file as parsed YAML, checked only for its ``responses:`` mapping (the catalogue
    checks the rest).

    Raises:
        ResponseCatalogueError: no ``responses:`` mapping.
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
        raise ResponseCatalogueError(f"{path}: the file must have a 'responses:' mapping")
    return data


def build_catalogue(
    file_data: Mapping[str, Any],
    overrides: Mapping[str, Any],
    schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
) -> tuple[ResponseCatalogue, dict[str, str]]:
    """The file's catalogue with every valid override laid over it.

    An override that no longer fits (its key left the schema, or it uses a variable the code stopped
    giving) is skipped and reported, so a code change never stops the server over an old edit.

    Returns:
        The catalogue and ``{key: why skipped}``.
    """
    responses = dict(file_data["responses"])
    skipped: dict[str, str] = {}
    for key, variants in overrides.items():
        if key not in schema:
            skipped[key] = "câu trả lời này không còn được dùng"
            continue
        _, problems = check_variants(variants, schema[key])
        if problems:
            skipped[key] = " ".join(problems.values())
            continue
        responses[key] = variants
    catalogue = ResponseCatalogue.from_mapping({**file_data, "responses": responses}, schema)
    return catalogue, skipped


def load_responses(
    path: str | Path = DEFAULT_PATH,
    overrides: ResponseOverrides | None = None,
    schema: Mapping[str, frozenset[str]] = RESPONSE_SCHEMA,
) -> ResponseCatalogue:
    """The catalogue for start-up: the file (validated as always: a bad file stops the server) with the
    editors' overrides over it.

    Without ``overrides`` (tests on fakes), or when they cannot be read (the ``response_overrides`` table
    does not exist yet), only the file.

    Raises:
        ResponseCatalogueError: the file is not valid.
    """
    ResponseCatalogue.load(path, schema)  # the file alone must be valid, with its usual messages
    stored: dict[str, Any] = {}
    if overrides is not None:
        try:
            stored = overrides.read()
        except UnavailableError as exc:
            log.warning("response overrides not read (database not migrated yet?): %s", exc)
    catalogue, skipped = build_catalogue(read_responses_file(path), stored, schema)
    for key, why in skipped.items():
        log.warning("editor's text for %s not used: %s", key, why)
    return catalogue
