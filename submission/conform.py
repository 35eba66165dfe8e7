"""`sap conform`: an SDTMIG 3.4 conformance check by rules nobody on this project wrote: pointblank's
`validate_sdtmig` (PyPI, offline: it bundles the SDTMIG 3.4 rule catalogue and a CDISC CT package), run on
every SDTM domain together with the SDTM define.xml. The CDISC CORE engine cannot run here: the PyPI
`cdisc-rules-engine` wheel ships neither its command line nor the rules cache, which needs a CDISC Library key.

Every finding must be fixed or explained: explanations are written once, in
`sap/specs/conformance.yaml` (rule id -> explanation), which the cSDRG's conformance section quotes; a
finding without one fails the stage (exit 2) and is listed as unexplained in the report.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from sap.datasets import read_parquet
from sap.errors import Problem, ValidationFailed
from sap.specs import SPECS_DIR, list_specs, load_spec, read_yaml

EXPLANATIONS_FILE = SPECS_DIR / "conformance.yaml"
REPORT_MD = "conformance.md"
REPORT_JSON = "conformance.json"


def explanations(path: Path = EXPLANATIONS_FILE) -> dict[str, str]:
    """Rule id -> why the finding is expected (from `sap/specs/conformance.yaml`, key `pointblank`)."""
    data = read_yaml(path) or {}
    return {str(k): str(v) for k, v in (data.get("pointblank") or {}).items()}


def check(datasets: dict[str, pd.DataFrame], define: Path | None, studyid: str) -> list[dict]:
    """The rules pointblank ran, one dict each: rule id, type, dataset, status, sensitivity, description,
    message and the number of issues, in the catalogue's order."""
    import pointblank as pb

    report = pb.validate_sdtmig(datasets, version="3.4", define_xml=define, study_id=studyid)
    return [{"rule": r.rule_id, "type": r.rule_type, "dataset": r.dataset, "status": r.status,
             "sensitivity": r.sensitivity, "description": r.description, "message": r.message or "",
             "issues": int(r.n_issues or 0)} for r in report.rules()]


def findings(rules: list[dict]) -> list[dict]:
    """The rules that failed or could not run (status fail or error)."""
    return [r for r in rules if r["status"] in ("fail", "error")]


def unexplained(found: list[dict], known: dict[str, str]) -> list[dict]:
    return [f for f in found if f["rule"] not in known]


def report_markdown(rules: list[dict], known: dict[str, str]) -> str:
    found = findings(rules)
    counts = pd.Series([r["status"] for r in rules]).value_counts().to_dict() if rules else {}
    lines = ["# SDTMIG 3.4 conformance (pointblank validate_sdtmig)", "",
             f"{len(rules)} rules of pointblank's bundled SDTMIG 3.4 catalogue, with the SDTM define.xml: "
             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".", ""]
    if not found:
        lines += ["No finding: every rule passed or did not apply.", ""]
    else:
        lines += ["| Rule | Dataset | Status | Issues | Message | Explanation |", "|---|---|---|---:|---|---|"]
        for f in found:
            why = known.get(f["rule"], "**UNEXPLAINED**")
            lines.append(f"| {f['rule']} | {f['dataset']} | {f['status']} | {f['issues']} | {_cell(f['message'] or f['description'])} | {_cell(why)} |")
        lines.append("")
    na = [r for r in rules if r["status"] == "not_applicable"]
    if na:
        lines += [f"Not applicable ({len(na)}): " + ", ".join(sorted({r['rule'] for r in na})) + ".", ""]
    lines += ["The CDISC CORE engine is not run: the PyPI `cdisc-rules-engine` wheel ships neither its command "
              "line nor the rules cache, which needs a CDISC Library key. The CORE findings of the trial run are "
              "answered in the cSDRG's conformance section.", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def run_stage(ctx) -> dict[str, int]:
    """Pipeline stage `conform` (after qc, before render): check `ctx.out/sdtm` with a define.xml built
    from the specs, write `validation/conformance.md` and `.json`; exit 2 on an unexplained finding."""
    from submission.define import DefineBuilder, write_define

    sdtm = ctx.out / "sdtm"
    datasets = {name: read_parquet(sdtm / f"{name.lower()}.parquet") for name in list_specs("sdtm") if (sdtm / f"{name.lower()}.parquet").exists()}
    with tempfile.TemporaryDirectory() as tmp:
        odm = DefineBuilder("SDTM", ctx.study, ctx.stamp).build({n: (load_spec(n), df) for n, df in datasets.items()}, {})
        define = write_define(odm, Path(tmp) / "define.xml")
        rules = check(datasets, define, ctx.study.study.studyid)
    known = explanations()
    found = findings(rules)
    folder = ctx.out / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT_MD).write_text(report_markdown(rules, known), encoding="utf-8")
    (folder / REPORT_JSON).write_text(json.dumps({"rules": rules, "findings": found}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    missing = unexplained(found, known)
    if missing and not ctx.allow_invalid:
        raise ValidationFailed([Problem(f["dataset"], f"conformance finding without an explanation in {EXPLANATIONS_FILE.name}",
                                        variable=f["rule"], value=f["message"] or f["description"]) for f in missing])
    if missing:
        ctx.notes.append(f"{len(missing)} unexplained SDTMIG conformance finding(s): see validation/{REPORT_MD}")
    return {"rules": len(rules), "findings": len(found), "unexplained": len(missing)}
