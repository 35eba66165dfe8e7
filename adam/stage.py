"""The ADaM stage: SDTM (`OUT/sdtm/*.parquet`) -> ADSL, ADAE, ADLB, ADQS, ADRS (`OUT/adam/`).

Each dataset is derived by its study module, conformed to its spec (`sap/specs/adam/<name>.yaml`: column
order, types, labels; any nonconformance is a SpecError) and written as parquet and XPT inside an atomic
staging folder, so a failed run never leaves a mix of old and new datasets. ADSL is conformed first because
every other dataset takes its subject variables from the conformed ADSL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from adam.adae import derive_adae
from adam.adlb import derive_adlb
from adam.adqs import derive_adqs
from adam.adrs import derive_adrs
from adam.adsl import derive_adsl
from sap.datasets import find_datasets, read_dataset, write_dataset
from sap.errors import Problem, SapError
from sap.pipeline import RunContext
from sap.specs import apply_spec
from sap.study import Study


def read_sdtm(folder) -> dict[str, pd.DataFrame]:
    """Every SDTM dataset of the folder by upper-case name (parquet preferred; see `find_datasets`)."""
    paths = find_datasets(folder) if folder.is_dir() else {}
    if not paths:
        raise SapError(Problem(str(folder), "no SDTM datasets found (run `sap sdtm` first)"))
    return {name: read_dataset(path) for name, path in paths.items()}


class SdtmFolder(Mapping):
    """The SDTM datasets of a folder by upper-case name, read from disk at each access and never kept: at
    100,000 subjects LB and QS take gigabytes each, and a derivation holds only the domains it is using."""

    def __init__(self, folder: Path):
        self.paths = find_datasets(folder) if folder.is_dir() else {}
        if not self.paths:
            raise SapError(Problem(str(folder), "no SDTM datasets found (run `sap sdtm` first)"))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return read_dataset(self.paths[name])

    def __contains__(self, name: object) -> bool:
        return name in self.paths

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def derive_adam_each(sdtm: Mapping[str, pd.DataFrame], study: Study) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each ADaM dataset, conformed to its spec, in dependency order (ADSL first, ADRS after ADQS), yielded
    as soon as it is derived so that the caller can write it and let it go. `derive_adqs` and `derive_adrs`
    conform their own output."""
    adsl = apply_spec(derive_adsl(sdtm, study), "adsl")
    yield "ADSL", adsl
    yield "ADAE", apply_spec(derive_adae(sdtm, study, adsl), "adae")
    yield "ADLB", apply_spec(derive_adlb(sdtm, study, adsl), "adlb")
    adqs = derive_adqs(sdtm, study, adsl)
    yield "ADQS", adqs
    yield "ADRS", derive_adrs(sdtm, study, adsl, adqs=adqs)


def derive_adam(sdtm: Mapping[str, pd.DataFrame], study: Study) -> dict[str, pd.DataFrame]:
    """All ADaM datasets, each conformed to its spec, in dependency order (ADSL first, ADRS after ADQS)."""
    return dict(derive_adam_each(sdtm, study))


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Read `OUT/sdtm`, derive every ADaM dataset, write `OUT/adam/<name>.parquet` and `.xpt` atomically.
    Each dataset is written as soon as it is derived and then released (peak memory = the largest one).
    Returns the record count of each dataset."""
    counts = {}
    with ctx.staging("adam") as folder:
        for name, df in derive_adam_each(SdtmFolder(ctx.folder("sdtm")), ctx.study):
            write_dataset(df, folder, ctx.stamp)
            counts[name.lower()] = len(df)
            del df  # before the next dataset is derived
    return counts
