"""Derived records: extreme records (end of treatment, worst, first), LOCF records, non-responder records.

API (pure; inputs are never mutated; keyword-only after `dataset`):

- `derive_extreme_records(dataset, *, dataset_add=None, by_vars, order, mode, filter_add=None,
                          set_values_to, keep_source_vars=None)`              admiral derive_extreme_records
- `derive_locf_records(dataset, *, dataset_ref, by_vars, order, analysis_var="AVAL", imputation="add",
                       keep_vars=None, dtype="LOCF")`                            admiral derive_locf_records

`set_values_to` maps a column to a constant or to a function of the selected records (frame -> Series),
e.g. {"AVISIT": "END OF TREATMENT", "AVISITN": 99.0, "DTYPE": "LOV"}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from adam.derive._common import (
    Filter,
    check_choice,
    check_columns,
    check_dataset,
    check_filter,
    check_order,
    check_var,
    check_vars,
    extreme_positions,
    filter_mask,
    sort_records,
)

Values = Mapping[str, object | Callable[[pd.DataFrame], pd.Series]]


def set_values(records: pd.DataFrame, set_values_to: Values) -> pd.DataFrame:
    """The records with each `set_values_to` column set (constants, or functions of the records)."""
    out = records.copy()
    for column, value in set_values_to.items():
        if callable(value):
            out[column] = value(records)
        else:
            out[column] = pd.Series([value] * len(out), index=out.index, dtype="str" if isinstance(value, str) else None)
    return out


def _append(dataset: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Append new records, keeping each existing column's dtype where the new records allow it."""
    combined = pd.concat([dataset, new], ignore_index=True)
    for column in dataset.columns:
        if dataset[column].dtype != combined[column].dtype and str(dataset[column].dtype) == "str":
            combined[column] = combined[column].astype("str")
    return combined


