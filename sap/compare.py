"""`sap compare A B --keys ...`: compare any two datasets (parquet, XPT or CSV) with datacompy, the way a
QC programmer compares a production dataset with an independent one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sap.datasets import read_dataset
from sap.errors import Problem, SapError


@dataclass
class ComparisonResult:
    """The outcome of comparing two datasets on their keys."""

    matches: bool
    rows_only_in_base: int
    rows_only_in_compare: int
    columns_only_in_base: list[str]
    columns_only_in_compare: list[str]
    columns_with_mismatches: dict[str, int]  # column -> number of unequal values on matched rows
    report: str


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as str with NaN for missing, dates as datetime64, so parquet, XPT and CSV copies of the
    same data compare equal (XPT has no missing text and stores dates as numbers with a format)."""
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            text = col.astype("str").where(col.notna(), None)
            out[name] = text.where(text.ne(""), None)
    return out


def compare_datasets(base: pd.DataFrame, compare: pd.DataFrame, keys: list[str], base_name: str = "base",
                     compare_name: str = "compare", abs_tol: float = 1e-9) -> ComparisonResult:
    """Compare two frames row by row on `keys` (datacompy.PandasCompare), values within `abs_tol`."""
    import datacompy  # imported here: only this command needs it

    if not keys:
        raise SapError(Problem("--keys", "no key variable given (e.g. --keys USUBJID,PARAMCD,AVISITN)"))
    problems = [
        Problem(name, "key variable missing", variable=key)
        for name, frame in ((base_name, base), (compare_name, compare))
        for key in keys
        if key not in frame.columns
    ]
    for name, frame in ((base_name, base), (compare_name, compare)):
        if not problems and frame.duplicated(keys).any():
            first = frame[frame.duplicated(keys, keep=False)].iloc[0]
            problems.append(Problem(name, "keys do not identify one record", row="/".join(str(first[k]) for k in keys), variable="+".join(keys)))
    if problems:
        raise SapError(problems)
    comparison = datacompy.PandasCompare(
        _comparable(base), _comparable(compare), join_columns=keys, abs_tol=abs_tol,
        df1_name=base_name, df2_name=compare_name, cast_column_names_lower=False,
    )
    mismatches = {}
    for column in comparison.intersect_columns():
        if column in keys:
            continue
        match_column = f"{column}_match"
        if match_column in comparison.intersect_rows.columns:
            unequal = int((~comparison.intersect_rows[match_column]).sum())
            if unequal:
                mismatches[column] = unequal
    return ComparisonResult(
        matches=comparison.matches(),
        rows_only_in_base=len(comparison.df1_unq_rows),
        rows_only_in_compare=len(comparison.df2_unq_rows),
        columns_only_in_base=sorted(comparison.df1_unq_columns()),
        columns_only_in_compare=sorted(comparison.df2_unq_columns()),
        columns_with_mismatches=mismatches,
        report=comparison.report(),
    )


def compare_files(base: str | Path, compare: str | Path, keys: list[str]) -> ComparisonResult:
    return compare_datasets(read_dataset(base), read_dataset(compare), keys, base_name=str(base), compare_name=str(compare))
