"""The `sap` command. Every user-facing error is one line per problem and a non-zero exit code:
1 bad input or spec, 2 validation failed, 3 internal error (a bug: rerun with SAP_DEBUG=1 for the traceback)."""

from __future__ import annotations

import functools
import os
import sys

import click

from sap import pipeline
from sap.environment import lock_warning
from sap.errors import Problem, SapError, ValidationFailed


def _report_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            for line in exc.lines():
                click.echo(f"error: {line}", err=True)
            sys.exit(2)
        except SapError as exc:
            for line in exc.lines():
                click.echo(f"error: {line}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: say so in one line, keep the traceback for developers
            if os.environ.get("SAP_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with SAP_DEBUG=1 for the traceback)".splitlines()[0], err=True)
            sys.exit(3)

    return wrapper


def _common(func):
    func = click.option("--out", default="output", show_default=True, type=click.Path(file_okay=False), help="Output folder.")(func)
    func = click.option("--study", "study_file", default=None, type=click.Path(dir_okay=False), help="Plan file (default: the packaged sap/study.yaml).")(func)
    return func


def _engine(func):
    func = click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "spark"]),
                        help="Where the per-subject-partition derivations run: this process, or Apache Spark (pip install -e '.[spark]'; needs Java 17+).")(func)
    func = click.option("--master", default=None, help="Spark master URL with --engine spark (default local[2]; e.g. spark://host:7077).")(func)
    return func


def _twin(func):
    func = click.option("--subjects", default=pipeline.DEFAULT_SUBJECTS, show_default=True, type=click.IntRange(1, 1_000_000), help="Subjects in the synthetic twin.")(func)
    func = click.option("--seed", default=pipeline.DEFAULT_SEED, show_default=True, type=int, help="Seed of the synthetic twin.")(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="il2-sle-sap")
def main() -> None:
    """Low-dose IL-2 in SLE (NCT02084238): raw EDC extract -> SDTM -> ADaM -> validation -> TLFs."""


@main.command()
@_common
@_twin
@click.option("--raw", default=None, type=click.Path(exists=True, file_okay=False), help="A real EDC extract (one CSV per form) instead of the synthetic twin.")
@click.option("--allow-invalid", is_flag=True, help="Render tables even when validation fails (the outputs say so).")
@_engine
@_report_errors
def run(out, study_file, subjects, seed, raw, allow_invalid, engine, master):
    """The whole pipeline (synthetic twin unless --raw is given)."""
    ctx = pipeline.make_context(out=out, raw=raw, subjects=subjects, seed=seed, study_file=study_file, allow_invalid=allow_invalid,
                                engine=engine, master=master)
    source = f"raw extract {raw}" if raw else f"synthetic twin ({subjects} subjects, seed {seed})"
    click.echo(f"sap run: {ctx.study.study.studyid} from {source} into {out}/")
    warning = lock_warning()
    if warning:
        click.echo(warning, err=True)
    pipeline.run_all(ctx)


@main.command()
@_common
@_twin
@_report_errors
def simulate(out, study_file, subjects, seed):
    """Write the synthetic twin's raw EDC extract to OUT/raw."""
    ctx = pipeline.make_context(out=out, subjects=subjects, seed=seed, study_file=study_file)
    with pipeline.locked(ctx.out):
        pipeline.run_stage(ctx, "simulate")


@main.command()
@_common
@click.option("--raw", default=None, type=click.Path(exists=True, file_okay=False), help="Raw extract folder (default: OUT/raw).")
@_report_errors
def sdtm(out, study_file, raw):
    """Build the SDTM domains from the raw extract into OUT/sdtm."""
    ctx = pipeline.make_context(out=out, raw=raw, study_file=study_file)
    with pipeline.locked(ctx.out):
        pipeline.run_stage(ctx, "sdtm")


def _stage_command(name: str, help_text: str):
    @main.command(name=name, help=help_text)
    @_common
    @_report_errors
    def command(out, study_file):
        ctx = pipeline.make_context(out=out, study_file=study_file)
        with pipeline.locked(ctx.out):
            pipeline.run_stage(ctx, name)

    return command


@main.command()
@_common
@_engine
@_report_errors
def adam(out, study_file, engine, master):
    """Derive the ADaM datasets from OUT/sdtm into OUT/adam."""
    ctx = pipeline.make_context(out=out, study_file=study_file, engine=engine, master=master)
    pipeline.run_stage(ctx, "adam")



