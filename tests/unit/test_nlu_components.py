"""NLU components one by one: settings, featurizers, classifier, extractors, linker, fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.ports import SearchHit
from nlu.classifier import IntentClassifier
from nlu.component import ConfigError, component_class
from nlu.extractors.mentions import ProcedureMentionExtractor
from nlu.extractors.regex import RegexEntityExtractor
from nlu.fallback import FallbackClassifier
from nlu.featurizers import CharNgramFeaturizer, WordNgramFeaturizer
from nlu.linker import ProcedureLinker
from nlu.message import Message, TrainingSet
from nlu.normalizer import VietnameseNormalizer
from nlu.training_data import Example, TrainingData, load_training_data

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"
CONTEXT = {"base_dir": str(DATA)}


class FakeIndex:
    """Stands in for knowledge.search.SearchIndex: word overlap with two names; records queries."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.names = {"1.013225": "cấp giấy phép xây dựng", "1.001193": "đăng ký khai sinh"}

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        self.queries.append(text)
        words = set(text.split())
        hits = []
        for code, name in self.names.items():
            if code == text:
                return [SearchHit(code, name, 1.0)]
            share = len(words & set(name.split())) / len(name.split())
            if share:
                hits.append(SearchHit(code, name, round(share, 4)))
        return sorted(hits, key=lambda h: -h.score)[:k]


def normalizer() -> VietnameseNormalizer:
    comp = VietnameseNormalizer({"abbreviations_path": "abbreviations.yml"})
    comp.train(TrainingSet(TrainingData(), []), CONTEXT)
    return comp


def message(text: str, *components) -> Message:
    msg = Message.build(text)
    for comp in (normalizer(), *components):
        comp.process(msg)
    return msg


# ------------------------------------------------------------------------------------------ settings


def test_defaults_are_merged_under_user_settings() -> None:
    comp = FallbackClassifier({"threshold": 0.7})
    assert comp.settings.threshold == 0.7
    assert comp.settings.ambiguity_threshold == FallbackClassifier.defaults["ambiguity_threshold"]


@pytest.mark.parametrize(
    ("cls", "settings", "message"),
    [
        (FallbackClassifier, {"threshold": 1.5}, "threshold"),
        (FallbackClassifier, {"treshold": 0.5}, "treshold"),
        (CharNgramFeaturizer, {"folded_range": [5, 2]}, "range"),
        (IntentClassifier, {"C": 0}, "C"),
        (RegexEntityExtractor, {"patterns": ["nope"]}, "unknown patterns"),
    ],
)
def test_bad_settings_are_config_errors(cls, settings, message) -> None:
    with pytest.raises(ConfigError, match=message):
        cls(settings)


def test_unknown_component_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="VietnameseNormalizer"):
        component_class("SpacyTokenizer")


# --------------------------------------------------------------------------------------- featurizers


def _train_featurizer(comp, texts: list[str]):
    norm = normalizer()
    msgs = [Message.from_example(Example(t, "x")) for t in texts]
    for m in msgs:
        norm.process(m)
    comp.train(TrainingSet(TrainingData(), msgs), CONTEXT)
    return comp


def test_char_ngrams_match_with_and_without_diacritics() -> None:
    comp = _train_featurizer(CharNgramFeaturizer(), ["giấy phép xây dựng"])
    with_d = message("giấy phép", comp).features[comp.name]
    without = message("giay phep", comp).features[comp.name]
    shared = set(with_d.indices) & set(without.indices)
    assert shared, "folded n-grams are shared"
    assert np.isclose(np.linalg.norm(with_d.values), 1.0)
    assert with_d.size == len(comp.vocabulary)


def test_masked_entities_become_one_placeholder_word() -> None:
    comp = WordNgramFeaturizer({"mask_entities": ["procedure"]})
    msg = message("gplx het han doi o dau")
    msg.entities = [{"entity": "procedure", "start": 0, "end": 12, "value": "x"}]
    assert comp.words(msg)[:2] == [("__procedure__", "__procedure__"), ("doi", "doi")]


def test_word_ngrams_and_unknown_words() -> None:
    comp = _train_featurizer(WordNgramFeaturizer(), ["cần giấy tờ gì"])
    assert "f:giay to" in comp.vocabulary
    assert message("hoàn toàn lạ", comp).features[comp.name].indices.size == 0


def test_featurizer_state_round_trip() -> None:
    comp = _train_featurizer(CharNgramFeaturizer({"normalized_range": None}), ["lệ phí bao nhiêu"])
    fresh = CharNgramFeaturizer({"normalized_range": None})
    fresh.load(comp.persist())
    a, b = message("le phi", comp), message("le phi", fresh)
    assert a.features[comp.name].indices.tolist() == b.features[comp.name].indices.tolist()


# ---------------------------------------------------------------------------------------- classifier


