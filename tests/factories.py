"""Factories for test inputs: realistic procedures, a filled knowledge base, inbound messages, parses,
the shipped response catalogue, and the harness that runs one action on a tracker.

The procedures follow the national portal's published records (agencies, fees, documents with their
forms, legal basis) and use the national codes: marriage 1.000894, birth 1.001193, and the construction
permit family 1.013225 (new), 1.013226 (adjusted), 1.013227 (renewed), 1.013228 (re-issued). Names and
contents are shortened to the individual-house case so that tests stay readable; the seed knowledge
base has the full published records.
"""

from __future__ import annotations

import functools
from typing import Any

from bot.core.events import Event
from bot.core.messages import ConversationKey, InboundMessage
from bot.core.parse import Parse
from bot.core.responses import ResponseCatalogue
from bot.core.sdk import Action, ActionArgs, CollectingDispatcher, MessageDraft, Tracker
from bot.core.state import ConversationState
from knowledge.domain import Document, LegalBasis, Procedure, SubmissionChannel
from knowledge.ports import InMemoryKnowledgeRepository

PORTAL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc="

GPXD_NEW = "1.013225"
GPXD_ADJUST = "1.013226"
GPXD_RENEW = "1.013227"
GPXD_REISSUE = "1.013228"
MARRIAGE = "1.000894"
BIRTH = "1.001193"

_CONSTRUCTION_LAW = (
    LegalBasis("50/2014/QH13", "Luật Xây dựng", "18/06/2014", "Quốc hội"),
    LegalBasis(
        "62/2020/QH14", "Luật sửa đổi, bổ sung một số điều của Luật Xây dựng", "17/06/2020", "Quốc hội"
    ),
    LegalBasis(
        "15/2021/NĐ-CP",
        "Nghị định quy định chi tiết một số nội dung về quản lý dự án đầu tư xây dựng",
        "03/03/2021",
        "Chính phủ",
    ),
)


def construction_permit_new(**changes: Any) -> Procedure:
    """Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ: 7 documents, so the list needs "Xem thêm"."""
    data: dict[str, Any] = {
        "code": GPXD_NEW,
        "name": "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "field": "Hoạt động xây dựng",
        "levels": ("Cấp Huyện",),
        "competent_agency": "Ủy ban nhân dân cấp huyện",
        "executing_agency": "Ủy ban nhân dân cấp huyện",
        "receiving_address": "Bộ phận Một cửa, Ủy ban nhân dân cấp huyện",
        "steps": (
            "Chủ đầu tư nộp 02 bộ hồ sơ đề nghị cấp giấy phép xây dựng cho cơ quan có thẩm quyền.",
            "Cơ quan cấp phép tiếp nhận, kiểm tra hồ sơ và ghi giấy biên nhận.",
            "Cơ quan cấp phép thẩm định hồ sơ, kiểm tra thực địa trong 07 ngày làm việc.",
            "Cơ quan cấp phép cấp giấy phép xây dựng và trả kết quả cho chủ đầu tư.",
        ),
        "channels": (
            SubmissionChannel(
                "truc_tiep", "15 Ngày", "Lệ phí : 75.000 Đồng", days=15, working_days=False, fee_vnd=75000
            ),
            SubmissionChannel(
                "truc_tuyen", "15 Ngày", "Lệ phí : 75.000 Đồng", days=15, working_days=False, fee_vnd=75000
            ),
            SubmissionChannel(
                "buu_chinh", "15 Ngày", "Lệ phí : 75.000 Đồng", days=15, working_days=False, fee_vnd=75000
            ),
        ),
        "documents": (
            Document(
                "Đơn đề nghị cấp giấy phép xây dựng",
                form="Mẫu số 01 Phụ lục II Nghị định 15/2021/NĐ-CP.docx",
                originals=1,
            ),
            Document("Giấy tờ chứng minh quyền sử dụng đất", copies=1),
            Document("Bản vẽ thiết kế xây dựng (mặt bằng, mặt cắt, mặt đứng, móng)", originals=2),
            Document("Bản kê khai năng lực, kinh nghiệm của tổ chức, cá nhân thiết kế", originals=1),
            Document("Cam kết bảo đảm an toàn đối với công trình liền kề", originals=1),
            Document(
                "Văn bản chấp thuận độ cao công trình",
                group="Đối với công trình gần sân bay",
                copies=1,
            ),
            Document(
                "Báo cáo kết quả thẩm tra thiết kế",
                group="Đối với công trình gần sân bay",
                originals=1,
            ),
        ),
        "legal_basis": _CONSTRUCTION_LAW,
        "conditions": "Phù hợp với quy hoạch chi tiết xây dựng; bảo đảm an toàn cho công trình và công trình lân cận.",
        "result": "Giấy phép xây dựng",
        "online_level": "mot_phan",
        "url": PORTAL + GPXD_NEW,
        "aliases": ("giấy phép xây dựng", "gpxd", "xin phép xây nhà"),
    }
    data.update(changes)
    return Procedure(**data)


