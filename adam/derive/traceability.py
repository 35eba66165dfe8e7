"""Traceability variables SRCDOM / SRCVAR / SRCSEQ (ADaMIG 1.3 section 3.3.9: the SDTM domain, variable and
--SEQ a value was taken from).

API (pure; inputs are never mutated):

- `derive_traceability(dataset, *, domain, source_var, seq_var, filter_add=None)`
      SRCDOM = domain, SRCVAR = source_var, SRCSEQ = the record's `seq_var` column (e.g. LBSEQ), on `filter_add`
      records (default: records without DTYPE, i.e. not derived or imputed; all records if there is no
      DTYPE column). `domain` and `source_var` may be a constant or a column name prefixed with "@"
      (e.g. "@SRCDOM_IN") when records come from several domains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adam.derive._common import Filter, check_dataset, check_new_vars, filter_mask, require_columns


def _constant_or_column(dataset: pd.DataFrame, value: str) -> pd.Series:
    if value.startswith("@"):
        require_columns(dataset, [value[1:]])
        return dataset[value[1:]].astype("str")
    return pd.Series(value, index=dataset.index, dtype="str")


def derive_traceability(dataset: pd.DataFrame, *, domain: str, source_var: str, seq_var: str, filter_add: Filter = None) -> pd.DataFrame:
    """Add SRCDOM, SRCVAR, SRCSEQ (see module docstring; ADaMIG 1.3 section 3.3.9, no admiral function:
    admiral templates set them with `mutate()`). Derived records (DTYPE set) carry none: their value comes
    from a rule, not from one SDTM record (ADaMIG: SRC* describe the record's direct source).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"LBSEQ": [3, 4], "DTYPE": [None, "LOCF"]})
    >>> derive_traceability(d, domain="LB", source_var="LBSTRESN", seq_var="LBSEQ")[["SRCDOM", "SRCSEQ"]].fillna("-").values.tolist()
    [['LB', 3.0], ['-', '-']]
    """
    seq, filter = seq_var, filter_add
    check_dataset("derive_traceability", "dataset", dataset, [seq])
    check_new_vars("derive_traceability", dataset, ["SRCDOM", "SRCVAR", "SRCSEQ"])
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
