"""The argument vocabulary of the derivation library, and its checks (admiral's conventions, admiraldev
`assert_*`).

Every derivation takes the input `dataset` first (so that `.pipe()` chains read like admiral's `%>%`) and
every other argument by keyword only. The names mean the same thing everywhere:

- `dataset`      the input dataset; never mutated, a new frame is returned.
- `dataset_add`  an additional dataset read by the derivation (EX for treatment dates, ADSL for merges, ...).
- `by_vars`      grouping variables (a list of column names).
- `order`        sort variables; a name sorts ascending, `desc("AVAL")` descending. Missing values sort last
                 in either direction (dplyr `arrange()`, which admiral uses).
- `new_var`      the variable created; `new_vars` when several are.
- `filter_add`   which records of `dataset_add` (or of `dataset` where there is no additional dataset) take
                 part: a boolean Series, a function dataset -> boolean Series, or None for all records.
- `mode`         "first" or "last" record by `order`.

A derivation that would write a column the dataset already has raises an error naming the function and the
column, unless it is called with `overwrite=True`. Every argument is checked on entry; a bad one raises
`ArgumentError` ("derive_x(): argument by_vars: column 'USUBJID' is not in dataset").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sap.errors import InputError, Problem, SapError

# `filter_add` arguments accept a boolean Series aligned to the dataset, a function dataset -> boolean Series
# (handy inside .pipe chains), or None for "every record".
Filter = pd.Series | Callable[[pd.DataFrame], pd.Series] | None


class ArgumentError(SapError):
    """A derivation was called with an argument it cannot use (wrong type, unknown column, clash)."""


@dataclass(frozen=True)
class Desc:
    """A descending sort key for `order` (admiral `desc(AVAL)`)."""

    var: str


def desc(var: str) -> Desc:
    """Descending order on `var` inside an `order` list: `order=["USUBJID", desc("AVAL")]`."""
    return Desc(var)


def _problem(fn: str, arg: str, message: str, value: object = None) -> ArgumentError:
    return ArgumentError(Problem(f"{fn}()", f"argument {arg}: {message}", value=value))


def check_dataset(fn: str, arg: str, dataset: object, required: Iterable[str] = ()) -> pd.DataFrame:
    """`dataset` must be a DataFrame holding every `required` column (ArgumentError naming each missing)."""
    if not isinstance(dataset, pd.DataFrame):
        raise _problem(fn, arg, f"must be a pandas DataFrame, got {type(dataset).__name__}")
    missing = [col for col in dict.fromkeys(required) if col not in dataset.columns]
    if missing:
        raise ArgumentError([Problem(f"{fn}()", f"argument {arg}: required column is missing", variable=c) for c in missing])
    return dataset


def check_vars(fn: str, arg: str, value: object, optional: bool = False) -> list[str]:
    """A list of column names (a single name is accepted and wrapped)."""
    if value is None and optional:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _problem(fn, arg, "must be a column name or a list of column names", value)


def check_var(fn: str, arg: str, value: object, optional: bool = False) -> str | None:
    """One column name."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _problem(fn, arg, "must be a column name (a non-empty string)", value)
    return value


def check_order(fn: str, arg: str, value: object, optional: bool = False) -> list[tuple[str, bool]]:
    """`order` as (column, ascending) pairs; names sort ascending, `desc(name)` descending."""
    if value is None and optional:
        return []
    items = [value] if isinstance(value, (str, Desc)) else value
    if not isinstance(items, Sequence) or not all(isinstance(v, (str, Desc)) for v in items):
        raise _problem(fn, arg, "must be a list of column names or desc(name)", value)
    return [(v.var, False) if isinstance(v, Desc) else (v, True) for v in items]


def check_choice(fn: str, arg: str, value: object, choices: Sequence) -> object:
    if value not in choices:
        raise _problem(fn, arg, f"must be one of {', '.join(map(repr, choices))}", value)
    return value


