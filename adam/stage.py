"""The ADaM stage: SDTM (`OUT/sdtm/*.parquet`) -> ADSL, ADAE, ADEX, ADLB, ADQS, ADRS, ADTTE (`OUT/adam/`).

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
from adam.adex import derive_adex
from adam.adlb import derive_adlb
from adam.adqs import derive_adqs
from adam.adrs import derive_adrs
from adam.adsl import derive_adsl
from adam.adtte import ADRS_COLUMNS, derive_adtte
import pyarrow.parquet as pq

from sap.batches import DEFAULT_BATCH_SUBJECTS, read_subjects, subject_batches, write_dataset_batches
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
    yield "ADEX", apply_spec(derive_adex(sdtm, study, adsl), "adex")
    yield "ADLB", apply_spec(derive_adlb(sdtm, study, adsl), "adlb")
    adqs = derive_adqs(sdtm, study, adsl)
    yield "ADQS", adqs
    adrs = derive_adrs(sdtm, study, adsl, adqs=adqs)
    yield "ADRS", adrs
    yield "ADTTE", derive_adtte(sdtm, study, adsl, adrs=adrs)


def derive_adam(sdtm: Mapping[str, pd.DataFrame], study: Study) -> dict[str, pd.DataFrame]:
    """All ADaM datasets, each conformed to its spec, in dependency order (ADSL first, ADRS after ADQS)."""
    return dict(derive_adam_each(sdtm, study))


class SubjectSdtm(SdtmFolder):
    """The SDTM datasets of a folder restricted to some subjects (parquet row filter on USUBJID)."""

    def __init__(self, folder: SdtmFolder, subjects):
        self.paths = folder.paths
        self.subjects = subjects

    def __getitem__(self, name: str) -> pd.DataFrame:
        path = self.paths[name]
        if path.suffix.lower() != ".parquet":
            df = read_dataset(path)
            return df.loc[df["USUBJID"].isin(self.subjects)].reset_index(drop=True) if "USUBJID" in df.columns else df
        return read_subjects(path, self.subjects) if "USUBJID" in pq.read_schema(path).names else read_dataset(path)


def _batches_of(sources: list[pd.Series], batch_subjects: int) -> list:
    """Batches over every subject of ADSL and of the source dataset, so that a source record of a subject
    absent from ADSL still reaches the derivation (which reports it); a missing USUBJID (which no subject
    filter can select) makes one batch of everything."""
    subjects = pd.concat(sources, ignore_index=True)
    return subject_batches(subjects, len(subjects) + 1 if subjects.isna().any() else batch_subjects)


def _column(path_by_name: dict, name: str) -> pd.Series:
    path = path_by_name.get(name)
    if path is None or path.suffix.lower() != ".parquet" or "USUBJID" not in pq.read_schema(path).names:
        return pd.Series([], dtype="str")
    return pq.read_table(path, columns=["USUBJID"]).column("USUBJID").to_pandas()


def run_stage(ctx: RunContext, batch_subjects: int = DEFAULT_BATCH_SUBJECTS) -> dict[str, int]:
    """Read `OUT/sdtm`, derive every ADaM dataset, write `OUT/adam/<name>.parquet` and `.xpt` atomically.
    ADSL and ADAE are derived whole; the BDS datasets ADLB, ADQS and ADRS, whose derivations all work within
    a subject, are derived `batch_subjects` subjects at a time (`sap.batches`: identical files to one whole
    derivation; ADRS reads each batch's ADQS back from the written `adqs.parquet`), so peak memory is that
    of one batch. The batches run on the context's engine (`sap.engine`: this process, or Spark tasks
    with the same derivations and the same files). Returns the record count of each dataset."""
    from sap.engine import make_engine

    sdtm = SdtmFolder(ctx.folder("sdtm"))
    study, stamp = ctx.study, ctx.stamp
    engine = make_engine(ctx.engine, ctx.master)
    counts = {}
    with ctx.staging("adam") as folder:
        adsl = apply_spec(derive_adsl(sdtm, study), "adsl")
        write_dataset(adsl, folder, stamp)
        counts["adsl"] = len(adsl)
        adae = apply_spec(derive_adae(sdtm, study, adsl), "adae")
        write_dataset(adae, folder, stamp)
        counts["adae"] = len(adae)
        del adae
        adex = apply_spec(derive_adex(sdtm, study, adsl), "adex")  # one record per injection: derived whole
        write_dataset(adex, folder, stamp)
        counts["adex"] = len(adex)
        del adex

        def part(ids) -> pd.DataFrame:
            return adsl.loc[adsl["USUBJID"].isin(ids)].reset_index(drop=True)

        def adlb(ids) -> pd.DataFrame:
            return apply_spec(derive_adlb(SubjectSdtm(sdtm, ids), study, part(ids)), "adlb")

        def adqs(ids) -> pd.DataFrame:
            return derive_adqs(SubjectSdtm(sdtm, ids), study, part(ids))

        adqs_path = folder / "adqs.parquet"

        def adrs(ids) -> pd.DataFrame:
            return derive_adrs(SubjectSdtm(sdtm, ids), study, part(ids), adqs=read_subjects(adqs_path, ids))

        lb_batches = _batches_of([adsl["USUBJID"], _column(sdtm.paths, "LB")], batch_subjects)
        qs_batches = _batches_of([adsl["USUBJID"], _column(sdtm.paths, "QS")], batch_subjects)
        for name, derive, batches in (("adlb", adlb, lb_batches), ("adqs", adqs, qs_batches), ("adrs", adrs, qs_batches)):
            counts[name] = write_dataset_batches(engine.run_partitions(derive, batches, folder / f".{name}.partitions"), folder, stamp)
        # ADTTE has one record per FAS subject: derived whole from the ADRS columns it needs
        adrs_columns = pq.read_table(folder / "adrs.parquet", columns=ADRS_COLUMNS).to_pandas()
        adtte = derive_adtte(sdtm, study, adsl, adrs=adrs_columns)
        write_dataset(adtte, folder, stamp)
        counts["adtte"] = len(adtte)
    return counts
