"""Parse one record of the Ministry of Defence set (``tthc-bqp-structured``) into a :class:`Procedure`.

These records already keep the portal's tables as lists, so this module only maps fields and reuses
the shared time, fee and count parsers; it is also the model of what :mod:`national` rebuilds.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.domain import Document, LegalBasis, Procedure, SubmissionChannel
from knowledge.importers.national import parse_steps
from knowledge.importers.parsing import (
    RecordError,
    channel_kind,
    clean_value,
    make_document,
    nfc,
    parse_counts,
    parse_fee,
    parse_time,
    valid_code,
)

MINISTRY = "Bộ Quốc phòng"


def _level(text: str) -> str:
    # "Cấp Xã" / "Cấp Bộ" -> "Cấp xã" / "Cấp bộ", the national set's spelling.
    value = clean_value(text)
    return value[:1].upper() + value[1:].lower() if value.lower().startswith("cấp ") else value


def _decision(text: str) -> str:
    return re.sub(r"^Quyết định số\s*", "", clean_value(text), flags=re.IGNORECASE)


def parse_bqp(record: dict[str, Any]) -> Procedure:
    """Turn one defence-ministry record into a :class:`Procedure` with source "bqp".

    Args:
        record: one JSON object of ``tthc-bqp-structured/procedures.jsonl``.

    Returns:
        The procedure.

    Raises:
        RecordError: no valid national code or no name.
    """
    meta = record.get("metadata") or {}
    content = record.get("content") or {}
    tables = record.get("tables") or {}
    code = nfc(meta.get("mã_thủ_tục") or record.get("thu_tuc_id"))
    name = clean_value(meta.get("tên_thủ_tục"))
    if not valid_code(code):
        raise RecordError(code, "mã thủ tục is not a national code (d.dddddd)")
    if not name:
        raise RecordError(code, "tên thủ tục is empty")

    channels = tuple(
        SubmissionChannel(
            kind=channel_kind(row.get("hinh_thuc", "")),
            time_text=clean_value(row.get("thoi_han_giai_quyet")),
            fee_text=clean_value(row.get("phi_le_phi")),
            description=clean_value(row.get("mo_ta")),
            days=parse_time(row.get("thoi_han_giai_quyet"))[0],
            working_days=parse_time(row.get("thoi_han_giai_quyet"))[1],
            fee_vnd=parse_fee(row.get("phi_le_phi")),
        )
        for row in tables.get("hinh_thuc_nop") or ()
    )
    documents: list[Document] = []
    for row in tables.get("thanh_phan_ho_so") or ():
        # The crawl put the form file name under "so_luong" and the counts under "ghi_chu".
        doc = make_document(
            row.get("ten_giay_to", ""),
            form=clean_value(row.get("so_luong")),
            counts=parse_counts(row.get("ghi_chu")),
        )
        if doc:
            documents.append(doc)
    legal = tuple(
        LegalBasis(
            number=clean_value(row.get("so_ky_hieu")),
            title=clean_value(row.get("trich_yeu")),
            issued=clean_value(row.get("ngay_ban_hanh")),
            issuer=clean_value(row.get("co_quan_ban_hanh")),
        )
        for row in tables.get("can_cu_phap_ly") or ()
        if clean_value(row.get("so_ky_hieu")) or clean_value(row.get("trich_yeu"))
    )
    competent = clean_value(content.get("cơ_quan_có_thẩm_quyền"))
    return Procedure(
        code=code,
        name=name,
        field=clean_value(meta.get("lĩnh_vực")),
        levels=tuple(x for x in (_level(p) for p in nfc(meta.get("cấp_thực_hiện")).split(",")) if x),
        ministry=MINISTRY,
        decision=_decision(meta.get("số_quyết_định", "")),
        procedure_type=clean_value(meta.get("loại_thủ_tục")),
        competent_agency=competent,
        executing_agency=clean_value(content.get("cơ_quan_thực_hiện")) or competent,
        receiving_address=clean_value(content.get("địa_chỉ_tiếp_nhận_hs")),
        target_users=clean_value(content.get("đối_tượng_thực_hiện")),
        steps=parse_steps(content.get("trình_tự_thực_hiện", "")),
        channels=channels,
        documents=tuple(documents),
        legal_basis=legal,
        conditions=clean_value(content.get("yêu_cầu_điều_kiện_thực_hiện")),
        result=clean_value(content.get("kết_quả_thực_hiện")),
        source="bqp",
    )