def construction_permit_adjusted(**changes: Any) -> Procedure:
    """Cấp điều chỉnh giấy phép xây dựng đối với nhà ở riêng lẻ."""
    data: dict[str, Any] = {
        "code": GPXD_ADJUST,
        "name": "Cấp điều chỉnh giấy phép xây dựng đối với nhà ở riêng lẻ",
        "field": "Hoạt động xây dựng",
        "executing_agency": "Ủy ban nhân dân cấp huyện",
        "channels": (
            SubmissionChannel("truc_tiep", "15 Ngày", "Lệ phí : 75.000 Đồng", days=15, fee_vnd=75000),
        ),
        "documents": (
            Document(
                "Đơn đề nghị điều chỉnh giấy phép xây dựng",
                form="Mẫu số 02 Phụ lục II Nghị định 15/2021/NĐ-CP.docx",
                originals=1,
            ),
            Document("Bản chính giấy phép xây dựng đã được cấp", originals=1),
            Document("Bản vẽ thiết kế điều chỉnh", originals=2),
        ),
        "legal_basis": _CONSTRUCTION_LAW,
        "result": "Giấy phép xây dựng điều chỉnh",
        "online_level": "mot_phan",
        "url": PORTAL + GPXD_ADJUST,
    }
    data.update(changes)
    return Procedure(**data)


def construction_permit_renewed(**changes: Any) -> Procedure:
    """Gia hạn giấy phép xây dựng: a sparse record (no steps, no conditions) for missing-data answers."""
    data: dict[str, Any] = {
        "code": GPXD_RENEW,
        "name": "Gia hạn giấy phép xây dựng đối với nhà ở riêng lẻ",
        "field": "Hoạt động xây dựng",
        "executing_agency": "Ủy ban nhân dân cấp huyện",
        "channels": (
            SubmissionChannel(
                "truc_tiep",
                "05 Ngày làm việc",
                "Lệ phí : 15.000 Đồng",
                days=5,
                working_days=True,
                fee_vnd=15000,
            ),
        ),
        "documents": (
            Document(
                "Đơn đề nghị gia hạn giấy phép xây dựng",
                form="Mẫu số 02 Phụ lục II Nghị định 15/2021/NĐ-CP.docx",
                originals=1,
            ),
            Document("Bản chính giấy phép xây dựng đã được cấp", originals=1),
        ),
        "online_level": "mot_phan",
        "url": PORTAL + GPXD_RENEW,
    }
    data.update(changes)
    return Procedure(**data)


def construction_permit_reissued(**changes: Any) -> Procedure:
    """Cấp lại giấy phép xây dựng: no portal link and no fee data (the officer is offered instead)."""
    data: dict[str, Any] = {
        "code": GPXD_REISSUE,
        "name": "Cấp lại giấy phép xây dựng đối với nhà ở riêng lẻ",
        "field": "Hoạt động xây dựng",
        "executing_agency": "Ủy ban nhân dân cấp huyện",
        "documents": (Document("Đơn đề nghị cấp lại giấy phép xây dựng", originals=1),),
    }
    data.update(changes)
    return Procedure(**data)