submit = _stage_command("submit", "Build the submission package (eCTD module 5 datasets: XPT, Dataset-JSON, define.xml, reviewer guides) from OUT/sdtm and OUT/adam into OUT/submission.")
conform = _stage_command("conform", "SDTMIG 3.4 conformance of OUT/sdtm by pointblank's validate_sdtmig (offline) into OUT/validation/conformance.md (exit 2 on an unexplained finding).")
qc = _stage_command("qc", "QC twin: re-derive key ADaM results from OUT/sdtm independently and compare with OUT/adam into OUT/qc (exit 2 on any mismatch).")


@main.command()
@_common
@click.option("--allow-invalid", is_flag=True, help="Render even when validation failed (every output says so).")
@_report_errors
def render(out, study_file, allow_invalid):
    """Render the SAP book and every table, listing and figure from OUT/adam into OUT/tlf (Quarto if on PATH)."""
    from tlf.stage import render_alone

    ctx = pipeline.make_context(out=out, study_file=study_file, allow_invalid=allow_invalid)
    with pipeline.locked(ctx.out):
        render_alone(ctx)


@main.command()
@click.option("--data", default=None, type=click.Path(exists=True, file_okay=False), help="Datasets to validate: a folder with sdtm/ and adam/, or one holding .parquet/.xpt files (default: OUT).")
@click.option("--out", default="output", show_default=True, type=click.Path(file_okay=False), help="Results go to OUT/validation.")
@_report_errors
def validate(data, out):
    """Validate SDTM/ADaM datasets against the specs, study rules and cross-dataset checks (exit 2 on failure)."""
    from pathlib import Path

    from validation.stage import validate_folder

    with pipeline.locked(Path(out)):
        counts = validate_folder(Path(data or out), Path(out))
    click.echo(f"  validate  {counts['datasets']} datasets, {counts['expectations']:,} expectations passed; results in {out}/validation")


@main.command()
@click.argument("base", type=click.Path(exists=True, dir_okay=False))
@click.argument("compare", type=click.Path(exists=True, dir_okay=False))
@click.option("--keys", required=True, help="Comma-separated key variables, e.g. USUBJID,PARAMCD,AVISITN.")
@click.option("--report/--no-report", default=False, help="Print datacompy's full report.")
@_report_errors
def compare(base, compare, keys, report):
    """Compare two datasets (parquet, XPT or CSV) on KEYS; exit 1 when they differ."""
    from sap.compare import compare_files

    result = compare_files(base, compare, [k.strip() for k in keys.split(",") if k.strip()])
    if report:
        click.echo(result.report)
    click.echo(f"rows only in {base}: {result.rows_only_in_base}; only in {compare}: {result.rows_only_in_compare}")
    for name, columns in ((base, result.columns_only_in_base), (compare, result.columns_only_in_compare)):
        if columns:
            click.echo(f"columns only in {name}: {', '.join(columns)}")
    for column, count in result.columns_with_mismatches.items():
        click.echo(f"{column}: {count} unequal value(s)")
    click.echo("datasets match" if result.matches else "datasets differ")
    sys.exit(0 if result.matches else 1)


@main.command()
@click.option("--out", default="output", show_default=True, type=click.Path(file_okay=False), help="Where bench/ (CSV, JSON, markdown, plot) goes.")
@click.option("--subjects", "sizes", multiple=True, type=click.IntRange(1, 1_000_000), help="Twin sizes (repeatable; default 40, 1000, 10000, 30000).")
@click.option("--slow", is_flag=True, help="Add the sponsor scale, 100,000 subjects (about an hour on 2 cores).")
@click.option("--stage", "stages", multiple=True, help="Stages to time (repeatable; default all).")
@click.option("--readme", default=None, type=click.Path(exists=True, dir_okay=False), help="Replace the benchmark table of this file (between <!-- bench:begin --> and <!-- bench:end -->).")
@_report_errors
def bench(out, sizes, slow, stages, readme):
    """Wall and CPU seconds, peak memory, rows and the I/O-floor ratio of each stage for each twin size (each stage in its own process)."""
    from pathlib import Path

    from sap.bench import DEFAULT_SIZES, SLOW_SIZES, bench as run_bench

    unknown = [s for s in stages if s not in pipeline.STAGES]  # else each would "run" as a failing sub-command, exit 0
    if unknown:
        raise SapError([Problem("--stage", f"unknown stage (stages: {', '.join(pipeline.STAGES)})", value=s) for s in unknown])
    chosen = tuple(sizes) or DEFAULT_SIZES
    if slow:
        chosen += tuple(s for s in SLOW_SIZES if s not in chosen)
    click.echo("sap bench: wall and CPU seconds, peak resident memory and I/O floor per stage")
    run_bench(chosen, Path(out), stages=tuple(stages) or None, readme=Path(readme) if readme else None, log=click.echo)
    click.echo(f"results in {out}/bench/ (bench.csv, bench.json, bench.md, bench.png)")


if __name__ == "__main__":
    main()
