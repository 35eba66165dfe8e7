"""The render stage (`sap render`, last stage of `sap run`): every output of `sap/outputs.yaml` into
`output/tlf/`, atomically (`ctx.staging("tlf")`):

    output/tlf/rtf/<t|l|f>-<number>.rtf    one RTF per table, listing and figure (tlf.render.layout page plan)
    output/tlf/figures/<f-number>.png|svg  figure files
    output/tlf/html/<page>.html            the browsable book: SAP, every output, validation report
    output/tlf/book.pdf, book.docx         the whole book in one PDF (Typst) and one DOCX (pandoc)
    output/tlf/index.csv                   what was produced: number, title, files, or why not
    output/tlf/ard/<stem>.parquet|json     each output's analysis results data (tlf.ard; Dataset-JSON 1.1)
    output/tlf/ard/ars.json                CDISC ARS 1.0 ReportingEvent of Tables 14.2.1, 14.2.2, 14.2.8 (tlf.ars)
    output/tlf/rendered_check.json         the rendered-output QC: HTML and RTF numbers vs each output's ARD

With `quarto` on PATH the book is rendered by `quarto render` into output/tlf/quarto/ instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import yaml

from sap.csv_cells import write_rows
from sap import pipeline
from sap.errors import InputError, Problem, ValidationFailed
from sap.pipeline import MANIFEST, RunContext, run_id, write_manifest
from sap.datasets import write_json
from tlf.ard_files import write_ard
from tlf.ars import ARS_OUTPUTS, check_ars, reporting_event
from tlf.catalog import load_outputs
from tlf.inputs import AdamFolder, DatasetUnavailable
from tlf.page import SYNTHETIC_LABEL, OutputCache, RunInfo, build_output, figure_file, write_output_cache
from tlf.render import book
from tlf.render.rtf import write_rtf


def check_rendered_data(ctx: RunContext) -> None:
    """`sap render` on its own renders only data that passed validation and QC: the results beside the ADaM
    (OUT/validation/results.json, OUT/qc/qc_results.json) must exist and pass. Otherwise ValidationFailed
    (exit 2) with one line per reason, unless `ctx.allow_invalid`: then each reason becomes a run note that
    every output carries. (`sap run` enforces the same in its validate and qc stages.)"""
    reasons: list[Problem] = []
    results = ctx.folder("validation") / "results.json"
    qc = ctx.folder("qc") / "qc_results.json"
    try:
        failed = [r for r in json.loads(results.read_text(encoding="utf-8")) if not r.get("success")]
    except (OSError, ValueError, AttributeError):
        reasons.append(Problem(str(results), "no validation results for this ADaM (run `sap validate`)"))
    else:
        if failed:
            reasons.append(Problem(str(results), f"validation failed: {len(failed)} expectations"))
    try:
        status = json.loads(qc.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        reasons.append(Problem(str(qc), "no QC results for this ADaM (run `sap qc`)"))
    else:
        if status != "PASS":
            reasons.append(Problem(str(qc), f"QC status {status}: production and the QC twin differ"))
    if not reasons:
        return
    if not ctx.allow_invalid:
        raise ValidationFailed(reasons + [Problem("sap render", "refused: render invalid data only with --allow-invalid")])
    ctx.notes.extend(f"{r.message} ({Path(r.where).name}); outputs rendered with --allow-invalid" for r in reasons)


def rendered_data(ctx: RunContext) -> tuple[str, dict]:
    """The run id and inputs of the ADaM in OUT/adam, for `sap render` on its own: those of OUT/manifest.json
    when that manifest lists exactly the ADaM files on disk with the same sha256 (the run that made them);
    otherwise a run id hashed from the ADaM files themselves, so it names the data rendered, never the
    inputs of a run that did not make them."""
    adam = ctx.folder("adam")
    on_disk = {f"adam/{p.name}": pipeline._sha256(p) for p in sorted(adam.glob("*")) if p.is_file()}
    manifest_path = ctx.out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed = {k: v for k, v in manifest["files"].items() if k.startswith("adam/")}
    except (OSError, ValueError, KeyError, AttributeError):
        manifest, listed = None, None
    if manifest is not None and listed == on_disk:
        return manifest["run_id"], manifest["inputs"]
    digest = hashlib.sha256()
    for name, sha in on_disk.items():
        digest.update(f"{name} {sha}\n".encode())
    inputs = {"adam_sha256": digest.hexdigest(), "data_cutoff": ctx.study.data_cutoff.isoformat(),
              "note": "rendered from OUT/adam by `sap render`; no manifest of the run that made it"}
    digest.update(ctx.study.model_dump_json().encode())
    return "adam-" + digest.hexdigest()[:12], inputs


def render_alone(ctx: RunContext) -> dict[str, int]:
    """`sap render`: refuse invalid data (`check_rendered_data`), render with the run id of the data in
    OUT/adam (`rendered_data`) and rewrite OUT/manifest.json so it lists the new files with that run id."""
    check_rendered_data(ctx)
    ctx.data_run_id, inputs = rendered_data(ctx)
    counts = pipeline.run_stage(ctx, "render")
    write_manifest(ctx, inputs=inputs)
    return counts


PROFILE_FILE = ".render-profile.json"  # beside the run's folders, not an output: `sap bench` reads it


class RenderProfile:
    """Wall and CPU seconds of each render step; CPU is this process's and that of the child processes
    that ended within the step (the kernel, pandoc), so the CPU of side-by-side steps is their sum."""

    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        wall, before = time.perf_counter(), os.times()
        try:
            yield
        finally:
            after = os.times()
            cpu = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user", "children_system"))
            self.steps[name] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(cpu, 2)}

    def parts(self, name: str, walls: dict[str, float]) -> None:
        """Wall seconds of the side-by-side parts of a step."""
        self.steps[name]["parts_wall_s"] = {k: round(v, 2) for k, v in walls.items()}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.steps, indent=1) + "\n", encoding="utf-8")


def _write_index(rows: list[dict[str, str]], path: Path) -> None:
    write_rows(rows, ["number", "kind", "title", "status", "file"], path)


def run_stage(ctx: RunContext) -> dict[str, int]:
    """Build every programmed output from the run's ADaM, write its RTF, then render the book. An output
    whose ADaM dataset is missing is logged, listed in index.csv and shown as not produced in the book;
    an ADaM folder with no dataset at all, and any other data problem, stop the stage with one line per
    problem."""
    catalogue = load_outputs()
    adam_dir = ctx.folder("adam").resolve()
    if not AdamFolder(adam_dir):  # nothing to render from: an error, not a book of "not produced" pages
        raise InputError(Problem(str(adam_dir), "no ADaM datasets found (run `sap adam` first)"))
    rows: list[dict[str, str]] = []
    with ctx.staging("tlf") as folder:
        study_file = folder / ".study.yaml"  # the pages re-read this run's plan (it may not be the packaged one)
        study_file.write_text(yaml.safe_dump(ctx.study.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
        run = RunInfo(adam_dir=adam_dir, figure_dir=(folder / "figures").resolve(), run_id=ctx.data_run_id or run_id(ctx),
                      study=ctx.study, notes=list(ctx.notes),
                      validation_report=(ctx.folder("validation") / "report.md").resolve(), synthetic=ctx.raw is None)
        adam = AdamFolder(run.adam_dir)
        produced = 0
        ars_outputs = []
        built = {}  # file stem -> (Output, figure PNG): the DOCX book's outputs, written from the page plan
        cache: OutputCache = {}  # the same, and why an output was not produced: what the book's pages show
        profile = RenderProfile()
        outputs_step = profile.step("outputs: build, figures, RTF, ARD")
        outputs_step.__enter__()
        for spec in catalogue.outputs:
            row = {"number": spec.number, "kind": spec.kind, "title": spec.title, "status": "", "file": ""}
            if not spec.builder:
                row["status"] = "planned (no builder yet)"
            else:
                try:
                    out = build_output(spec, adam, run)
                except DatasetUnavailable as exc:
                    row["status"] = "not produced: " + "; ".join(exc.lines())
                    cache[spec.file_stem] = "; ".join(exc.lines())
                    ctx.log(f"  render: {spec.label} not produced: {'; '.join(exc.lines())}")
                else:
                    figure = figure_file(out, run)
                    rtf = write_rtf(out, folder / "rtf", figure)
                    # drawn once: the pages reuse the PNG, never the matplotlib figure
                    built[out.file_stem] = cache[out.file_stem] = (dataclasses.replace(out, figure=None), figure)
                    write_ard(out.analysis_results(), folder / "ard", out.file_stem, f"ARD of {out.label}", ctx.study)
                    if spec.number in ARS_OUTPUTS:
                        ars_outputs.append(out)
                    row["status"], row["file"] = "produced", f"rtf/{rtf.name}"
                    produced += 1
            rows.append(row)
        _write_index(rows, folder / "index.csv")
        if ars_outputs:
            event = reporting_event(ars_outputs, ctx.study)
            problems = check_ars(event)
            if problems:  # a bug in tlf.ars, not bad input
                raise RuntimeError("ARS JSON: " + "; ".join(problems[:3]))
            write_json(event, folder / "ard" / "ars.json")
        outputs_step.__exit__(None, None, None)

        cache_file = write_output_cache(cache, folder / ".outputs.pickle")
        env = {**run.to_env(), "SAP_STUDY_FILE": str(study_file.resolve()), "SAP_OUTPUT_CACHE": str(cache_file.resolve())}
        project = book.read_project()
        if book.quarto_available():
            with profile.step("quarto render"):
                book.render_with_quarto(project, folder, env)
        else:
            with profile.step("pages: one kernel runs every page"):
                chapters = book.execute_chapters(project, {**env, "SAP_DOCX_PLACEHOLDER": "1"}, folder / "figures")
            study = ctx.study.study
            with profile.step("book: HTML, DOCX and PDF side by side"):
                walls = book.render_book(chapters, folder, project, ctx.stamp,
                                         header_left=" | ".join([f"{study.studyid} ({study.nct})"] + ([SYNTHETIC_LABEL] if run.synthetic else [])),
                                         header_right="Statistical Analysis Plan, Tables, Listings and Figures",
                                         footer_left=f"Run id {run.run_id}; data cut-off {ctx.study.data_cutoff.isoformat()}",
                                         outputs=built)
            profile.parts("book: HTML, DOCX and PDF side by side", walls)
        study_file.unlink()
        cache_file.unlink()
        with profile.step("rendered-output QC"):
            checked = check_rendering(folder)
    profile.write(ctx.out / PROFILE_FILE)
    return {"outputs": produced, "planned": len(rows) - produced, "pages": len(project.chapters), **checked}


def check_rendering(folder: Path) -> dict[str, int]:
    """The rendered-output QC (validation/qc/rendered.py, an independent reader of the HTML and RTF files):
    every number a reader sees is its output's ARD text; the result is written to rendered_check.json and a
    difference stops the stage (exit 2) with one line per output and format."""
    from validation.qc.rendered import check_rendered, rendered_problems, summary

    results = check_rendered(folder)
    write_json(results, folder / "rendered_check.json")
    problems = rendered_problems(results)
    if problems:
        raise ValidationFailed(problems)
    return summary(results)