def marriage_registration(**changes: Any) -> Procedure:
    """Đăng ký kết hôn (UBND cấp xã, free, done the same day)."""
    data: dict[str, Any] = {
        "code": MARRIAGE,
        "name": "Đăng ký kết hôn",
        "field": "Hộ tịch",
        "levels": ("Cấp Xã",),
        "competent_agency": "Ủy ban nhân dân cấp xã",
        "executing_agency": "Ủy ban nhân dân xã, phường, thị trấn nơi cư trú của một trong hai bên",
        "receiving_address": "Bộ phận Một cửa, Ủy ban nhân dân cấp xã",
        "steps": (
            "Hai bên nam, nữ nộp tờ khai đăng ký kết hôn và xuất trình giấy tờ tùy thân.",
            "Công chức tư pháp - hộ tịch kiểm tra hồ sơ; đủ điều kiện thì ghi vào Sổ hộ tịch.",
            "Hai bên ký vào Sổ hộ tịch và Giấy chứng nhận kết hôn, nhận mỗi bên 01 bản chính.",
        ),
        "channels": (
            SubmissionChannel(
                "truc_tiep", "Ngay trong ngày tiếp nhận hồ sơ", "Lệ phí : 0 Đồng", days=0, fee_vnd=0
            ),
            SubmissionChannel(
                "truc_tuyen", "Ngay trong ngày tiếp nhận hồ sơ", "Lệ phí : 0 Đồng", days=0, fee_vnd=0
            ),
        ),
        "documents": (
            Document(
                "Tờ khai đăng ký kết hôn",
                form="Tờ khai đăng ký kết hôn (TT 04/2024/TT-BTP).docx",
                originals=1,
            ),
            Document("Giấy xác nhận tình trạng hôn nhân (nếu đăng ký ở nơi không thường trú)", originals=1),
            Document("Giấy tờ tùy thân có ảnh (xuất trình)", note="Hộ chiếu, căn cước công dân"),
        ),
        "legal_basis": (LegalBasis("60/2014/QH13", "Luật Hộ tịch", "20/11/2014", "Quốc hội"),),
        "conditions": "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi; tự nguyện; không bị mất năng lực hành vi dân sự.",
        "result": "Giấy chứng nhận kết hôn",
        "online_level": "mot_phan",
        "url": PORTAL + MARRIAGE,
        "aliases": ("đăng ký kết hôn", "làm giấy kết hôn"),
    }
    data.update(changes)
    return Procedure(**data)


def birth_registration(**changes: Any) -> Procedure:
    """Đăng ký khai sinh (UBND cấp xã, free, fully online)."""
    data: dict[str, Any] = {
        "code": BIRTH,
        "name": "Đăng ký khai sinh",
        "field": "Hộ tịch",
        "levels": ("Cấp Xã",),
        "executing_agency": "Ủy ban nhân dân cấp xã nơi cư trú của cha hoặc mẹ",
        "steps": (
            "Người đi đăng ký nộp tờ khai và giấy chứng sinh.",
            "Công chức tư pháp - hộ tịch kiểm tra, ghi vào Sổ hộ tịch.",
            "Cấp Giấy khai sinh cho người được đăng ký.",
        ),
        "channels": (SubmissionChannel("truc_tuyen", "Ngay trong ngày", "Miễn lệ phí", days=0, fee_vnd=0),),
        "documents": (
            Document("Tờ khai đăng ký khai sinh", form="Tờ khai đăng ký khai sinh.docx", originals=1),
            Document("Giấy chứng sinh", originals=1),
        ),
        "conditions": "Không",
        "result": "Giấy khai sinh (bản chính)",
        "online_level": "toan_trinh",
        "url": PORTAL + BIRTH,
    }
    data.update(changes)
    return Procedure(**data)


OFFICIAL_GPXD_NEW_NAME = (
    "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo tuyến/Theo tuyến "
    "trong đô thị/Tín ngưỡng, tôn giáo/Tượng đài, tranh hoành tráng/Theo giai đoạn cho công trình không "
    "theo tuyến/Theo giai đoạn cho công trình theo tuyến trong đô thị/Dự án) và nhà ở riêng lẻ"
)
"""1.013225's name as the portal publishes it (the factory above uses a short one)."""

