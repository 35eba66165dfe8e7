"""Imputation in BDS datasets: non-responder imputation (NRI) records for response parameters, and the
analysis value of results reported below a lower limit of quantitation.

API (pure; inputs are never mutated):

- `derive_nonresponder_records(dataset, *, dataset_adsl, parameters, visits, by_vars=("STUDYID","USUBJID"),
                               population=None, dtype="NRI", avalc="N", aval=0.0)`
- `derive_below_limit_value(dataset, *, result_var="LBSTRESC", new_var="AVAL", limit_var="ALLOQ",
                            flag_var="BLQFL", factor=0.5)`

Rule (admiralonco ad_adrs.R `no_data_n` event: source ADSL, condition TRUE, AVALC "N"; the SRI convention
that a missing assessment is a non-response, domain.md section 3): every subject of `dataset_adsl` (restricted to
`population == "Y"` when a population flag is named) x every row of `parameters` (PARAMCD plus any other
parameter-level columns such as PARAM, PARAMN, PARCAT1) x every row of `visits` (AVISITN plus e.g. AVISIT)
that has NO record in `dataset` gets one new record with AVALC = avalc, AVAL = aval and DTYPE = dtype.
A key counts as observed when any record carries it, whatever its AVALC (records with a missing result are
the caller's to resolve first). Existing records are returned unchanged; the result is sorted by subject,
PARAMCD and AVISITN (stable) so that the output does not depend on input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from adam.derive._common import check_dataset, check_new_vars, check_number, check_vars, require_columns


def derive_nonresponder_records(
    dataset: pd.DataFrame,
    *,
    dataset_adsl: pd.DataFrame,
    parameters: pd.DataFrame,
    visits: pd.DataFrame,
    by_vars: Sequence[str] = ("STUDYID", "USUBJID"),
    population: str | None = None,
    dtype: str = "NRI",
    avalc: str = "N",
    aval: float = 0.0,
) -> pd.DataFrame:
    """Add NRI records for every missing subject x parameter x visit (see the module docstring).

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2"]})
    >>> adrs = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1"], "PARAMCD": ["SRI4"], "AVISITN": [10.0], "AVALC": ["Y"], "AVAL": [1.0]})
    >>> out = derive_nonresponder_records(adrs, dataset_adsl=adsl, parameters=pd.DataFrame({"PARAMCD": ["SRI4"]}), visits=pd.DataFrame({"AVISITN": [10.0]}))
    >>> out[["USUBJID", "AVALC", "DTYPE"]].fillna("-").values.tolist()
    [['1', 'Y', '-'], ['2', 'N', 'NRI']]
    """
    adsl = check_dataset("derive_nonresponder_records", "dataset_adsl", dataset_adsl)
    by = check_vars("derive_nonresponder_records", "by_vars", by_vars)
    require_columns(adsl, by + ([population] if population else []), "ADSL")
    require_columns(parameters, ["PARAMCD"], "parameters")
    require_columns(visits, ["AVISITN"], "visits")
    require_columns(dataset, [*by, "PARAMCD", "AVISITN"])
    subjects = adsl.loc[adsl[population].eq("Y") if population else slice(None), by].drop_duplicates()
    expected = subjects.merge(parameters.drop_duplicates(), how="cross").merge(visits.drop_duplicates(), how="cross")
    key = [*by, "PARAMCD", "AVISITN"]
    observed = dataset[key].drop_duplicates().assign(_observed=True)
    missing = expected.merge(observed, on=key, how="left")
    added = missing.loc[missing["_observed"].isna()].drop(columns="_observed")
    added = added.assign(AVALC=avalc, AVAL=float(aval), DTYPE=dtype)
    added["AVALC"] = added["AVALC"].astype("str")
    added["DTYPE"] = added["DTYPE"].astype("str")
    base = dataset if "DTYPE" in dataset.columns else dataset.assign(DTYPE=pd.Series(np.nan, index=dataset.index, dtype="str"))
    combined = pd.concat([base, added], ignore_index=True)
    return combined.sort_values(key, kind="stable").reset_index(drop=True)


BELOW_LIMIT_PATTERN = r"^\s*<=?\s*(?P<limit>[0-9]+(?:\.[0-9]+)?)\s*$"  # "<10", "< 0.05", "<=5"


def derive_below_limit_value(
    dataset: pd.DataFrame,
    *,
    result_var: str = "LBSTRESC",
    new_var: str = "AVAL",
    limit_var: str = "ALLOQ",
    flag_var: str = "BLQFL",
    factor: float = 0.5,
) -> pd.DataFrame:
    """Analysis value of a result reported below the lower limit of quantitation (LLOQ): a record whose
    `result_var` is "<x" or "<=x" (the SDTM standard character result, e.g. LBSTRESC "<10") gets
    `limit_var` = x (the LLOQ the laboratory reported), `new_var` = `factor` x x computed on the decimal
    text (0.5 x 10 = 5; no binary error) and `flag_var` = "Y". Every other record keeps its `new_var` and
    has both missing. The record stays the collected record (no DTYPE: the library's DTYPE marks derived
    records, which carry no SRCSEQ). No admiral function does this (admiral's ADPC template sets
    below-limit concentrations in the template); the factor is the study's (sap/study.yaml
    laboratory.below_lloq_factor).

    >>> import pandas as pd
    >>> lb = pd.DataFrame({"LBSTRESC": ["<10", "85.2", None], "AVAL": [float("nan"), 85.2, float("nan")]})
    >>> out = derive_below_limit_value(lb)
    >>> out[["AVAL", "ALLOQ", "BLQFL"]].fillna("-").values.tolist()
    [[5.0, 10.0, 'Y'], [85.2, '-', '-'], ['-', '-', '-']]
    """
    fn = "derive_below_limit_value"
    check_dataset(fn, "dataset", dataset)
    check_number(fn, "factor", factor, minimum=0)
    require_columns(dataset, [result_var, new_var])
    check_new_vars(fn, dataset, [limit_var, flag_var])
    limit_text = dataset[result_var].astype("str").str.extract(BELOW_LIMIT_PATTERN, expand=False)
    below = limit_text.notna() & dataset[result_var].notna()
    limits = limit_text[below]
    factor_text = Decimal(repr(float(factor)))
    out = dataset.copy()
    out[limit_var] = pd.Series([float(Decimal(t)) for t in limits], index=limits.index, dtype="float64").reindex(out.index)
    out.loc[below, new_var] = [float(Decimal(t) * factor_text) for t in limits]
    out[flag_var] = pd.Series("Y", index=out.index, dtype="str").where(below)
    return out
