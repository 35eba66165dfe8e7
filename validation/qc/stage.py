"""The `qc` stage: derive the QC twin from `OUT/sdtm`, compare it with production `OUT/adam`, write
`OUT/qc/` (the QC datasets `<name>_qc.parquet`, `qc_report.md`, `qc_results.json`) atomically.

Any mismatch is a failure: `ValidationFailed` with one line per mismatching variable, after the report has
been written; with `ctx.allow_invalid` the failure becomes a note that the outputs carry.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sap.datasets import find_datasets, read_dataset, write_json, write_parquet
from sap.errors import Problem, SapError, ValidationFailed
from sap.pipeline import RunContext
from validation.qc.compare import compare_all, report_markdown
from validation.qc.derive import derive_qc


def read_folder(folder: Path, what: str, command: str) -> dict[str, pd.DataFrame]:
    """Every dataset of a folder by upper-case name; an empty or missing folder is one problem."""
    paths = find_datasets(folder) if folder.is_dir() else {}
    if not paths:
        raise SapError(Problem(str(folder), f"no {what} datasets found (run `{command}` first)"))
    return {name: read_dataset(path) for name, path in paths.items()}


def run_qc(sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame], study):
    """QC datasets and comparison results (no files)."""
    qc = derive_qc(sdtm, study)
    return qc, compare_all(qc, adam, study)


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Derive the QC twin, compare, write OUT/qc; raise ValidationFailed on any mismatch (unless allowed)."""
    sdtm = read_folder(ctx.folder("sdtm"), "SDTM", "sap sdtm")
    adam = read_folder(ctx.folder("adam"), "ADaM", "sap adam")
    qc, results = run_qc(sdtm, adam, ctx.study)
    with ctx.staging("qc") as folder:
        for name, df in qc.items():
            frame = df.copy()
            frame.attrs = {"name": f"{name}QC", "label": f"QC twin of {name}"}
            write_parquet(frame, folder / f"{name.lower()}_qc.parquet")
        (folder / "qc_report.md").write_text(report_markdown(results, qc["SRIRATES"], ctx.study), encoding="utf-8")
        write_json({"status": "PASS" if all(r.passed for r in results) else "FAIL",
                    "datasets": {r.name: r.as_json() for r in results}}, folder / "qc_results.json")
    problems = [p for r in results for p in r.problems()]
    if problems:
        if not ctx.allow_invalid:
            raise ValidationFailed(problems)
        ctx.notes.append(f"QC: production and the QC twin differ ({len(problems)} finding(s)); see qc/qc_report.md")
    return {"datasets": len(results), "values compared": sum(r.rows_matched * len(r.variables) for r in results),
            "mismatches": sum(f["count"] for r in results for f in r.mismatches.values())}
