"""Analysis visit windows: AVISIT/AVISITN (and the ADaMIG window variables) from a study day.

API (pure functions; inputs are never mutated):

- `window_table(visits) -> DataFrame[AVISIT, AVISITN, AWLO, AWHI, AWTARGET]`
      from any iterable of plan visits with attributes `visit`, `visitnum`, `window` (low, high), `target_day`
      (e.g. `sap.study.Study.visits`), or from a DataFrame already holding those five columns. A missing
      AWLO (first window) or AWHI (last window) makes the window open-ended ("<= 1", "> 140").
- `derive_analysis_visit(dataset, *, windows, source_var="ADY", window_vars=True)`
      adds AVISIT, AVISITN and, with window_vars, AWLO, AWHI, AWTARGET and AWTDIFF = |ADY - AWTARGET|.

Rule: a record belongs to the window whose inclusive [AWLO, AWHI] holds its study day (ADaMIG 1.3 section
3.3.4 analysis windows; admiral leaves windowing to the study, issue #375). Windows must not overlap. Records
outside every window, or with a missing study day, are KEPT with missing AVISIT/AVISITN (never dropped), so
that listings can still show them. An open bound is written as missing in AWLO/AWHI, never as an infinity
(the CDISC Pilot 01 ADQSADAS writes AWLO missing for "<=1" and AWHI missing for ">140").
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from adam.derive._common import check_columns, check_dataset, check_new_vars, check_var
from sap.errors import Problem, SpecError

WINDOW_COLUMNS = ["AVISIT", "AVISITN", "AWLO", "AWHI", "AWTARGET"]


def window_table(visits: Iterable | pd.DataFrame) -> pd.DataFrame:
    """The window table, sorted by AWLO (an open AWLO first), checked: AWTARGET present, AWLO <= AWTARGET <=
    AWHI where the bounds are present, only the first window open below and only the last open above, no
    overlap (SpecError naming the visit otherwise).

    >>> import pandas as pd
    >>> t = window_table(pd.DataFrame({"AVISIT": ["Baseline", "Week 8", "Week 24"], "AVISITN": [0, 8, 24],
    ...                                "AWLO": [None, 2, 85], "AWHI": [1, 84, None], "AWTARGET": [1, 56, 168]}))
    >>> t["AWLO"].isna().tolist(), t["AWHI"].isna().tolist()
    ([True, False, False], [False, False, True])
    """
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
    lo = table["AWLO"].fillna(-np.inf)
    table = table.iloc[np.argsort(lo.to_numpy(), kind="stable")].reset_index(drop=True)
    lo, hi = table["AWLO"].fillna(-np.inf), table["AWHI"].fillna(np.inf)
    problems = [
        Problem("window table", "target day is missing", row=str(r.AVISIT), variable="AWTARGET")
        for r in table.itertuples() if pd.isna(r.AWTARGET)
    ]
    problems += [
        Problem("window table", "target day outside its window [AWLO, AWHI]", row=str(table.at[i, "AVISIT"]), variable="AWTARGET", value=float(table.at[i, "AWTARGET"]))
        for i in table.index
        if pd.notna(table.at[i, "AWTARGET"]) and not lo[i] <= table.at[i, "AWTARGET"] <= hi[i]
    ]
    problems += [
        Problem("window table", "only the first window may be open below (AWLO missing)", row=str(table.at[i, "AVISIT"]), variable="AWLO")
        for i in table.index[1:] if pd.isna(table.at[i, "AWLO"])
    ]
    problems += [
        Problem("window table", "only the last window may be open above (AWHI missing)", row=str(table.at[i, "AVISIT"]), variable="AWHI")
        for i in table.index[:-1] if pd.isna(table.at[i, "AWHI"])
    ]
    overlap = lo.iloc[1:].to_numpy() <= hi.iloc[:-1].to_numpy()
    problems += [
        Problem("window table", "window overlaps the previous one", row=str(table["AVISIT"].iloc[i + 1]), variable="AWLO", value=float(table["AWLO"].iloc[i + 1]))
        for i in np.flatnonzero(overlap)
    ]
    if problems:
        raise SpecError(problems)
    return table


def derive_analysis_visit(
    dataset: pd.DataFrame, *, windows: Iterable | pd.DataFrame, source_var: str = "ADY", window_vars: bool = True, overwrite: bool = False
) -> pd.DataFrame:
    """Add AVISIT/AVISITN by study-day windows (see module docstring); vectorised with a sorted search.

    >>> import pandas as pd
    >>> w = pd.DataFrame({"AVISIT": ["Baseline", "Week 8"], "AVISITN": [0, 8], "AWLO": [None, 2], "AWHI": [1, None], "AWTARGET": [1, 56]})
    >>> out = derive_analysis_visit(pd.DataFrame({"ADY": [-20.0, 60.0, 400.0, None]}), windows=w)
    >>> list(out["AVISIT"].fillna("-")), list(out["AWTDIFF"].fillna(-1))
    (['Baseline', 'Week 8', 'Week 8', '-'], [21.0, 4.0, 344.0, -1.0])
    """
    fn = "derive_analysis_visit"
    check_dataset(fn, "dataset", dataset)
    check_columns(fn, "source_var", dataset, [check_var(fn, "source_var", source_var)])
    new = ["AVISIT", "AVISITN"] + (["AWLO", "AWHI", "AWTARGET", "AWTDIFF"] if window_vars else [])
    check_new_vars(fn, dataset, new, overwrite)
    table = window_table(windows)
    day = pd.to_numeric(dataset[source_var], errors="coerce").to_numpy(dtype="float64")
    # Index of the last window starting on or before the day; the record is inside it if day <= AWHI.
    position = np.searchsorted(table["AWLO"].fillna(-np.inf).to_numpy(), day, side="right") - 1
    candidate = np.clip(position, 0, len(table) - 1)
    inside = (position >= 0) & ~np.isnan(day) & (day <= table["AWHI"].fillna(np.inf).to_numpy()[candidate])
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
