"""CSV files the package writes for people to open (reconciliation, rejected records, the output index):
text cells that a spreadsheet would run as a formula are neutralised.

Rule (OWASP "CSV Injection"): a text cell whose first character is `=`, `+`, `-`, `@`, a tab or a carriage
return is written with a single quote in front (`=1+2` -> `'=1+2`), so Excel, LibreOffice and Google Sheets
show it as text; the csv writer quotes any cell holding a comma, quote or line break. Numeric columns are
written as numbers (a negative number is not text and is never prefixed). The quote is visible to a
program reading the file back; `formula_text` is that rule, to undo it or to check a cell.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_text(value: str) -> str:
    """One text cell, neutralised: a quote in front when it starts like a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell neutralised (numeric, boolean and date columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[column] = series.map(lambda v: formula_text(v) if isinstance(v, str) else v)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """`frame` as UTF-8 CSV with LF line ends and no index, text cells neutralised."""
    neutralise(frame).to_csv(path, index=False, lineterminator="\n")
    return path


def write_rows(rows: list[dict[str, str]], fieldnames: list[str], path: Path) -> Path:
    """Rows of text (dicts) as CSV, neutralised as `write_csv` does."""
    return write_csv(pd.DataFrame(rows, columns=fieldnames, dtype=object), path)
