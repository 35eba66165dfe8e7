"""The `submit` stage (`sap submit`, last stage of `sap run`, after render): builds `output/submission/`
from `output/sdtm`, `output/adam` and the plan. See `submission.ectd` for the layout."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

from sap.datasets import read_parquet
from sap.errors import Problem, SapError
from sap.specs import load_spec
from tlf.catalog import load_outputs
from submission.acrf import write_acrf
from submission.arm import build_analysis_results, read_reporting_event
from submission.datasetjson import write_dataset_json
from submission.define import DefineBuilder, render_html, stylesheet_path, write_define
from submission.guides import render_guides
from submission.ectd import copy_datasets, copy_programs, study_folder, write_checksums

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def mdv_oid(studyid: str, standard: str) -> str:
    """The define.xml MetaDataVersion OID of a standard's define."""
    return f"MDV.{studyid}.{standard}"


# The documents each define.xml points to (leaf id -> file name in the same folder).
DOCUMENTS = {"SDTM": {"LF.acrf": "acrf.pdf", "LF.csdrg": "csdrg.pdf"}, "ADaM": {"LF.adrg": "adrg.pdf"}}


def _datasets(source: Path, target: Path, standard: str, ctx, non_ascii: list[dict], html: Path) -> list[str]:
    """XPT (TCG), Dataset-JSON and NDJSON of every dataset, define.xml and its stylesheet into `target`;
    the define rendered to HTML into `html` (a reviewer's view, outside the eCTD tree)."""
    names, found = copy_datasets(source, target, ctx.stamp)
    non_ascii += found
    study = ctx.study.study
    datasets = {}
    for name in names:
        df = read_parquet(source / f"{name.lower()}.parquet")
        spec = load_spec(name)
        write_dataset_json(df, spec, target, study.studyid, study.sponsor, ctx.stamp, mdv_oid(study.studyid, standard))
        datasets[name] = (spec, df)
    analysis_results = None
    if standard == "ADaM":
        # ARM from the ARS ReportingEvent of the render stage: one source for both
        programs = {o.number: o.builder for o in load_outputs().outputs if o.builder}
        analysis_results = build_analysis_results(read_reporting_event(ctx.out), {n: set(df.columns) for n, (_, df) in datasets.items()},
                                                  programs, ctx.study.primary_visit.visit)
    odm = DefineBuilder(standard, ctx.study, ctx.stamp).build(datasets, DOCUMENTS[standard], analysis_results)
    define = write_define(odm, target / "define.xml")
    shutil.copyfile(stylesheet_path(), target / stylesheet_path().name)
    render_html(define, html)
    return names


def run_stage(ctx) -> dict[str, int]:
    """Write `submission/`: the eCTD tree (datasets as XPT and Dataset-JSON, define.xml, stylesheet,
    reviewer guides, annotated CRF, programs), `non_ascii.csv` and `checksums.sha256`."""
    for needed in ("sdtm", "adam"):
        if not (ctx.out / needed).is_dir():
            raise SapError(Problem(str(ctx.out / needed), f"not found: run `sap {needed}` first"))
    non_ascii: list[dict] = []
    with ctx.staging("submission") as folder:
        root = study_folder(folder, ctx.study.study.studyid)
        sdtm_folder = root / "tabulations" / "sdtm"
        adam_folder = root / "analysis" / "adam" / "datasets"
        sdtm = _datasets(ctx.out / "sdtm", sdtm_folder, "SDTM", ctx, non_ascii, folder / "define_sdtm.html")
        adam = _datasets(ctx.out / "adam", adam_folder, "ADaM", ctx, non_ascii, folder / "define_adam.html")
        write_acrf(sdtm_folder / "acrf.pdf", ctx.study.study.studyid, ctx.stamp)
        with tempfile.TemporaryDirectory() as scratch:
            render_guides({"csdrg": sdtm_folder / "csdrg.pdf", "adrg": adam_folder / "adrg.pdf"},
                          {"SAP_OUT": str(ctx.out.resolve())}, ctx.study.study.studyid, ctx.stamp, Path(scratch))
        programs = copy_programs(SOURCE_ROOT, root / "analysis" / "adam" / "programs")
        with (folder / "non_ascii.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["DATASET", "VARIABLE", "RECORD", "VALUE"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(non_ascii)
        files = write_checksums(folder / "m5", folder / "checksums.sha256")
    if non_ascii:
        ctx.log(f"  note: {len(non_ascii)} non-ASCII text value(s) in the datasets: see {ctx.out}/submission/non_ascii.csv")
    return {"sdtm": len(sdtm), "adam": len(adam), "programs": len(programs), "files": files, "non-ascii": len(non_ascii)}
