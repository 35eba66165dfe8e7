"""The content of the reviewer guides (cSDRG, ADRG: PHUSE template structure) as Markdown, from the plan,
the specs, the conformance answers and the datasets of the run (`SAP_OUT`). The guides' Quarto pages
(`submission/guides/*.qmd`) print these; every number comes from the data or the plan."""

from __future__ import annotations

import os
from pathlib import Path

from sap.datasets import read_parquet
from sap.specs import list_specs, load_spec, read_yaml
from sap.study import load_study
from submission.conform import EXPLANATIONS_FILE, REPORT_JSON

ADAMIG_VERSION = "1.3"


def _out() -> Path:
    return Path(os.environ.get("SAP_OUT", "output"))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def study_description() -> str:
    study = load_study()
    s, d, ts = study.study, study.dosing, study.trial_summary
    rows = [["Study", s.studyid], ["Registry", s.nct], ["Title", s.title], ["Sponsor", s.sponsor],
            ["Design", s.design], ["Phase", ts.phase], ["Planned subjects", s.planned_subjects],
            ["Treatment", f"{study.arm.treatment} {d.dose:g} {d.dose_unit} {d.route.lower()} {d.frequency}, "
                          f"{d.doses_per_cycle} injections in each of {d.cycles} cycles of {d.cycle_length_days} days"],
            ["Primary endpoint", ts.outcome_primary.format(**study.endpoints.model_dump())],
            ["Data cut-off", study.data_cutoff.isoformat()]]
    return _table(["Item", "Value"], rows)


def standards(standard: str) -> str:
    ts = load_study().trial_summary.standards
    rows = [["SDTM", ts.sdtm], ["SDTMIG", ts.sdtmig], ["CDISC Controlled Terminology", ts.ct.isoformat()],
            ["MedDRA", ts.meddra], ["Define-XML", "2.1.0"], ["Dataset-JSON", "1.1"]]
    if standard == "ADaM":
        rows.insert(2, ["ADaMIG", ADAMIG_VERSION])
    return _table(["Standard", "Version"], rows)


def datasets(standard: str) -> str:
    folder = _out() / standard.lower()
    rows = []
    for name in list_specs(standard.lower()):
        spec = load_spec(name)
        path = folder / f"{name.lower()}.parquet"
        records = len(read_parquet(path)) if path.exists() else "not in this run"
        rows.append([f"{name.lower()}.xpt", spec.label, spec.dataset_class, spec.structure, records])
    return _table(["Dataset", "Label", "Class", "Structure", "Records"], rows)


def conformance_pointblank() -> str:
    import json

    path = _out() / "validation" / REPORT_JSON
    if not path.exists():
        return "*`sap conform` did not run before this guide was rendered.*\n"
    report = json.loads(path.read_text(encoding="utf-8"))
    known = (read_yaml(EXPLANATIONS_FILE) or {}).get("pointblank") or {}
    rules = report["rules"]
    text = (f"pointblank `validate_sdtmig` (SDTMIG 3.4 catalogue bundled in the PyPI package, offline) ran "
            f"{len(rules)} rules on every SDTM dataset with the define.xml: "
            f"{sum(r['status'] == 'pass' for r in rules)} passed, {len(report['findings'])} reported a finding.\n\n")
    if report["findings"]:
        text += _table(["Rule", "Dataset", "Issues", "Message", "Explanation"],
                       [[f["rule"], f["dataset"], f["issues"], f["message"] or f["description"], known.get(f["rule"], "UNEXPLAINED")]
                        for f in report["findings"]])
    return text


def conformance_core() -> str:
    core = (read_yaml(EXPLANATIONS_FILE) or {}).get("core") or []
    return _table(["Rule", "Finding", "Status", "Answer"], [[c["rule"], c["finding"], c["status"], c["answer"]] for c in core])


def derivation(dataset: str, variable: str) -> str:
    """The derivation text of a variable, as the spec (and define.xml) has it."""
    return load_spec(dataset).variable(variable).derivation or ""


def dependencies() -> str:
    rows = []
    for name in list_specs("adam"):
        spec = load_spec(name)
        sources = sorted({v.source.split(".")[0] for v in spec.variables if v.source and "." in v.source} - {name})
        rows.append([name, ", ".join(sources) or "-"])
    return _table(["ADaM dataset", "Reads (predecessor variables from)"], rows)


def program_inventory() -> str:
    from submission.ectd import PROGRAM_PACKAGES

    root = Path(__file__).resolve().parent.parent
    rows = []
    for package in PROGRAM_PACKAGES:
        files = sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)
        rows.append([package, len(files)])
    return _table(["Package", "Python files"], rows)
