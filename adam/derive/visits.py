"""Analysis visit windows: AVISIT/AVISITN (and the ADaMIG window variables) from a study day.

API (pure functions; inputs are never mutated):

- `window_table(visits) -> DataFrame[AVISIT, AVISITN, AWLO, AWHI, AWTARGET]`
      from any iterable of plan visits with attributes `visit`, `visitnum`, `window` (low, high), `target_day`
      (e.g. `sap.study.Study.visits`), or from a DataFrame already holding those five columns.
- `derive_analysis_visit(dataset, windows, source="ADY", window_vars=True)`
      adds AVISIT, AVISITN and, with window_vars, AWLO, AWHI, AWTARGET and AWTDIFF = |ADY - AWTARGET|.

Rule: a record belongs to the window whose inclusive [AWLO, AWHI] holds its study day (ADaMIG 1.3 section
3.3.4 analysis windows; admiral leaves windowing to the study, issue #375). Windows must not overlap. Records
outside every window, or with a missing study day, are KEPT with missing AVISIT/AVISITN (never dropped), so
that listings can still show them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sap.errors import Problem, SpecError

WINDOW_COLUMNS = ["AVISIT", "AVISITN", "AWLO", "AWHI", "AWTARGET"]


def window_table(visits: Iterable | pd.DataFrame) -> pd.DataFrame:
    """The window table, sorted by AWLO, checked: low <= target <= high, no overlap (SpecError otherwise)."""
    if isinstance(visits, pd.DataFrame):
        missing = [c for c in WINDOW_COLUMNS if c not in visits.columns]
        if missing:
            raise SpecError([Problem("window table", "required column is missing", variable=c) for c in missing])
        table = visits[WINDOW_COLUMNS].copy()
    else:
        rows = [
            {"AVISIT": v.visit, "AVISITN": float(v.visitnum), "AWLO": v.window[0], "AWHI": v.window[1], "AWTARGET": v.target_day}
            for v in visits
        ]
        table = pd.DataFrame(rows, columns=WINDOW_COLUMNS)
    table = table.astype({"AVISIT": "str", "AVISITN": "float64", "AWLO": "float64", "AWHI": "float64", "AWTARGET": "float64"})
    table = table.sort_values("AWLO", kind="stable").reset_index(drop=True)
    problems = [
        Problem("window table", "target day outside its window [AWLO, AWHI]", row=str(r.AVISIT), variable="AWTARGET", value=r.AWTARGET)
        for r in table.itertuples()
        if not r.AWLO <= r.AWTARGET <= r.AWHI
    ]
    overlap = table["AWLO"].iloc[1:].to_numpy() <= table["AWHI"].iloc[:-1].to_numpy()
    problems += [
        Problem("window table", "window overlaps the previous one", row=str(table["AVISIT"].iloc[i + 1]), variable="AWLO", value=table["AWLO"].iloc[i + 1])
        for i in np.flatnonzero(overlap)
    ]
    if problems:
        raise SpecError(problems)
    return table


def derive_analysis_visit(
    dataset: pd.DataFrame, windows: Iterable | pd.DataFrame, source: str = "ADY", window_vars: bool = True
) -> pd.DataFrame:
    """Add AVISIT/AVISITN by study-day windows (see module docstring); vectorised with a sorted search."""
    table = window_table(windows)
    day = pd.to_numeric(dataset[source], errors="coerce").to_numpy(dtype="float64")
    # Index of the last window starting on or before the day; the record is inside it if day <= AWHI.
    position = np.searchsorted(table["AWLO"].to_numpy(), day, side="right") - 1
    candidate = np.clip(position, 0, len(table) - 1)
    inside = (position >= 0) & ~np.isnan(day) & (day <= table["AWHI"].to_numpy()[candidate])
    picked = table.iloc[candidate].reset_index(drop=True)
    picked.index = dataset.index
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    inside_series = pd.Series(inside, index=dataset.index)
    out["AVISIT"] = picked["AVISIT"].where(inside_series)
    out["AVISITN"] = picked["AVISITN"].where(inside_series)
    if window_vars:
        for col in ("AWLO", "AWHI", "AWTARGET"):
            out[col] = picked[col].where(inside_series)
        out["AWTDIFF"] = (pd.Series(day, index=dataset.index) - out["AWTARGET"]).abs()
    return out
