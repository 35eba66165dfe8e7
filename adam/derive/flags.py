"""Record and subject flags: record selection (first/last/extreme/worst), existence (population) flags,
TRTEMFL, occurrence flags, ONTRTFL.

API (pure functions; inputs are never mutated; keyword-only arguments after `dataset`; vocabulary in
`adam.derive._common`; `order` takes names and `desc(name)`):

- `derive_extreme_flag(dataset, *, by_vars, order, new_var, mode, filter_add=None, true_value="Y",
                       false_value=None, flag_all=False, keep_missing=True)`   admiral derive_var_extreme_flag
- `derive_worst_flag(dataset, *, by_vars, order, new_var, worst_high, worst_low, param_var="PARAMCD",
                     analysis_var="AVAL", ...)`                                admiral derive_var_worst_flag
- `derive_exist_flag(dataset, *, dataset_add, new_var, by_vars=("USUBJID",), condition=None, filter_add=None,
                     true_value="Y", false_value="N", missing_value="N")`     admiral derive_var_merged_exist_flag
- `derive_treatment_emergent_flag(dataset, *, new_var="TRTEMFL", start_date="ASTDT", end_date="AENDT",
                                  trt_start_date="TRTSDT", trt_end_date=None, end_window=None, ...)`
                                                                                 admiral derive_var_trtemfl
- `derive_occurrence_flags(dataset, *, order, filter_add=None, ...)`   AOCCFL/AOCCSFL/AOCCPFL (admiral ad_adae.R)
- `derive_on_treatment_flag(dataset, *, start_date="ADT", ref_start_date="TRTSDT", ref_end_date=None,
                            ref_end_window=0, filter_pre_timepoint=None, new_var="ONTRTFL")`
                                                                                 admiral derive_var_ontrtfl
- `check_single_record(dataset, by_vars, flag)`   at most one flagged record per group

Record-level flags are "Y" or missing unless `false_value` is given; subject-level population flags are
"Y"/"N" (ADaMIG 1.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adam.derive._common import (
    ArgumentError,
    Filter,
    check_bool,
    check_choice,
    check_columns,
    check_dataset,
    check_filter,
    check_new_vars,
    check_number,
    check_order,
    check_var,
    check_vars,
    desc,
    extreme_positions,
    filter_mask,
    flag_values,
)
from sap.errors import InputError, Problem


def extreme_record_mask(
    dataset: pd.DataFrame,
    by_vars: Sequence[str],
    order: Sequence,
    mode: str = "last",
    filter_add: Filter = None,
    flag_all: bool = False,
    keep_missing: bool = True,
) -> pd.Series:
    """True on the first or last record (by `order`, stable sort, missing values last as in dplyr) of each
    `by_vars` group among the records kept by `filter_add` (all tied records with `flag_all`); with
    `keep_missing=False` records with a missing `order` value are not candidates."""
    pairs = check_order("extreme_record_mask", "order", order)
    keep = filter_mask(dataset, filter_add)
    if not keep_missing and pairs:
        keep &= dataset[[v for v, _ in pairs]].notna().all(axis=1)
    candidates = dataset.loc[keep, list(dict.fromkeys([*by_vars, *[v for v, _ in pairs]]))]
    chosen = extreme_positions(candidates, list(by_vars), pairs, mode, flag_all)
    return pd.Series(dataset.index.isin(chosen), index=dataset.index)


def derive_extreme_flag(
    dataset: pd.DataFrame,
    *,
    by_vars: Sequence[str],
    order: Sequence,
    new_var: str,
    mode: str,
    filter_add: Filter = None,
    true_value: str | None = "Y",
    false_value: str | None = None,
    flag_all: bool = False,
    keep_missing: bool = True,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Flag the first or last record per `by_vars` group by `order`: admiral `derive_var_extreme_flag()`
    (with `restrict_derivation(filter = ...)` as `filter_add`).

    true_value on the chosen record, false_value on the other candidate records, missing on records outside
    `filter_add` (admiral: restrict_derivation leaves them untouched). `flag_all` flags every record tied
    with the chosen one on all `order` variables (admiral `flag_all`). Missing `order` values sort last
    in both directions (dplyr); with `keep_missing=False` records with a missing `order` value are not
    candidates (deliberate addition: admiral templates write that filter by hand). Examples: ABLFL
    (mode "last", filter: AVAL present and ADT <= TRTSDT), a "closest to target" ANL01FL
    (order AWTDIFF, desc(ADT), mode "first"), a worst value (order desc(AVAL), mode "first").

    >>> import pandas as pd
    >>> from adam.derive._common import desc
    >>> lb = pd.DataFrame({"USUBJID": ["1", "1", "1"], "AVAL": [5.0, 9.0, 9.0], "ADY": [1, 8, 15]})
    >>> list(derive_extreme_flag(lb, by_vars=["USUBJID"], order=[desc("AVAL"), "ADY"], new_var="WORSTFL", mode="first", false_value="N")["WORSTFL"])
    ['N', 'Y', 'N']
    >>> list(derive_extreme_flag(lb, by_vars=["USUBJID"], order=[desc("AVAL")], new_var="WORSTFL", mode="first", flag_all=True)["WORSTFL"].fillna("-"))
    ['-', 'Y', 'Y']
    """
    fn = "derive_extreme_flag"
    check_dataset(fn, "dataset", dataset)
    by_vars = check_vars(fn, "by_vars", by_vars)
    pairs = check_order(fn, "order", order)
    check_columns(fn, "by_vars", dataset, by_vars)
    check_columns(fn, "order", dataset, [v for v, _ in pairs])
    check_var(fn, "new_var", new_var)
    check_choice(fn, "mode", mode, ["first", "last"])
    check_filter(fn, "filter_add", filter_add)
    check_bool(fn, "flag_all", flag_all)
    check_bool(fn, "keep_missing", keep_missing)
    check_new_vars(fn, dataset, [new_var], overwrite)
    keep = filter_mask(dataset, filter_add)
    if not keep_missing and pairs:
        keep &= dataset[[v for v, _ in pairs]].notna().all(axis=1)
    chosen = extreme_record_mask(dataset, by_vars, order, mode, keep, flag_all)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_values(chosen, true_value, false_value).where(keep)
    return out


