"""The names people read for the codes the console shows: channels, intents, reasons for a ticket.

The pages, the JSON API and the CSV files all use these, so a channel or an intent reads the same
everywhere.
"""

from __future__ import annotations

CHANNEL_LABELS = {
    "telegram": "Telegram",
    "zalo": "Zalo OA",
    "zalo_bot": "Zalo Bot",
    "rest": "Trang web",
    "console": "Dòng lệnh",
}
INTENT_LABELS = {
    "greet": "Chào hỏi",
    "start": "Bắt đầu",
    "help": "Cần giúp đỡ",
    "thank": "Cảm ơn",
    "goodbye": "Chào tạm biệt",
    "affirm": "Đồng ý",
    "deny": "Không đồng ý",
    "give_feedback": "Góp ý, chấm điểm",
    "rephrase": "Hỏi lại",
    "request_human": "Muốn gặp cán bộ",
    "out_of_scope": "Ngoài phạm vi hỗ trợ",
    "nlu_fallback": "Không hiểu câu hỏi",
    "check_dossier_status": "Tra cứu hồ sơ",
    "ask_procedure_overview": "Hỏi chung về thủ tục",
    "ask_documents": "Hỏi giấy tờ cần nộp",
    "ask_fee": "Hỏi lệ phí",
    "ask_forms": "Hỏi mẫu đơn",
    "ask_processing_time": "Hỏi thời gian giải quyết",
    "ask_where": "Hỏi nơi nộp hồ sơ",
    "ask_steps": "Hỏi các bước thực hiện",
    "ask_conditions": "Hỏi điều kiện",
    "ask_channels": "Hỏi cách nộp (trực tiếp, trực tuyến)",
    "ask_legal_basis": "Hỏi căn cứ pháp lý",
    "ask_result": "Hỏi kết quả nhận được",
    "choose": "Chọn thủ tục",
    "choose_group": "Chọn trường hợp",
    "more": "Xem thêm",
    "procedure_notes": "Xem lưu ý",
}
REASON_LABELS = {
    "request_human": "Người dân muốn gặp cán bộ",
    "repeated_fallback": "Trợ lý ảo không hiểu câu hỏi",
    "negative_rating": "Người dân chấm điểm thấp",
}
"""Why a ticket was opened."""


def channel_label(channel: str) -> str:
    """The channel's name for people."""
    return CHANNEL_LABELS.get(channel, channel)


def intent_label(intent: str | None) -> str:
    """The intent's name for people (its code when unknown, ``""`` for none)."""
    return INTENT_LABELS.get(intent or "", intent or "")
