"""Traceability variables SRCDOM / SRCVAR / SRCSEQ (ADaMIG 1.3 section 3.3.9: the SDTM domain, variable and
--SEQ a value was taken from).

API (pure; inputs are never mutated):

- `derive_traceability(dataset, domain, source_var, seq, filter=None)`
      SRCDOM = domain, SRCVAR = source_var, SRCSEQ = the record's `seq` column (e.g. LBSEQ), on `filter`
      records (default: records without DTYPE, i.e. not derived or imputed; all records if there is no
      DTYPE column). `domain` and `source_var` may be a constant or a column name prefixed with "@"
      (e.g. "@SRCDOM_IN") when records come from several domains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adam.derive._common import Filter, filter_mask, require_columns


def _constant_or_column(dataset: pd.DataFrame, value: str) -> pd.Series:
    if value.startswith("@"):
        require_columns(dataset, [value[1:]])
        return dataset[value[1:]].astype("str")
    return pd.Series(value, index=dataset.index, dtype="str")


def derive_traceability(dataset: pd.DataFrame, domain: str, source_var: str, seq: str, filter: Filter = None) -> pd.DataFrame:
    """Add SRCDOM, SRCVAR, SRCSEQ (see module docstring). Derived records (DTYPE set) carry none: their
    value comes from a rule, not from one SDTM record (ADaMIG: SRC* describe the record's direct source)."""
    require_columns(dataset, [seq])
    if filter is None:
        keep = dataset["DTYPE"].isna() if "DTYPE" in dataset.columns else pd.Series(True, index=dataset.index)
    else:
        keep = filter_mask(dataset, filter)
    keep = keep & dataset[seq].notna()
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["SRCDOM"] = _constant_or_column(dataset, domain).where(keep)
    out["SRCVAR"] = _constant_or_column(dataset, source_var).where(keep)
    out["SRCSEQ"] = pd.to_numeric(dataset[seq], errors="coerce").where(keep).astype("float64")
    return out
