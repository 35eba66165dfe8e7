"""What builders read: the ADaM datasets of a run, by name, and the checks every builder repeats (required
variables present, analysis population and its N)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sap.datasets import find_datasets, read_dataset
from sap.errors import InputError, Problem


class DatasetUnavailable(InputError):
    """A dataset an output needs is not in the run's ADaM folder (the output is reported as not produced)."""


class AdamFolder(Mapping):
    """The ADaM datasets of a run folder, read lazily by upper-case name (ADSL, ADRS, ...)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._paths = find_datasets(self.folder) if self.folder.is_dir() else {}
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        key = name.upper()
        if key not in self._paths:
            raise DatasetUnavailable(Problem(str(self.folder), "dataset not found", variable=key))
        if key not in self._cache:
            self._cache[key] = read_dataset(self._paths[key])
        return self._cache[key]

    def __iter__(self):
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def dataset(adam: Mapping[str, pd.DataFrame], name: str, required: list[str]) -> pd.DataFrame:
    """One dataset with its required variables checked: one Problem per missing variable."""
    try:
        df = adam[name]
    except KeyError:
        raise DatasetUnavailable(Problem("ADaM", "dataset not found", variable=name)) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Problem(name, "variable needed by the TLFs is missing", variable=c) for c in missing])
    return df


def population(adsl: pd.DataFrame, flag: str) -> pd.DataFrame:
    """Subjects of an analysis population (ADSL flag = "Y"), one row each; a duplicated subject is an error."""
    subjects = adsl.loc[adsl[flag].eq("Y"), ["USUBJID"]]
    dupes = subjects["USUBJID"][subjects["USUBJID"].duplicated()]
    if len(dupes):
        raise InputError(Problem("ADSL", "subject listed more than once", row=str(dupes.iloc[0]), variable="USUBJID"))
    return subjects.reset_index(drop=True)


def one_record_per_subject(df: pd.DataFrame, name: str, by: list[str]) -> None:
    """Refuse a frame with more than one analysis record per subject and `by` group (it would double count)."""
    dupes = df[df.duplicated(["USUBJID", *by], keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        raise InputError(Problem(name, f"{len(dupes)} records duplicate a subject and {'/'.join(by)} among analysis records (ANL01FL)",
                                 row=str(first["USUBJID"]), variable=by[0], value=first[by[0]]))
