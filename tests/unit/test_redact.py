"""redact(): identity numbers and Vietnamese phone numbers never reach the database or logs in full.

Known answers for every spelling citizens type (issue 13: the ID typed with spaces, dashes or 4-4-4
groups was stored in full), and for what must stay readable (dossier codes, procedure codes, dates,
amounts).
"""

from __future__ import annotations

import logging

import pytest

from bot.core.redact import (
    install_log_redaction,
    log_redaction_installed,
    redact,
    redact_record,
    uninstall_log_redaction,
)


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
        # the 12-digit citizen ID, every way it is typed
        ("0012 0300 4567", "**** **** *567"),  # 4-4-4 with spaces
        ("0012-0300-4567", "****-****-*567"),  # 4-4-4 with dashes
        ("0012.0300.4567", "****.****.*567"),  # 4-4-4 with dots
        ("001 203 004 567", "*** *** *** 567"),  # 3-3-3-3 with spaces
        ("001-203-004-567", "***-***-***-567"),  # 3-3-3-3 with dashes
        ("001.203.004.567", "***.***.***.567"),  # 3-3-3-3 with dots
        ("001203 004567", "****** ***567"),  # 6-6
        ("001 - 203 - 004 - 567", "*** - *** - *** - 567"),  # spaced dashes
        ("số CCCD là: 0012 0300 4567.", "số CCCD là: **** **** *567."),
        # phone numbers with +84 / 84 / 0084 / 0 and separators
        ("0912-345-678", "****-***-678"),
        ("091 234 5678", "*** *** *678"),
        ("0912 - 345 - 678", "**** - *** - 678"),
        ("+84-912-345-678", "+**-***-***-678"),
        ("+84912345678", "+********678"),
        ("84 912 345 678", "** *** *** 678"),
        ("0084 912 345 678", "**** *** *** 678"),
        ("+84 (0) 912 345 678", "+** (*) *** *** 678"),
        ("028 3829 1234", "*** **** *234"),  # landline
        ("gọi 0912.345.678.", "gọi ****.***.678."),
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
        "H57-240115-0001",  # the tail of a dossier code: 12 digits, but glued to its letters
        "thủ tục 1.013225 và 2.000635",  # procedure codes
        "ngày 12.05.2024",
        "2024-05-12",
        "12-05-2024",
        "từ 12.05.2024 - 15.06.2024",  # two dates: 16 digits in groups, neither an ID nor a phone
        "lệ phí 1.500.000 đồng",
        "100.000.000.000 đồng",  # 12 digits in groups of three, but an amount
        "2 bản sao, 3 ảnh 4x6",
    ],
)
def test_leaves_other_text_alone(text: str) -> None:
    assert redact(text) == text


def test_masks_several_numbers_in_one_text() -> None:
    assert redact("0912345678 / 001203004567") == "*******678 / *********567"


def test_masks_an_id_beside_a_dossier_code() -> None:
    assert (
        redact("mã 000.00.12.H57-240115-0001 và CCCD 0012 0300 4567")
        == "mã 000.00.12.H57-240115-0001 và CCCD **** **** *567"
    )


def test_removes_nul_characters_even_inside_a_number() -> None:
    # PostgreSQL refuses NUL in text; a NUL must not let a number escape the mask either.
    assert redact("a\x00b 0012\x0003004567") == "ab *********567"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_log_filter_masks_the_message_its_arguments_and_the_traceback() -> None:
    try:
        raise ValueError("refused row: text='CCCD 0012 0300 4567'")
    except ValueError as caught:
        record = _record("citizen %s wrote %r", "0912345678", "số 001203004567", exc=caught)
    assert redact_record(record) is record
    formatted = logging.Formatter("%(message)s").format(record)
    assert "citizen *******678 wrote 'số *********567'" in formatted
    assert "**** **** *567" in formatted
    assert "4567" not in formatted.replace("*567", "")


def test_log_filter_keeps_format_types_and_is_idempotent() -> None:
    record = _record("ticket %d after %.1f s", 12, 1.25)
    redact_record(redact_record(record))
    assert record.getMessage() == "ticket 12 after 1.2 s"


def test_log_redaction_installs_once_and_uninstalls(caplog: pytest.LogCaptureFixture) -> None:
    found = log_redaction_installed()  # a server built earlier in this process installs it
    uninstall_log_redaction()
    before = logging.getLogRecordFactory()
    try:
        install_log_redaction()
        install_log_redaction()  # idempotent: one wrapper, not two
        with caplog.at_level(logging.INFO):
            logging.getLogger("test.redact").info("CCCD 001203004567")
        assert "001203004567" not in caplog.text and "*********567" in caplog.text
        uninstall_log_redaction()
        assert logging.getLogRecordFactory() is before and not log_redaction_installed()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            logging.getLogger("test.redact").info("CCCD 001203004567")
        assert "001203004567" in caplog.text
    finally:
        if found:  # leave the process as it was found
            install_log_redaction()
