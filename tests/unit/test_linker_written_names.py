"""The procedure linker on long, formal questions (issue 10): a name written out somewhere in a letter,
the formulae of a letter, numbered classes, and the asking clause left out of the search."""

from __future__ import annotations

from knowledge.ports import SearchHit
from nlu.linker import ProcedureLinker, _canonical_numbers
from nlu.message import Message
from tests.unit.test_nlu_asking_new import ASKING, NORMALIZER  # the same test normalizer and asking clause


class DilutingIndex:
    """Scores as knowledge.search does, in its shape: 0.8 x the share of the query's words the name
    shares + 0.2 x the share of the name's words the query shares, so a long query dilutes every hit."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.queries: list[str] = []

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        self.queries.append(text)
        query = set(text.split())
        hits = []
        for code, name in self.names.items():
            words = set(name.lower().split())
            shared = len(query & words)
            if shared:
                score = 0.8 * shared / len(query) + 0.2 * shared / len(words)
                hits.append(SearchHit(code, name, round(score, 4)))
        return sorted(hits, key=lambda h: (-h.score, h.code))[:k]


LETTER = (
    "Kính gửi quý cơ quan, công ty chúng tôi đã hoạt động được ba năm tại khu công nghiệp và sắp tới "
    "cần làm thủ tục cấp giấy phép xây dựng cho nhà xưởng mới. Xin hỏi thời gian giải quyết là bao lâu? "
    "Tôi xin chân thành cảm ơn."
)


def _linked(text: str, names: dict[str, str], **settings) -> tuple[Message, DilutingIndex]:
    index = DilutingIndex(names)
    msg = Message.build(text)
    NORMALIZER.process(msg)
    ASKING.process(msg)
    msg.intent = {"name": "ask_processing_time", "confidence": 0.9}
    ProcedureLinker(settings, context={"knowledge_index": index}).process(msg)
    return msg, index


def test_a_name_written_out_in_a_long_letter_links_however_long_the_letter() -> None:
    names = {"1.013225": "Cấp giấy phép xây dựng", "1.001193": "Đăng ký khai sinh"}
    msg, _ = _linked(LETTER, names)
    assert msg.procedure["code"] == "1.013225"
    # the whole name written: name_floor + (1 - name_floor) x its search score
    assert msg.procedure["score"] >= ProcedureLinker.defaults["name_floor"]
    off, _ = _linked(LETTER, names, name_floor=0.0)
    assert off.procedure["code"] == "1.013225"
    assert off.procedure["score"] < 0.45  # below the fallback's procedure threshold: "which procedure?"


def test_the_formulae_of_a_letter_are_not_searched() -> None:
    _, index = _linked(LETTER, {"1.013225": "Cấp giấy phép xây dựng"})
    query = index.queries[0]
    for formula in ("kính gửi", "quý cơ quan", "chân thành", "cảm ơn"):
        assert formula not in query
    assert "cấp giấy phép xây dựng" in query


def test_a_name_written_inside_a_longer_written_name_ranks_below_it() -> None:
    names = {
        "1.000001": "Đăng ký hành nghề",
        "1.000002": "Cấp giấy chứng nhận đăng ký hành nghề luật sư nước ngoài",
    }
    text = "Tôi là luật sư, muốn xin giấy chứng nhận đăng ký hành nghề luật sư nước ngoài thì làm thế nào?"
    msg, _ = _linked(text, names)
    ranking = [r["code"] for r in msg.procedure_ranking]
    assert ranking == ["1.000002", "1.000001"]


def test_a_message_leaving_the_name_for_other_words_does_not_write_it() -> None:
    names = {"1.000010": "Công bố mở cảng cá loại III", "1.000011": "Công bố mở cảng cá loại I, loại II"}
    msg, _ = _linked("Hồ sơ công bố mở cảng cá loại 1 gồm những gì?", names)
    scores = {r["code"]: r["score"] for r in msg.procedure_ranking}
    assert msg.procedure["code"] == "1.000011"
    off, _ = _linked("Hồ sơ công bố mở cảng cá loại 1 gồm những gì?", names, name_floor=0.0)
    # "loại 1" goes on otherwise than "loại III": that name keeps its plain score
    assert scores["1.000010"] == {r["code"]: r["score"] for r in off.procedure_ranking}["1.000010"]
    assert scores["1.000011"] > scores["1.000010"]


def test_numbered_classes_and_one_are_compared_as_digits() -> None:
    assert _canonical_numbers(["cang", "ca", "loai", "iii"]) == ["cang", "ca", "loai", "3"]
    assert _canonical_numbers(["hang", "ii", "mot", "lan"]) == ["hang", "2", "1", "lan"]
    # a lone "i"/"v" is a Roman numeral only after a class word
    assert _canonical_numbers(["vitamin", "v", "i", "te"]) == ["vitamin", "v", "i", "te"]


def test_the_asking_clause_can_be_left_out_of_the_search() -> None:
    names = {"1.013225": "Cấp giấy phép xây dựng"}
    text = "Cấp giấy phép xây dựng nhà ở thì thời gian giải quyết là bao nhiêu?"
    _, kept = _linked(text, names)
    assert "giải quyết" in kept.queries[0]
    _, left = _linked(text, names, strip_asking_clause=True)
    assert "giải quyết" not in left.queries[0]
    assert "cấp giấy phép xây dựng" in left.queries[0]


def test_a_name_sharing_one_word_with_the_message_is_no_link() -> None:
    # "thế mất bao lâu" after a question about the ID card: "thế" (folded "the") is in "thẻ" of a
    # name, one word, which names nothing; two words of the name are a link
    names = {"1.014063": "Cấp đổi thẻ căn cước", "3.000347": "Đổi giấy phép lái xe"}
    index = WordCountingIndex(names)
    thin = _linked_with(index, "thế mất bao lâu")
    assert [r["code"] for r in thin.procedure_ranking] == ["1.014063"]
    assert thin.procedure_ranking[0]["score"] == ProcedureLinker.defaults["thin_cap"]
    assert _linked_with(index, "thẻ căn cước mất bao lâu").procedure["score"] > 0.45
    uncapped = _linked_with(index, "thế mất bao lâu", thin_cap=1.0)
    assert uncapped.procedure_ranking[0]["score"] > 0.45


class WordCountingIndex(DilutingIndex):
    """The diluting index on folded words, saying as knowledge.search does how many query words a hit holds."""

    def search(self, text: str, k: int = 10) -> list[SearchHit]:
        from knowledge.text import fold

        query = set(fold(text).split())
        hits = []
        for code, name in self.names.items():
            words = set(fold(name.lower()).split())
            shared = len(query & words)
            if shared:
                score = 0.8 * shared / len(query) + 0.2 * shared / len(words)
                hits.append(SearchHit(code, name, round(score, 4), name, shared))
        return sorted(hits, key=lambda h: (-h.score, h.code))[:k]


def _linked_with(index: DilutingIndex, text: str, **settings) -> Message:
    msg = Message.build(text)
    NORMALIZER.process(msg)
    ASKING.process(msg)
    msg.intent = {"name": "ask_processing_time", "confidence": 0.9}
    ProcedureLinker(settings, context={"knowledge_index": index}).process(msg)
    return msg


def test_question_words_typed_without_diacritics_are_stripped_whatever_an_abbreviation_adds() -> None:
    # "j" expands to "gì": the citizen typed no diacritics, so "giay to j" is the phrase "giấy tờ gì"
    # (searched, "giay to" found "giấy tờ có giá" procedures); an ID card's words stay searched
    linker = ProcedureLinker()
    for text, words in (("can giay to j", []), ("lam cccd can j", ["lam", "căn", "cước", "công", "dân"])):
        msg = Message.build(text)
        NORMALIZER.process(msg)
        assert linker.query_words(msg) == words
