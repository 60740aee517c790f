"""Where a dossier is handed in, and who decides it, read from everything the record holds.

The portal's agency field is empty in 237 of the 2,849 detailed records (birth registration among
them), names a body no citizen walks into in many others ("Chủ tịch ủy ban nhân dân cấp tỉnh"), and
the 1,410 procedures known only from a provincial catalogue have no agency at all. Yet the record
still says where: its steps ("... nộp hồ sơ đến Sở Tư pháp nơi người đó cư trú"), its level (a
commune-level procedure is handed in at the commune's one-stop desk), its ministry and its field
(a health procedure is the provincial Department of Health's). :func:`place_of` reads them in that
order of trust and says which one it used, so the answer never claims more than the record gives.

Everything here is plain data in, data out; the sentences are in ``data/responses.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from actions.procedure.names import ITEM_CHARS, whole_phrase
from bot.core.domain import OnlineLevel, SubmissionKind
from knowledge.domain import Procedure
from knowledge.text import clip, fold

Level = Literal["commune", "province", "ministry"]
Source = Literal["record", "steps", "level", "field"]

LEVELS: dict[str, Level] = {"cấp xã": "commune", "cấp tỉnh": "province", "cấp bộ": "ministry"}
"""The record's levels (``Procedure.levels``, any case) as the desks they mean; the district level of
records written before 2025 ("Cấp huyện") has no desk of its own any more."""


@dataclass(frozen=True)
class Place:
    """Where to hand in a dossier.

    Attributes:
        desk: the office named by the record (agency field or steps), "" when the desk is said from
            ``levels`` (the one-stop desk of the commune, of the province ...).
        levels: the levels whose one-stop desk receives the dossier, when ``desk`` is "".
        near: which commune or province ("bạn cư trú", "có đất"), "" when the record does not say.
        agency: the agency that decides, when it is not the desk itself ("Sở Tư pháp").
        address: the published address, if any.
        source: what the desk was read from: the agency field (``record``), the steps, the level, or
            only the field (catalogue-only records).
    """

    desk: str = ""
    levels: tuple[Level, ...] = ()
    near: str = ""
    agency: str = ""
    address: str = ""
    source: Source = "record"


# --- The agency that handles a field ---------------------------------------------------------------

_FIELD_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    # Most specific first: "giáo dục nghề nghiệp" before "nghề", "[BQL]" before "đầu tư".
    ("[bql]", "Ban Quản lý các khu công nghiệp, khu kinh tế tỉnh"),
    ("mua ban dien", "Công ty Điện lực nơi bạn sử dụng điện"),
    ("cung cap dien", "Công ty Điện lực nơi bạn sử dụng điện"),
    ("giao duc phap luat", "Sở Tư pháp"),
    ("hoa giai", "Sở Tư pháp"),
    ("giao duc nghe nghiep", "Sở Giáo dục và Đào tạo"),
    ("giao duc", "Sở Giáo dục và Đào tạo"),
    ("dao tao", "Sở Giáo dục và Đào tạo"),
    ("thi, tuyen sinh", "Sở Giáo dục và Đào tạo"),
    ("van bang", "Sở Giáo dục và Đào tạo"),
    ("ton giao", "Sở Dân tộc và Tôn giáo"),
    ("tin nguong", "Sở Dân tộc và Tôn giáo"),
    ("dan toc", "Sở Dân tộc và Tôn giáo"),
    ("kham", "Sở Y tế"),
    ("duoc pham", "Sở Y tế"),
    ("y duoc", "Sở Y tế"),
    ("my pham", "Sở Y tế"),
    ("y te", "Sở Y tế"),
    ("giam dinh y khoa", "Sở Y tế"),
    ("dan so", "Sở Y tế"),
    ("an toan thuc pham", "Sở Y tế"),
    ("bao tro xa hoi", "Sở Y tế"),
    ("tre em", "Sở Y tế"),
    ("te nan xa hoi", "Sở Y tế"),
    ("nguoi co cong", "Sở Nội vụ"),
    ("viec lam", "Sở Nội vụ"),
    ("lao dong", "Sở Nội vụ"),
    ("tien luong", "Sở Nội vụ"),
    ("thi dua", "Sở Nội vụ"),
    ("hoi, quy", "Sở Nội vụ"),
    ("to chuc hanh chinh", "Sở Nội vụ"),
    ("to chuc phi chinh phu", "Sở Nội vụ"),
    ("to chuc can bo", "Sở Nội vụ"),
    ("to chuc - bien che", "Sở Nội vụ"),
    ("cong chuc", "Sở Nội vụ"),
    ("vien chuc", "Sở Nội vụ"),
    ("van thu", "Sở Nội vụ"),
    ("thanh nien", "Sở Nội vụ"),
    ("chinh quyen dia phuong", "Sở Nội vụ"),
    ("[svh]", "Sở Văn hóa, Thể thao và Du lịch"),
    ("van hoa", "Sở Văn hóa, Thể thao và Du lịch"),
    ("the duc", "Sở Văn hóa, Thể thao và Du lịch"),
    ("the thao", "Sở Văn hóa, Thể thao và Du lịch"),
    ("du lich", "Sở Văn hóa, Thể thao và Du lịch"),
    ("gia dinh", "Sở Văn hóa, Thể thao và Du lịch"),
    ("thu vien", "Sở Văn hóa, Thể thao và Du lịch"),
    ("nghe thuat", "Sở Văn hóa, Thể thao và Du lịch"),
    ("my thuat", "Sở Văn hóa, Thể thao và Du lịch"),
    ("dien anh", "Sở Văn hóa, Thể thao và Du lịch"),
    ("xuat ban", "Sở Văn hóa, Thể thao và Du lịch"),
    ("bao chi", "Sở Văn hóa, Thể thao và Du lịch"),
    ("phat thanh", "Sở Văn hóa, Thể thao và Du lịch"),
    ("quang cao", "Sở Văn hóa, Thể thao và Du lịch"),
    ("thong tin doi ngoai", "Sở Văn hóa, Thể thao và Du lịch"),
    ("khoa hoc", "Sở Khoa học và Công nghệ"),
    ("cong nghe", "Sở Khoa học và Công nghệ"),
    ("tieu chuan", "Sở Khoa học và Công nghệ"),
    ("so huu tri tue", "Sở Khoa học và Công nghệ"),
    ("buc xa", "Sở Khoa học và Công nghệ"),
    ("buu chinh", "Sở Khoa học và Công nghệ"),
    ("vien thong", "Sở Khoa học và Công nghệ"),
    ("thuy dien", "Sở Công Thương"),
    ("dien", "Sở Công Thương"),
    ("luu thong hang hoa", "Sở Công Thương"),
    ("thuong mai", "Sở Công Thương"),
    ("kinh doanh khi", "Sở Công Thương"),
    ("hoa chat", "Sở Công Thương"),
    ("vat lieu no", "Sở Công Thương"),
    ("cong nghiep", "Sở Công Thương"),
    ("ban hang da cap", "Sở Công Thương"),
    ("nguoi tieu dung", "Sở Công Thương"),
    ("xuat nhap khau", "Sở Công Thương"),
    ("nghe thu cong", "Sở Công Thương"),
    ("dat dai", "Sở Nông nghiệp và Môi trường"),
    ("moi truong", "Sở Nông nghiệp và Môi trường"),
    ("tai nguyen", "Sở Nông nghiệp và Môi trường"),
    ("khoang san", "Sở Nông nghiệp và Môi trường"),
    ("lam nghiep", "Sở Nông nghiệp và Môi trường"),
    ("kiem lam", "Sở Nông nghiệp và Môi trường"),
    ("trong trot", "Sở Nông nghiệp và Môi trường"),
    ("thuc vat", "Sở Nông nghiệp và Môi trường"),
    ("chan nuoi", "Sở Nông nghiệp và Môi trường"),
    ("thu y", "Sở Nông nghiệp và Môi trường"),
    ("thuy san", "Sở Nông nghiệp và Môi trường"),
    ("thuy loi", "Sở Nông nghiệp và Môi trường"),
    ("thien tai", "Sở Nông nghiệp và Môi trường"),
    ("nong nghiep", "Sở Nông nghiệp và Môi trường"),
    ("nong thon", "Sở Nông nghiệp và Môi trường"),
    ("xay dung", "Sở Xây dựng"),
    ("nha o", "Sở Xây dựng"),
    ("bat dong san", "Sở Xây dựng"),
    ("quy hoach", "Sở Xây dựng"),
    ("kien truc", "Sở Xây dựng"),
    ("duong bo", "Sở Xây dựng"),
    ("duong thuy", "Sở Xây dựng"),
    ("dang kiem", "Sở Xây dựng"),
    ("cong chung", "Sở Tư pháp"),
    ("chung thuc", "Sở Tư pháp"),
    ("ho tich", "Sở Tư pháp"),
    ("luat su", "Sở Tư pháp"),
    ("dau gia", "Sở Tư pháp"),
    ("tro giup phap ly", "Sở Tư pháp"),
    ("ly lich tu phap", "Sở Tư pháp"),
    ("quan tai vien", "Sở Tư pháp"),
    ("boi thuong nha nuoc", "Sở Tư pháp"),
    ("bien phap bao dam", "Sở Tư pháp"),
    ("tu phap", "Sở Tư pháp"),
    ("khieu nai", "Thanh tra tỉnh"),
    ("to cao", "Thanh tra tỉnh"),
    ("tiep cong dan", "Thanh tra tỉnh"),
    ("don thu", "Thanh tra tỉnh"),
    ("tham nhung", "Thanh tra tỉnh"),
    ("doanh nghiep", "Sở Tài chính"),
    ("hop tac xa", "Sở Tài chính"),
    ("to hop tac", "Sở Tài chính"),
    ("dau tu", "Sở Tài chính"),
    ("dau thau", "Sở Tài chính"),
    ("cong san", "Sở Tài chính"),
    ("tai san ket cau", "Sở Tài chính"),
    ("oda", "Sở Tài chính"),
    ("vien tro", "Sở Tài chính"),
    ("tai chinh", "Sở Tài chính"),
    ("hop tac quoc te", "Sở Ngoại vụ"),
    ("hoi nghi, hoi thao quoc te", "Sở Ngoại vụ"),
)
"""Folded words of a field and the provincial agency that handles it (the departments as merged in
2025: agriculture and environment together, labour under home affairs, social protection under health,
vocational schools under education, press and publishing under culture)."""

_MINISTRY_DEPARTMENTS: dict[str, str] = {
    "Bộ Tư pháp": "Sở Tư pháp",
    "Bộ Nông nghiệp và Môi trường": "Sở Nông nghiệp và Môi trường",
    "Bộ Xây dựng": "Sở Xây dựng",
    "Bộ Tài chính": "Sở Tài chính",
    "Bộ Công an": "Công an tỉnh, thành phố",
    "Bộ Quốc phòng": "Bộ Chỉ huy quân sự tỉnh, thành phố",
    "Ngân hàng Nhà nước Việt Nam": "Ngân hàng Nhà nước Khu vực",
}
"""A ministry and its agency in a province, when the field names none."""

_FIELD_RES = tuple(
    (re.compile(rf"(?<!\w){re.escape(words)}(?!\w)"), agency) for words, agency in _FIELD_DEPARTMENTS
)

_TAX_RE = re.compile(r"\bthue\b")
_CUSTOMS_RE = re.compile(r"\bhai quan\b")


def field_agency(field: str, ministry: str = "") -> str:
    """The provincial agency of a procedure's field ("Khám, chữa bệnh" -> "Sở Y tế"), else of its
    ministry; "" when neither says."""
    folded = fold(field.lower())
    if _TAX_RE.search(folded):
        return "Thuế tỉnh, thành phố (cơ quan thuế quản lý)"
    if _CUSTOMS_RE.search(folded):
        return "Chi cục Hải quan khu vực"
    for pattern, agency in _FIELD_RES:
        if pattern.search(folded):
            return agency
    return _MINISTRY_DEPARTMENTS.get(ministry.strip(), "")


# --- Which commune or province ---------------------------------------------------------------------

_NEAR_BY_FIELD: tuple[tuple[str, str], ...] = (
    ("ho tich", "bạn cư trú"),
    ("cu tru", "bạn cư trú"),
    ("dat dai", "có đất"),
    ("xay dung", "có công trình"),
    ("nha o", "có nhà"),
)
"""Folded words of a field and which commune receives its dossiers, said when the record names none."""

_NEAR_RE = re.compile(r"\bnơi\s+(?P<near>[^,;.()]{4,80})", re.IGNORECASE)


def _near(agency: str, field: str) -> str:
    match = _NEAR_RE.search(agency)
    if match:
        return " ".join(match.group("near").split())
    folded = fold(field.lower())
    return next((near for words, near in _NEAR_BY_FIELD if words in folded), "")


# --- The desk named in the record ------------------------------------------------------------------

_COUNCIL_RE = re.compile(
    r"^(?:chủ tịch\s+)?(?:(?:ủy|uỷ) ban nhân dân|ubnd)\b"
    r"|^(?:cơ quan|người) (?:có thẩm quyền|chức năng)"
    r"|^(?:các )?cơ quan, tổ chức liên quan",
    re.IGNORECASE,
)
"""Agencies no citizen walks into: the people's committees and their chairs decide, their one-stop
desk receives; "the competent agency" names nobody."""

_COMMUNE_RE = re.compile(r"\b(?:cấp xã|xã, phường|xã)\b", re.IGNORECASE)
_PROVINCE_RE = re.compile(r"\b(?:cấp tỉnh|tỉnh)\b", re.IGNORECASE)

_DESK_HEADS = (
    r"Sở|Cơ quan đăng ký|Cơ quan đại diện|Công an|Cục|Chi cục|Phòng|Văn phòng đăng ký|Chi nhánh|Thuế"
    r"|Kho bạc|Bảo hiểm xã hội|Ngân hàng|Ban [Qq]uản lý|Tòa án|Toà án|Cảng vụ|Bộ(?= [A-ZĐ])"
    r"|trụ sở (?:Sở|Bộ|Cục)"
)
_STEP_DESK_RE = re.compile(
    r"\b(?:nộp|gửi)\b[^.;:]{0,120}?\b(?:tại|đến|về)\s+(?P<desk>(?:" + _DESK_HEADS + r")\b[^.;:()]{2,140})"
)
_DESK_END_RE = re.compile(
    r",| hoặc | bằng | để | theo | qua | trước | trong | kèm | thông qua | trực tiếp| trực tuyến"
    r"| và (?:nộp|gửi|đóng|thanh toán|xuất trình|nhận|chờ)| \d| (?:văn bản|hồ sơ|giấy|bản) "
)


def _step_desk(steps: Sequence[str]) -> str:
    """The first office the steps tell the citizen to hand the dossier to, cut at its clause."""
    for step in steps:
        match = _STEP_DESK_RE.search(" ".join(step.split()))
        if match:
            desk = _DESK_END_RE.split(match.group("desk"), maxsplit=1)[0].strip(" ,")
            desk = re.sub(r"^trụ sở\s+", "", desk)
            if len(desk) >= 6:
                return clip(desk, ITEM_CHARS)
    return ""


def _levels(proc: Procedure, agency: str) -> tuple[Level, ...]:
    """The levels whose one-stop desk receives the dossier: those the agency names, else the record's."""
    if agency:
        named: list[Level] = []
        if _PROVINCE_RE.search(agency):
            named.append("province")
        if _COMMUNE_RE.search(agency):
            named.append("commune")
        if named:
            return tuple(named)
    levels = tuple(LEVELS[key] for level in proc.levels if (key := level.strip().lower()) in LEVELS)
    # A ministry level beside a local one is the ministry's own part of the procedure (guidance,
    # appeals): the citizen hands the dossier in locally.
    local = tuple(level for level in levels if level != "ministry")
    return local or levels


