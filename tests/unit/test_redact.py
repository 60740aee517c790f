"""redact(): identity numbers and Vietnamese phone numbers never reach logs in full."""

from __future__ import annotations

import pytest

from bot.core.redact import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 001203004567", "CCCD *********567"),  # 12-digit citizen ID
        ("CMND 123456789", "CMND ******789"),  # 9-digit old ID
        ("mã BHXH 7912345678", "mã BHXH *******678"),  # 10 digits
        ("gọi 0912345678 nhé", "gọi *******678 nhé"),
        ("SĐT: 0912 345 678", "SĐT: **** *** 678"),
        ("0912.345.678", "****.***.678"),
        ("+84 912 345 678", "+** *** *** 678"),
        ("(+84) 912-345-678", "(+**) ***-***-678"),
        ("84912345678", "********678"),
        ("(028) 3829 1234", "(***) **** *234"),
        ("sdt0912345678", "sdt*******678"),
    ],
)
def test_masks_all_but_the_last_three_digits(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Xin chào, tôi muốn làm căn cước",
        "ngày 12/05/2024, lệ phí 15.000 đồng",
        "mã hồ sơ 000.00.12.H57-240115-0001",  # dossier codes stay readable
        "12345678",  # 8 digits: not an ID number
        "update 123456789012345678",  # 18-digit platform id, not personal
    ],
)
def test_leaves_other_text_alone(text: str) -> None:
    assert redact(text) == text


def test_masks_several_numbers_in_one_text() -> None:
    assert redact("0912345678 / 001203004567") == "*******678 / *********567"