_COUNCIL_FEE = "Miễn phí (Theo quy định của Hội đồng nhân dân cấp tỉnh)"
_LAND_CERT = (
    "Giấy chứng nhận quyền sử dụng đất được cấp theo quy định của Luật Đất đai qua các thời kỳ. Trường hợp "
    "Giấy chứng nhận quyền sử dụng đất đã có trong Cơ sở dữ liệu quốc gia về đất đai thì các thông tin này "
    "được thay thế bằng dữ liệu khi Cơ sở dữ liệu quốc gia về đất đai được vận hành."
)


def construction_permit_per_case(**changes: Any) -> Procedure:
    """1.013225 as published: the official name, documents in per-case groups ("(1.1) Đối với công trình
    không theo tuyến", "(1.3) ... tôn giáo", "(1.7) ... nhà ở riêng lẻ"), a fee the provincial council
    sets (published as "Miễn phí (Theo quy định của Hội đồng nhân dân cấp tỉnh)") and one row whose time
    the importer read from the prose (days, no text)."""
    house = "(1.7) Đối với công trình nhà ở riêng lẻ"
    data: dict[str, Any] = {
        "code": GPXD_NEW,
        "name": OFFICIAL_GPXD_NEW_NAME,
        "field": "Hoạt động xây dựng",
        "executing_agency": "Uỷ ban Nhân dân cấp xã, phường, thị trấn",
        "channels": (
            SubmissionChannel("truc_tiep", "15 Ngày", _COUNCIL_FEE, days=15, working_days=False),
            SubmissionChannel("truc_tuyen", "", _COUNCIL_FEE, days=20, working_days=True),
        ),
        "documents": (
            Document(_LAND_CERT, group="(1.1) Đối với công trình không theo tuyến:", originals=1, copies=1),
            Document(
                "Đơn đề nghị cấp giấy phép xây dựng theo Mẫu số 1 Phụ lục số II Nghị định số 175/2024/NĐ-CP.",
                group="(1.1) Đối với công trình không theo tuyến:",
                originals=1,
            ),
            Document(
                "Văn bản chấp thuận của tổ chức tôn giáo cơ sở.",
                group="(1.3) Đối với công trình tôn giáo",
                originals=1,
            ),
            Document(
                "Đơn đề nghị cấp giấy phép xây dựng theo Mẫu số 1 Phụ lục số II Nghị định số 175/2024/NĐ-CP.",
                group=house,
                form="Mẫu số 01.docx",
                originals=1,
                copies=1,
            ),
            Document(_LAND_CERT, group=house, originals=1, copies=1),
            Document(
                "Giấy chứng nhận quyền sở hữu nhà ở và quyền sử dụng đất ở được cấp theo quy định của pháp "
                "luật về đất đai, pháp luật về nhà ở qua các thời kỳ.",
                group=house,
                originals=1,
                copies=1,
            ),
            Document(
                "Hồ sơ thiết kế xây dựng: + Đối với nhà ở riêng lẻ của hộ gia đình, cá nhân: 02 bộ bản vẽ "
                "thiết kế xây dựng kèm theo; bản cam kết bảo đảm an toàn đối với công trình liền kề.",
                group=house,
                originals=2,
                copies=2,
            ),
            Document("Bản vẽ mặt bằng công trình trên lô đất.", group=house, originals=2),
            Document("Bản cam kết bảo đảm an toàn đối với công trình liền kề.", group=house, originals=1),
        ),
        "online_level": "mot_phan",
        "url": PORTAL + GPXD_NEW,
    }
    data.update(changes)
    return Procedure(**data)


CATALOGUE_ONLY = "1.000031"