_DIRECT_DESKS = (
    "Công an",
    "Thuế",
    "Chi cục Hải quan",
    "Ngân hàng",
    "Bộ Chỉ huy",
    "Công ty Điện lực",
    "Ban Quản lý",
)
"""Agencies that receive dossiers at their own desk, not through a public service centre."""

_POLICE = "Bộ Công an"
_COMMUNE_POLICE = "Công an xã, phường, đặc khu"


_PERSON_RE = re.compile(r"^(?:chủ tịch|giám đốc|thủ trưởng|trưởng)\b", re.IGNORECASE)
_ADDRESS_START_RE = re.compile(
    r"^[-–+•\s]*(?:tại|số|tầng|tòa|trụ sở|bộ phận|trung tâm|văn phòng|phòng|chi nhánh|cục|chi cục|tổng cục|sở|"
    r"bộ|ban|ủy ban|uỷ ban|ubnd|hđnd|công an|ngân hàng|nhnn|cảng vụ|cơ quan|thuế|kho bạc|bảo hiểm|hải quan|"
    r"đơn vị|các|bất kỳ|trực tiếp|nộp|gửi|qua|hồ sơ|https?)\b",
    re.IGNORECASE,
)


def _offices(agencies: str) -> str:
    """The published agencies without a person beside offices ("Văn phòng đăng ký đất đai, Chủ tịch Ủy
    ban nhân dân xã" -> "Văn phòng đăng ký đất đai"): the citizen goes to an office, not to a person."""
    parts = [p.strip() for p in agencies.split(",") if p.strip()]
    offices = [p for p in parts if not _PERSON_RE.match(p)]
    return ", ".join(offices) if offices and len(offices) < len(parts) else agencies