def _trained_classifier():
    data = load_training_data(DATA / "nlu.yml")
    norm, char, word, clf = normalizer(), CharNgramFeaturizer(), WordNgramFeaturizer(), IntentClassifier()
    msgs = [Message.from_example(ex) for ex in data.examples]
    training = TrainingSet(data, msgs)
    for comp in (norm, char, word, clf):
        comp.train(training, CONTEXT)
        training.messages = comp.process_training(training.messages)
    return (norm, char, word, clf)


def test_classifier_ranks_intents() -> None:
    comps = _trained_classifier()
    msg = Message.build("le phi lam giay phep xay dung het bao nhieu tien")
    for comp in comps:
        comp.process(msg)
    assert msg.intent["name"] == "ask_fee"
    assert [r["name"] for r in msg.intent_ranking][0] == "ask_fee"
    assert abs(sum(r["confidence"] for r in msg.intent_ranking) - 1.0) < 0.01
    assert all(
        a["confidence"] >= b["confidence"]
        for a, b in zip(msg.intent_ranking, msg.intent_ranking[1:], strict=False)
    )


def test_classifier_needs_features_from_earlier_components() -> None:
    data = TrainingData(examples=[Example("a", "x"), Example("b", "y")])
    msgs = [Message.from_example(ex) for ex in data.examples]
    with pytest.raises(ConfigError, match="not produced"):
        IntentClassifier({"features": ["WordNgramFeaturizer"]}).train(TrainingSet(data, msgs), CONTEXT)


# -------------------------------------------------------------------------------------------- regex


def _regex(data: TrainingData | None = None) -> RegexEntityExtractor:
    comp = RegexEntityExtractor()
    comp.train(TrainingSet(data or TrainingData(), []), CONTEXT)
    return comp


@pytest.mark.parametrize(
    ("text", "entity", "value", "typed"),
    [
        ("hồ sơ 000.00.24.H12-250301-0007 xong chưa", "dossier_code", "000.00.24.H12-250301-0007", None),
        ("ma ho so h12.22-250302-0015 a", "dossier_code", "H12.22-250302-0015", "h12.22-250302-0015"),
        ("sđt của tôi 0912 345 678", "phone", "0912345678", "0912 345 678"),
        ("goi +84 912345678 nhe", "phone", "0912345678", "+84 912345678"),
        ("số căn cước 001203004567 ạ", "id_number", "001203004567", None),
        ("nộp ngày 12/3/2025", "date", "2025-03-12", "ngày 12/3/2025"),
        ("hạn 01-04-25 nhé", "date", "2025-04-01", "01-04-25"),
        ("nộp ngày 5 tháng 3 rồi", "date", "--03-05", "ngày 5 tháng 3"),
        ("nop ngay 5 thang 3 nam 2024", "date", "2024-03-05", "ngay 5 thang 3 nam 2024"),
        ("hôm 20/3 em nộp", "date", "--03-20", "20/3"),
    ],
)
def test_builtin_patterns(text: str, entity: str, value: str, typed: str | None) -> None:
    msg = message(text, _regex())
    found = [e for e in msg.entities if e["entity"] == entity]
    assert len(found) == 1, msg.entities
    ent = found[0]
    assert ent["value"] == value
    assert text[ent["start"] : ent["end"]] == (typed or value)
    assert ent["extractor"] == "RegexEntityExtractor"


@pytest.mark.parametrize("text", ["32/13/2025", "tầng 1.2", "50k", "mã 1.013225", "012345"])
def test_no_false_entities(text: str) -> None:
    assert message(text, _regex()).entities == []


def test_training_data_regexes_are_used() -> None:
    data = TrainingData(regexes={"plate": [r"\b\d{2}[A-Z]-\d{3}\.\d{2}\b"]})
    msg = message("xe biển 29A-123.45 của tôi", _regex(data))
    assert [(e["entity"], e["value"]) for e in msg.entities] == [("plate", "29A-123.45")]


# -------------------------------------------------------------------------------- mentions and linker


def _mentions() -> ProcedureMentionExtractor:
    data = load_training_data(DATA / "nlu.yml")
    norm = normalizer()

    def preprocess(text: str) -> Message:
        msg = Message.build(text)
        norm.process(msg)
        return msg

    comp = ProcedureMentionExtractor({"aliases_path": "aliases.yml"})
    comp.train(TrainingSet(data, []), {**CONTEXT, "preprocess": preprocess})
    return comp


def test_mentions_from_abbreviations_without_diacritics() -> None:
    msg = message("gplx het han, doi bang lai o dau", _mentions())
    procs = [e for e in msg.entities if e["entity"] == "procedure"]
    assert [msg.text[e["start"] : e["end"]] for e in procs] == ["gplx", "doi bang lai"]
    assert procs[0]["value"] == "giấy phép lái xe"
    assert procs[1]["codes"] == ["3.000347", "3.000348"]


def test_mention_table_round_trip() -> None:
    comp = _mentions()
    fresh = ProcedureMentionExtractor({"aliases_path": None})
    fresh.load(comp.persist())
    assert message("lam giay khai sinh", fresh).entities == message("lam giay khai sinh", comp).entities


