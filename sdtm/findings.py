"""Steps shared by the Findings builders (LB, QS): subject lookup in DM, reasons for rejecting raw rows,
the baseline flag, and number-to-text conversion for --ORRES/--STRESC.

All functions are pure and vectorised: frames in, frames or Series out, inputs never modified.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sap.errors import InputError, Problem
from sap.study import Study
from sdtm.common import edc_date_to_iso, iso_to_date, visit_columns
from sdtm.raw import REJECTION_COLUMNS, ROW, load_forms


REASON_NOT_IN_DM = "subject not in DM"
REASON_AFTER_CUTOFF = "after data cut-off"
REASON_NOT_DONE = "assessment not done"

DM_COLUMNS = ["USUBJID", "RFSTDTC", "RFXSTDTC"]


def _form_files() -> dict[str, str]:
    return {name: form.file for name, form in load_forms().items()}


def form_file(form: str) -> str:
    """The CSV file name of a raw form (forms.yaml), used to locate problems for the user."""
    return _form_files().get(form, form)


def input_problems(form: str, raw: pd.DataFrame, bad: pd.Series, variable: str, message: str) -> list[Problem]:
    """One Problem per flagged raw row: file, 1-based data row, variable, value."""
    rows = raw.loc[bad.fillna(False).astype(bool)]
    return [
        Problem(form_file(form), message, row=int(row), variable=variable, value=None if pd.isna(value) else value)
        for row, value in zip(rows[ROW], rows[variable])
    ]


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)


def attach_dm(raw: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """Left-join USUBJID, RFSTDTC (study-day reference) and RFXSTDTC (first dose, for the baseline flag) from
    DM on DM.SUBJID = raw SUBJECT. Raw rows whose subject is not in DM keep USUBJID missing (then rejected
    with `REASON_NOT_IN_DM`, never dropped). The raw index is kept."""
    lookup = dm[["SUBJID", *DM_COLUMNS]].drop_duplicates("SUBJID").set_index("SUBJID")
    joined = lookup.reindex(raw["SUBJECT"].to_numpy())
    joined.index = raw.index
    return pd.concat([raw, joined], axis=1)


def rejection_reasons(conditions: list[tuple[pd.Series, str]], index: pd.Index) -> pd.Series:
    """The first reason whose condition holds for each row (the order of `conditions` is the priority);
    missing where none holds (the row is mapped)."""
    reasons = pd.Series(np.nan, index=index, dtype="str")
    for condition, reason in reversed(conditions):
        reasons = reasons.mask(condition.fillna(False).astype(bool), reason)
    return reasons


def rejected_rows(form: str | pd.Series, raw: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """The reconciliation frame (FORM, ROW, SUBJECT, REASON) for the rows with a reason; `form` is the form
    name, or a Series of form names when `raw` stacks several forms."""
    hit = reasons.notna()
    return pd.DataFrame(
        {
            "FORM": form if isinstance(form, str) else form[hit],
            "ROW": raw.loc[hit, ROW].astype("int64"),
            "SUBJECT": raw.loc[hit, "SUBJECT"],
            "REASON": reasons[hit],
        },
        columns=REJECTION_COLUMNS,
    ).reset_index(drop=True)


def on_unique(values: pd.Series, function) -> pd.Series:
    """`function(values)` computed once per distinct value and spread back: dates repeat thousands of times
    in a findings form, and the string parsing in `sdtm.common` is costly per element."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    result = function(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(result.to_numpy()[codes], index=values.index, dtype=result.dtype)


def edc_dates_to_iso(values: pd.Series) -> pd.Series:
    """`sdtm.common.edc_date_to_iso`, once per distinct date."""
    return on_unique(values, edc_date_to_iso)


def iso_dates(values: pd.Series) -> pd.Series:
    """`sdtm.common.iso_to_date`, once per distinct date."""
    return on_unique(values, iso_to_date)


def visits(edc_labels: pd.Series, study: Study) -> pd.DataFrame:
    """`sdtm.common.visit_columns` (VISITNUM, VISIT from the plan), once per distinct EDC visit label."""
    codes, uniques = pd.factorize(edc_labels, use_na_sentinel=False)
    table = visit_columns(pd.Series(uniques, dtype=edc_labels.dtype), study)
    return pd.DataFrame({name: pd.Series(table[name].to_numpy()[codes], index=edc_labels.index, dtype=table[name].dtype)
                         for name in table.columns})


def in_order(df: pd.DataFrame, by: list[str], columns: list[str], constants: dict[str, object]) -> pd.DataFrame:
    """The final domain: `columns` in that order, rows sorted by `by`, with the `constants` (STUDYID,
    DOMAIN, ...) added after sorting, so that millions of identical strings are not shuffled."""
    varying = [name for name in columns if name not in constants]
    out = df[varying].sort_values(by, kind="stable").reset_index(drop=True)
    for name, value in constants.items():
        out[name] = pd.Series(value, index=out.index, dtype="str")
    return out[columns]


def after_cutoff(dtc: pd.Series, cutoff) -> pd.Series:
    """True where the (complete) ISO date is later than the data cut-off; False when the date is missing."""
    return iso_dates(dtc) > pd.Timestamp(cutoff)


def baseline_flag(df: pd.DataFrame, by: list[str], result: str, dtc: str, first_dose: str, order: list[str]) -> pd.Series:
    """--BLFL: "Y" on the last record with a non-missing `result` whose date is on or before the first dose
    date (`first_dose`, DM.RFXSTDTC), per `by`; missing otherwise (and for subjects never dosed). "Last" is
    by date, then `order` (e.g. VISITNUM) to break ties. Compared at date level: a record on the day of the
    first dose counts as pre-dose (SDTMIG 3.4 --BLFL/--LOBXFL; admiral ABLFL uses ADT <= TRTSDT the same way).
    """
    date = iso_dates(df[dtc])
    eligible = df[result].notna() & date.notna() & (date <= iso_dates(df[first_dose]))
    candidates = df.loc[eligible, by + order].assign(_DATE=date[eligible])
    last = candidates.sort_values(by + ["_DATE", *order], kind="stable").groupby(by, sort=False).tail(1).index
    flag = pd.Series(np.nan, index=df.index, dtype="str")
    flag[last] = "Y"
    return flag


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as the shortest text that reads back to the same float (115.0 -> "115", 0.85 -> "0.85"),
    missing stays missing. Vectorised through Arrow's float-to-string cast."""
    array = pa.array(values.astype("float64").to_numpy(), from_pandas=True)
    text = pc.cast(array, pa.string()).to_pandas()
    return pd.Series(text.to_numpy(), index=values.index, dtype="str")


def round_significant(values: pd.Series, digits: int) -> pd.Series:
    """Round to `digits` significant digits, halves away from zero (70.736 -> 70.74, 1234.5 -> 1235 for 4);
    zero and missing unchanged."""
    x = values.astype("float64")
    magnitude = np.floor(np.log10(np.abs(x.where(x.ne(0)))))
    decimals = digits - 1 - magnitude
    # divide by an exact power of ten (not multiply by its inexact reciprocal) so 0.85 stays 0.85
    up = 10.0 ** decimals.clip(lower=0)
    down = 10.0 ** (-decimals).clip(lower=0)
    scaled = x * up / down
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) * down / up  # half away from zero, as SAS ROUND
    return rounded.where(x.ne(0) & x.notna(), x)
