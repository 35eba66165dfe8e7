"""Reading SDTM domains and merging variables from another dataset (admiral `derive_vars_merged()`).

API (pure; inputs are never mutated):

- `sdtm_domain(sdtm, name, columns) -> DataFrame`   one domain of a name -> frame mapping, checked
- `derive_vars_merged(dataset, *, dataset_add, by_vars, new_vars=None, filter_add=None, order=None,
                      mode=None, require_match=None, key_vars=None, overwrite=False)`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from adam.derive._common import (
    Filter,
    ArgumentError,
    check_choice,
    check_columns,
    check_dataset,
    check_filter,
    check_new_vars,
    check_order,
    check_vars,
    extreme_positions,
    filter_mask,
    require_columns,
)
from sap.errors import InputError, Problem


def sdtm_domain(sdtm: Mapping[str, pd.DataFrame], name: str, columns: Sequence[str]) -> pd.DataFrame:
    """One SDTM domain, checked for the columns a derivation needs (InputError naming each missing one).

    >>> import pandas as pd
    >>> sdtm_domain({"DM": pd.DataFrame({"USUBJID": ["1"]})}, "DM", ["USUBJID"]).shape
    (1, 1)
    """
    if name not in sdtm:
        raise InputError(Problem(f"SDTM {name}", "required domain is missing"))
    require_columns(sdtm[name], columns, where=f"SDTM {name}")
    return sdtm[name]


def derive_vars_merged(
    dataset: pd.DataFrame,
    *,
    dataset_add: pd.DataFrame,
    by_vars: Sequence[str],
    new_vars: Sequence[str] | Mapping[str, str] | None = None,
    filter_add: Filter = None,
    order: Sequence | None = None,
    mode: str | None = None,
    require_match: str | None = None,
    key_vars: Sequence[str] = (),
    overwrite: bool = False,
) -> pd.DataFrame:
    """Add variables of `dataset_add` to `dataset` by `by_vars`: admiral `derive_vars_merged()`.

    `new_vars`: the columns to take (a list, or a mapping new name -> source column; default all columns of
    `dataset_add` except `by_vars`). `filter_add` restricts `dataset_add`; with `order` and `mode`
    ("first"/"last") one record per group is taken, otherwise `dataset_add` must have at most one record per
    group (InputError naming the duplicated key, where admiral stops with "not unique").
    `require_match` (e.g. "SDTM AE"): a record of `dataset` without a match is an InputError, one line per
    record named by `key_vars` (e.g. "S9/AESEQ 1"), never a silent missing value (deliberate addition; admiral
    has `exist_flag` and leaves the check to the programmer). Row order of `dataset` is kept.

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"USUBJID": ["1", "2"], "AESEQ": [1, 1]})
    >>> adsl = pd.DataFrame({"USUBJID": ["1", "2"], "TRTSDT": pd.to_datetime(["2021-01-01", "2021-02-01"]), "AGE": [50, 60]})
    >>> list(derive_vars_merged(ae, dataset_add=adsl, by_vars=["USUBJID"], new_vars=["TRTSDT"]).columns)
    ['USUBJID', 'AESEQ', 'TRTSDT']
    """
    fn = "derive_vars_merged"
    check_dataset(fn, "dataset", dataset)
    check_dataset(fn, "dataset_add", dataset_add)
    by_vars = check_vars(fn, "by_vars", by_vars)
    check_columns(fn, "by_vars", dataset, by_vars)
    check_columns(fn, "by_vars", dataset_add, by_vars, "dataset_add")
    if new_vars is None:
        mapping = {c: c for c in dataset_add.columns if c not in by_vars}
    elif isinstance(new_vars, Mapping):
        mapping = dict(new_vars)
    else:
        mapping = {c: c for c in check_vars(fn, "new_vars", new_vars)}
    check_columns(fn, "new_vars", dataset_add, mapping.values(), "dataset_add")
    check_new_vars(fn, dataset, mapping, overwrite)
    if (order is None) != (mode is None):
        raise ArgumentError(Problem(f"{fn}()", "arguments order and mode: give both or neither"))
    add = dataset_add.loc[filter_mask(dataset_add, check_filter(fn, "filter_add", filter_add))]
    if order is not None:
        check_choice(fn, "mode", mode, ["first", "last"])
        pairs = check_order(fn, "order", order)
        check_columns(fn, "order", add, [v for v, _ in pairs], "dataset_add")
        add = add.loc[extreme_positions(add, by_vars, pairs, mode)]
    add = add[[*by_vars, *mapping.values()]]
    add.columns = [*by_vars, *mapping.keys()]
    duplicated = add[by_vars].duplicated(keep=False)
    if duplicated.any():
        keys = add.loc[duplicated, by_vars].drop_duplicates()
        raise InputError([Problem(f"{fn}()", "dataset_add has more than one record for this key (give order and mode)", row="/".join(map(str, k)))
                          for k in keys.itertuples(index=False)])
    if require_match:
        matched = dataset[by_vars].merge(add[by_vars].assign(_hit=True), on=by_vars, how="left")["_hit"].eq(True).to_numpy()
        if not matched.all():
            orphans = dataset.loc[~matched]
            keys = [*by_vars[-1:], *key_vars] if key_vars else by_vars
            raise InputError([
                Problem(require_match, "subject not in ADSL" if by_vars[-1] == "USUBJID" else "no matching record in dataset_add",
                        row="/".join(str(r[k]) if i == 0 else f"{k} {r[k]}" for i, k in enumerate(keys)), variable=by_vars[-1], value=r[by_vars[-1]])
                for _, r in orphans.iterrows()
            ])
    merged = dataset.merge(add, on=by_vars, how="left", validate="many_to_one")
    merged.index = dataset.index
    return merged
