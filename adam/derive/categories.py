"""Categorisation from a table of groups, and MedDRA queries from a query table.

API (pure; inputs are never mutated; keyword-only after `dataset`):

- `derive_vars_cat(dataset, *, definition, by_vars=None)`                   admiral derive_vars_cat
- `derive_vars_query(dataset, *, dataset_queries)`                           admiral derive_vars_query
- `query_table(queries)`   the query table (PREFIX, GRPNAME, GRPID, SRCVAR, TERMCHAR) from a list of
                           query definitions such as `sap/specs/queries.yaml`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from adam.derive._common import ArgumentError, check_columns, check_dataset, check_new_vars, check_vars
from sap.errors import Problem

QUERY_COLUMNS = ["PREFIX", "GRPNAME", "SRCVAR", "TERMCHAR"]


def _condition(fn: str, dataset: pd.DataFrame, condition: object, row: int) -> pd.Series:
    """A definition row's condition: a pandas expression string ("AGE < 65") or a function frame -> mask."""
    if callable(condition):
        mask = condition(dataset)
    elif isinstance(condition, str):
        try:
            mask = dataset.eval(condition, engine="python")
        except Exception as err:  # noqa: BLE001  any parse or name error is reported with its row
            raise ArgumentError(Problem(f"{fn}()", f"argument definition: condition cannot be evaluated ({err})", row=row, value=condition)) from None
    else:
        raise ArgumentError(Problem(f"{fn}()", "argument definition: condition must be a string expression or a function", row=row, value=condition))
    return pd.Series(mask, index=dataset.index).fillna(False).astype(bool)


def derive_vars_cat(
    dataset: pd.DataFrame,
    *,
    definition: pd.DataFrame | Sequence[Mapping[str, object]],
    by_vars: Sequence[str] | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Categorise records from a table of groups: admiral `derive_vars_cat()`. `definition` has a
    "condition" column (a pandas expression such as "AGE < 65", or a function frame -> boolean Series) and
    one column per new variable (e.g. AGEGR1, AGEGR1N); each record takes the values of the FIRST row whose
    condition holds (admiral: `case_when`), missing if none. With `by_vars` (e.g. ["PARAMCD"]) the
    definition also has those columns and a row applies only to records with the same values.
    A condition on a missing value is False (so a missing AGE gets no group).

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"AGE": [50.0, 65.0, 81.0, None]})
    >>> groups = [{"condition": "AGE < 65", "AGEGR1": "<65", "AGEGR1N": 1.0}, {"condition": "65 <= AGE <= 80", "AGEGR1": "65-80", "AGEGR1N": 2.0},
    ...           {"condition": "AGE > 80", "AGEGR1": ">80", "AGEGR1N": 3.0}]
    >>> derive_vars_cat(adsl, definition=groups)[["AGEGR1", "AGEGR1N"]].fillna("-").values.tolist()
    [['<65', 1.0], ['65-80', 2.0], ['>80', 3.0], ['-', '-']]
    """
    fn = "derive_vars_cat"
    check_dataset(fn, "dataset", dataset)
    table = pd.DataFrame(list(definition)) if not isinstance(definition, pd.DataFrame) else definition.reset_index(drop=True)
    if "condition" not in table.columns:
        raise ArgumentError(Problem(f"{fn}()", "argument definition: needs a 'condition' column"))
    by_vars = check_vars(fn, "by_vars", by_vars, optional=True)
    check_columns(fn, "by_vars", dataset, by_vars)
    check_columns(fn, "by_vars", table, by_vars, "definition")
    new_vars = [c for c in table.columns if c != "condition" and c not in by_vars]
    if not new_vars:
        raise ArgumentError(Problem(f"{fn}()", "argument definition: no variable to derive (only 'condition' and by_vars)"))
    check_new_vars(fn, dataset, new_vars, overwrite)
    assigned = pd.Series(False, index=dataset.index)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    values = {v: pd.Series(np.nan, index=dataset.index, dtype="object") for v in new_vars}
    for i, row in table.iterrows():
        hit = _condition(fn, dataset, row["condition"], i + 1) & ~assigned
        for var in by_vars:
            hit &= dataset[var].eq(row[var]).fillna(False)
        for var in new_vars:
            values[var] = values[var].mask(hit, row[var])
        assigned |= hit
    for var in new_vars:
        given = table[var].dropna()
        textual = len(given) > 0 and all(isinstance(v, str) for v in given)
        out[var] = values[var].astype("str") if textual else pd.to_numeric(values[var]).astype("float64")
    return out


def query_table(queries: Sequence[Mapping[str, object]], srcvar: str = "AEDECOD") -> pd.DataFrame:
    """The query table of `derive_vars_query` from query definitions with keys `id` (the prefix, e.g.
    "CQ01"), `name` and `preferred_terms` (the shape of `sap/specs/queries.yaml`): one row per term."""
    rows = [
        {"PREFIX": q["id"], "GRPNAME": q["name"], "SRCVAR": srcvar, "TERMCHAR": term}
        for q in queries
        for term in q["preferred_terms"]
    ]
    return pd.DataFrame(rows, columns=QUERY_COLUMNS).astype("str")


def derive_vars_query(dataset: pd.DataFrame, *, dataset_queries: pd.DataFrame, overwrite: bool = False) -> pd.DataFrame:
    """Add customised and standard MedDRA query variables from a query table: admiral `derive_vars_query()`.
    For each PREFIX (e.g. CQ01, SMQ02): {PREFIX}NAM = GRPNAME where the record's SRCVAR (e.g. AEDECOD) equals
    one of its TERMCHAR terms, missing otherwise; {PREFIX}CD = GRPID, {PREFIX}SC = SCOPE and {PREFIX}SCN =
    SCOPEN when the table has those columns (admiral's query dataset layout). Deliberate difference: terms
    are compared case-insensitively (admiral compares as stored; sponsor lists often differ in case).

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"AEDECOD": ["Injection site erythema", "Headache"]})
    >>> q = query_table([{"id": "CQ01", "name": "INJECTION SITE REACTION", "preferred_terms": ["Injection site erythema"]}])
    >>> list(derive_vars_query(ae, dataset_queries=q)["CQ01NAM"].fillna("-"))
    ['INJECTION SITE REACTION', '-']
    """
    fn = "derive_vars_query"
    check_dataset(fn, "dataset", dataset)
    check_dataset(fn, "dataset_queries", dataset_queries, QUERY_COLUMNS)
    check_columns(fn, "dataset_queries (SRCVAR)", dataset, dataset_queries["SRCVAR"].unique())
    extras = {"GRPID": "CD", "SCOPE": "SC", "SCOPEN": "SCN"}
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    for prefix, rows in dataset_queries.groupby("PREFIX", sort=False):
        new = [f"{prefix}NAM", *[f"{prefix}{suffix}" for col, suffix in extras.items() if col in rows.columns]]
        check_new_vars(fn, dataset, new, overwrite)
        hit = pd.Series(False, index=dataset.index)
        for srcvar, terms in rows.groupby("SRCVAR", sort=False):
            hit |= dataset[srcvar].astype("str").str.casefold().isin(terms["TERMCHAR"].astype("str").str.casefold()).fillna(False)
        out[f"{prefix}NAM"] = pd.Series(rows["GRPNAME"].iloc[0], index=dataset.index, dtype="str").where(hit)
        for col, suffix in extras.items():
            if col in rows.columns:
                out[f"{prefix}{suffix}"] = pd.Series([rows[col].iloc[0]] * len(dataset), index=dataset.index).where(hit)
    return out
