"""The answer-level evaluation's classifier and verdicts, on hand-made engine outcomes.

Each case is a state as the engine saves it after a turn, and the replies it returned, built here by
hand; the expected outcome is written out, never recomputed with the policy's rules.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.app.evaluation import (
    Category,
    Detail,
    Evaluation,
    Kind,
    Outcome,
    Question,
    ReplyTemplates,
    Result,
    SetError,
    SetSpec,
    base_code,
    button_to_press,
    classify,
    judge,
    load_questions,
    markdown_report,
    set_report,
    specs_from_args,
    summarise,
    write_report,
)
from bot.core.messages import Button, ConversationKey, OutboundMessage
from bot.core.responses import DEFAULT_PATH, ResponseCatalogue, make_payload
from bot.core.state import ConversationState

KEY = ConversationKey("eval", "t:0:original")
MARRIAGE, BIRTH, KARAOKE = "1.000894", "1.001193", "1.001029"
TEMPLATES = ReplyTemplates.load(DEFAULT_PATH)
CATALOGUE = ResponseCatalogue.load(DEFAULT_PATH)


def state(
    action: str | None, procedure: str | None = None, intent: str | None = "ask_fee"
) -> ConversationState:
    return ConversationState(key=KEY, procedure=procedure, last_action=action, last_intent=intent, turns=1)


def reply(text: str, *buttons: Button) -> list[OutboundMessage]:
    return [OutboundMessage(key=KEY, text=text, buttons=buttons)]


def rendered(key: str, **variables: str) -> list[OutboundMessage]:
    r = CATALOGUE.render(key, **variables)
    return [OutboundMessage(key=KEY, text=r.text, buttons=r.buttons)]


def choose(code: str) -> Button:
    return Button(code, make_payload("choose", procedure=code))


# --- classify -----------------------------------------------------------------------------------------


def test_a_topic_action_with_its_content_is_a_full_answer() -> None:
    outcome = classify(
        state("action_fee", MARRIAGE), reply("Dạ, lệ phí đăng ký kết hôn:\n- Miễn lệ phí"), TEMPLATES
    )
    assert outcome == Outcome(
        Kind.ANSWER, Detail.FULL, MARRIAGE, "fee", intent="ask_fee", action="action_fee"
    )


def test_the_part_missing_from_the_data_is_an_answer_without_content() -> None:
    replies = rendered("utter_missing_detail", procedure_name="đăng ký kết hôn", topic="lệ phí")
    outcome = classify(state("action_fee", MARRIAGE), replies, TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.procedure, outcome.aspect) == (
        Kind.ANSWER,
        Detail.MISSING,
        MARRIAGE,
        "fee",
    )
    no_link = rendered("utter_missing_detail_no_link", procedure_name="đăng ký kết hôn", topic="lệ phí")
    assert classify(state("action_fee", MARRIAGE), no_link, TEMPLATES).detail == Detail.MISSING


def test_a_catalogue_only_procedure_is_a_portal_pointer_naming_it() -> None:
    replies = rendered(
        "utter_catalogue_only", procedure_name="karaoke", topic="giấy tờ", details="Lĩnh vực: Văn hóa"
    )
    outcome = classify(state("action_documents", KARAOKE, "ask_documents"), replies, TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.procedure, outcome.aspect) == (
        Kind.ABSTAIN,
        Detail.PORTAL_POINTER,
        KARAOKE,
        "documents",
    )
    assert outcome.buttons == ("/request_human",)


def test_a_catalogue_only_procedure_s_where_answer_is_its_portal_pointer_too() -> None:
    # what the catalogue holds (agency, levels), the portal search and an officer: not a detailed answer
    replies = rendered(
        "utter_catalogue_where", procedure_name="karaoke", details="Cơ quan thực hiện: UBND cấp huyện"
    )
    outcome = classify(state("action_where", KARAOKE, "ask_where"), replies, TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.procedure, outcome.aspect) == (
        Kind.ABSTAIN,
        Detail.PORTAL_POINTER,
        KARAOKE,
        "where",
    )


def test_an_empty_optional_part_at_the_end_of_a_text_still_matches() -> None:
    templates = ReplyTemplates({"utter_catalogue_only": ["Thủ tục {procedure_name}.\n{details}"]})
    replies = reply("Thủ tục karaoke.")  # rendered texts lose their trailing line break
    assert classify(state("action_fee", KARAOKE), replies, templates).detail == Detail.PORTAL_POINTER


def test_procedure_not_found_is_an_abstention_without_procedure() -> None:
    outcome = classify(state("action_fee", None), rendered("utter_procedure_unknown"), TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.procedure, outcome.aspect) == (
        Kind.ABSTAIN,
        Detail.UNKNOWN_PROCEDURE,
        None,
        "fee",
    )


def test_asking_which_case_is_an_answer_in_progress_with_the_case_buttons() -> None:
    group = Button("Nhà ở riêng lẻ", make_payload("choose_group", procedure="1.013225", group="2"))
    replies = rendered("utter_ask_document_case", procedure_name="cấp giấy phép xây dựng")
    replies[0] = OutboundMessage(key=KEY, text=replies[0].text, buttons=(group,))
    outcome = classify(state("action_documents", "1.013225", "ask_documents"), replies, TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.offered) == (Kind.ANSWER, Detail.ASKS_CASE, ("1.013225",))


def test_a_choice_list_offers_the_codes_of_its_buttons_in_order() -> None:
    replies = reply("Dạ, có mấy thủ tục gần giống nhau.", choose(BIRTH), choose(MARRIAGE), choose(BIRTH))
    outcome = classify(state("action_choose_procedure"), replies, TEMPLATES)
    assert (outcome.kind, outcome.detail, outcome.offered) == (
        Kind.CHOICES,
        Detail.PROCEDURES,
        (BIRTH, MARRIAGE),
    )
    assert outcome.procedure is None


@pytest.mark.parametrize(
    ("action", "kind", "detail"),
    [
        ("action_clarify", Kind.ABSTAIN, Detail.FALLBACK),
        ("action_out_of_scope", Kind.ABSTAIN, Detail.OUT_OF_SCOPE),
        ("action_offer_officer", Kind.ABSTAIN, Detail.OFFICER_OFFER),
        ("action_ask_procedure", Kind.ABSTAIN, Detail.ASK_PROCEDURE),
        ("action_faq_answer", Kind.FAQ, Detail.FAQ),
        ("action_dossier_status", Kind.FLOW, Detail.DOSSIER),
        ("action_escalate", Kind.FLOW, Detail.OFFICER),
        ("action_feedback", Kind.FLOW, Detail.FEEDBACK),
        ("action_greet", Kind.FLOW, Detail.GREET),
        ("action_thank", Kind.FLOW, Detail.THANK),
        ("action_something_new", Kind.OTHER, Detail.UNKNOWN),
    ],
)
def test_other_actions(action: str, kind: Kind, detail: Detail) -> None:
    outcome = classify(state(action, MARRIAGE), reply("Dạ."), TEMPLATES)
    assert (outcome.kind, outcome.detail) == (kind, detail)
    assert outcome.procedure is None  # a procedure carried in the state is not what this reply is about


def test_the_apology_is_an_error_even_when_the_state_keeps_an_earlier_action() -> None:
    outcome = classify(state("action_fee", MARRIAGE), rendered("utter_error"), TEMPLATES)
    assert (outcome.kind, outcome.detail) == (Kind.ERROR, Detail.APOLOGY)


def test_no_reply_is_other() -> None:
    assert classify(state("action_fee", MARRIAGE), [], TEMPLATES).detail == Detail.SILENT


# --- questions and verdicts ---------------------------------------------------------------------------


def question(**fields: object) -> Question:
    data: dict[str, object] = {
        "id": "q",
        "text": "lệ phí kết hôn",
        "intent": "ask_fee",
        "intents": ("ask_fee",),
    }
    data.update(fields)
    return Question(**data)  # type: ignore[arg-type]


FEE_Q = question(procedures=(MARRIAGE,))


def answer(code: str | None, aspect: str, detail: Detail = Detail.FULL, intent: str = "ask_fee") -> Outcome:
    return Outcome(Kind.ANSWER, detail, code, aspect, intent=intent, action=f"action_{aspect}")


def test_categories() -> None:
    assert FEE_Q.category == Category.ANSWERABLE
    assert question(intent="out_of_scope", intents=("out_of_scope",)).category == Category.UNANSWERABLE
    assert question(catalogue_procedures=(f"{KARAOKE}.000.00.00.H36",)).category == Category.UNANSWERABLE
    assert question(intent="check_dossier_status", procedures=(BIRTH,)).category == Category.FLOW
    assert question(intent="out_of_scope", procedures=(MARRIAGE,)).category == Category.OTHER


def test_the_right_answer_counts_everywhere_it_should() -> None:
    verdicts = judge(FEE_Q, answer(MARRIAGE, "fee"))
    assert verdicts == {
        "intent_right": True,
        "error": False,
        "right_first_turn": True,
        "right_procedure": True,
        "within_two_turns": True,
        "wrong_answer": False,
        "abstained": False,
        "flow_hijack": False,
    }


def test_another_part_of_the_right_procedure_is_the_right_procedure_only() -> None:
    verdicts = judge(FEE_Q, answer(MARRIAGE, "overview", intent="ask_procedure_overview"))
    assert (verdicts["right_first_turn"], verdicts["right_procedure"], verdicts["intent_right"]) == (
        False,
        True,
        False,
    )
    # any acceptable intent's part is right
    two = question(intents=("ask_fee", "ask_processing_time"), procedures=(MARRIAGE,))
    assert judge(two, answer(MARRIAGE, "processing_time"))["right_first_turn"] is True


def test_the_part_missing_from_the_data_is_not_a_right_first_turn() -> None:
    verdicts = judge(FEE_Q, answer(MARRIAGE, "fee", Detail.MISSING))
    assert (verdicts["right_first_turn"], verdicts["right_procedure"], verdicts["wrong_answer"]) == (
        False,
        True,
        False,
    )


def test_an_answer_about_another_procedure_is_wrong() -> None:
    verdicts = judge(FEE_Q, answer(BIRTH, "fee"))
    assert (verdicts["wrong_answer"], verdicts["right_procedure"], verdicts["within_two_turns"]) == (
        True,
        False,
        False,
    )


def test_within_two_turns_presses_the_button_naming_an_acceptable_procedure() -> None:
    offered = Outcome(
        Kind.CHOICES,
        Detail.PROCEDURES,
        offered=(BIRTH, MARRIAGE),
        buttons=(
            "/rephrase",
            make_payload("choose", procedure=BIRTH),
            make_payload("choose", procedure=MARRIAGE),
        ),
        intent="ask_fee",
    )
    assert button_to_press(FEE_Q, offered) == '/choose{"procedure":"1.000894"}'
    assert judge(FEE_Q, offered, answer(MARRIAGE, "fee", intent="choose"))["within_two_turns"] is True
    # the choice answered with an overview: the aspect asked was lost
    assert judge(FEE_Q, offered, answer(MARRIAGE, "overview", intent="choose"))["within_two_turns"] is False
    assert button_to_press(question(procedures=("9.999999",)), offered) is None


def test_abstaining_and_flows_on_an_answerable_question() -> None:
    fallback = Outcome(Kind.ABSTAIN, Detail.FALLBACK, intent="nlu_fallback")
    feedback = Outcome(Kind.FLOW, Detail.FEEDBACK, intent="give_feedback")
    assert judge(FEE_Q, fallback)["abstained"] is True
    assert judge(FEE_Q, feedback)["flow_hijack"] is True
    assert judge(FEE_Q, feedback)["abstained"] is False


def test_any_procedure_answer_to_an_unanswerable_question_is_confident_wrong() -> None:
    oos = question(intent="out_of_scope", intents=("out_of_scope",))
    assert judge(oos, answer(MARRIAGE, "fee"))["confident_wrong"] is True
    assert judge(oos, answer(MARRIAGE, "fee", Detail.MISSING))["confident_wrong"] is True
    out_of_scope = Outcome(Kind.ABSTAIN, Detail.OUT_OF_SCOPE, intent="out_of_scope")
    assert judge(oos, out_of_scope) == {
        "intent_right": True,
        "error": False,
        "confident_wrong": False,
        "abstained_unanswerable": True,
    }
    choices = Outcome(Kind.CHOICES, Detail.PROCEDURES, offered=(MARRIAGE,))
    assert judge(oos, choices)["confident_wrong"] is False


def test_the_portal_pointer_for_a_catalogue_only_question_is_right_when_it_names_one_of_its_codes() -> None:
    q = question(catalogue_procedures=(f"{KARAOKE}.000.00.00.H36", f"{KARAOKE}.000.00.00.H37"))
    pointer = Outcome(Kind.ABSTAIN, Detail.PORTAL_POINTER, KARAOKE, "fee")
    assert judge(q, pointer)["catalogue_pointer_right"] is True
    assert judge(q, pointer)["confident_wrong"] is False
    other = Outcome(Kind.ABSTAIN, Detail.PORTAL_POINTER, "1.000004", "fee")
    assert judge(q, other)["catalogue_pointer_right"] is False
    assert "catalogue_pointer_right" not in judge(question(), pointer)  # no catalogue codes: not counted


def test_base_code() -> None:
    assert base_code("1.001029.000.00.00.H36") == "1.001029"
    assert base_code("2.002043") == "2.002043"


@pytest.mark.parametrize(
    ("intent", "intents", "detail", "right"),
    [
        ("check_dossier_status", ("check_dossier_status",), Detail.DOSSIER, True),
        ("request_human", ("request_human",), Detail.OFFICER, True),
        ("give_feedback", ("give_feedback",), Detail.FEEDBACK, True),
        ("greet", ("greet",), Detail.THANK, False),
        ("thank", ("thank", "goodbye"), Detail.GOODBYE, True),
        ("request_human", ("request_human",), Detail.OFFICER_OFFER, False),
    ],
)
def test_flows_right(intent: str, intents: tuple[str, ...], detail: Detail, right: bool) -> None:
    kind = Kind.ABSTAIN if detail == Detail.OFFICER_OFFER else Kind.FLOW
    assert judge(question(intent=intent, intents=intents), Outcome(kind, detail))["flows_right"] is right


# --- figures ---------------------------------------------------------------------------------------------


def result(q: Question, first: Outcome, variant: str = "original", second: Outcome | None = None) -> Result:
    return Result(q, variant, q.text, first, second, judge(q, first, second))


def test_figures_count_each_question_over_its_category() -> None:
    folded_q = question(id="plain", text="le phi ket hon", procedures=(MARRIAGE,))
    oos = question(id="oos", intent="out_of_scope", intents=("out_of_scope",))
    results = [
        result(FEE_Q, answer(MARRIAGE, "fee")),
        result(folded_q, answer(BIRTH, "fee")),
        result(oos, answer(MARRIAGE, "fee")),
        result(
            question(id="g", intent="greet", intents=("greet",)),
            Outcome(Kind.FLOW, Detail.GREET, intent="greet"),
        ),
    ]
    s = summarise(results)
    assert s["categories"] == {"answerable": 2, "unanswerable": 1, "flow": 1, "other": 0}
    f = s["figures"]
    assert f["right_first_turn"] == {"count": 1, "n": 2, "rate": 0.5}
    assert f["wrong_answer"] == {"count": 1, "n": 2, "rate": 0.5}
    assert f["confident_wrong"] == {"count": 1, "n": 1, "rate": 1.0}
    assert f["flows_right"] == {"count": 1, "n": 1, "rate": 1.0}
    assert f["catalogue_pointer_right"] == {"count": 0, "n": 0, "rate": None}
    assert f["intent_right"]["count"] == 3  # the greeting's outcome has its intent; the answers say ask_fee
    assert s["outcomes"]["answerable"] == {"answer:full": 2}


def test_the_diacritics_gap_compares_originals_with_their_copies() -> None:
    accented = question(id="a", procedures=(MARRIAGE,))
    plain = question(id="p", text="le phi ket hon", procedures=(MARRIAGE,))
    right, wrong = answer(MARRIAGE, "fee"), answer(BIRTH, "fee")
    results = [
        result(accented, right),
        result(accented, wrong, "folded"),
        result(plain, right),
        result(plain, right, "folded"),
    ]
    report = set_report("t", Path("t.jsonl"), results, sealed=False)
    v = report["variants"]
    assert v["original"]["with_diacritics"]["figures"]["right_first_turn"]["rate"] == 1.0
    assert v["original"]["without_diacritics"]["questions"] == 1
    assert v["folded"]["all"]["figures"]["right_first_turn"]["rate"] == 0.5
    assert report["diacritics_gap"]["right_first_turn"] == 1.0
    assert report["questions"] == 2


# --- sets, options, writing ----------------------------------------------------------------------------


def test_load_questions(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines = [
        {"id": "a", "text": "lệ phí kết hôn", "intent": "ask_fee", "intents": ["ask_processing_time"],
         "procedures": [MARRIAGE], "note": "DOUBTFUL: maybe"},
        {"text": "karaoke", "intent": "ask_documents", "procedures": [],
         "catalogue_procedures": [f"{KARAOKE}.000.00.00.H36"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    first, second = load_questions(path)
    assert first.intents == ("ask_fee", "ask_processing_time") and first.doubtful
    assert first.aspects == frozenset({"fee", "processing_time"})
    assert second.id == "line-2" and second.intents == ("ask_documents",) and not second.doubtful


def test_a_bad_line_is_named_except_in_a_sealed_set(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"text": "bí mật của công dân", "intent": ""}\nnot json\n', encoding="utf-8")
    with pytest.raises(SetError) as open_error:
        load_questions(path)
    assert "line 1" in str(open_error.value) and "line 2" in str(open_error.value)
    with pytest.raises(SetError) as sealed_error:
        load_questions(path, sealed=True)
    assert str(sealed_error.value) == "set.jsonl: 2 unreadable line(s) (sealed set: not shown)"


def test_sealed_files_are_always_aggregate_only() -> None:
    args = argparse.Namespace(
        sets=[Path("a.jsonl"), Path("x/citizen_sealed.jsonl")], sealed=[Path("b.jsonl")], aggregate_only=False
    )
    assert [(s.path.name, s.sealed) for s in specs_from_args(args)] == [
        ("a.jsonl", False),
        ("citizen_sealed.jsonl", True),
        ("b.jsonl", True),
    ]
    args.aggregate_only = True
    assert all(s.sealed for s in specs_from_args(args))
    args.sets, args.sealed = [], []
    defaults = specs_from_args(argparse.Namespace(sets=[], sealed=[], aggregate_only=False))
    assert [s.sealed for s in defaults] == [False, False, False, True, False]
    assert SetSpec(Path("d/dev.jsonl")).name == "dev"


def _evaluation(sealed: bool) -> Evaluation:
    results = [result(FEE_Q, answer(BIRTH, "fee")), result(FEE_Q, answer(BIRTH, "fee"), "folded")]
    report = {
        "measured_at": "now",
        "nlu": "fake",
        "knowledge_base": "none",
        "folded_copies": True,
        "skipped_sets": ["../shared/data/real-questions/dev.jsonl"],
        "seconds": {"prepare": 0.0, "evaluate": 0.0},
        "sets": [set_report("secret" if sealed else "open", Path("s.jsonl"), results, sealed)],
        "definitions": {"categories": {"answerable": "…"}, "figures": {}},
    }
    return Evaluation(report, {} if sealed else {"open": results})


def test_the_report_lists_misses_of_open_sets_only(tmp_path: Path) -> None:
    written = write_report(_evaluation(sealed=False), tmp_path / "open")
    assert [p.name for p in written] == ["answers.json", "answers.md", "open.items.jsonl"]
    md = written[1].read_text(encoding="utf-8")
    assert "lệ phí kết hôn" in md and "answer:full 1.001193/fee" in md
    items = [json.loads(line) for line in written[2].read_text(encoding="utf-8").splitlines()]
    assert [i["variant"] for i in items] == ["original", "folded"]
    assert items[0]["verdicts"]["wrong_answer"] is True

    written = write_report(_evaluation(sealed=True), tmp_path / "sealed")
    assert [p.name for p in written] == ["answers.json", "answers.md"]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "lệ phí kết hôn" not in text and "not right in the first turn" not in text
    assert "(sealed: aggregate figures only)" in written[1].read_text(encoding="utf-8")


def test_the_markdown_defines_every_figure() -> None:
    from bot.app.evaluation import CATEGORY_DEFINITIONS, FIGURES

    report = _evaluation(sealed=False).report
    report["definitions"] = {
        "categories": dict(CATEGORY_DEFINITIONS),
        "figures": {f.key: {"label": f.label, "over": f.over, "definition": f.definition} for f in FIGURES},
    }
    md = markdown_report(report)
    for f in FIGURES:
        assert f"**{f.label}** (over {f.over}): {f.definition}" in md
        assert f"| {f.label} |" in md
    assert "skipped (file absent): ../shared/data/real-questions/dev.jsonl" in md


def test_nlu_overrides_change_one_setting_of_a_copy_of_the_config(tmp_path: Path) -> None:
    import yaml

    from bot.app.evaluation import config_with_overrides, parse_overrides

    overrides = parse_overrides(["SemanticProcedureRanker.enabled=true", "FallbackClassifier.threshold=0.4"])
    assert overrides == {
        "SemanticProcedureRanker": {"enabled": True},
        "FallbackClassifier": {"threshold": 0.4},
    }
    root = Path(__file__).resolve().parents[2]
    copy = config_with_overrides(root / "config.yml", overrides, tmp_path)
    pipeline = {spec["name"]: spec for spec in yaml.safe_load(copy.read_text(encoding="utf-8"))["pipeline"]}
    assert pipeline["SemanticProcedureRanker"]["enabled"] is True
    assert pipeline["FallbackClassifier"]["threshold"] == 0.4
    # relative paths still name the project's files from the copy's folder
    assert Path(pipeline["VietnameseNormalizer"]["abbreviations_path"]) == root / "data" / "abbreviations.yml"
    with pytest.raises(SetError, match="COMPONENT.SETTING=VALUE"):
        parse_overrides(["enabled=true"])
    with pytest.raises(SetError, match="NoSuchComponent"):
        config_with_overrides(root / "config.yml", {"NoSuchComponent": {"x": 1}}, tmp_path)
