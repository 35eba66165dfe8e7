"""The `sdtm` stage: raw EDC extract -> SDTM domains (parquet + XPT), reconciliation and rejected records.

Reads `ctx.raw_dir` (the twin's `output/raw` or a real extract given with `--raw`), checks it as a whole
(`sdtm.raw.read_raw_extract`: one InputError listing every problem), runs every builder, conforms each
domain to its spec (`sap/specs/sdtm/<domain>.yaml`), reconciles raw rows against the domains, and writes
everything atomically into `ctx.out/sdtm`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pandas as pd

from sap.datasets import write_dataset
from sap.pipeline import RunContext
from sap.specs import apply_spec
from sap.study import Study
from sdtm.ae import build_ae
from sdtm.cm import build_cm
from sdtm.dm import build_dm
from sdtm.ds import build_ds
from sdtm.ex import build_ex
from sdtm.lb import build_lb
from sdtm.mh import build_mh
from sdtm.qs import build_qs
from sdtm.raw import DomainResult, RawExtract, read_raw_extract
from sdtm.reconcile import reconcile, write_reconciliation
from sdtm.vs import build_vs

# Builders that need only the raw extract and the plan, in output order after DM.
INDEPENDENT_BUILDERS: dict[str, Callable[[RawExtract, Study], DomainResult]] = {
    "DS": build_ds,
    "EX": build_ex,
    "AE": build_ae,
    "MH": build_mh,
    "CM": build_cm,
    "VS": build_vs,
}
# Builders that take DM (USUBJID, RFSTDTC, RFXSTDTC by SUBJID) as a third argument.
DM_BUILDERS: dict[str, Callable[[RawExtract, Study, pd.DataFrame], DomainResult]] = {
    "LB": build_lb,
    "QS": build_qs,
}


def build_each(raw: RawExtract, study: Study) -> Iterator[tuple[str, DomainResult]]:
    """Every domain's DomainResult (before spec application), DM first, yielded one at a time so that the
    caller can write a domain and let it go before the next is built."""
    dm = build_dm(raw, study)
    yield "DM", dm
    for name, build in INDEPENDENT_BUILDERS.items():
        yield name, build(raw, study)
    for name, build in DM_BUILDERS.items():
        yield name, build(raw, study, dm.domain)


def build_sdtm(raw: RawExtract, study: Study) -> dict[str, DomainResult]:
    """Every domain's DomainResult (before spec application), DM first."""
    return dict(build_each(raw, study))


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Read and check the raw extract, build and conform every domain, reconcile, write `sdtm/`:
    `<domain>.parquet` + `<domain>.xpt`, `reconciliation.csv`, `rejected_records.csv`. Returns the record
    count of each domain and the number of rejected raw rows. Each domain is written into the staging
    folder as soon as it is built and then released (only its counts and rejections are kept for the
    reconciliation), so peak memory is the raw extract plus the largest domain; a failed reconciliation
    still discards the whole folder."""
    raw = read_raw_extract(ctx.raw_dir, ctx.study)
    results: dict[str, DomainResult] = {}
    counts: dict[str, int] = {}
    with ctx.staging("sdtm") as folder:
        for name, result in build_each(raw, ctx.study):
            dataset = apply_spec(result.domain, name.lower())
            write_dataset(dataset, folder, ctx.stamp)
            counts[name.lower()] = len(dataset)
            results[name] = replace(result, domain=result.domain.iloc[:0])
            del result, dataset  # before the next domain is built
        reconciliation, rejected = reconcile(raw, results)
        write_reconciliation(reconciliation, rejected, folder)
    counts["rejected"] = len(rejected)
    return counts
