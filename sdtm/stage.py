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

from sap.batches import DEFAULT_BATCH_SUBJECTS, write_dataset_batches
from sap.datasets import write_dataset
from sap.pipeline import RunContext
from sap.specs import apply_spec
from sap.study import Study
from sdtm.ae import build_ae
from sdtm.cm import build_cm
from sdtm.dm import build_dm
from sdtm.ds import build_ds
from sdtm.elements import EVENTS, FINDINGS, add_epoch, build_se, build_sv
from sdtm.ex import build_ex
from sdtm.lb import FLOW_FORM, LAB_FORM, build_lb, check_raw_labs, lab_catalogue
from sdtm.mh import build_mh
from sdtm.qs import BILAG_FORM, PGA_FORM, SLEDAI_FORM, build_qs
from sdtm.raw import DomainResult, RawExtract, read_raw_extract
from sdtm.reconcile import reconcile, write_reconciliation
from sdtm.trial_design import build_ta, build_te, build_ti, build_ts, build_tv
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
# The date that places each record in an epoch of SE (`sdtm.elements.epoch_of`) and how a boundary day is read.
EPOCH_DATES: dict[str, tuple[str, str]] = {
    "DS": ("DSSTDTC", EVENTS), "EX": ("EXSTDTC", EVENTS), "AE": ("AESTDTC", EVENTS), "CM": ("CMDTC", FINDINGS),
    "VS": ("VSDTC", FINDINGS), "LB": ("LBDTC", FINDINGS), "QS": ("QSDTC", FINDINGS),
}
# The raw forms each of them reads: a batch of subjects without any of these rows adds nothing to the domain.
DM_BUILDER_FORMS: dict[str, tuple[str, ...]] = {"LB": (LAB_FORM, FLOW_FORM), "QS": (SLEDAI_FORM, BILAG_FORM, PGA_FORM)}


def with_epoch(name: str, result: DomainResult, se: pd.DataFrame) -> DomainResult:
    """The builder's result with EPOCH added from SE for the domains of EPOCH_DATES."""
    if name not in EPOCH_DATES:
        return result
    variable, kind = EPOCH_DATES[name]
    return replace(result, domain=add_epoch(result.domain, se, variable, kind))


def build_each(raw: RawExtract, study: Study) -> Iterator[tuple[str, DomainResult]]:
    """Every subject domain's DomainResult (before spec application), DM first, with EPOCH from SE, yielded
    one at a time so that the caller can write a domain and let it go before the next is built."""
    dm = build_dm(raw, study)
    yield "DM", dm
    se = build_se(raw, study, dm.domain)
    for name, build in INDEPENDENT_BUILDERS.items():
        yield name, with_epoch(name, build(raw, study), se)
    for name, build in DM_BUILDERS.items():
        yield name, with_epoch(name, build(raw, study, dm.domain), se)


def build_sdtm(raw: RawExtract, study: Study) -> dict[str, DomainResult]:
    """Every domain's DomainResult (before spec application), DM first."""
    return dict(build_each(raw, study))


def subject_raw(raw: RawExtract, subjects: pd.Series, unknown_too: bool, known: pd.Series) -> RawExtract:
    """The raw extract restricted to the rows of some subjects (raw SUBJECT in `subjects`), plus, when
    `unknown_too`, the rows of subjects absent from DM (`known`), which the builders reject; raw row
    numbers (ROW) and the index are kept."""
    forms = {}
    for form, df in raw.forms.items():
        if "SUBJECT" not in df.columns:
            forms[form] = df
            continue
        keep = df["SUBJECT"].isin(subjects)
        if unknown_too:
            keep |= ~df["SUBJECT"].isin(known)
        forms[form] = df.loc[keep]
    return RawExtract(forms=forms, folder=raw.folder)


def _batches(name: str, raw: RawExtract, dm: pd.DataFrame, batch_subjects: int) -> Iterator[tuple[RawExtract, pd.DataFrame]]:
    """(raw rows, DM rows) of `batch_subjects` DM subjects at a time in USUBJID order, made one at a time;
    the rows of subjects absent from DM go with the first batch. The builders cannot take a batch without
    rows (`sdtm.common.edc_date_to_iso` fails on an empty column) and such a batch maps and rejects nothing,
    so it is left out; when every batch is empty, the whole extract is one batch, as unbatched."""
    ordered = dm.sort_values("USUBJID", kind="stable")
    yielded = False
    for start in range(0, len(ordered), batch_subjects):
        part = ordered.iloc[start:start + batch_subjects]
        subset = subject_raw(raw, part["SUBJID"], start == 0, dm["SUBJID"])
        if any(len(subset[form]) for form in DM_BUILDER_FORMS[name]):
            yielded = True
            yield subset, part
        del subset
    if not yielded:
        yield raw, dm


