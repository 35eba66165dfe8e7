"""The validation stage: every SDTM and ADaM dataset against the suites generated from its spec, the study
rules and the cross-dataset checks; `results.json` and `report.md` into `<out>/validation/`.

`sap validate [--data DIR]` and the pipeline's `validate` stage both land here. A failed expectation
raises ValidationFailed (one line per failure: dataset, variable, rule, unexpected count and first value)
unless the run allows invalid data, in which case the run carries a note instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sap.datasets import find_datasets, parquet_attrs, read_dataset, write_json
from sap.errors import Problem, SapError, SpecError, ValidationFailed
from sap.specs import SPECS_DIR, list_specs, load_codelists, load_spec
from validation.cross_checks import POPULATION_FLAGS, RECONCILIATION, References, cross_expectations
from validation.engine import GxRunner, Outcome, Planned, run_planned, shared_runner
from validation.report import write_report, write_results
from validation.study_rules import study_rule_expectations
from validation.suites import spec_expectations, xpt_expectations

DATASET_SUFFIXES = (".parquet", ".xpt")
LARGE_ROWS = 2_000_000  # above this a parquet dataset is validated a few columns at a time
COLUMN_GROUP = 8
STRUCTURE_RULES = {"variable_exists", "variable_in_spec", "xpt_name_length", "xpt_label_length", "xpt_dataset_label_length"}
# columns the study rules and cross-dataset checks read together (validated in the first column group)
RULE_COLUMNS = {"USUBJID", "PARAMCD", "AVAL", "AVALC", "BASE", "CHG", "AVISIT", "AVISITN", "VISITNUM", "ADT",
                "DTYPE", "ANL01FL", "TRTEMFL", "ASTDT", "TRTSDT", "SRCDOM", "SRCSEQ", "QSTESTCD", "QSORRES",
                "QSSTRESN", "QSDTC"}


# --------------------------------------------------------------------------------------------------------
# Loading


def _datasets_in(folder: Path) -> dict[str, Path]:
    """Dataset files (parquet preferred over XPT) plus the SDTM reconciliation CSV."""
    found = {n: p for n, p in find_datasets(folder).items() if p.suffix.lower() in DATASET_SUFFIXES}
    reconciliation = folder / "reconciliation.csv"
    if reconciliation.exists():
        found[RECONCILIATION] = reconciliation
    return found


def find_folder(data: Path, specs_dir: Path = SPECS_DIR) -> tuple[dict[str, Path], set[str]]:
    """The dataset files under `data/sdtm` and `data/adam`, or in `data` itself when it holds dataset
    files; returns (paths by upper-case name, names of the SDTM ones)."""
    data = Path(data)
    if not data.is_dir():
        raise SapError(Problem(str(data), "no such folder"))
    sdtm_dir, adam_dir = data / "sdtm", data / "adam"
    paths: dict[str, Path] = {}
    sdtm_names: set[str] = set()
    if sdtm_dir.is_dir() or adam_dir.is_dir():
        for folder in (sdtm_dir, adam_dir):
            if folder.is_dir():
                found = _datasets_in(folder)
                if folder == sdtm_dir:
                    sdtm_names |= set(found)
                paths.update(found)
    else:
        paths = _datasets_in(data)
        known_sdtm = set(list_specs("sdtm", specs_dir))
        sdtm_names = {n for n in paths if n in known_sdtm or n == RECONCILIATION or not n.startswith("AD")}
    if not paths:
        raise SapError(Problem(str(data), "no datasets found (expected sdtm/ and adam/ folders, or .parquet/.xpt files)"))
    return dict(sorted(paths.items())), sdtm_names


def read_columns(path: Path, columns: list[str]) -> pd.DataFrame | None:
    """Some columns of a dataset file (parquet reads only those), or None when one is missing."""
    if path.suffix.lower() == ".parquet":
        available = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=columns).to_pandas() if set(columns) <= available else None
    df = read_dataset(path)
    return df[columns] if set(columns) <= set(df.columns) else None


def folder_references(paths: dict[str, Path], sdtm_names: set[str]) -> References:
    """References for the cross-dataset checks of a folder: DM and ADSL in full (one row per subject),
    other datasets' (USUBJID, --SEQ) read on demand."""
    def read(name: str, columns: list[str]) -> pd.DataFrame | None:
        return read_columns(paths[name], columns) if name in paths else None
    return References(set(paths), sdtm_names, read_dataset(paths["DM"]) if "DM" in paths else None,
                      read_dataset(paths["ADSL"]) if "ADSL" in paths else None, read)


def load_folder(data: Path, specs_dir: Path = SPECS_DIR) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Every dataset of a folder in memory (see `find_folder`); `validate_folder` streams them instead."""
    paths, sdtm_names = find_folder(data, specs_dir)
    return {name: read_dataset(path) for name, path in paths.items()}, sdtm_names


# --------------------------------------------------------------------------------------------------------
# Validating


def _keys(df: pd.DataFrame, name: str, spec_keys: list[str] | None) -> list[str]:
    """Keys shown beside unexpected values: the spec keys, else USUBJID and the --SEQ."""
    keys = list(spec_keys or [])
    if not keys:
        keys = [c for c in ("USUBJID", f"{name}SEQ", "PARAMCD", "AVISITN") if c in df.columns]
    return [k for k in keys if k in df.columns]


def plan_dataset(name: str, df: pd.DataFrame, restrict_to_data: bool = False, study_rules: bool = True,
                 specs_dir: Path = SPECS_DIR) -> tuple[list[Planned], list[str]]:
    """Spec-driven suite + study rules for one dataset (cross-dataset checks are planned separately)."""
    if name == RECONCILIATION:
        return [], []
    rules = study_rule_expectations(name, df) if study_rules else []
    try:
        spec = load_spec(name, specs_dir)
    except SpecError:
        spec = None
    if spec is None:
        missing = Planned(name, "spec_exists", None, f"a spec describes {name} (sap/specs)",
                          check=lambda df: pd.DataFrame({"VALUE": [f"no spec for {name}"]}))
        return [missing, *xpt_expectations(name, df), *rules], _keys(df, name, None)
    planned = spec_expectations(spec, df, load_codelists(specs_dir), restrict_to_data=restrict_to_data)
    return planned + rules, _keys(df, name, list(spec.keys))


def validate_one(name: str, df: pd.DataFrame, references: References | None, runner: GxRunner,
                 restrict_to_data: bool = False, study_rules: bool = True, specs_dir: Path = SPECS_DIR) -> list[Outcome]:
    """Every expectation of one dataset: its spec suite, the study rules and (given references) the
    cross-dataset checks, run as one GX validation definition plus the plain checks."""
    planned, keys = plan_dataset(name, df, restrict_to_data=restrict_to_data, study_rules=study_rules, specs_dir=specs_dir)
    if references is not None:
        planned += cross_expectations(name, df, references)
    return run_planned(name, df, planned, keys, runner)


def validate_datasets(datasets: dict[str, pd.DataFrame], sdtm_names: set[str] | None = None,
                      restrict_to_data: bool = False, cross: bool = True, study_rules: bool = True,
                      runner: GxRunner | None = None, specs_dir: Path = SPECS_DIR,
                      only: set[str] | None = None) -> list[Outcome]:
    """Validate loaded datasets (upper-case names): one GX validation definition per dataset.

    `restrict_to_data`: check only the variables the data and our spec share (for datasets made elsewhere,
    e.g. the CDISC pilot). `cross` / `study_rules`: include those expectation families. `specs_dir`: the
    spec folder (default the package's `sap/specs`). `only`: validate just these datasets (the others
    still serve as references of the cross-dataset checks)."""
    references = References.from_datasets(datasets, set(sdtm_names or ())) if cross else None
    runner = runner or shared_runner()
    outcomes: list[Outcome] = []
    for name in sorted(datasets):
        if only is None or name in only:
            outcomes += validate_one(name, datasets[name], references, runner, restrict_to_data, study_rules, specs_dir)
    return outcomes


def validate_paths(paths: dict[str, Path], sdtm_names: set[str], runner: GxRunner | None = None,
                   specs_dir: Path = SPECS_DIR, large_rows: int = LARGE_ROWS) -> list[Outcome]:
    """Validate dataset files one at a time, so peak memory is about one dataset plus DM and ADSL; a parquet
    dataset of more than `large_rows` rows is validated in column groups (`validate_in_column_groups`)."""
    references = folder_references(paths, sdtm_names)
    runner = runner or shared_runner()
    outcomes: list[Outcome] = []
    for name, path in paths.items():
        if path.suffix.lower() == ".parquet" and pq.read_metadata(path).num_rows > large_rows and _has_spec(name, specs_dir):
            outcomes += validate_in_column_groups(name, path, references, runner, specs_dir)
            continue
        df = read_dataset(path)
        outcomes += validate_one(name, df, references, runner, specs_dir=specs_dir)
        rows = len(df)
        del df
        if rows >= RELEASE_MEMORY_ROWS:
            release_memory()
    return outcomes


def _has_spec(name: str, specs_dir: Path) -> bool:
    try:
        load_spec(name, specs_dir)
    except SpecError:
        return False
    return True


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def validate_in_column_groups(name: str, path: Path, references: References | None, runner: GxRunner,
                              specs_dir: Path = SPECS_DIR, group_size: int = COLUMN_GROUP) -> list[Outcome]:
    """The same expectations as `validate_one`, for a dataset too large to hold whole (millions of rows at
    100,000 subjects): parquet is read a few columns at a time, each group with the keys.

    - structure (variables exist, are in the spec, XPT name/label limits, dataset label) from the schema;
    - group 1: keys + the columns the study rules and cross-dataset checks read (USUBJID, PARAMCD, AVAL,
      ...), with key uniqueness, those rules and the per-variable checks of its columns;
    - further groups of `group_size` columns: their per-variable checks.
    Each group is one GX validation definition."""
    spec = load_spec(name, specs_dir)
    codelists = load_codelists(specs_dir)
    columns = pq.read_schema(path).names
    attrs = parquet_attrs(path)
    keys = [k for k in spec.keys if k in columns]
    structure = pd.DataFrame({c: pd.Series([], dtype="float64") for c in columns})
    structure.attrs = attrs
    outcomes = run_planned(name, structure, [p for p in spec_expectations(spec, structure, codelists)
                                             if p.rule in STRUCTURE_RULES], keys, runner)
    first = _unique(keys + [c for c in columns if c in RULE_COLUMNS or POPULATION_FLAGS.match(c)])
    rest = [c for c in columns if c not in first]
    groups = [first] + [rest[i:i + group_size] for i in range(0, len(rest), group_size)]
    for number, group in enumerate(groups):
        df = pq.read_table(path, columns=_unique(keys + group)).to_pandas()
        df.attrs = attrs
        planned = [p for p in spec_expectations(spec, df, codelists, restrict_to_data=True)
                   if p.rule not in STRUCTURE_RULES
                   and (p.column in group or (number == 0 and p.rule == "key_unique"))]
        if number == 0:
            planned += study_rule_expectations(name, df)
            if references is not None:
                planned += cross_expectations(name, df, references)
        outcomes += run_planned(name, df, planned, keys, runner)
        del df
        release_memory()
    return outcomes


# Below this many rows a dataset's memory is not worth a full garbage collection (about 0.3 s each, 7 of
# the 32 CPU seconds of validating the 40-subject twin when run after every dataset).
RELEASE_MEMORY_ROWS = 100_000


def release_memory() -> None:
    """Give the memory of a finished column group back before the next is read: GX leaves reference cycles
    that hold the group's frame until a garbage collection, and freed heap pages stay with the process until
    trimmed. Without this each group added ~0.7 GB to the peak (ADQS at 30,000 subjects: 6.0 -> 4.0 GB)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc:
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)  # glibc only
        if trim is not None:
            trim(0)


def failure_problems(outcomes: list[Outcome]) -> list[Problem]:
    """One Problem per failed expectation: dataset, key of the first offender, variable, rule, value."""
    problems = []
    for o in outcomes:
        if o.success:
            continue
        first = o.unexpected[0] if o.unexpected else {}
        key = ", ".join(f"{k}={v}" for k, v in first.get("key", {}).items()) or None
        message = (f"{o.rule} failed ({o.description}): could not evaluate: {o.error}" if o.error
                   else f"{o.rule} failed ({o.description}): {o.unexpected_count} unexpected")
        problems.append(Problem(o.dataset, message, row=key, variable=o.column, value=first.get("value")))
    return problems


def validate_folder(data: Path, out: Path, allow_invalid: bool = False, notes: list[str] | None = None,
                    staging=None, specs_dir: Path = SPECS_DIR, runner: GxRunner | None = None) -> dict[str, int]:
    """Validate the datasets found in `data`; write results.json and report.md to `out/validation`
    (through `staging` when given: the pipeline's atomic stage folder). Raise ValidationFailed on failure
    unless `allow_invalid`, in which case append a note and return the counts."""
    paths, sdtm_names = find_folder(Path(data), specs_dir)
    runner = runner or shared_runner()
    runner.suites.clear()  # a runner reused across folders exports only this folder's suites
    outcomes = validate_paths(paths, sdtm_names, runner=runner, specs_dir=specs_dir)
    if staging is not None:
        with staging("validation") as folder:
            write_outputs(outcomes, runner, folder)
    else:
        folder = Path(out) / "validation"
        folder.mkdir(parents=True, exist_ok=True)
        write_outputs(outcomes, runner, folder)
    failed = [o for o in outcomes if not o.success]
    counts = {"datasets": len(paths), "expectations": len(outcomes), "failed": len(failed)}
    if failed:
        if allow_invalid:
            if notes is not None:
                notes.append(f"validation failed: {len(failed)} expectations; outputs rendered with --allow-invalid")
            return counts
        raise ValidationFailed(failure_problems(outcomes))
    return counts


def write_outputs(outcomes: list[Outcome], runner: GxRunner, folder: Path) -> None:
    """results.json, report.md and `suites/<DATASET>.json`: each dataset's GX expectations as a GX suite that
    a GX user can load (`gx.ExpectationSuite(**json.load(f))`) and run on pandas or Spark."""
    write_results(outcomes, folder / "results.json")
    write_report(outcomes, folder / "report.md")
    suites = folder / "suites"
    suites.mkdir(exist_ok=True)
    for name in sorted(runner.suites):
        plain = sum(1 for o in outcomes if o.dataset == name and o.expectation.startswith("plain:"))
        write_json(runner.suite_json(name, plain), suites / f"{name}.json")


def run_stage(ctx) -> dict[str, int]:
    """Pipeline stage `validate`: `ctx.out/sdtm` and `ctx.out/adam` -> `ctx.out/validation`."""
    return validate_folder(ctx.out, ctx.out, allow_invalid=ctx.allow_invalid, notes=ctx.notes, staging=ctx.staging)
