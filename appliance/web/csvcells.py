"""CSV for spreadsheets: a cell an attacker controls (a caller id, a speaker name) must not run
as a formula when the export is opened in Excel or LibreOffice (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io

# Spreadsheets read a cell starting with one of these as a formula (or strip it, then do).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """The value, text starting like a formula behind an apostrophe (shown, never evaluated)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(header, rows) -> bytes:
    """The whole table as UTF-8 CSV with a byte-order mark (so Excel reads umlauts right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")