def derive_worst_flag(
    dataset: pd.DataFrame,
    *,
    by_vars: Sequence[str],
    order: Sequence,
    new_var: str,
    worst_high: Sequence[str],
    worst_low: Sequence[str],
    param_var: str = "PARAMCD",
    analysis_var: str = "AVAL",
    filter_add: Filter = None,
    true_value: str | None = "Y",
    false_value: str | None = None,
    flag_all: bool = False,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Flag the worst record per `by_vars` group: admiral `derive_var_worst_flag()`. For parameters
    (`param_var`) in `worst_high` the highest `analysis_var`, in `worst_low` the lowest; ties are broken by
    `order` (the first record by `order` wins). Records with a missing `analysis_var` are never worst
    (admiral sorts them last). A parameter in both lists is an error, as in admiral.

    >>> import pandas as pd
    >>> vs = pd.DataFrame({"USUBJID": "1", "PARAMCD": ["SYSBP", "SYSBP", "PULSE", "PULSE"], "AVAL": [120.0, 140.0, 70.0, 60.0], "ADY": [1, 2, 1, 2]})
    >>> list(derive_worst_flag(vs, by_vars=["USUBJID", "PARAMCD"], order=["ADY"], new_var="WORSTFL", worst_high=["SYSBP"], worst_low=["PULSE"])["WORSTFL"].fillna("-"))
    ['-', 'Y', '-', 'Y']
    """
    fn = "derive_worst_flag"
    check_dataset(fn, "dataset", dataset, [param_var, analysis_var])
    high, low = check_vars(fn, "worst_high", worst_high), check_vars(fn, "worst_low", worst_low)
    both = sorted(set(high) & set(low))
    if both:
        raise ArgumentError(Problem(f"{fn}()", "argument worst_high/worst_low: a parameter is in both lists", value=", ".join(both)))
    pairs = check_order(fn, "order", order)
    keep = filter_mask(dataset, check_filter(fn, "filter_add", filter_add)) & dataset[analysis_var].notna()
    is_high, is_low = dataset[param_var].isin(high), dataset[param_var].isin(low)
    helper = dataset.assign(_worst=dataset[analysis_var].where(is_high, -dataset[analysis_var]))
    worst_first = [desc("_worst"), *[v if ascending else desc(v) for v, ascending in pairs]]
    mask = extreme_record_mask(helper, check_vars(fn, "by_vars", by_vars), worst_first, "first", keep & (is_high | is_low), flag_all)
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_values(mask, true_value, false_value).where(keep & (is_high | is_low))
    return out


def derive_exist_flag(
    dataset: pd.DataFrame,
    *,
    dataset_add: pd.DataFrame,
    new_var: str,
    by_vars: Sequence[str] = ("USUBJID",),
    condition: Filter = None,
    filter_add: Filter = None,
    true_value: str | None = "Y",
    false_value: str | None = "N",
    missing_value: str | None = "N",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Subject flag from the existence of records in `dataset_add`: admiral `derive_var_merged_exist_flag()`,
    e.g. SAFFL from EX with `condition=adam.derive.exposure.valid_dose_records` (admiral ad_adsl.R).

    Among the `dataset_add` records kept by `filter_add`: true_value if a record of the group meets
    `condition`; false_value if the group has records but none meets it; missing_value if it has none.
    Defaults give the ADSL population-flag convention Y/N.

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    >>> ex = pd.DataFrame({"USUBJID": ["1", "2"], "EXDOSE": [54.0, 0.0]})
    >>> list(derive_exist_flag(adsl, dataset_add=ex, new_var="SAFFL", condition=lambda d: d["EXDOSE"].gt(0), missing_value=None)["SAFFL"].fillna("-"))
    ['Y', 'N', '-']
    """
    fn = "derive_exist_flag"
    check_dataset(fn, "dataset", dataset)
    check_dataset(fn, "dataset_add", dataset_add)
    by_vars = check_vars(fn, "by_vars", by_vars)
    check_columns(fn, "by_vars", dataset, by_vars)
    check_columns(fn, "by_vars", dataset_add, by_vars, "dataset_add")
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    source = dataset_add.loc[filter_mask(dataset_add, check_filter(fn, "filter_add", filter_add))]
    met = filter_mask(source, check_filter(fn, "condition", condition))
    with_any = source[by_vars].drop_duplicates().assign(_any=True)
    with_met = source.loc[met, by_vars].drop_duplicates().assign(_met=True)
    merged = dataset[by_vars].merge(with_any, on=by_vars, how="left").merge(with_met, on=by_vars, how="left")
    merged.index = dataset.index
    value = pd.Series(np.nan, index=dataset.index, dtype="str")
    for mask, text in ((pd.Series(True, index=dataset.index), missing_value), (merged["_any"].eq(True), false_value), (merged["_met"].eq(True), true_value)):
        value = value.mask(mask, text if text is not None else np.nan)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = value.astype("str")
    return out


def derive_treatment_emergent_flag(
    dataset: pd.DataFrame,
    *,
    new_var: str = "TRTEMFL",
    start_date: str = "ASTDT",
    end_date: str = "AENDT",
    trt_start_date: str = "TRTSDT",
    trt_end_date: str | None = None,
    end_window: int | None = None,
    ignore_time_for_trt_end: bool = True,
    initial_intensity: str | None = None,
    intensity: str | None = None,
    group_var: str | None = None,
    subject_keys: Sequence[str] = ("USUBJID",),
    missing_start_emergent: bool = True,
    true_value: str = "Y",
    false_value: str | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """TRTEMFL by admiral `derive_var_trtemfl()`; the first rule that applies decides:

    1. missing if the subject was not treated (`trt_start_date` missing);
    2. missing if the event ended before treatment start (end < trt_start);
    3. "Y" if the event start is missing (`missing_start_emergent=False` turns this rule off: such events are
       then not emergent; deliberate addition for studies whose rule is "ASTDT >= TRTSDT", e.g. CDISC
       Pilot 01);
    4. "Y" if the event is new (start >= trt_start) and, when `end_window` is given, starts on or before
       trt_end + end_window days (a missing trt_end counts as ongoing); with `ignore_time_for_trt_end` the
       comparison with the treatment end uses dates;
    5. "Y" if it worsened: with `initial_intensity`/`intensity`, an event that started before treatment and
       whose intensity rose (or either is missing); with `group_var` (e.g. AEGRPID), an event of a group
       whose intensity rose on or after trt_start compared with the group's previous record, from that record
       on; with `group_var` an event is "new" only if no record of its group started before treatment;
    6. otherwise missing, or `false_value` (e.g. "N") when given; rules 1 and 2 also give `false_value`.
    `end_window` without `trt_end_date` is an error (as in admiral), and so is `intensity` without
    `initial_intensity` unless `group_var` is given.

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"ASTDT": pd.to_datetime(["2021-01-01", "2021-01-10", None, "2021-03-01"]),
    ...                    "AENDT": pd.to_datetime(["2021-01-02", None, None, None]),
    ...                    "TRTSDT": pd.to_datetime(["2021-01-05"] * 4), "TRTEDT": pd.to_datetime(["2021-02-01"] * 4)})
    >>> list(derive_treatment_emergent_flag(ae, trt_end_date="TRTEDT", end_window=14, false_value="N")["TRTEMFL"])
    ['N', 'Y', 'Y', 'N']
    """
    fn = "derive_treatment_emergent_flag"
    check_dataset(fn, "dataset", dataset)
    for arg, value in (("start_date", start_date), ("end_date", end_date), ("trt_start_date", trt_start_date)):
        check_columns(fn, arg, dataset, [check_var(fn, arg, value)])
    for arg, value in (("trt_end_date", trt_end_date), ("initial_intensity", initial_intensity), ("intensity", intensity), ("group_var", group_var)):
        if check_var(fn, arg, value, optional=True):
            check_columns(fn, arg, dataset, [value])
    check_number(fn, "end_window", end_window, optional=True, minimum=0, integer=True)
    check_bool(fn, "ignore_time_for_trt_end", ignore_time_for_trt_end)
    check_bool(fn, "missing_start_emergent", missing_start_emergent)
    if end_window is not None and trt_end_date is None:
        raise ArgumentError(Problem(f"{fn}()", "argument end_window: given without trt_end_date (give both or neither)", value=end_window))
    if group_var is None and (initial_intensity is None) != (intensity is None):
        raise ArgumentError(Problem(f"{fn}()", "arguments initial_intensity and intensity: give both or neither"))
    subject_keys = check_vars(fn, "subject_keys", subject_keys)
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)

    a_start, a_end, t_start = dataset[start_date], dataset[end_date], dataset[trt_start_date]
    if end_window is None:
        within_end = pd.Series(True, index=dataset.index)
    else:
        t_end = dataset[trt_end_date]
        start_cmp = a_start.dt.floor("D") if ignore_time_for_trt_end else a_start
        end_cmp = t_end.dt.floor("D") if ignore_time_for_trt_end else t_end
        within_end = t_end.isna() | (start_cmp <= end_cmp + pd.Timedelta(days=end_window))
    if group_var is None:
        new_event = a_start >= t_start
    else:
        group = [*subject_keys, group_var]
        before = dataset.loc[a_start < t_start, group].drop_duplicates().assign(_pre=True)
        pre = dataset[group].merge(before, on=group, how="left")["_pre"].eq(True).to_numpy()
        new_event = pd.Series(~pre, index=dataset.index) & a_start.notna() & t_start.notna()
    if intensity is None:
        worsened = pd.Series(False, index=dataset.index)
    elif group_var is None:
        ini, cur = dataset[initial_intensity], dataset[intensity]
        worsened = (a_start < t_start) & ((ini < cur) | ini.isna() | cur.isna())
    else:
        group = [*subject_keys, group_var]
        ordered = dataset.sort_values([*group, start_date], kind="stable")
        previous = ordered.groupby(group, sort=False, dropna=False)[intensity].shift(1)
        rose = ordered[start_date].notna() & ordered[trt_start_date].notna() & previous.notna() & \
            (ordered[start_date] >= ordered[trt_start_date]) & (ordered[intensity] > previous)
        worsened_sorted = rose.groupby([ordered[g] for g in group], sort=False, dropna=False).cummax()
        worsened = worsened_sorted.reindex(dataset.index).fillna(False).astype(bool)
    not_treated = t_start.isna()
    ended_before = a_end.notna() & (a_end < t_start)
    emergent = (
        ~not_treated & ~ended_before
        & ((a_start.isna() & missing_start_emergent) | (new_event.fillna(False) & within_end & a_start.notna()) | worsened)
    )
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_values(emergent, true_value, false_value)
    return out


def derive_occurrence_flags(
    dataset: pd.DataFrame,
    *,
    order: Sequence,
    filter_add: Filter = None,
    subject_vars: Sequence[str] = ("USUBJID",),
    soc_var: str = "AEBODSYS",
    pt_var: str = "AEDECOD",
    new_vars: tuple[str, str, str] = ("AOCCFL", "AOCCSFL", "AOCCPFL"),
    overwrite: bool = False,
) -> pd.DataFrame:
    """First-occurrence flags (ADaM OCCDS 1.1; admiral `derive_var_extreme_flag(mode="first")` as in
    ad_adae.R): the first record per subject, per subject x SOC, per subject x SOC x PT, by `order` (e.g.
    ["ASTDT", "AESEQ"]) among the `filter_add` records (e.g. TRTEMFL == "Y").

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"USUBJID": "1", "AEBODSYS": ["SKIN", "SKIN"], "AEDECOD": ["RASH", "ITCH"], "ASTDT": pd.to_datetime(["2021-01-02", "2021-01-01"]), "AESEQ": [1, 2]})
    >>> out = derive_occurrence_flags(ae, order=["ASTDT", "AESEQ"])
    >>> list(out["AOCCFL"].fillna("-")), list(out["AOCCPFL"].fillna("-"))
    (['-', 'Y'], ['Y', 'Y'])
    """
    subject = check_vars("derive_occurrence_flags", "subject_vars", subject_vars)
    mask = filter_mask(dataset, check_filter("derive_occurrence_flags", "filter_add", filter_add))
    out = dataset
    for by, new_var in zip((subject, [*subject, soc_var], [*subject, soc_var, pt_var]), new_vars):
        out = derive_extreme_flag(out, by_vars=by, order=order, new_var=new_var, mode="first", filter_add=mask, overwrite=overwrite)
    return out


def derive_on_treatment_flag(
    dataset: pd.DataFrame,
    *,
    start_date: str = "ADT",
    ref_start_date: str = "TRTSDT",
    ref_end_date: str | None = None,
    ref_end_window: int = 0,
    filter_pre_timepoint: Filter = None,
    new_var: str = "ONTRTFL",
    overwrite: bool = False,
) -> pd.DataFrame:
    """ONTRTFL by admiral `derive_var_ontrtfl()`: "Y" if ref_start <= date <= ref_end + ref_end_window days
    (no `ref_end_date`, or a missing one: date >= ref_start); records selected by `filter_pre_timepoint`
    (e.g. baseline pre-dose timepoints) are not on treatment when date == ref_start. Missing date or
    untreated subject -> missing.

    >>> import pandas as pd
    >>> lb = pd.DataFrame({"ADT": pd.to_datetime(["2021-01-04", "2021-01-05", "2021-02-10"]), "TRTSDT": pd.to_datetime(["2021-01-05"] * 3), "TRTEDT": pd.to_datetime(["2021-02-01"] * 3)})
    >>> list(derive_on_treatment_flag(lb, ref_end_date="TRTEDT", ref_end_window=7)["ONTRTFL"].fillna("-"))
    ['-', 'Y', '-']
    """
    fn = "derive_on_treatment_flag"
    check_dataset(fn, "dataset", dataset)
    check_columns(fn, "start_date", dataset, [check_var(fn, "start_date", start_date)])
    check_columns(fn, "ref_start_date", dataset, [check_var(fn, "ref_start_date", ref_start_date)])
    if check_var(fn, "ref_end_date", ref_end_date, optional=True):
        check_columns(fn, "ref_end_date", dataset, [ref_end_date])
    check_number(fn, "ref_end_window", ref_end_window, minimum=0, integer=True)
    check_filter(fn, "filter_pre_timepoint", filter_pre_timepoint)
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    when, t_start = dataset[start_date], dataset[ref_start_date]
    if ref_end_date is None:
        upper_ok = pd.Series(True, index=dataset.index)
    else:
        t_end = dataset[ref_end_date]
        upper_ok = t_end.isna() | (when <= t_end + pd.Timedelta(days=ref_end_window))
    on = when.notna() & t_start.notna() & (when >= t_start) & upper_ok
    if filter_pre_timepoint is not None:
        on &= ~(filter_mask(dataset, filter_pre_timepoint) & (when == t_start))
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = flag_values(on)
    return out


def check_single_record(dataset: pd.DataFrame, by_vars: Sequence[str], flag: str, where: str = "dataset") -> None:
    """InputError naming each `by_vars` group with more than one record flagged "Y" in `flag`."""
    flagged = dataset.loc[dataset[flag].eq("Y"), list(by_vars)]
    dup = flagged[flagged.duplicated(keep=False)].drop_duplicates()
    if not dup.empty:
        raise InputError(
            [Problem(where, f"more than one record flagged {flag}", row="/".join(map(str, key)), variable=flag, value="Y") for key in dup.itertuples(index=False)]
        )
