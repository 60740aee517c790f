"""Read the provincial catalogues: names, fields and online service level, no documents.

Two layouts are known:

* Lâm Đồng (``code,name,field,org,level``), level "Toàn trình" / "Một phần" / "Còn lại";
* Lạng Sơn (``stt,ma_tthc,muc_do_dvc,ten_tthc,linh_vuc,quyet_dinh``), level "Toàn trình" /
  "Một phần" or the older "Mức độ 1/2" (not online).

Local codes extend the national one ("1.005461.000.00.00.H36"); its first 8 characters are the join
key. Rows whose key is not a national code (internal codes such as ``CCHC_01``) or whose name says
"test" are portal test rows and are dropped silently; a key written without its dot
("2000027.000.00.00.H37") is repaired.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge.importers.parsing import clean_value, nfc, valid_code

LEVELS: dict[str, str] = {
    "toàn trình": "toan_trinh",
    "một phần": "mot_phan",
    "còn lại": "con_lai",
    # Before 2024 the portals graded services 1-4; levels 1 and 2 were not online.
    "mức độ 1": "con_lai",
    "mức độ 2": "con_lai",
    "mức độ 3": "mot_phan",
    "mức độ 4": "toan_trinh",
}
LAMDONG_HEADER = ("code", "name", "field", "org", "level")
LANGSON_HEADER = ("stt", "ma_tthc", "muc_do_dvc", "ten_tthc", "linh_vuc", "quyet_dinh")
_TEST_RE = re.compile(r"\btest\b", re.IGNORECASE)
_UNDOTTED_RE = re.compile(r"^(\d)(\d{6})(?=\.|$)")


@dataclass(frozen=True)
class CatalogueRow:
    """One procedure of a provincial catalogue.

    Attributes:
        code: the national code (first 8 characters of the local code).
        local_code: the code as the province publishes it.
        name: the procedure's name.
        field: its field (lĩnh vực).
        online_level: toan_trinh, mot_phan, con_lai, or None when the level is not recognised.
        province: "langson" or "lamdong".
    """

    code: str
    local_code: str
    name: str
    field: str
    online_level: str | None
    province: str


def national_code(local_code: str) -> str:
    """The national code inside a local one; "" when there is none."""
    value = _UNDOTTED_RE.sub(r"\1.\2", nfc(local_code))
    key = value[:8]
    return key if valid_code(key) else ""


def online_level(text: str) -> str | None:
    """Map a published online level to toan_trinh / mot_phan / con_lai (None if unknown)."""
    return LEVELS.get(clean_value(text).lower())


def catalogue_kind(path: Path) -> str | None:
    """'lamdong', 'langson' or None, decided from the CSV header (file names may change)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = tuple(h.strip() for h in next(csv.reader(handle), []))
    if header == LAMDONG_HEADER:
        return "lamdong"
    if header == LANGSON_HEADER:
        return "langson"
    return None


def read_catalogue(path: Path) -> Iterator[CatalogueRow]:
    """Yield the real procedures of one catalogue CSV (test rows dropped).

    Raises:
        ValueError: the header is neither known layout.
    """
    kind = catalogue_kind(path)
    if kind is None:
        raise ValueError(f"{path.name}: not a known catalogue layout")
    columns = (
        ("code", "name", "field", "level")
        if kind == "lamdong"
        else ("ma_tthc", "ten_tthc", "linh_vuc", "muc_do_dvc")
    )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            local = nfc(row.get(columns[0]))
            name = clean_value(row.get(columns[1]))
            code = national_code(local)
            if not code or not name or _TEST_RE.search(name):
                continue
            yield CatalogueRow(
                code=code,
                local_code=local,
                name=name,
                field=clean_value(row.get(columns[2])),
                online_level=online_level(row.get(columns[3]) or ""),
                province=kind,
            )