def _address(text: str) -> str:
    """The published receiving address when it reads as one: with a number, or starting with an office
    or a place ("số 8 Hoàng Diệu", "Bộ phận Một cửa Ngân hàng Nhà nước Khu vực", "tại đơn vị Công an
    ..."), said as a whole phrase; "" for a sentence about who applies that the portal put there ("Sĩ
    quan, hạ sĩ quan ... đại diện cho thân nhân ...", "Người đề nghị cấp Giấy phép ... nộp ...")."""
    text = " ".join(text.split())
    if not text or not (re.search(r"\d", text) or _ADDRESS_START_RE.match(text)):
        return ""
    return whole_phrase(text, ITEM_CHARS)


def place_of(proc: Procedure) -> Place | None:
    """Where the citizen hands in ``proc``'s dossier, from the most trusted part that says it.

    1. The agency field, when it names an office (a department, the police, a land registry ...).
    2. The steps ("... gửi hồ sơ đến Cơ quan đăng ký kinh doanh cấp xã nơi hộ kinh doanh đặt trụ
       sở"), when the agency field is empty or names a people's committee.
    3. The level: a commune-level procedure is handed in at the commune's one-stop desk (the commune
       police's, for a police procedure), a provincial one at the provincial public service centre,
       which sends it to the agency that decides (the published one, else the field's or ministry's);
       an agency with a desk of its own (police, tax office, customs, bank ...) receives it itself.
    4. A people's committee named with no level its desk can be said from (a district of the
       records written before 2025): the agency as published.
    5. For a catalogue-only record, only the field: the agency that handles it in the province.

    Returns:
        None when nothing in the record says where.
    """
    agency = clip(_offices(proc.executing), ITEM_CHARS)
    address = _address(proc.receiving_address)
    if agency and not _COUNCIL_RE.search(agency):
        return Place(desk=agency, address=address, source="record")
    near = _near(agency, proc.field)
    steps = _step_desk(proc.steps)
    if steps:
        return Place(desk=steps, agency=agency, address=address, source="steps")
    levels = _levels(proc, agency)
    derived = field_agency(proc.field, proc.ministry)
    if levels and not agency and proc.ministry == _POLICE:
        desks = [_COMMUNE_POLICE] if "commune" in levels else []
        if "province" in levels or not desks:
            desks.append(derived)
        return Place(desk=" hoặc ".join(desks), near=near, address=address, source="level")
    if levels and not agency and derived.startswith(_DIRECT_DESKS):
        return Place(desk=derived, near=near, address=address, source="level")
    if levels:
        # The commune decides its own procedures, a ministry its own: a department is named only for
        # the province.
        decides = agency or (
            derived if "province" in levels else proc.ministry if levels == ("ministry",) else ""
        )
        return Place(levels=levels, near=near, agency=decides, address=address, source="level")
    if agency:
        return Place(desk=agency, address=address, source="record")
    if proc.catalogue_only and derived:
        if derived.startswith(_DIRECT_DESKS):
            return Place(desk=derived, source="field")
        return Place(agency=derived, near=near, source="field")
    return None


# --- Online ------------------------------------------------------------------------------------------


def online_level(proc: Procedure) -> str | None:
    """How far ``proc`` is offered online: the catalogue's level when known, else "partly" when the
    record publishes an online submission row; None when neither says."""
    if proc.online_level:
        return proc.online_level
    if any(channel.kind == SubmissionKind.ONLINE for channel in proc.channels):
        return OnlineLevel.PARTIAL
    return None


def by_post(proc: Procedure) -> bool:
    """Whether the record publishes a submission by post."""
    return any(channel.kind == SubmissionKind.POST for channel in proc.channels)
