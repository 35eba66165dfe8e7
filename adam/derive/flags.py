"""Record and subject flags: extreme-record flags, population (existence) flags, TRTEMFL, occurrence flags,
ONTRTFL, ANL01FL.

API (pure functions; inputs are never mutated; `filter` = boolean Series, function dataset -> Series, or None):

- `derive_extreme_flag(dataset, by, order, new_var, mode="last", filter=None)`     admiral derive_var_extreme_flag
- `derive_exist_flag(dataset, source, new_var, by=("USUBJID",), filter=None, true_value="Y",
                     false_value="N", missing_value="N")`                       admiral derive_var_merged_exist_flag
- `derive_treatment_emergent_flag(dataset, start="ASTDT", end="AENDT", trt_start="TRTSDT",
                                  trt_end="TRTEDT", end_window=30, new_var="TRTEMFL")`   admiral derive_var_trtemfl
- `derive_occurrence_flags(dataset, order, filter=None, subject=("USUBJID",), soc="AEBODSYS", pt="AEDECOD")`
      AOCCFL / AOCCSFL / AOCCPFL, first occurrence per subject / SOC / SOC+PT (admiral ad_adae.R, OCCDS 1.1)
- `derive_on_treatment_flag(dataset, date="ADT", trt_start="TRTSDT", trt_end="TRTEDT", end_window=0,
                            pre_dose=None, new_var="ONTRTFL")`                   admiral derive_var_ontrtfl
- `derive_analysis_record_flag(dataset, by=("USUBJID","PARAMCD","AVISITN"), new_var="ANL01FL",
                               source="AVAL", date="ADT", seq="ASEQ", filter=None)`
      one record per subject x parameter x analysis visit: closest to the window target day, ties -> later
      date, then the highest sequence number (house rule, documented below).

Record-level flags are "Y" or missing; subject-level population flags are "Y"/"N" (ADaMIG 1.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from adam.derive._common import Filter, filter_mask, flag_y, require_columns
from sap.errors import InputError, Problem


def extreme_record_mask(
    dataset: pd.DataFrame, by: Sequence[str], order: Sequence[str], mode: str = "last", filter: Filter = None
) -> pd.Series:
    """True on the first or last record (by `order`, stable sort) of each `by` group among the records kept
    by `filter`. Missing `order` values sort last, as in admiral (dplyr::arrange puts NA last)."""
    if mode not in ("first", "last"):
        raise ValueError(f"mode must be 'first' or 'last', got {mode!r}")
    by, order = list(by), list(order)
    require_columns(dataset, [*by, *order])
    keep = filter_mask(dataset, filter)
    candidates = dataset.loc[keep, by + order]
    ordered = candidates.sort_values(by + order, kind="stable", na_position="last") if (by or order) else candidates
    if by:
        chosen = ordered.groupby(by, sort=False, dropna=False).head(1) if mode == "first" else ordered.groupby(by, sort=False, dropna=False).tail(1)
    else:
        chosen = ordered.head(1) if mode == "first" else ordered.tail(1)
    return pd.Series(dataset.index.isin(chosen.index), index=dataset.index)


def derive_extreme_flag(
    dataset: pd.DataFrame, by: Sequence[str], order: Sequence[str], new_var: str, mode: str = "last", filter: Filter = None
) -> pd.DataFrame:
    """Flag ("Y", else missing) the first/last record per `by` group (admiral `derive_var_extreme_flag()`,
    restricted to the `filter` records as with admiral `restrict_derivation()`)."""
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_y(extreme_record_mask(dataset, by, order, mode, filter))
    return out


def derive_exist_flag(
    dataset: pd.DataFrame,
    source: pd.DataFrame,
    new_var: str,
    by: Sequence[str] = ("USUBJID",),
    filter: Filter = None,
    true_value: str = "Y",
    false_value: str = "N",
    missing_value: str = "N",
) -> pd.DataFrame:
    """Subject flag from the existence of source records (admiral `derive_var_merged_exist_flag()`), e.g.
    SAFFL from EX with `filter=adam.derive.exposure.valid_dose_records` (admiral ad_adsl.R).

    true_value if a `source` record of the group meets `filter`; false_value if the group has source records
    but none meets it; missing_value if it has none. Defaults give the ADSL population-flag convention Y/N."""
    by = list(by)
    require_columns(source, by, "source")
    require_columns(dataset, by)
    keep = filter_mask(source, filter)
    with_any = source[by].drop_duplicates().assign(_any=True)
    with_met = source.loc[keep, by].drop_duplicates().assign(_met=True)
    merged = dataset[by].merge(with_any, on=by, how="left").merge(with_met, on=by, how="left")
    merged.index = dataset.index
    value = pd.Series(missing_value, index=dataset.index, dtype="str")
    value = value.mask(merged["_any"].eq(True), false_value).mask(merged["_met"].eq(True), true_value)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = value
    return out


def derive_treatment_emergent_flag(
    dataset: pd.DataFrame,
    start: str = "ASTDT",
    end: str = "AENDT",
    trt_start: str = "TRTSDT",
    trt_end: str = "TRTEDT",
    end_window: int | None = 30,
    new_var: str = "TRTEMFL",
) -> pd.DataFrame:
    """TRTEMFL by admiral `derive_var_trtemfl()`, rules applied in this order:

    1. missing if the subject was not treated (trt_start missing);
    2. missing if the event ended before treatment start (end < trt_start);
    3. "Y" if the event start is missing;
    4. "Y" if trt_start <= start <= trt_end + end_window days (end_window=None ignores the end: any start on
       or after trt_start; a missing trt_end counts as ongoing treatment);
    5. otherwise missing.
    admiral compares datetimes when given them; this works on dates (ADaM numeric dates), so an event on the
    first-dose day counts as treatment-emergent whatever its time. The intensity-worsening rule
    (initial_intensity/intensity) is not implemented.
    """
    require_columns(dataset, [start, end, trt_start] + ([trt_end] if end_window is not None else []))
    a_start, a_end, t_start = dataset[start], dataset[end], dataset[trt_start]
    untreated = t_start.isna()
    ended_before = a_end.notna() & (a_end < t_start)
    on_or_after = a_start >= t_start
    if end_window is None:
        within = on_or_after
    else:
        t_end = dataset[trt_end]
        within = on_or_after & (t_end.isna() | (a_start <= t_end + pd.Timedelta(days=end_window)))
    emergent = ~untreated & ~ended_before & (a_start.isna() | within)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_y(emergent)
    return out


def derive_occurrence_flags(
    dataset: pd.DataFrame,
    order: Sequence[str],
    filter: Filter = None,
    subject: Sequence[str] = ("USUBJID",),
    soc: str = "AEBODSYS",
    pt: str = "AEDECOD",
    new_vars: tuple[str, str, str] = ("AOCCFL", "AOCCSFL", "AOCCPFL"),
) -> pd.DataFrame:
    """First-occurrence flags (ADaM OCCDS 1.1; admiral `derive_var_extreme_flag(mode="first")` as in
    ad_adae.R): AOCCFL first record per subject, AOCCSFL per subject x SOC, AOCCPFL per subject x SOC x PT,
    by `order` (e.g. ["ASTDT", "AESEQ"]) among the `filter` records (e.g. TRTEMFL == "Y")."""
    subject = list(subject)
    out = dataset
    for by, new_var in zip((subject, [*subject, soc], [*subject, soc, pt]), new_vars):
        out = derive_extreme_flag(out, by, order, new_var, mode="first", filter=filter_mask(dataset, filter))
    return out


def derive_on_treatment_flag(
    dataset: pd.DataFrame,
    date: str = "ADT",
    trt_start: str = "TRTSDT",
    trt_end: str = "TRTEDT",
    end_window: int = 0,
    pre_dose: Filter = None,
    new_var: str = "ONTRTFL",
) -> pd.DataFrame:
    """ONTRTFL by admiral `derive_var_ontrtfl()`: "Y" if trt_start <= date <= trt_end + end_window days
    (a missing trt_end: date >= trt_start); records selected by `pre_dose` (e.g. baseline pre-dose
    timepoints, admiral `filter_pre_timepoint`) are not on treatment when date == trt_start. Missing date
    or untreated subject -> missing."""
    require_columns(dataset, [date, trt_start, trt_end])
    when, t_start, t_end = dataset[date], dataset[trt_start], dataset[trt_end]
    upper_ok = t_end.isna() | (when <= t_end + pd.Timedelta(days=end_window))
    on = when.notna() & t_start.notna() & (when >= t_start) & upper_ok
    on &= ~(filter_mask(dataset, pre_dose) & (when == t_start)) if pre_dose is not None else True
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_y(on)
    return out


def derive_analysis_record_flag(
    dataset: pd.DataFrame,
    by: Sequence[str] = ("USUBJID", "PARAMCD", "AVISITN"),
    new_var: str = "ANL01FL",
    source: str = "AVAL",
    date: str = "ADT",
    seq: str = "ASEQ",
    target_diff: str = "AWTDIFF",
    filter: Filter = None,
) -> pd.DataFrame:
    """ANL01FL: one record per subject x parameter x analysis visit (house rule; admiral ad_adlb.R instead
    takes the last on-treatment record per visit):

    among records with a non-missing analysis visit (last `by` column) and non-missing `source`, and meeting
    `filter`, choose the smallest distance to the window target day (`target_diff`, AWTDIFF from
    `derive_analysis_visit`); ties -> the later date; still tied -> the highest sequence number `seq`.
    """
    by = list(by)
    require_columns(dataset, [*by, source, date, seq, target_diff])
    keep = filter_mask(dataset, filter) & dataset[by[-1]].notna() & dataset[source].notna()
    # "last" of the order (closeness, date, seq): closeness = -AWTDIFF so the closest record sorts last.
    helper = dataset[[*by, date, seq]].assign(_closeness=-dataset[target_diff])
    mask = extreme_record_mask(helper, by, ["_closeness", date, seq], mode="last", filter=keep)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_y(mask)
    return out


def check_single_record(dataset: pd.DataFrame, by: Sequence[str], flag: str, where: str = "dataset") -> None:
    """InputError naming each `by` group with more than one record flagged "Y" in `flag`."""
    flagged = dataset.loc[dataset[flag].eq("Y"), list(by)]
    dup = flagged[flagged.duplicated(keep=False)].drop_duplicates()
    if not dup.empty:
        raise InputError(
            [Problem(where, f"more than one record flagged {flag}", row="/".join(map(str, key)), variable=flag, value="Y") for key in dup.itertuples(index=False)]
        )