def derive_extreme_records(
    dataset: pd.DataFrame,
    *,
    dataset_add: pd.DataFrame | None = None,
    by_vars: Sequence[str],
    order: Sequence,
    mode: str,
    filter_add: Filter = None,
    set_values_to: Values,
    keep_source_vars: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Add the first or last record (by `order`) of each `by_vars` group of `dataset_add` (default: `dataset`)
    among the `filter_add` records, as a new record with `set_values_to`: admiral `derive_extreme_records()`.
    E.g. an end-of-treatment record (last on-treatment record, AVISIT "END OF TREATMENT", DTYPE "LOV") or a
    worst record (order desc(AVAL), mode "first", DTYPE "MAXIMUM"). `keep_source_vars` limits the columns
    copied from the selected record (default: all). The new records are appended after the input.

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"USUBJID": "1", "PARAMCD": "ALT", "AVISIT": ["BASELINE", "WEEK 2", "WEEK 4"], "ADY": [1, 15, 29], "AVAL": [30.0, 50.0, 40.0]})
    >>> out = derive_extreme_records(adlb, by_vars=["USUBJID", "PARAMCD"], order=["ADY"], mode="last", filter_add=lambda d: d["ADY"] > 1,
    ...                              set_values_to={"AVISIT": "END OF TREATMENT", "DTYPE": "LOV"})
    >>> out[["AVISIT", "AVAL", "DTYPE"]].iloc[-1].astype(str).tolist()
    ['END OF TREATMENT', '40.0', 'LOV']
    """
    fn = "derive_extreme_records"
    check_dataset(fn, "dataset", dataset)
    source = check_dataset(fn, "dataset_add", dataset if dataset_add is None else dataset_add)
    by_vars = check_vars(fn, "by_vars", by_vars)
    pairs = check_order(fn, "order", order)
    check_columns(fn, "by_vars", source, by_vars, "dataset_add")
    check_columns(fn, "order", source, [v for v, _ in pairs], "dataset_add")
    check_choice(fn, "mode", mode, ["first", "last"])
    candidates = source.loc[filter_mask(source, check_filter(fn, "filter_add", filter_add))]
    chosen = candidates.loc[extreme_positions(candidates, by_vars, pairs, mode)]
    chosen = sort_records(chosen, by_vars, [])
    if keep_source_vars is not None:
        keep = check_vars(fn, "keep_source_vars", keep_source_vars)
        check_columns(fn, "keep_source_vars", chosen, keep, "dataset_add")
        chosen = chosen[list(dict.fromkeys([*by_vars, *keep]))]
    return _append(dataset, set_values(chosen, set_values_to).reset_index(drop=True))


def derive_locf_records(
    dataset: pd.DataFrame,
    *,
    dataset_ref: pd.DataFrame,
    by_vars: Sequence[str],
    order: Sequence,
    analysis_var: str = "AVAL",
    imputation: str = "add",
    keep_vars: Sequence[str] | None = None,
    dtype: str = "LOCF",
) -> pd.DataFrame:
    """Last observation carried forward: admiral `derive_locf_records()`.

    `dataset_ref` lists the expected observations (e.g. every subject x PARAMCD x AVISITN the plan
    schedules); an expected observation absent from `dataset` (imputation "add"), or present with a missing
    `analysis_var` ("update": fill it in place; "update_add": both), gets the `analysis_var` of the last
    earlier record by `order` within `by_vars` (the `dataset_ref` columns minus the `order` columns), and
    DTYPE = `dtype`. `keep_vars` are copied from that earlier record too (e.g. PARAM, BASE). Expected
    observations with no earlier value stay absent/missing. Records are compared by the columns of
    `dataset_ref`; the result is sorted by them.

    >>> import pandas as pd
    >>> adqs = pd.DataFrame({"USUBJID": "1", "PARAMCD": "ACTOT", "AVISITN": [0.0, 8.0], "AVAL": [20.0, 24.0]})
    >>> ref = pd.DataFrame({"USUBJID": "1", "PARAMCD": "ACTOT", "AVISITN": [0.0, 8.0, 16.0, 24.0]})
    >>> out = derive_locf_records(adqs, dataset_ref=ref, by_vars=["USUBJID", "PARAMCD"], order=["AVISITN"])
    >>> out[["AVISITN", "AVAL", "DTYPE"]].fillna("-").values.tolist()
    [[0.0, 20.0, '-'], [8.0, 24.0, '-'], [16.0, 24.0, 'LOCF'], [24.0, 24.0, 'LOCF']]
    """
    fn = "derive_locf_records"
    check_dataset(fn, "dataset", dataset)
    check_dataset(fn, "dataset_ref", dataset_ref)
    by_vars = check_vars(fn, "by_vars", by_vars)
    pairs = check_order(fn, "order", order)
    ref_keys = list(dataset_ref.columns)
    check_columns(fn, "dataset_ref", dataset, ref_keys)
    check_columns(fn, "analysis_var", dataset, [check_var(fn, "analysis_var", analysis_var)])
    check_choice(fn, "imputation", imputation, ["add", "update", "update_add"])
    keep_vars = check_vars(fn, "keep_vars", keep_vars, optional=True)
    check_columns(fn, "keep_vars", dataset, keep_vars)
    base = dataset if "DTYPE" in dataset.columns else dataset.assign(DTYPE=pd.Series(np.nan, index=dataset.index, dtype="str"))
    observed = base.loc[base[analysis_var].notna()]
    carry = [analysis_var, *[v for v in keep_vars if v not in ref_keys]]

    def last_before(targets: pd.DataFrame) -> pd.DataFrame:
        """For each target row, the `carry` values of the last observed record at or before it by `order`."""
        left = targets[ref_keys].assign(_target=np.arange(len(targets)))
        pool = observed[list(dict.fromkeys([*by_vars, *[v for v, _ in pairs], *carry]))]
        cand = left.merge(pool, on=by_vars, how="inner", suffixes=("", "_src"))
        before = np.ones(len(cand), dtype=bool)
        for var, ascending in pairs:
            src = cand[f"{var}_src"] if f"{var}_src" in cand.columns else cand[var]
            before &= ((src <= cand[var]) if ascending else (src >= cand[var])).to_numpy()
        cand = cand.loc[before]
        src_order = [(f"{v}_src" if f"{v}_src" in cand.columns else v, a) for v, a in pairs]
        cand = cand.loc[extreme_positions(cand, ["_target"], src_order, "last")]
        return left.merge(cand[["_target", *carry]], on="_target", how="left").drop(columns="_target")

    out = base
    if imputation in ("update", "update_add"):
        missing = base[analysis_var].isna()
        if missing.any():
            filled = last_before(base.loc[missing])
            filled.index = base.index[missing]
            hit = filled[analysis_var].notna()
            out = out.copy()
            out.loc[filled.index[hit], analysis_var] = filled.loc[hit, analysis_var]
            out.loc[filled.index[hit], "DTYPE"] = dtype
    if imputation in ("add", "update_add"):
        present = base[ref_keys].drop_duplicates().assign(_present=True)
        expected = dataset_ref.drop_duplicates().merge(present, on=ref_keys, how="left")
        absent = expected.loc[expected["_present"].isna(), ref_keys].reset_index(drop=True)
        if len(absent):
            added = last_before(absent)
            added = added.loc[added[analysis_var].notna()].assign(DTYPE=dtype)
            added["DTYPE"] = added["DTYPE"].astype("str")
            out = _append(out, added)
    return sort_records(out, ref_keys, []).reset_index(drop=True)
