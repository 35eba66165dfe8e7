"""Treatment start/end dates (and datetimes) and duration from SDTM EX (admiral ad_adsl.R).

API (pure functions; inputs are never mutated; keyword-only arguments after `dataset`):

- `valid_dose_records(ex) -> Series[bool]`
      admiral's dose filter: EXDOSE > 0, or EXDOSE == 0 with EXTRT containing "PLACEBO".
- `derive_treatment_dates(dataset, *, dataset_ex, by_vars=("USUBJID",), filter_add=valid_dose_records,
                          new_vars=("TRTSDT", "TRTEDT"), highest_imputation="n", end_rule="latest",
                          end_fallback=None, datetime_vars=None, time_flag_vars=None, where="EX")`
- `derive_treatment_duration(dataset, *, start_date="TRTSDT", end_date="TRTEDT", new_var="TRTDURD")`
      TRTDURD = TRTEDT - TRTSDT + 1 (admiral `derive_var_trtdurd()`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from adam.derive._common import (
    Filter,
    check_choice,
    check_columns,
    check_dataset,
    check_filter,
    check_new_vars,
    check_var,
    check_vars,
    filter_mask,
    sort_records,
)
from adam.derive.dates import DATE_RESOLUTION, impute_iso_datetimes


def valid_dose_records(ex: pd.DataFrame) -> pd.Series:
    """admiral ad_adsl.R dose filter: `EXDOSE > 0 | (EXDOSE == 0 & str_detect(EXTRT, "PLACEBO"))`."""
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    placebo = ex["EXTRT"].astype("str").str.upper().str.contains("PLACEBO", regex=False)
    return dose.gt(0) | (dose.eq(0) & placebo)


def derive_treatment_dates(
    dataset: pd.DataFrame,
    *,
    dataset_ex: pd.DataFrame,
    by_vars: Sequence[str] = ("USUBJID",),
    filter_add: Filter = valid_dose_records,
    new_vars: tuple[str, str] = ("TRTSDT", "TRTEDT"),
    start_dtc: str = "EXSTDTC",
    end_dtc: str = "EXENDTC",
    highest_imputation: str = "n",
    end_rule: str = "latest",
    end_fallback: str | None = None,
    datetime_vars: tuple[str, str] | None = None,
    time_flag_vars: tuple[str, str] | None = None,
    where: str = "EX",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Add treatment start and end dates (optionally datetimes) to a subject-level dataset: admiral
    ad_adsl.R, `derive_vars_dtm(EXSTDTC, time_imputation = "first")` / `derive_vars_dtm(EXENDTC,
    time_imputation = "last")`, then `derive_vars_merged(filter_add = valid dose & !is.na(EXSTDTM), order =
    exprs(EXSTDTM, EXSEQ), mode = "first")` for the start and the same with EXENDTM, mode "last", for the
    end; then `derive_vars_dtm_to_dt()`.

    - Records: those of `dataset_ex` kept by `filter_add` (default `valid_dose_records`).
    - Partial EX dates: imputed up to `highest_imputation` ("n": no imputation, as admiral's default "h"
      with complete dates; "D", "M": day/month; start dates to the first, end dates to the last possible
      day). Times are imputed to 00:00:00 (start) and 23:59:59 (end) for the datetime variables.
    - `end_rule="latest"` (admiral): the end is the latest non-missing end over the records;
      `"last_record"`: the end of the subject's last record by start (then EXSEQ if present), missing when
      that record has no end (CDISC Pilot 01: "EX.EXENDTC on the subject's last EX record").
    - `end_fallback`: a date column of `dataset` used where the end is still missing (the pilot uses the
      discontinuation date; which subjects qualify is the template's choice: it fills the column only for
      them). Deliberate difference: admiral has no fallback argument; its templates patch TRTEDT afterwards.
    - `datetime_vars` (e.g. ("TRTSDTM", "TRTEDTM")) and `time_flag_vars` (("TRTSTMF", "TRTETMF")) add the
      datetimes and their time imputation flags (admiral ad_adsl.R).
    Subjects without a kept record get missing values. A new column that exists already is an error unless
    `overwrite=True`.

    >>> import pandas as pd
    >>> dm = pd.DataFrame({"USUBJID": ["1", "2"]})
    >>> ex = pd.DataFrame({"USUBJID": ["1", "1", "2"], "EXSEQ": [1, 2, 1], "EXTRT": "DRUG", "EXDOSE": [1.0, 1.0, 1.0],
    ...                    "EXSTDTC": ["2021-01-04T08:00", "2021-01-11", "2021-02"], "EXENDTC": ["2021-01-10", None, "2021-02"]})
    >>> out = derive_treatment_dates(dm, dataset_ex=ex, highest_imputation="M", end_rule="last_record")
    >>> [str(d.date()) if pd.notna(d) else None for d in out["TRTSDT"]], [str(d.date()) if pd.notna(d) else None for d in out["TRTEDT"]]
    (['2021-01-04', '2021-02-01'], [None, '2021-02-28'])
    """
    fn = "derive_treatment_dates"
    check_dataset(fn, "dataset", dataset)
    by_vars = check_vars(fn, "by_vars", by_vars)
    check_dataset(fn, "dataset_ex", dataset_ex, [*by_vars, start_dtc, end_dtc])
    check_columns(fn, "by_vars", dataset, by_vars)
    check_filter(fn, "filter_add", filter_add)
    if filter_add is valid_dose_records:
        check_dataset(fn, "dataset_ex", dataset_ex, ["EXDOSE", "EXTRT"])
    check_choice(fn, "highest_imputation", highest_imputation, ["n", "D", "M"])
    check_choice(fn, "end_rule", end_rule, ["latest", "last_record"])
    start_var, end_var = (check_var(fn, "new_vars", v) for v in new_vars)
    check_var(fn, "end_fallback", end_fallback, optional=True)
    if end_fallback:
        check_columns(fn, "end_fallback", dataset, [end_fallback])
    new = [start_var, end_var, *(datetime_vars or ()), *(time_flag_vars or ())]
    check_new_vars(fn, dataset, new, overwrite)
    level = {"n": "h", "D": "D", "M": "M"}[highest_imputation]
    keep = filter_mask(dataset_ex, filter_add)
    doses = dataset_ex.loc[keep]
    start, _, start_tmf = impute_iso_datetimes(doses[start_dtc], level, "first", "first", where=where)
    end, _, end_tmf = impute_iso_datetimes(doses[end_dtc], level, "last", "last", where=where)
    seq = ["EXSEQ"] if "EXSEQ" in doses.columns else []
    records = doses[by_vars + seq].assign(_start=start, _end=end, _stmf=start_tmf, _etmf=end_tmf)
    first = sort_records(records.loc[records["_start"].notna()], by_vars, [("_start", True), *[(s, True) for s in seq]])
    first = first.groupby(by_vars, sort=False).head(1)[[*by_vars, "_start", "_stmf"]]
    if end_rule == "latest":
        last = sort_records(records.loc[records["_end"].notna()], by_vars, [("_end", True), *[(s, True) for s in seq]])
    else:
        last = sort_records(records.loc[records["_start"].notna()], by_vars, [("_start", True), *[(s, True) for s in seq]])
    last = last.groupby(by_vars, sort=False).tail(1)[[*by_vars, "_end", "_etmf"]]
    per_subject = first.merge(last, on=by_vars, how="outer")
    merged = dataset[by_vars].merge(per_subject, on=by_vars, how="left", validate="many_to_one")
    merged.index = dataset.index
    end_dtm = merged["_end"].astype(DATE_RESOLUTION)
    if end_fallback:
        fallback = dataset[end_fallback].astype(DATE_RESOLUTION)
        use = end_dtm.isna() & fallback.notna()
        end_dtm = end_dtm.mask(use, fallback.dt.floor("D") + pd.Timedelta(hours=23, minutes=59, seconds=59))
        merged["_etmf"] = merged["_etmf"].mask(use, "H")
    start_dtm = merged["_start"].astype(DATE_RESOLUTION)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[start_var] = start_dtm.dt.floor("D").astype(DATE_RESOLUTION)
    out[end_var] = end_dtm.dt.floor("D").astype(DATE_RESOLUTION)
    if datetime_vars:
        out[datetime_vars[0]], out[datetime_vars[1]] = start_dtm, end_dtm
    if time_flag_vars:
        out[time_flag_vars[0]] = merged["_stmf"].astype("str").where(merged["_stmf"].notna())
        out[time_flag_vars[1]] = merged["_etmf"].astype("str").where(merged["_etmf"].notna())
    return out


def derive_treatment_duration(
    dataset: pd.DataFrame, *, start_date: str = "TRTSDT", end_date: str = "TRTEDT", new_var: str = "TRTDURD", overwrite: bool = False
) -> pd.DataFrame:
    """TRTDURD = TRTEDT - TRTSDT + 1 days (admiral `derive_var_trtdurd()`); missing if either date is.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"TRTSDT": pd.to_datetime(["2021-01-04"]), "TRTEDT": pd.to_datetime(["2021-01-10"])})
    >>> list(derive_treatment_duration(d)["TRTDURD"])
    [7.0]
    """
    fn = "derive_treatment_duration"
    check_dataset(fn, "dataset", dataset, [start_date, end_date])
    check_new_vars(fn, dataset, [new_var], overwrite)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = (dataset[end_date] - dataset[start_date]).dt.days.astype("float64") + 1
    return out

