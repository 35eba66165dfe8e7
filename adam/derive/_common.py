"""Helpers shared by the derivation modules: the `filter` argument and column checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from sap.errors import InputError, Problem

# `filter` arguments accept a boolean Series aligned to the dataset, a function dataset -> boolean Series
# (handy inside .pipe chains), or None for "every record".
Filter = pd.Series | Callable[[pd.DataFrame], pd.Series] | None


def filter_mask(dataset: pd.DataFrame, filter: Filter) -> pd.Series:
    """The boolean mask a `filter` argument stands for; missing values count as False."""
    if filter is None:
        return pd.Series(True, index=dataset.index)
    mask = filter(dataset) if callable(filter) else filter
    return mask.reindex(dataset.index).fillna(False).astype(bool)


def require_columns(dataset: pd.DataFrame, columns: Sequence[str], where: str = "dataset") -> None:
    """InputError naming every required column the dataset lacks."""
    missing = [col for col in dict.fromkeys(columns) if col not in dataset.columns]
    if missing:
        raise InputError([Problem(where, "required column is missing", variable=col) for col in missing])


def flag_y(mask: pd.Series) -> pd.Series:
    """"Y" where mask is True, missing elsewhere (ADaM flag convention for record-level flags)."""
    return pd.Series("Y", index=mask.index, dtype="str").where(mask)
