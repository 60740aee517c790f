"""Cells a spreadsheet shows as text: the one guard of every CSV the console exports (OWASP's CSV injection).

A citizen's message or an editor's text can begin like a formula (``=HYPERLINK(...)``, ``@SUM(...)``,
``+1``, ``-1``); opened in Excel, LibreOffice or Google Sheets, such a cell would run. :func:`spreadsheet_safe`
puts a leading apostrophe before it, which spreadsheets hide; :func:`from_spreadsheet` takes it off again
when the console imports a file it exported, so a round trip changes nothing.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's CSV injection list)."""


def spreadsheet_safe(cell: Any) -> Any:
    """``cell`` as a spreadsheet shows it as text: a string starting like a formula gets a leading
    apostrophe, which spreadsheets hide and which stops ``=HYPERLINK(...)`` from running. Numbers are left
    as numbers (a negative count is not text a citizen wrote)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def from_spreadsheet(cell: str) -> str:
    """A cell of an imported CSV as it was before :func:`spreadsheet_safe`: the apostrophe it added (one,
    before a formula start) is taken off; any other text is kept as it is."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell
