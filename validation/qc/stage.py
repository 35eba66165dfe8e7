"""The `qc` stage: derive the QC twin from `OUT/sdtm`, compare it with production `OUT/adam`, write
`OUT/qc/` (the QC datasets `<name>_qc.parquet`, `qc_report.md`, `qc_results.json`) atomically.

The work is done by subject partition (`sap.batches.subject_batches`, 10,000 subjects at a time): every QC
derivation and every comparison of ADSL, ADQS, ADRS and ADAE works within a subject, so each partition's
SDTM and production records (only the variables QC reads) are read from parquet, derived, compared and
written, and only the partition is in memory. The one cross-subject result, the SRI response rates, is made
from the partitions' responder counts (QC side) and from the production ADSL/ADRS columns the TLFs read
(production side). Up to 10,000 subjects this is one partition and the files are those of a whole run.

Any mismatch is a failure: `ValidationFailed` with one line per mismatching variable, after the report has
been written; with `ctx.allow_invalid` the failure becomes a note that the outputs carry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from sap.batches import DEFAULT_BATCH_SUBJECTS, read_subjects, subject_batches, write_parquet_batches
from sap.datasets import find_datasets, read_dataset, read_parquet, write_json, write_parquet
from sap.errors import Problem, SapError, ValidationFailed
from sap.specs import read_yaml
from sap.pipeline import RunContext
from validation.qc.compare import TARGETS, compare_all, compare_one, merge_results, production_rates, report_markdown
from validation.qc.derive import SDTM_NEEDS, check_sdtm, derive_qc, rates_from_counts, sum_counts
from validation.qc.tables import compare_ard, qc_tables

RATES = "SRIRATES"
RATES_OUTPUT = "14.2.2"  # the output whose catalogue `reads` the production rates need
# production variables the comparisons read besides each target's keys and variables (ADQS record filter)
RECORD_FILTER = ["ANL01FL", "PARAMCD"]


def rate_reads() -> dict[str, list[str]]:
    """Production variables of the TLF computation of the SRI rates (Table 14.2.2, FAS): `reads` of that
    output in the output catalogue (sap/outputs.yaml, or SAP_OUTPUTS_FILE), read as plan data here, not
    from production code."""
    path = Path(os.environ.get("SAP_OUTPUTS_FILE") or Path(__file__).resolve().parents[2] / "sap" / "outputs.yaml")
    entries = [o for o in read_yaml(path)["outputs"] if str(o.get("number")) == RATES_OUTPUT]
    if not entries or "ADRS" not in entries[0].get("reads", {}):
        raise SapError(Problem(str(path), "the SRI rates' output has no ADRS `reads`", row=RATES_OUTPUT, variable="reads"))
    return {name: list(columns) for name, columns in entries[0]["reads"].items()}


def read_folder(folder: Path, what: str, command: str) -> dict[str, pd.DataFrame]:
    """Every dataset of a folder by upper-case name; an empty or missing folder is one problem."""
    return {name: read_dataset(path) for name, path in dataset_paths(folder, what, command).items()}


def dataset_paths(folder: Path, what: str, command: str) -> dict[str, Path]:
    """The dataset files of a folder by upper-case name; an empty or missing folder is one problem."""
    paths = find_datasets(folder) if folder.is_dir() else {}
    if not paths:
        raise SapError(Problem(str(folder), f"no {what} datasets found (run `{command}` first)"))
    return paths


def run_qc(sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame], study):
    """QC datasets and comparison results (no files), on whole datasets in memory."""
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


class FolderDatasets(Mapping):
    """The datasets of a folder by upper-case name, read from disk at each access and never kept (the
    table QC reads a few ADaM datasets one after the other; holding all of them would make the stage's
    memory follow the study)."""

    def __init__(self, paths: dict[str, Path]):
        self.paths = paths

    def __getitem__(self, name: str) -> pd.DataFrame:
        return read_dataset(self.paths[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _columns(path: Path) -> list[str]:
    return pq.read_schema(path).names if path.suffix.lower() == ".parquet" else list(read_dataset(path).columns)


def _read(path: Path, ids, columns: list[str]) -> pd.DataFrame:
    """The given columns (those the file has) of the rows of subjects `ids` (all rows when None)."""
    if path.suffix.lower() == ".parquet" and ids is not None and "USUBJID" in _columns(path):
        return read_subjects(path, ids, columns)
    df = read_dataset(path)
    if ids is not None and "USUBJID" in df.columns:
        df = df.loc[df["USUBJID"].isin(ids)].reset_index(drop=True)
    out = df[[c for c in columns if c in df.columns]]
    out.attrs = df.attrs
    return out


def _subject_column(path: Path) -> pd.Series:
    if "USUBJID" not in _columns(path):
        return pd.Series([], dtype="str")
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path, columns=["USUBJID"]).column("USUBJID").to_pandas()
    return read_dataset(path)["USUBJID"]


def partitions(sdtm_paths: dict[str, Path], adam_paths: dict[str, Path], size: int) -> list:
    """Subject partitions over every subject of DM and of the production datasets compared, so that a
    production record of a subject absent from DM is still compared (and reported); a missing USUBJID
    (which no subject filter selects) makes one partition of everything (None: read whole files)."""
    sources = [sdtm_paths[n] for n in ("DM",) if n in sdtm_paths]
    sources += [adam_paths[t.name] for t in TARGETS if t.name in adam_paths]
    subjects = pd.concat([_subject_column(p) for p in sources], ignore_index=True)
    if subjects.isna().any():
        return [None]
    return subject_batches(subjects, size)


def run_stage(ctx: RunContext, batch_subjects: int = DEFAULT_BATCH_SUBJECTS) -> dict[str, int]:
    """Derive the QC twin, compare, write OUT/qc, one subject partition at a time (see the module
    docstring); raise ValidationFailed on any mismatch (unless allowed)."""
    sdtm_paths = dataset_paths(ctx.folder("sdtm"), "SDTM", "sap sdtm")
    adam_paths = dataset_paths(ctx.folder("adam"), "ADaM", "sap adam")
    # every missing SDTM dataset or variable at once, from the schemas, before any partition is read
    check_sdtm({n: pd.DataFrame(columns=_columns(p)) for n, p in sdtm_paths.items() if n in SDTM_NEEDS})
    targets = [t for t in TARGETS if t.name != RATES]
    reads = {t.name: list(dict.fromkeys(t.keys + t.variables + RECORD_FILTER)) for t in targets}
    parts: dict[str, list] = {t.name: [] for t in targets}
    counts, written = [], {}
    study = ctx.study
    with ctx.staging("qc") as folder:
        scratch = folder / ".partitions"
        batches = partitions(sdtm_paths, adam_paths, batch_subjects)
        for number, ids in enumerate(batches):
            sdtm = {n: _read(sdtm_paths[n], ids, columns) for n, columns in SDTM_NEEDS.items()}
            production = {n: _read(adam_paths[n], ids, reads[n]) for n in reads if n in adam_paths}
            qc = derive_qc(sdtm, study, rates=False)
            for target in targets:
                parts[target.name].append(compare_one(target, production, qc))
            counts.append(qc.pop("SRICOUNTS"))
            if len(batches) == 1:
                written = qc
            else:  # each partition's QC datasets wait on disk, joined into one file per dataset below
                for name, df in qc.items():
                    (scratch / name).mkdir(parents=True, exist_ok=True)
                    write_parquet(df, scratch / name / f"{number:05d}.parquet")
            del sdtm, production, qc
        rates = rates_from_counts(sum_counts(counts), study)
        reads_for_rates = rate_reads()
        production = {n: _read(adam_paths[n], None, columns) for n, columns in reads_for_rates.items() if n in adam_paths}
        if len(production) == len(reads_for_rates):
            production[RATES] = production_rates(production, study)
        results = [merge_results(parts[t.name]) if t.name != RATES else compare_one(t, production, {RATES: rates})
                   for t in TARGETS]
        del production
        tables = run_table_qc(FolderDatasets(adam_paths), study)
        names = list(written) or sorted(p.name for p in scratch.iterdir())
        for name in [*names, RATES]:
            path = folder / f"{name.lower()}_qc.parquet"
            attrs = {"name": f"{name}QC", "label": f"QC twin of {name}"}
            if name == RATES or len(batches) == 1:
                frame = (rates if name == RATES else written[name]).copy()
                frame.attrs = attrs
                write_parquet(frame, path)
            else:
                write_parquet_batches((_labelled(read_parquet(p), attrs) for p in sorted((scratch / name).glob("*.parquet"))), path)
        if scratch.exists():
            import shutil

            shutil.rmtree(scratch)
        (folder / "qc_report.md").write_text(report_markdown(results, rates, study) + tables_markdown(tables), encoding="utf-8")
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


def _labelled(df: pd.DataFrame, attrs: dict) -> pd.DataFrame:
    df.attrs = attrs
    return df
