"""What each turn counts for in the analytics (issue 14, item 4): every question is exactly one of
answered, not understood, out of scope or a choice left unanswered; the pick after a choice is the
same question."""

from __future__ import annotations

from console.analytics.report import QuestionCounts, tally_questions


def summed(kinds: list[str]) -> QuestionCounts:
    total = QuestionCounts()
    for counts in tally_questions(kinds):
        if counts is not None:
            total.add(counts)
    return total


def test_a_choice_picked_and_answered_is_one_answered_question() -> None:
    assert tally_questions(["choice", "answer"])[1] is None
    assert summed(["choice", "answer"]) == QuestionCounts(questions=1, understood=1, choices_answered=1)


def test_a_choice_not_picked_is_left_unanswered_and_the_next_turn_counts_on_its_own() -> None:
    assert summed(["choice", "fallback"]) == QuestionCounts(questions=2, fallbacks=1, choices_unanswered=1)
    assert summed(["choice"]) == QuestionCounts(questions=1, choices_unanswered=1)
    assert summed(["choice", "other"]) == QuestionCounts(questions=1, choices_unanswered=1)
    # a second choice after a first: the first was not answered, the second is, by the pick
    assert summed(["choice", "choice", "answer"]) == QuestionCounts(
        questions=2, understood=1, choices_answered=1, choices_unanswered=1
    )


def test_faq_and_flows_are_answered_refusals_and_fallbacks_are_not() -> None:
    got = summed(["faq", "flow", "answer", "out_of_scope", "fallback", "other"])
    assert got == QuestionCounts(
        questions=5, understood=3, procedure_answers=1, faq=1, flows=1, fallbacks=1, out_of_scope=1
    )
    assert got.questions == got.understood + got.fallbacks + got.out_of_scope + got.choices_unanswered
