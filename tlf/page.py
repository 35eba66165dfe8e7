"""What a `.qmd` page calls: build the outputs of one group through the catalogue and print each as the
Markdown block of `tlf.render.blocks` (chunks use `#| output: asis`, so Quarto and the fallback both read
the printed text as Markdown).

The run is described by environment variables set by `tlf.stage` (or by hand for an interactive preview):
  SAP_ADAM_DIR     the run's ADaM folder (default: output/adam)
  SAP_FIGURE_DIR   where figure files go (default: output/tlf/figures)
  SAP_RUN_ID       run id of the manifest (default: "preview")
  SAP_NOTES        JSON list of run notes that every output must carry (e.g. validation failed)
  SAP_STUDY_FILE   the plan file (default: the packaged sap/study.yaml)
  SAP_VALIDATION_REPORT  the validation report Markdown (default: output/validation/report.md)
  SAP_OUTPUT_CACHE the outputs the render stage already built (a pickle of `OutputCache`): the pages show
                   them instead of building every output and drawing every figure a second time
  SAP_DOCX_PLACEHOLDER  "1" in the fallback renderer: an output's DOCX rendition is only its placeholder
                   (tlf.render.docx writes it from the page plan), so pandoc does not parse a Markdown table
                   that would be thrown away
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sap.study import Study, load_study
from tlf.catalog import Catalogue, OutputSpec, load_outputs
from tlf.inputs import AdamFolder, DatasetUnavailable
from tlf.output import Output
from tlf.render.blocks import markdown_block
from tlf.render.figures import save_figure


@dataclass
class RunInfo:
    """Where the data are and what every source line says."""

    adam_dir: Path
    figure_dir: Path
    run_id: str
    study: Study
    notes: list[str] = field(default_factory=list)
    validation_report: Path | None = None
    synthetic: bool = True  # the data come from the synthetic twin (no --raw extract): every page says so

    @classmethod
    def from_env(cls) -> "RunInfo":
        env = os.environ
        return cls(
            adam_dir=Path(env.get("SAP_ADAM_DIR", "output/adam")),
            figure_dir=Path(env.get("SAP_FIGURE_DIR", "output/tlf/figures")),
            run_id=env.get("SAP_RUN_ID", "preview"),
            study=load_study(env.get("SAP_STUDY_FILE") or None),
            notes=json.loads(env.get("SAP_NOTES", "[]")),
            validation_report=Path(env.get("SAP_VALIDATION_REPORT", "output/validation/report.md")),
            synthetic=env.get("SAP_SYNTHETIC", "1") == "1",
        )

    def to_env(self) -> dict[str, str]:
        return {
            "SAP_ADAM_DIR": str(self.adam_dir),
            "SAP_FIGURE_DIR": str(self.figure_dir),
            "SAP_RUN_ID": self.run_id,
            "SAP_NOTES": json.dumps(self.notes),
            "SAP_VALIDATION_REPORT": str(self.validation_report or ""),
            "SAP_SYNTHETIC": "1" if self.synthetic else "0",
        }


SYNTHETIC_LABEL = "SYNTHETIC DATA"  # printed on every page of an output made from the synthetic twin


def source_line(spec: OutputSpec, run: RunInfo) -> str:
    """"Source: <program>; data cut-off <date>; run <run id>" (the run id is the manifest's)."""
    return f"Source: {spec.program}; ADaM data cut-off {run.study.data_cutoff.isoformat()}; run id {run.run_id}"


def plan_values(study) -> dict[str, object]:
    """Values of the plan that footnotes in `sap/outputs.yaml` may quote as {name}, so that no plan number is
    retyped there (a change of study.yaml shows in every footnote)."""
    return {
        "planned_injections": study.dosing.planned_injections,
        "teae_window_days": study.safety.treatment_emergent_window_days,
        "historical_rate_pct": f"{study.endpoints.historical_response_rate:.0%}",
        "pga_worsening_limit": f"{study.endpoints.pga_worsening_limit:g}",
        "primary_visit": study.primary_visit.visit.title(),
        "meddra_version": study.safety.meddra_version,
    }


def build_output(spec: OutputSpec, adam: Mapping[str, pd.DataFrame], run: RunInfo) -> Output:
    """Call the output's builder and add what every output carries: plan values in the footnotes, source
    line and run notes."""
    out = spec.builder_function()(adam, spec, run.study)
    return (out.with_plan_values(plan_values(run.study)).with_source(source_line(spec, run)).with_notes(run.notes)
            .with_study(run.study.study.studyid, SYNTHETIC_LABEL if run.synthetic else ""))


def figure_file(out: Output, run: RunInfo) -> Path | None:
    """Save the figure of a figure output (PNG and SVG) and return the PNG path."""
    if out.figure is None:
        return None
    return save_figure(out.figure, run.figure_dir, out.file_stem)["png"].resolve()


def unavailable_block(spec: OutputSpec, reason: str) -> str:
    return (f"## {spec.label}: {spec.title} {{#{spec.file_stem}-h .unnumbered}}\n\n"
            f"*Not produced in this run: {reason}.*\n")


# file stem -> (the built output without its matplotlib figure, its figure PNG or None), or the reason it
# was not produced: what the render stage built once, for the pages to show
OutputCache = dict[str, "tuple[Output, Path | None] | str"]


def write_output_cache(cache: OutputCache, path: Path) -> Path:
    import pickle

    path.write_bytes(pickle.dumps(cache, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def read_output_cache() -> OutputCache | None:
    """The render stage's outputs (SAP_OUTPUT_CACHE), or None outside a render (a preview builds them)."""
    import pickle

    path = os.environ.get("SAP_OUTPUT_CACHE")
    return pickle.loads(Path(path).read_bytes()) if path else None


def group_markdown(group: str, run: RunInfo | None = None, catalogue: Catalogue | None = None,
                   adam: Mapping[str, pd.DataFrame] | None = None, cache: OutputCache | None = None) -> str:
    """The Markdown of every output of one book page, in catalogue order. An output not yet programmed, or
    whose ADaM dataset is absent from the run, is listed with the reason (never silently left out). With a
    `cache` (or SAP_OUTPUT_CACHE) the outputs the render stage built are shown; otherwise they are built."""
    run = run or RunInfo.from_env()
    catalogue = catalogue or load_outputs()
    cache = cache if cache is not None else read_output_cache()
    adam = adam if adam is not None else (None if cache is not None else AdamFolder(run.adam_dir))
    placeholder = os.environ.get("SAP_DOCX_PLACEHOLDER") == "1"
    blocks = []
    for spec in catalogue.in_group(group):
        if not spec.builder:
            blocks.append(unavailable_block(spec, "planned; builder not yet programmed"))
            continue
        if cache is not None:
            cached = cache[spec.file_stem]
            if isinstance(cached, str):
                blocks.append(unavailable_block(spec, cached))
                continue
            out, figure = cached
        else:
            try:
                out = build_output(spec, adam, run)
            except DatasetUnavailable as exc:
                blocks.append(unavailable_block(spec, "; ".join(exc.lines())))
                continue
            figure = figure_file(out, run)
        blocks.append(markdown_block(out, figure, new_page=bool(blocks), docx_placeholder_only=placeholder))
    return "\n".join(blocks)


def show_group(group: str) -> None:
    """Print a page's outputs (for a chunk with `#| output: asis`)."""
    print(group_markdown(group))


ALL_EXPECTATIONS = "## All expectations"  # the section of validation/report.md listing every expectation


def report_markdown(text: str) -> str:
    """A stage report as book Markdown: every heading demoted one level (the report's own top-level heading
    would compete with the page title), and the validation report's list of every expectation (thousands of
    rows, 100+ PDF pages) kept out of the PDF, which says where the list is; HTML and DOCX keep it."""
    lines = ["#" + line if line.startswith("#") else line for line in text.splitlines()]
    marker = "#" + ALL_EXPECTATIONS
    if marker not in lines:
        return "\n".join(lines)
    cut = lines.index(marker)
    rows = sum(1 for line in lines[cut:] if line.startswith("| pass ") or line.startswith("| **FAIL** "))
    return "\n".join([
        *lines[:cut], "",
        '::: {.content-visible unless-format="pdf"}', *lines[cut:], "", ":::", "",
        '::: {.content-visible when-format="pdf"}', marker, "",
        f"The list of every expectation ({rows:,} rows) is in the HTML book and in `validation/report.md`; "
        "the summary and every failure are above.", ":::",
    ])


def _print_report(path: Path | None, what: str) -> None:
    if path and path.is_file():
        print(report_markdown(path.read_text(encoding="utf-8")))
    else:
        print(f"*No {what} in this run ({path} not found).*")


def show_validation_report() -> None:
    """Print the validation stage's report (Markdown), or say that it is missing."""
    _print_report(RunInfo.from_env().validation_report, "validation report")


def show_conformance_report() -> None:
    """Print the `sap conform` report (`<out>/validation/conformance.md`, beside the validation report)."""
    report = RunInfo.from_env().validation_report
    _print_report(report.parent / "conformance.md" if report else None, "conformance report")


def show_qc_report() -> None:
    """Print the QC twin's comparison report (`<out>/qc/qc_report.md`, beside the validation folder)."""
    report = RunInfo.from_env().validation_report
    _print_report(report.parent.parent / "qc" / "qc_report.md" if report else None, "QC report")
