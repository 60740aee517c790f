"""nlu/learned.py: editors' examples as training data, the procedure mention annotated with its code;
and a model trained with them (nlu.models.train_model's ``extra``) links those words to that code.

The model is trained on the small fixture set (tests/data/nlu), not the project's data: what is checked
is that ``extra`` reaches the mention extractor, which the full data would only make slower."""

from __future__ import annotations

from pathlib import Path

from nlu.learned import LearnedExample, find_mention, learned_training_data
from nlu.training_data import dump_training_data

DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"
PHRASES = {"1.002809": ["Cấp đổi giấy phép lái xe", "bằng lái", "gplx"]}


def test_the_longest_name_or_alias_is_found_without_diacritics() -> None:
    assert find_mention("doi bang lai xe o dau", ["bằng lái", "bằng lái xe"]) == (4, 15)
    assert find_mention("Đổi BẰNG LÁI ở đâu", ["bằng lái"]) == (4, 12)
    assert find_mention("bằng láixe", ["bằng lái"]) is None  # whole words only


def test_examples_become_annotated_training_data() -> None:
    data = learned_training_data(
        [
            LearnedExample("đổi  bằng lái ở đâu", "ask_where", "1.002809"),
            LearnedExample("chào em", "greet"),
            LearnedExample("thủ tục này mất bao lâu", "ask_processing_time", "1.002809"),
        ],
        lambda code: PHRASES.get(code, []),
    )
    text = dump_training_data(data)
    assert '- đổi [bằng lái]{"entity": "procedure", "value": "1.002809"} ở đâu' in text
    assert "- thủ tục này mất bao lâu" in text  # no name in the text: the intent only
    assert data.synonyms == {"1.002809": ["bằng lái"]}


def test_a_model_trained_with_learned_examples_links_the_words_to_the_code(tmp_path) -> None:
    from nlu.models import load_model, train_model

    extra = learned_training_data(
        [LearnedExample("xin cái giấy chạy xe máy ở đâu", "ask_where", "1.002809")],
        lambda code: ["giấy chạy xe máy"],
    )
    train_model(DATA / "config.yml", [DATA / "nlu.yml"], tmp_path, extra=extra)
    result = load_model(tmp_path).parse("giấy chạy xe máy làm ở đâu")
    mention = next(e for e in result["entities"] if e["entity"] == "procedure")
    assert mention["codes"] == ["1.002809"]
