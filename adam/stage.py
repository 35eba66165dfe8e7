"""The ADaM stage: SDTM (`OUT/sdtm/*.parquet`) -> ADSL, ADAE, ADLB, ADQS, ADRS (`OUT/adam/`).

Each dataset is derived by its study module, conformed to its spec (`sap/specs/adam/<name>.yaml`: column
order, types, labels; any nonconformance is a SpecError) and written as parquet and XPT inside an atomic
staging folder, so a failed run never leaves a mix of old and new datasets. ADSL is conformed first because
every other dataset takes its subject variables from the conformed ADSL.
"""

from __future__ import annotations

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


def derive_adam(sdtm: dict[str, pd.DataFrame], study: Study) -> dict[str, pd.DataFrame]:
    """All ADaM datasets, each conformed to its spec, in dependency order (ADSL first, ADRS after ADQS)."""
    adsl = apply_spec(derive_adsl(sdtm, study), "adsl")
    adae = apply_spec(derive_adae(sdtm, study, adsl), "adae")
    adlb = apply_spec(derive_adlb(sdtm, study, adsl), "adlb")
    adqs = apply_spec(derive_adqs(sdtm, study, adsl), "adqs")
    adrs = apply_spec(derive_adrs(sdtm, study, adsl, adqs=adqs), "adrs")
    return {"ADSL": adsl, "ADAE": adae, "ADLB": adlb, "ADQS": adqs, "ADRS": adrs}


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Read `OUT/sdtm`, derive every ADaM dataset, write `OUT/adam/<name>.parquet` and `.xpt` atomically.
    Returns the record count of each dataset."""
    datasets = derive_adam(read_sdtm(ctx.folder("sdtm")), ctx.study)
    with ctx.staging("adam") as folder:
        for df in datasets.values():
            write_dataset(df, folder, ctx.stamp)
    return {name.lower(): len(df) for name, df in datasets.items()}