def catalogue_only_procedure(**changes: Any) -> Procedure:
    """A procedure known only from a provincial catalogue: name, field, online level; nothing else."""
    data: dict[str, Any] = {
        "code": CATALOGUE_ONLY,
        "name": "Đổi tên trung tâm giáo dục nghề nghiệp, trường trung cấp công lập trực thuộc tỉnh",
        "field": "Giáo dục nghề nghiệp",
        "online_level": "mot_phan",
        "catalogue_only": True,
        "source": "catalogue:lamdong",
    }
    data.update(changes)
    return Procedure(**data)


def all_procedures() -> list[Procedure]:
    """The six procedures above."""
    return [
        construction_permit_new(),
        construction_permit_adjusted(),
        construction_permit_renewed(),
        construction_permit_reissued(),
        marriage_registration(),
        birth_registration(),
    ]


def knowledge(*procedures: Procedure) -> InMemoryKnowledgeRepository:
    """An in-memory knowledge base with ``procedures`` (default: :func:`all_procedures`)."""
    return InMemoryKnowledgeRepository(procedures or all_procedures())


def key(chat_id: str = "100", channel: str = "telegram") -> ConversationKey:
    """A conversation key."""
    return ConversationKey(channel, chat_id)


def inbound(
    text: str, chat_id: str = "100", channel: str = "telegram", is_button: bool = False
) -> InboundMessage:
    """A citizen's message (or button payload when ``is_button``)."""
    return InboundMessage(key=key(chat_id, channel), text=text, is_button=is_button)


def parse(
    intent: str,
    text: str = "",
    confidence: float = 0.95,
    procedure: tuple[str, float] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    entities: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> Parse:
    """The parse of an NLU result, built from the Rasa shape the NLU returns (as the engine does).

    Args:
        intent: intent name.
        text: the message text.
        confidence: intent confidence.
        procedure: ``(code, score)`` of the linked procedure, or None.
        ranking: ``[(code, score), ...]``; defaults to the linked procedure alone.
        entities: entity type -> value.
        names: code -> name (defaults to the factory procedures' names).
    """
    names = names if names is not None else {p.code: p.name for p in all_procedures()}

    def item(code: str, score: float) -> dict[str, Any]:
        return {"code": code, "name": names.get(code, code), "score": score}

    ranked = [item(c, s) for c, s in (ranking if ranking is not None else ([procedure] if procedure else []))]
    return Parse.from_rasa(
        {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": [
                {"entity": k, "value": v, "start": 0, "end": len(v), "confidence": 1.0, "extractor": "test"}
                for k, v in (entities or {}).items()
            ],
            "procedure": item(*procedure) if procedure else None,
            "procedure_ranking": ranked,
        }
    )


# --- responses and actions ------------------------------------------------------------------------------


@functools.cache
def catalogue() -> ResponseCatalogue:
    """The shipped response catalogue (data/responses.yml), read and validated once per test session."""
    return ResponseCatalogue.load()


def tracker(
    message: Parse | str = "ask_documents",
    text: str = "",
    *,
    entities: dict[str, str] | None = None,
    args: ActionArgs | None = None,
    conversation: ConversationKey | None = None,
    **state: Any,
) -> Tracker:
    """The tracker the engine hands an action: the conversation's state, the latest parse, the policy's args.

    Args:
        message: the latest parse, or an intent name to build it with :func:`parse` from ``text`` and
            ``entities``.
        text: the message text (with an intent name).
        entities: entity type -> value (with an intent name).
        args: what the policy decided for the action (none by default).
        conversation: its key (default :func:`key`).
        state: fields of the :class:`bot.core.state.ConversationState` (``procedure=``, ``mode=`` ...).
    """
    latest = message if isinstance(message, Parse) else parse(message, text=text, entities=entities)
    return Tracker(
        state=ConversationState(key=conversation or key(), **state),
        latest_message=latest,
        args=args or ActionArgs(),
    )


async def run_action(
    action: Action, on: Tracker, responses: ResponseCatalogue | None = None
) -> tuple[list[MessageDraft], list[Event]]:
    """Run ``action`` as the engine does; the drafts it dispatched and the events it returned."""
    dispatcher = CollectingDispatcher(responses or catalogue())
    events = await action.run(dispatcher, on)
    return dispatcher.messages, events
