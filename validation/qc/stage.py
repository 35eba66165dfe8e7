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
from validation.qc.tables import compare_ard, qc_tables


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


def production_ards(adam: dict[str, pd.DataFrame], study, numbers: list[str]) -> dict[str, pd.DataFrame]:
    """The production ARD of each table: its builder from sap/outputs.yaml run on production ADaM (the
    production side of the comparison, not a QC input)."""
    from tlf.catalog import load_outputs

    catalogue = load_outputs()
    return {number: catalogue.get(number).builder_function()(adam, catalogue.get(number), study).analysis_results()
            for number in numbers}


def run_table_qc(adam: dict[str, pd.DataFrame], study, production: dict[str, pd.DataFrame] | None = None) -> dict[str, dict]:
    """Table QC: the independent QC ARD of every double-programmed table compared value by value with the
    production ARD (`production`, else built from the catalogue's builders)."""
    qc = qc_tables(adam, study)
    production = production if production is not None else production_ards(adam, study, list(qc))
    return {number: compare_ard(production[number], qc[number]) for number in qc}


def table_problems(results: dict[str, dict]) -> list[Problem]:
    """One Problem per failing table, naming the first differing key."""
    problems = []
    for number, result in results.items():
        if result["status"] == "PASS":
            continue
        if result["examples"]:
            first = result["examples"][0]
            detail = f"{result['values_differ']} value(s) differ (production {first['production']}, QC {first['qc']})"
            problems.append(Problem(f"QC table {number}", detail, row=first["key"]))
        for side in ("production", "qc"):
            keys = result[f"only_in_{side}"]
            if keys:
                problems.append(Problem(f"QC table {number}", f"{len(keys)} statistic(s) only in {side}", row=keys[0]))
    return problems


def tables_markdown(results: dict[str, dict]) -> str:
    """The table QC section of qc_report.md."""
    lines = ["", "## Tables: independent ARD (double programming of every cell)", "",
             "Each table's statistics recomputed from production ADaM by `validation/qc/tables.py` (no import of "
             "`tlf/`), compared on the ARD key with the production ARD: values within 1e-9 and the displayed text "
             "identical.", "",
             "| Table | Statistics production | Statistics QC | Matched | Only production | Only QC | Differ | Status |",
             "|---|---|---|---|---|---|---|---|"]
    for number, r in results.items():
        lines.append(f"| {number} | {r['rows_production']} | {r['rows_qc']} | {r['rows_matched']} | "
                     f"{len(r['only_in_production'])} | {len(r['only_in_qc'])} | {r['values_differ']} | {r['status']} |")
    for number, r in results.items():
        for example in r["examples"]:
            lines.append(f"\n- {number} {example['key']}: production {example['production']}, QC {example['qc']}")
    return "\n".join(lines) + "\n"


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Derive the QC twin, compare, write OUT/qc; raise ValidationFailed on any mismatch (unless allowed)."""
    sdtm = read_folder(ctx.folder("sdtm"), "SDTM", "sap sdtm")
    adam = read_folder(ctx.folder("adam"), "ADaM", "sap adam")
    qc, results = run_qc(sdtm, adam, ctx.study)
    tables = run_table_qc(adam, ctx.study)
    with ctx.staging("qc") as folder:
        for name, df in qc.items():
            frame = df.copy()
            frame.attrs = {"name": f"{name}QC", "label": f"QC twin of {name}"}
            write_parquet(frame, folder / f"{name.lower()}_qc.parquet")
        (folder / "qc_report.md").write_text(report_markdown(results, qc["SRIRATES"], ctx.study) + tables_markdown(tables),
                                             encoding="utf-8")
        passed = all(r.passed for r in results) and all(t["status"] == "PASS" for t in tables.values())
        write_json({"status": "PASS" if passed else "FAIL",
                    "datasets": {r.name: r.as_json() for r in results}, "tables": tables}, folder / "qc_results.json")
    problems = [p for r in results for p in r.problems()] + table_problems(tables)
    if problems:
        if not ctx.allow_invalid:
            raise ValidationFailed(problems)
        ctx.notes.append(f"QC: production and the QC twin differ ({len(problems)} finding(s)); see qc/qc_report.md")
    return {"datasets": len(results), "values compared": sum(r.rows_matched * len(r.variables) for r in results),
            "mismatches": sum(f["count"] for r in results for f in r.mismatches.values()),
            "tables": len(tables), "table statistics compared": sum(t["rows_matched"] for t in tables.values()),
            "table mismatches": sum(t["values_differ"] + len(t["only_in_production"]) + len(t["only_in_qc"])
                                    for t in tables.values())}