def build_in_batches(name: str, raw: RawExtract, study: Study, dm: pd.DataFrame, batch_subjects: int,
                     results: dict[str, DomainResult], se: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """A DM-dependent domain (LB, QS) built for `batch_subjects` DM subjects at a time, in USUBJID order
    (every derivation of these builders works within a subject: baseline flag, --SEQ, visits), each batch
    conformed to the spec; the mapped counts and rejected rows of all batches are gathered in `results`."""
    build = DM_BUILDERS[name]
    mapped: dict[str, int] = {}
    rejected = []
    for subset, part in _batches(name, raw, dm, batch_subjects):
        result = with_epoch(name, build(subset, study, part), se)
        for form, count in result.mapped.items():
            mapped[form] = mapped.get(form, 0) + count
        if len(result.rejected):
            rejected.append(result.rejected)
        yield apply_spec(result.domain, name.lower())
        empty = result.domain.iloc[:0]
        del result
    rejected_all = pd.concat(rejected, ignore_index=True) if rejected else DomainResult(empty, {}).rejected
    results[name] = DomainResult(domain=empty, mapped=mapped, rejected=rejected_all)


def run_stage(ctx: RunContext, batch_subjects: int = DEFAULT_BATCH_SUBJECTS) -> dict[str, int]:
    """Read and check the raw extract, build and conform every domain (the subject domains, then SE, SV and
    the trial design domains TA, TE, TV, TI, TS), reconcile, write `sdtm/`:
    `<domain>.parquet` + `<domain>.xpt`, `reconciliation.csv`, `rejected_records.csv`. Returns the record
    count of each domain and the number of rejected raw rows. Each domain is written into the staging
    folder as soon as it is built and then released (only its counts and rejections are kept for the
    reconciliation); LB and QS, the large ones, are built `batch_subjects` subjects at a time
    (`sap.batches`: the same files as one whole build), so peak memory is the raw extract plus one batch;
    a failed reconciliation still discards the whole folder."""
    raw = read_raw_extract(ctx.raw_dir, ctx.study)
    check_raw_labs(raw, *lab_catalogue())  # every lab problem at once, not only those of the first bad batch
    results: dict[str, DomainResult] = {}
    counts: dict[str, int] = {}
    with ctx.staging("sdtm") as folder:
        dm = build_dm(raw, ctx.study)
        se = build_se(raw, ctx.study, dm.domain)
        for name, build in [("DM", lambda: dm), *((n, lambda b=b: b(raw, ctx.study)) for n, b in INDEPENDENT_BUILDERS.items())]:
            result = with_epoch(name, build(), se)
            dataset = apply_spec(result.domain, name.lower())
            write_dataset(dataset, folder, ctx.stamp)
            counts[name.lower()] = len(dataset)
            results[name] = replace(result, domain=result.domain.iloc[:0])
            del result, dataset  # before the next domain is built
        for name in DM_BUILDERS:
            batches = build_in_batches(name, raw, ctx.study, dm.domain, batch_subjects, results, se)
            counts[name.lower()] = write_dataset_batches(batches, folder, ctx.stamp)
        design = {
            "SE": se,
            "SV": build_sv(raw, ctx.study, dm.domain, se),
            "TA": build_ta(ctx.study),
            "TE": build_te(ctx.study),
            "TV": build_tv(ctx.study),
            "TI": build_ti(ctx.study),
            "TS": build_ts(ctx.study, dm.domain),
        }
        for name, frame in design.items():
            dataset = apply_spec(frame, name.lower())
            write_dataset(dataset, folder, ctx.stamp)
            counts[name.lower()] = len(dataset)
        reconciliation, rejected = reconcile(raw, results)
        write_reconciliation(reconciliation, rejected, folder)
    counts["rejected"] = len(rejected)
    return counts
