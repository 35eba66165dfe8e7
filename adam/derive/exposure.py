"""Treatment start/end dates and duration from SDTM EX (admiral ad_adsl.R).

API (pure functions; inputs are never mutated):

- `valid_dose_records(ex) -> Series[bool]`
      admiral's dose filter: EXDOSE > 0, or EXDOSE == 0 with EXTRT containing "PLACEBO".
- `derive_treatment_dates(dataset, ex, start_var="TRTSDT", end_var="TRTEDT", by=("USUBJID",), filter=None,
                          where="EX")`
      adds first EXSTDTC / last EXENDTC (as dates) over valid dose records to a subject-level dataset.
- `derive_treatment_duration(dataset, start="TRTSDT", end="TRTEDT", new_var="TRTDURD")`
      TRTDURD = TRTEDT - TRTSDT + 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from adam.derive.dates import parse_iso_dates
from sap.errors import InputError, Problem


def valid_dose_records(ex: pd.DataFrame) -> pd.Series:
    """admiral ad_adsl.R dose filter: `EXDOSE > 0 | (EXDOSE == 0 & str_detect(EXTRT, "PLACEBO"))`."""
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    placebo = ex["EXTRT"].astype("str").str.upper().str.contains("PLACEBO", regex=False)
    return dose.gt(0) | (dose.eq(0) & placebo)


def derive_treatment_dates(
    dataset: pd.DataFrame,
    ex: pd.DataFrame,
    start_var: str = "TRTSDT",
    end_var: str = "TRTEDT",
    by: Sequence[str] = ("USUBJID",),
    filter: pd.Series | None = None,
    where: str = "EX",
) -> pd.DataFrame:
    """Add treatment start and end dates to a subject-level dataset (admiral ad_adsl.R,
    `derive_vars_merged(... filter_add = valid dose & !is.na(EXSTDTM), order = EXSTDTM, EXSEQ, mode = "first")`
    and the same with EXENDTM, mode = "last").

    Start = earliest complete EXSTDTC, end = latest complete EXENDTC, over records kept by `filter` (default
    `valid_dose_records(ex)`). Partial EX dates are not imputed (admiral's default highest_imputation for
    EXSTDTM is "h": the date part must be complete), so they do not count. Only date parts are used: the
    earliest date of the earliest datetime is the same as the earliest date. Subjects without a valid dose
    keep missing dates. Columns already present under the new names are an error (no silent overwrite).
    """
    by = list(by)
    missing = [col for col in [*by, "EXDOSE", "EXTRT", "EXSTDTC", "EXENDTC"] if col not in ex.columns]
    if missing:
        raise InputError([Problem(where, "required column is missing", variable=col) for col in missing])
    clash = [col for col in (start_var, end_var) if col in dataset.columns]
    if clash:
        raise InputError([Problem("dataset", "column already exists; drop it before deriving it", variable=col) for col in clash])
    keep = valid_dose_records(ex) if filter is None else filter.reindex(ex.index, fill_value=False).astype(bool)
    doses = ex.loc[keep, by].copy()
    doses[start_var] = parse_iso_dates(ex.loc[keep, "EXSTDTC"], where=where)
    doses[end_var] = parse_iso_dates(ex.loc[keep, "EXENDTC"], where=where)
    per_subject = doses.groupby(by, sort=False).agg({start_var: "min", end_var: "max"}).reset_index()
    return dataset.merge(per_subject, on=by, how="left", validate="many_to_one")


def derive_treatment_duration(
    dataset: pd.DataFrame, start: str = "TRTSDT", end: str = "TRTEDT", new_var: str = "TRTDURD"
) -> pd.DataFrame:
    """TRTDURD = TRTEDT - TRTSDT + 1 days (admiral `derive_var_trtdurd()`); missing if either date is."""
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = (dataset[end] - dataset[start]).dt.days.astype("float64") + 1
    return out
