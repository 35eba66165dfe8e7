"""The raw EDC extract: reading and checking the CSV forms against `sap/specs/raw/forms.yaml`.

`read_raw_extract` returns typed frames; every malformed cell, unknown visit, unenrolled subject or
duplicate record is collected and raised together as one InputError (one line each: file, row, column,
value). Builders never see malformed input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# Columns every typed raw frame carries besides the form's own: the 1-based data row of the CSV file.
ROW = "ROW"
REJECTION_COLUMNS = ["FORM", "ROW", "SUBJECT", "REASON"]


@dataclass
class RawExtract:
    """Typed raw forms by form name (`enrolment`, `dosing`, ...), each with a ROW column."""

    forms: dict[str, pd.DataFrame]
    folder: Path

    def __getitem__(self, form: str) -> pd.DataFrame:
        return self.forms[form]


@dataclass
class DomainResult:
    """What a builder returns: the domain (before the spec is applied), how many raw rows of each form it
    mapped, and the raw rows it rejected with a reason (columns FORM, ROW, SUBJECT, REASON)."""

    domain: pd.DataFrame
    mapped: dict[str, int]
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTION_COLUMNS))
