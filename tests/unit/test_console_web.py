"""Officers read a citizen's button presses as words, not as payloads."""

from __future__ import annotations

import pytest

from console.web.kit import readable_message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('/give_feedback{"rating":"1"}', "[Bấm nút] đánh giá 1/5"),
        ('/choose{"procedure":"1.013225"}', "[Bấm nút] chọn thủ tục 1.013225"),
        ("/request_human", "[Bấm nút] gặp cán bộ"),
        ("/some_new_button", "[Bấm nút] some new button"),
        ("xin chào cán bộ", "xin chào cán bộ"),
        ("/broken{json", "/broken{json"),
    ],
)
def test_button_presses_read_as_words(text: str, shown: str) -> None:
    assert readable_message(text) == shown