def check_bool(fn: str, arg: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _problem(fn, arg, "must be True or False", value)
    return value


def check_number(fn: str, arg: str, value: object, optional: bool = False, minimum: float | None = None, integer: bool = False) -> float | None:
    if value is None and optional:
        return None
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok_type:
        raise _problem(fn, arg, "must be an integer" if integer else "must be a number", value)
    if minimum is not None and value < minimum:
        raise _problem(fn, arg, f"must be >= {minimum}", value)
    return value


def check_filter(fn: str, arg: str, value: object) -> Filter:
    if value is None or callable(value) or isinstance(value, pd.Series):
        return value
    raise _problem(fn, arg, "must be a boolean Series, a function dataset -> boolean Series, or None", value)


def check_new_vars(fn: str, dataset: pd.DataFrame, new_vars: Iterable[str], overwrite: bool = False) -> None:
    """A derivation never silently replaces a column: ArgumentError unless `overwrite=True`."""
    if overwrite:
        return
    clash = [v for v in dict.fromkeys(new_vars) if v in dataset.columns]
    if clash:
        raise ArgumentError(
            [Problem(f"{fn}()", "column already exists (drop it first, or pass overwrite=True)", variable=c) for c in clash]
        )


def check_columns(fn: str, arg: str, dataset: pd.DataFrame, columns: Iterable[str], dataset_arg: str = "dataset") -> None:
    """Each column named by argument `arg` must be in the dataset passed as `dataset_arg`."""
    missing = [c for c in dict.fromkeys(columns) if c is not None and c not in dataset.columns]
    if missing:
        raise ArgumentError([Problem(f"{fn}()", f"argument {arg}: column is not in {dataset_arg}", variable=c) for c in missing])


def filter_mask(dataset: pd.DataFrame, filter: Filter) -> pd.Series:
    """The boolean mask a `filter_add` argument stands for; missing values count as False."""
    if filter is None:
        return pd.Series(True, index=dataset.index)
    mask = filter(dataset) if callable(filter) else filter
    return mask.reindex(dataset.index).fillna(False).astype(bool)


def require_columns(dataset: pd.DataFrame, columns: Sequence[str], where: str = "dataset") -> None:
    """InputError naming every required column the dataset lacks (data problems: an SDTM domain without a
    variable the derivation needs)."""
    missing = [col for col in dict.fromkeys(columns) if col not in dataset.columns]
    if missing:
        raise InputError([Problem(where, "required column is missing", variable=col) for col in missing])


def flag_y(mask: pd.Series) -> pd.Series:
    """"Y" where mask is True, missing elsewhere (ADaM flag convention for record-level flags)."""
    return pd.Series("Y", index=mask.index, dtype="str").where(mask)


def flag_values(mask: pd.Series, true_value: str | None = "Y", false_value: str | None = None) -> pd.Series:
    """`true_value` where mask is True, `false_value` elsewhere (None = missing)."""
    out = pd.Series(np.nan, index=mask.index, dtype="str")
    if true_value is not None:
        out = out.mask(mask, true_value)
    if false_value is not None:
        out = out.mask(~mask, false_value)
    return out


def sort_records(dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[tuple[str, bool]]) -> pd.DataFrame:
    """The dataset stably sorted by `by_vars` then `order` (ascending flags), missing values last in every
    key (dplyr `arrange()`, also under `desc()`)."""
    keys = [(v, True) for v in by_vars] + list(order)
    if not keys:
        return dataset
    out = dataset
    # Sort key by key from the least significant one: a stable sort per key gives each key its own
    # direction while keeping missing values last (pandas' na_position applies to all keys at once, which
    # is also fine, but its `ascending` list with na_position="last" already does this; kept explicit).
    return out.sort_values([k for k, _ in keys], ascending=[a for _, a in keys], kind="stable", na_position="last")


def extreme_positions(
    dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[tuple[str, bool]], mode: str, flag_all: bool = False
) -> pd.Index:
    """Index labels of the first/last record per `by_vars` group by `order` (all tied records with
    `flag_all`)."""
    ordered = sort_records(dataset, by_vars, order)
    if not by_vars:
        chosen = ordered.head(1) if mode == "first" else ordered.tail(1)
    else:
        grouped = ordered.groupby(list(by_vars), sort=False, dropna=False)
        chosen = grouped.head(1) if mode == "first" else grouped.tail(1)
    if flag_all and order:
        keys = [*by_vars, *[v for v, _ in order]]
        tied = ordered[keys].merge(chosen[keys].drop_duplicates(), on=keys, how="left", indicator=True)
        return ordered.index[tied["_merge"].eq("both").to_numpy()]
    return chosen.index