def _linked(text: str, intent: str = "ask_documents", index: FakeIndex | None = None) -> Message:
    index = index or FakeIndex()
    msg = message(text, _mentions())
    msg.intent = {"name": intent, "confidence": 0.9}
    ProcedureLinker(context={"knowledge_index": index}).process(msg)
    return msg


def test_linker_strips_question_words_before_searching() -> None:
    index = FakeIndex()
    msg = _linked("cho hỏi lệ phí cấp giấy phép xây dựng mất bao nhiêu", index=index)
    assert index.queries[0] == "cấp giấy phép xây dựng"
    assert msg.procedure["code"] == "1.013225"


def test_linker_puts_alias_mentions_on_top() -> None:
    msg = _linked("lam giay khai sinh can gi")
    assert msg.procedure["code"] == "1.001193"
    assert msg.procedure["name"] == "đăng ký khai sinh"
    assert msg.procedure["score"] >= ProcedureLinker.defaults["mention_floor"]


def test_a_refinement_of_the_named_procedure_that_the_message_matches_better_ranks_above_it() -> None:
    # the alias names birth registration; the message says which birth registration
    index = FakeIndex()
    index.names["1.001695"] = "đăng ký khai sinh có yếu tố nước ngoài"
    msg = _linked("làm giấy khai sinh có yếu tố nước ngoài cần gì", index=index)
    assert [r["code"] for r in msg.procedure_ranking][:2] == ["1.001695", "1.001193"]
    assert msg.procedure["score"] >= ProcedureLinker.defaults["mention_floor"]
    # the plain question keeps the procedure the alias names on top
    assert _linked("làm giấy khai sinh cần gì", index=index).procedure["code"] == "1.001193"


def test_refinements_can_be_turned_off() -> None:
    index = FakeIndex()
    index.names["1.001695"] = "đăng ký khai sinh có yếu tố nước ngoài"
    msg = message("làm giấy khai sinh có yếu tố nước ngoài cần gì", _mentions())
    msg.intent = {"name": "ask_documents", "confidence": 0.9}
    ProcedureLinker({"refinements": False}, context={"knowledge_index": index}).process(msg)
    assert msg.procedure["code"] == "1.001193"


def test_linker_discounts_hits_that_explain_few_words() -> None:
    plain = _linked("cấp giấy phép xây dựng", intent="ask_fee")
    padded = _linked("cấp giấy phép xây dựng kèm chữ lạ hoắc", intent="ask_fee")
    assert plain.procedure["code"] == padded.procedure["code"] == "1.013225"
    assert padded.procedure["score"] < plain.procedure["score"]


def test_linker_skips_small_talk_unless_a_procedure_is_named() -> None:
    index = FakeIndex()
    assert _linked("xin chào", intent="greet", index=index).procedure_ranking == []
    assert index.queries == []
    assert _linked("cảm ơn, còn khai sinh thì sao", intent="thank").procedure["code"] == "1.001193"


def test_linker_without_index_links_nothing() -> None:
    msg = message("giấy phép xây dựng", _mentions())
    ProcedureLinker().process(msg)
    assert msg.procedure is None and msg.procedure_ranking == []


# ----------------------------------------------------------------------------------------- fallback


def _ranked(*confidences: float, procedure: float | None = None) -> Message:
    msg = Message.build("x")
    msg.intent_ranking = [{"name": f"i{n}", "confidence": c} for n, c in enumerate(confidences)]
    msg.intent = dict(msg.intent_ranking[0])
    if procedure is not None:
        msg.procedure_ranking = [{"code": "1.000001", "name": "a", "score": procedure}]
        msg.procedure = dict(msg.procedure_ranking[0])
    return msg


def test_low_confidence_becomes_nlu_fallback_keeping_the_ranking() -> None:
    msg = _ranked(0.4, 0.3)
    FallbackClassifier({"threshold": 0.5}).process(msg)
    assert msg.intent == {"name": "nlu_fallback", "confidence": 0.5}
    assert [r["name"] for r in msg.intent_ranking] == ["nlu_fallback", "i0", "i1"]
    assert msg.diagnostics["fallback"] == ["low_confidence"]


def test_ambiguous_top_two_become_nlu_fallback() -> None:
    msg = _ranked(0.52, 0.48)
    FallbackClassifier({"threshold": 0.5, "ambiguity_threshold": 0.1}).process(msg)
    assert msg.intent["name"] == "nlu_fallback"
    assert msg.diagnostics["fallback"] == ["ambiguous_intent"]


def test_confident_intent_is_kept() -> None:
    msg = _ranked(0.9, 0.05, procedure=0.8)
    FallbackClassifier().process(msg)
    assert msg.intent["name"] == "i0" and msg.procedure["code"] == "1.000001"


def test_weak_procedure_is_dropped_but_candidates_stay() -> None:
    msg = _ranked(0.9, 0.05, procedure=0.3)
    FallbackClassifier({"procedure_threshold": 0.5}).process(msg)
    assert msg.procedure is None
    assert msg.procedure_ranking[0]["code"] == "1.000001"
    assert msg.intent["name"] == "i0"
